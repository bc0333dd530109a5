//! A fake RunPod serverless endpoint modelling the *cloud* contract: `POST /run`, `GET
//! /status/{id}`, `POST /cancel/{id}`, Bearer auth. Webhooks (the full status object, with
//! the echoed input) are sent by the test, as often as it likes. The result file is the
//! source photo itself, served from `/files/{id}`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const API_KEY: &str = "rp_test_key";

#[derive(Debug, Clone)]
pub struct RunPodJob {
    pub id: String,
    /// The whole `/run` body, as received.
    pub request: Value,
    pub status: String,
    pub output: Value,
}

#[derive(Default)]
struct Inner {
    jobs: Vec<RunPodJob>,
    calls: HashMap<String, u32>,
}

#[derive(Clone)]
pub struct FakeRunPod {
    pub base: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeRunPod {
    pub async fn start() -> FakeRunPod {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new()
            .route("/v2/ep/run", post(run))
            .route("/v2/ep/status/{id}", get(status))
            .route("/v2/ep/cancel/{id}", post(cancel))
            .route("/files/{id}", get(file))
            .with_state(inner.clone());
        FakeRunPod {
            base: super::serve(router).await,
            inner,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("{}/v2/ep", self.base)
    }

    pub fn jobs(&self) -> Vec<RunPodJob> {
        self.inner.lock().unwrap().jobs.clone()
    }

    pub fn calls(&self, id: &str) -> u32 {
        self.inner
            .lock()
            .unwrap()
            .calls
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    pub async fn wait_for_jobs(&self, count: usize) -> Vec<RunPodJob> {
        for _ in 0..400 {
            if self.jobs().len() >= count {
                return self.jobs();
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("only {} of {count} jobs were submitted", self.jobs().len());
    }

    /// Moves a job on; `COMPLETED` gets the result URL as output.
    pub fn set(&self, id: &str, status: &str, output: Value) {
        let base = self.base.clone();
        let mut inner = self.inner.lock().unwrap();
        let job = inner
            .jobs
            .iter_mut()
            .find(|j| j.id == id)
            .expect("known job");
        job.status = status.into();
        job.output = match status {
            "COMPLETED" => json!({"kind": "result", "image_url": format!("{base}/files/{id}")}),
            _ => output,
        };
    }

    /// The status object RunPod's cloud posts to the webhook (input and webhook echoed).
    pub fn webhook_body(&self, id: &str) -> Value {
        let inner = self.inner.lock().unwrap();
        let job = inner.jobs.iter().find(|j| j.id == id).expect("known job");
        let mut body = status_object(job);
        body["input"] = job.request["input"].clone();
        body["webhook"] = job.request["webhook"].clone();
        body
    }
}

fn status_object(job: &RunPodJob) -> Value {
    let mut body =
        json!({"id": job.id, "status": job.status, "delayTime": 12, "executionTime": 345});
    if !job.output.is_null() {
        body["output"] = job.output.clone();
    }
    body
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {API_KEY}"))
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn run(
    State(inner): Shared,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorised(&headers) {
        return (StatusCode::UNAUTHORIZED, Json(json!({})));
    }
    let id = format!("{}-u1", uuid::Uuid::new_v4());
    let mut inner = inner.lock().unwrap();
    inner.jobs.push(RunPodJob {
        id: id.clone(),
        request: body,
        status: "IN_QUEUE".into(),
        output: Value::Null,
    });
    *inner.calls.entry(id.clone()).or_default() += 1;
    (
        StatusCode::OK,
        Json(json!({"id": id, "status": "IN_QUEUE"})),
    )
}

async fn status(
    State(inner): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> (StatusCode, Json<Value>) {
    let mut inner = inner.lock().unwrap();
    *inner.calls.entry(id.clone()).or_default() += 1;
    match inner.jobs.iter().find(|j| j.id == id) {
        Some(job) if authorised(&headers) => (StatusCode::OK, Json(status_object(job))),
        Some(_) => (StatusCode::UNAUTHORIZED, Json(json!({}))),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "job not found"})),
        ),
    }
}

async fn cancel(State(inner): Shared, Path(id): Path<String>) -> (StatusCode, Json<Value>) {
    let mut inner = inner.lock().unwrap();
    *inner.calls.entry(id.clone()).or_default() += 1;
    match inner.jobs.iter_mut().find(|j| j.id == id) {
        Some(job) => {
            job.status = "CANCELLED".into();
            (
                StatusCode::OK,
                Json(json!({"id": id, "status": "CANCELLED"})),
            )
        }
        None => (StatusCode::NOT_FOUND, Json(json!({}))),
    }
}

async fn file(State(inner): Shared, Path(id): Path<String>) -> Result<Vec<u8>, StatusCode> {
    let source = {
        let inner = inner.lock().unwrap();
        let job = inner
            .jobs
            .iter()
            .find(|j| j.id == id)
            .ok_or(StatusCode::NOT_FOUND)?;
        job.request["input"]["image_url"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    Ok(super::download(&source).await)
}
