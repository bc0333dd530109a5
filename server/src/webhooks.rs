//! `POST /api/webhooks/{provider}/{job_id}/{token}`: providers report job changes here.
//!
//! The token is the job's own random secret (RunPod cannot sign webhooks); only its SHA-256 is
//! stored, compared in constant time. The handler verifies, records and answers at once; slow
//! work (copying the result) runs after the answer.

use crate::auth::sha256_hex;
use crate::error::{ApiError, Result};
use crate::jobs::{self, service};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use subtle::ConstantTimeEq;
use uuid::Uuid;

/// Webhook bodies are small status objects; anything bigger is refused unread.
const MAX_WEBHOOK_BYTES: usize = 256 * 1024;

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
    body: Bytes,
) -> Result<StatusCode> {
    let refused = || ApiError::Unauthenticated;
    let job_id = Uuid::parse_str(&job_id).map_err(|_| refused())?;
    let job = jobs::find(&state.db, job_id).await?;
    // A missing job, another provider's job and a wrong token all look the same.
    let Some(job) = job.filter(|job| job.provider == provider && provider == state.provider.name)
    else {
        tracing::warn!(job.id = %job_id, provider, "webhook refused: unknown job or provider");
        return Err(refused());
    };
    let given = sha256_hex(&token);
    if !bool::from(given.as_bytes().ct_eq(job.webhook_token_hash.as_bytes())) {
        tracing::warn!(job.id = %job_id, provider, "webhook refused: wrong token");
        return Err(refused());
    }

    sqlx::query("UPDATE jobs SET webhooks_received = webhooks_received + 1, next_check_at = $1 WHERE id = $2")
        .bind(state.clock.now_ms() + state.config.job_check_after.as_millis() as i64)
        .bind(job_id.to_string())
        .execute(&state.db.pool)
        .await?;
    let update = state
        .provider
        .parse_webhook(&body)
        .map_err(|reason| ApiError::bad_request("invalid_webhook", reason))?;
    tracing::debug!(job.id = %job_id, ?update, "webhook received");
    service::apply(&state, job_id, update).await?;

    Ok(StatusCode::OK)
}
