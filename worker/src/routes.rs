//! The RunPod-compatible HTTP API: run, status, cancel, health and result files.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::error::ApiError;
use crate::jobs::{Job, JobStatus};
use crate::state::AppState;
use crate::{auth, runner, webhook};

type Shared = State<Arc<AppState>>;

pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/v2/{endpoint}/run", post(submit_job))
        .route(
            "/v2/{endpoint}/status/{id}",
            get(get_status).post(get_status),
        )
        .route("/v2/{endpoint}/cancel/{id}", post(cancel_job))
        .route("/v2/{endpoint}/health", get(get_health))
        .route("/v2/{endpoint}/output/{id}/{file}", get(get_output))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_bearer,
        ))
        .with_state(state)
}

/// The body of `POST /run`.
#[derive(Deserialize)]
struct RunRequest {
    input: Value,
    webhook: Option<String>,
    /// Accepted for compatibility; this worker applies its own limits.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "RunPod clients send it; the worker has no use for it"
    )]
    policy: Option<Value>,
}

/// What this worker's handler expects inside `input`.
#[derive(Deserialize)]
struct RestoreInput {
    image_url: String,
    #[serde(default)]
    options: restore::Options,
}

async fn submit_job(
    State(state): Shared,
    Path(endpoint): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: RunRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("The body is not a valid run request: {e}")))?;
    let input: RestoreInput = serde_json::from_value(request.input.clone())
        .map_err(|e| ApiError::bad_request(format!("The input is not valid: {e}")))?;
    if !is_http_url(&input.image_url) {
        return Err(ApiError::bad_request(
            "input.image_url must be an http(s) URL.",
        ));
    }
    if request
        .webhook
        .as_deref()
        .is_some_and(|url| !is_http_url(url))
    {
        return Err(ApiError::bad_request("webhook must be an http(s) URL."));
    }

    let id = Uuid::new_v4();
    let job = Job {
        id,
        endpoint,
        input: request.input,
        image_url: input.image_url,
        options: input.options,
        webhook: request.webhook,
        status: JobStatus::InQueue,
        submitted_at: Instant::now(),
        started_at: None,
        finished_at: None,
        progress: None,
        result: None,
        error: None,
        cancelled: Arc::default(),
    };
    state.jobs().insert(id, job);
    tracing::info!(job.id = %id, "job queued");
    runner::spawn(state, id);

    Ok(Json(json!({ "id": id, "status": "IN_QUEUE" })))
}

async fn get_status(
    State(state): Shared,
    Path((endpoint, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let public_base_url = &state.config.public_base_url;
    state
        .with_job(id, |job| {
            (job.endpoint == endpoint).then(|| job.status_body(public_base_url))
        })
        .flatten()
        .map(Json)
        .ok_or_else(|| ApiError::not_found("job"))
}

async fn cancel_job(
    State(state): Shared,
    Path((endpoint, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id)?;
    let public_base_url = &state.config.public_base_url;
    let cancelled = state.with_job(id, |job| {
        if job.endpoint != endpoint {
            return None;
        }
        if job.status.is_terminal() {
            return Some((job.status_body(public_base_url), false, None));
        }
        job.status = JobStatus::Cancelled;
        job.cancelled.store(true, Ordering::SeqCst);
        job.finished_at = Some(Instant::now());
        job.progress = None;
        let hook = job
            .webhook
            .clone()
            .map(|url| (url, job.webhook_body(public_base_url)));
        Some((json!({ "id": id, "status": "CANCELLED" }), true, hook))
    });
    let Some(Some((body, newly_cancelled, hook))) = cancelled else {
        return Err(ApiError::not_found("job"));
    };

    if newly_cancelled {
        tracing::info!(job.id = %id, "job cancelled");
        runner::schedule_expiry(state.clone(), id);
    }
    if let Some((url, hook_body)) = hook {
        let state = state.clone();
        tokio::spawn(async move {
            webhook::deliver_final(&state.config, &url, &hook_body).await;
        });
    }
    Ok(Json(body))
}

async fn get_health(State(state): Shared, Path(endpoint): Path<String>) -> Json<Value> {
    let mut counts = [0u64; 4];
    for job in state.jobs().values().filter(|job| job.endpoint == endpoint) {
        match job.status {
            JobStatus::Completed => counts[0] += 1,
            JobStatus::Failed => counts[1] += 1,
            JobStatus::InProgress => counts[2] += 1,
            JobStatus::InQueue => counts[3] += 1,
            JobStatus::Cancelled => {}
        }
    }
    let running = state.config.max_concurrent_jobs - state.slots.available_permits();
    Json(json!({
        "jobs": { "completed": counts[0], "failed": counts[1], "inProgress": counts[2], "inQueue": counts[3] },
        "workers": { "idle": state.config.max_concurrent_jobs - running, "running": running },
    }))
}

async fn get_output(
    State(state): Shared,
    Path((endpoint, id, file)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id)?;
    let available = state.with_job(id, |job| {
        job.endpoint == endpoint && job.result.as_ref().is_some_and(|r| r.file_name == file)
    });
    if available != Some(true) {
        return Err(ApiError::not_found("output"));
    }
    let png = state
        .outputs
        .read(id, &file)
        .await
        .ok_or_else(|| ApiError::not_found("output"))?;

    Ok(([(CONTENT_TYPE, "image/png")], png).into_response())
}

fn parse_id(id: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(id).map_err(|_| ApiError::not_found("job"))
}

fn is_http_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
}
