//! A fake RunPod endpoint, faithful to RunPod's serverless queue API at the HTTP level: `/run`
//! takes a job and its webhook, `/status/{id}` and `/cancel/{id}` answer with RunPod's status
//! object. The load generator changes each job's status and sends the webhooks itself, at the
//! rate it chooses. Every call is counted per job, so the report can say how many calls a job
//! cost; the old polling design reads the same jobs under `/v2/legacy`, counted apart.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Calls made to the provider for one job.
#[derive(Debug, Default, Clone, Copy)]
pub struct Calls {
    pub run: u64,
    pub status: u64,
    pub cancel: u64,
    /// Status reads by the old polling backend.
    pub legacy_status: u64,
}

impl Calls {
    /// Calls Rekindle made.
    pub fn rekindle(&self) -> u64 {
        self.run + self.status + self.cancel
    }
}

/// A job Rekindle submitted.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub job_id: Uuid,
    pub provider_id: String,
    pub webhook_url: String,
}

struct Job {
    status: Value,
    calls: Calls,
}

struct Shared {
    api_key: String,
    jobs: Mutex<HashMap<String, Job>>,
    next_id: Mutex<u64>,
    submitted: mpsc::UnboundedSender<Submitted>,
}

/// The running fake endpoint.
#[derive(Clone)]
pub struct FakeRunPod {
    shared: Arc<Shared>,
    /// `http://127.0.0.1:PORT/v2/bench`, what Rekindle is configured with.
    pub endpoint_url: String,
    /// Where the polling design reads statuses.
    pub legacy_url: String,
    pub api_key: String,
}

impl FakeRunPod {
    /// Serves on a free loopback port; submissions arrive on the returned receiver.
    pub async fn start() -> anyhow::Result<(FakeRunPod, mpsc::UnboundedReceiver<Submitted>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        let api_key = server::auth::random_token(24);
        let shared = Arc::new(Shared {
            api_key: api_key.clone(),
            jobs: Mutex::new(HashMap::new()),
            next_id: Mutex::new(0),
            submitted: tx,
        });
        let router = Router::new()
            .route("/v2/bench/run", post(run_job))
            .route("/v2/bench/status/{id}", get(read_status))
            .route("/v2/bench/cancel/{id}", post(cancel_job))
            .route("/v2/legacy/status/{id}", get(read_legacy_status))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, router).await });

        let provider = FakeRunPod {
            shared,
            endpoint_url: format!("http://{addr}/v2/bench"),
            legacy_url: format!("http://{addr}/v2/legacy"),
            api_key,
        };
        Ok((provider, rx))
    }

    /// Changes what `/status` says about a job (before its webhook is sent).
    pub fn set_status(&self, provider_id: &str, status: Value) {
        if let Some(job) = self.shared.jobs.lock().unwrap().get_mut(provider_id) {
            job.status = status;
        }
    }

    pub fn calls(&self, provider_id: &str) -> Calls {
        self.shared
            .jobs
            .lock()
            .unwrap()
            .get(provider_id)
            .map(|job| job.calls)
            .unwrap_or_default()
    }
}

/// Refuses a call without Rekindle's API key, as RunPod does.
fn authorise(shared: &Shared, headers: &HeaderMap) -> Result<(), StatusCode> {
    let expected = format!("Bearer {}", shared.api_key);
    let given = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok());
    if given == Some(expected.as_str()) {
        Ok(())
    } else {
        Err(StatusCode::UNAUTHORIZED)
    }
}

/// Lets `call` count itself on job `id` (and change it), then answers the job's status.
fn answer(
    shared: &Shared,
    id: &str,
    call: impl FnOnce(&mut Job),
) -> Result<Json<Value>, StatusCode> {
    let mut jobs = shared.jobs.lock().unwrap();
    let job = jobs.get_mut(id).ok_or(StatusCode::NOT_FOUND)?;
    call(job);
    Ok(Json(job.status.clone()))
}

async fn run_job(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Result<Json<Value>, StatusCode> {
    authorise(&shared, &headers)?;
    let webhook_url = body["webhook"].as_str().ok_or(StatusCode::BAD_REQUEST)?;
    // Rekindle's webhook URLs end in `/api/webhooks/runpod/{job id}/{token}`.
    let job_id = webhook_url
        .rsplit('/')
        .nth(1)
        .and_then(|id| Uuid::parse_str(id).ok())
        .ok_or(StatusCode::BAD_REQUEST)?;
    let provider_id = {
        let mut next = shared.next_id.lock().unwrap();
        *next += 1;
        format!("bench-{:06}", *next)
    };
    let status = json!({ "id": provider_id, "status": "IN_QUEUE" });
    shared.jobs.lock().unwrap().insert(
        provider_id.clone(),
        Job {
            status: status.clone(),
            calls: Calls {
                run: 1,
                ..Calls::default()
            },
        },
    );
    let _ = shared.submitted.send(Submitted {
        job_id,
        provider_id,
        webhook_url: webhook_url.to_string(),
    });

    Ok(Json(status))
}

async fn read_status(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    authorise(&shared, &headers)?;
    answer(&shared, &id, |job| job.calls.status += 1)
}

async fn read_legacy_status(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    answer(&shared, &id, |job| job.calls.legacy_status += 1)
}

async fn cancel_job(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    authorise(&shared, &headers)?;
    answer(&shared, &id, |job| {
        job.calls.cancel += 1;
        job.status = json!({ "id": id, "status": "CANCELLED" });
    })
}

/// RunPod's status object for a job in progress, as our worker reports progress.
pub fn progress_status(provider_id: &str, percent: u8, stage: &str) -> Value {
    json!({
        "id": provider_id,
        "status": "IN_PROGRESS",
        "output": { "kind": "progress", "percent": percent, "stage": stage },
    })
}

/// RunPod's status object for a finished job whose result is `image` (PNG bytes).
pub fn completed_status(provider_id: &str, image: &[u8]) -> Value {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(image);
    json!({
        "id": provider_id,
        "status": "COMPLETED",
        "output": { "image_url": format!("data:image/png;base64,{data}") },
    })
}
