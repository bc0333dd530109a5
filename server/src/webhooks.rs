//! `POST /api/webhooks/{provider}/{job_id}/{token}`: providers report job changes here.
//!
//! Every webhook must carry its job's own random secret in the URL (RunPod cannot sign
//! webhooks); only its SHA-256 is stored, compared in constant time. Providers that sign
//! (Replicate) are checked on top, on the raw body, and a message id seen before is a replay.
//! Anything not provably from the job's provider is refused with 401 and changes nothing.
//! The handler verifies, records and answers at once; slow work (copying the result) runs
//! after the answer.

use crate::auth::sha256_hex;
use crate::error::{ApiError, Result};
use crate::jobs::{self, service};
use crate::providers::WebhookError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Webhook bodies are small status objects; anything bigger is refused unread.
const MAX_WEBHOOK_BYTES: usize = 256 * 1024;
/// How long delivery ids are kept. A signed webhook older than the signature tolerance (five
/// minutes) is refused anyway, so an hour leaves a wide margin against replays.
const KEEP_DELIVERIES_MS: i64 = 3600 * 1000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/webhooks/{provider}/{job_id}/{token}",
            post(receive_webhook),
        )
        .layer(DefaultBodyLimit::max(MAX_WEBHOOK_BYTES))
}

async fn receive_webhook(
    State(state): State<AppState>,
    Path((provider, job_id, token)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let job_id = Uuid::parse_str(&job_id).map_err(|_| ApiError::Unauthenticated)?;
    let job = authenticate(&state, &provider, job_id, &token).await?;

    let now = state.clock.now_ms();
    // A request with the job's token counts as received even when it is refused below; an
    // accepted one is counted in the transaction that applies it.
    let webhook = match state.provider.read_webhook(&headers, &body, now) {
        Ok(webhook) => webhook,
        Err(WebhookError::Forged(reason)) => {
            count_refused(&state, job_id).await?;
            return Err(refuse(job_id, &provider, reason));
        }
        Err(WebhookError::Unreadable(reason)) => {
            count_refused(&state, job_id).await?;
            return Err(ApiError::bad_request("invalid_webhook", reason));
        }
    };
    if let (Some(stated), Some(ours)) = (&webhook.provider_job_id, &job.provider_job_id) {
        if stated != ours {
            count_refused(&state, job_id).await?;
            return Err(refuse(job_id, &provider, "the body names another job"));
        }
    }
    if let Some(delivery_id) = &webhook.delivery_id {
        if !record_delivery(&state, delivery_id, job_id, now).await? {
            count_refused(&state, job_id).await?;
            crate::metrics::webhook(state.provider.name, "duplicate");
            tracing::warn!(job.id = %job_id, provider, "webhook refused: replayed webhook-id");
            return Err(ApiError::Unauthenticated);
        }
    }

    tracing::debug!(job.id = %job_id, update = ?webhook.update, "webhook accepted");
    if let Err(err) = service::apply_report(&state, job_id, webhook.update).await {
        // Let the provider's retry of this very message through.
        if let Some(delivery_id) = &webhook.delivery_id {
            forget_delivery(&state, delivery_id).await;
        }
        return Err(err);
    }
    crate::metrics::webhook(state.provider.name, "accepted");

    Ok(StatusCode::OK)
}

/// The job the URL names, if the URL's provider and token are that job's.
async fn authenticate(
    state: &AppState,
    provider: &str,
    job_id: Uuid,
    token: &str,
) -> Result<jobs::JobRow> {
    let job = jobs::find(&state.db, job_id).await?;
    // A missing job, another provider's job and a wrong token all look the same.
    let Some(job) = job.filter(|job| job.provider == provider && provider == state.provider.name)
    else {
        return Err(refuse(job_id, provider, "unknown job or provider"));
    };
    let given = sha256_hex(token);
    if !bool::from(given.as_bytes().ct_eq(job.webhook_token_hash.as_bytes())) {
        return Err(refuse(job_id, provider, "wrong token"));
    }

    Ok(job)
}

/// Counts a webhook that carried the job's token but was refused.
async fn count_refused(state: &AppState, job_id: Uuid) -> Result<()> {
    sqlx::query("UPDATE jobs SET webhooks_received = webhooks_received + 1 WHERE id = $1")
        .bind(job_id.to_string())
        .execute(&state.db.pool)
        .await?;

    Ok(())
}

/// Logs a refused webhook (never its token, signature or body) and answers 401.
fn refuse(job_id: Uuid, provider: &str, reason: &str) -> ApiError {
    tracing::warn!(job.id = %job_id, provider, reason, "webhook refused");
    // The URL's provider name is the sender's choice: keep the label set bounded.
    const KNOWN: [&str; 6] = [
        "builtin",
        "runpod",
        "polling",
        "replicate",
        "comfyui",
        "lambda",
    ];
    let label = KNOWN
        .into_iter()
        .find(|known| *known == provider)
        .unwrap_or("unknown");
    crate::metrics::webhook(label, "rejected");
    ApiError::Unauthenticated
}

/// Records a delivery id; false if it was already there (a replay or a duplicate).
async fn record_delivery(
    state: &AppState,
    delivery_id: &str,
    job_id: Uuid,
    now: i64,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO webhook_deliveries (provider, delivery_id, job_id, received_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(state.provider.name)
    .bind(delivery_id)
    .bind(job_id.to_string())
    .bind(now)
    .execute(&state.db.pool)
    .await?;

    Ok(inserted.rows_affected() == 1)
}

async fn forget_delivery(state: &AppState, delivery_id: &str) {
    let forgotten =
        sqlx::query("DELETE FROM webhook_deliveries WHERE provider = $1 AND delivery_id = $2")
            .bind(state.provider.name)
            .bind(delivery_id)
            .execute(&state.db.pool)
            .await;
    if let Err(err) = forgotten {
        tracing::warn!(error = %err, "could not forget a webhook delivery");
    }
}

/// Drops delivery ids too old to be replayed (their signatures have expired).
pub async fn forget_old_deliveries(state: &AppState) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM webhook_deliveries WHERE received_at < $1")
        .bind(state.clock.now_ms() - KEEP_DELIVERIES_MS)
        .execute(&state.db.pool)
        .await?;

    Ok(())
}
