//! A fake of Replicate's predictions API (`/v1/predictions`, `GET /v1/predictions/{id}`,
//! `POST /v1/predictions/{id}/cancel`) whose webhooks the test sends, signed per Standard
//! Webhooks. The result "file" is the source photo itself, served from `/files/{id}`, so it
//! has the size the server expects.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};
use server::providers::standard_webhooks::SigningKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const TOKEN: &str = "r8_test_token";

/// One prediction as the fake keeps it.
#[derive(Debug, Clone)]
pub struct Prediction {
    pub id: String,
    pub input: Value,
    pub webhook: String,
    pub events: Vec<String>,
    pub status: String,
    pub logs: String,
    pub output: Value,
    pub error: Value,
}

#[derive(Default)]
struct Inner {
    predictions: HashMap<String, Prediction>,
    order: Vec<String>,
    /// API calls per prediction id ("create" counts under the new id).
    calls: HashMap<String, u32>,
}

/// A webhook ready to send: a message id and the exact body that is signed.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub prediction_id: String,
    pub webhook_url: String,
    pub msg_id: String,
    pub body: String,
}

#[derive(Clone)]
pub struct FakeReplicate {
    pub base: String,
    pub secret: String,
    key: SigningKey,
    inner: Arc<Mutex<Inner>>,
    http: reqwest::Client,
}

impl FakeReplicate {
    pub async fn start() -> FakeReplicate {
        let secret_bytes: [u8; 32] = rand::random();
        let secret = format!(
            "whsec_{}",
            base64::engine::general_purpose::STANDARD.encode(secret_bytes)
        );
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new()
            .route("/v1/predictions", post(create))
            .route("/v1/predictions/{id}", get(read))
            .route("/v1/predictions/{id}/cancel", post(cancel))
            .route("/files/{id}", get(file))
            .with_state(inner.clone());
        let base = super::serve(router).await;
        FakeReplicate {
            base,
            key: SigningKey::parse(&secret).unwrap(),
            secret,
            inner,
            http: reqwest::Client::new(),
        }
    }

    /// The server settings that point it at this fake.
    pub fn app_vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("REKINDLE_PROVIDER", "replicate".into()),
            ("REPLICATE_API_URL", format!("{}/v1", self.base)),
            ("REPLICATE_API_TOKEN", TOKEN.into()),
            ("REPLICATE_MODEL", "rekindle/restore".into()),
            ("REPLICATE_WEBHOOK_SECRET", self.secret.clone()),
        ]
    }

    /// Predictions in the order they were created.
    pub fn predictions(&self) -> Vec<Prediction> {
        let inner = self.inner.lock().unwrap();
        inner
            .order
            .iter()
            .map(|id| inner.predictions[id].clone())
            .collect()
    }

    /// Waits until `count` predictions exist.
    pub async fn wait_for_predictions(&self, count: usize) -> Vec<Prediction> {
        for _ in 0..400 {
            let predictions = self.predictions();
            if predictions.len() >= count {
                return predictions;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!(
            "only {} of {count} predictions were created",
            self.predictions().len()
        );
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

    /// Moves a prediction on: what `GET` answers from now on.
    pub fn set(&self, id: &str, status: &str, logs: &str) {
        let mut inner = self.inner.lock().unwrap();
        let base = self.base.clone();
        let prediction = inner.predictions.get_mut(id).expect("known prediction");
        prediction.status = status.into();
        prediction.logs = logs.into();
        match status {
            "succeeded" => prediction.output = json!(format!("{base}/files/{id}")),
            "failed" => prediction.error = json!("CUDA out of memory"),
            _ => {}
        }
    }

    /// The prediction as it is now, as a new webhook message.
    pub fn snapshot(&self, id: &str) -> Delivery {
        let inner = self.inner.lock().unwrap();
        let prediction = &inner.predictions[id];
        Delivery {
            prediction_id: id.into(),
            webhook_url: prediction.webhook.clone(),
            msg_id: format!("msg_{}", uuid::Uuid::new_v4().simple()),
            body: to_json(prediction).to_string(),
        }
    }

    /// Signs and sends a delivery with the current time; returns our server's answer.
    pub async fn deliver(&self, delivery: &Delivery) -> u16 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        self.deliver_signed(delivery, now, &self.key).await
    }

    /// Sends a delivery signed at `timestamp` with `key` (for forgeries).
    pub async fn deliver_signed(
        &self,
        delivery: &Delivery,
        timestamp: i64,
        key: &SigningKey,
    ) -> u16 {
        let signature = key.sign(&delivery.msg_id, timestamp, delivery.body.as_bytes());
        self.post(
            &delivery.webhook_url,
            delivery,
            &[
                ("webhook-id", delivery.msg_id.clone()),
                ("webhook-timestamp", timestamp.to_string()),
                ("webhook-signature", signature),
            ],
        )
        .await
    }

    /// Sends a delivery to `url` with exactly these headers.
    pub async fn post(&self, url: &str, delivery: &Delivery, headers: &[(&str, String)]) -> u16 {
        let mut request = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(delivery.body.clone());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        request
            .send()
            .await
            .expect("webhook POST")
            .status()
            .as_u16()
    }
}

fn to_json(prediction: &Prediction) -> Value {
    json!({
        "id": prediction.id,
        "model": "rekindle/restore",
        "version": "dp-4d7f",
        "input": prediction.input,
        "logs": prediction.logs,
        "output": prediction.output,
        "error": prediction.error,
        "status": prediction.status,
        "created_at": "2026-01-01T00:00:00.000Z",
        "urls": {},
    })
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

type Shared = State<Arc<Mutex<Inner>>>;

async fn create(
    State(inner): Shared,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Unauthenticated"})),
        );
    }
    let id = format!("p{}", uuid::Uuid::new_v4().simple());
    let prediction = Prediction {
        id: id.clone(),
        input: body["input"].clone(),
        webhook: body["webhook"].as_str().unwrap_or_default().into(),
        events: serde_json::from_value(body["webhook_events_filter"].clone()).unwrap_or_default(),
        status: "starting".into(),
        logs: String::new(),
        output: Value::Null,
        error: Value::Null,
    };
    let answer = to_json(&prediction);
    let mut inner = inner.lock().unwrap();
    inner.predictions.insert(id.clone(), prediction);
    inner.order.push(id.clone());
    *inner.calls.entry(id).or_default() += 1;
    (StatusCode::CREATED, Json(answer))
}

async fn read(
    State(inner): Shared,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> (StatusCode, Json<Value>) {
    let mut inner = inner.lock().unwrap();
    *inner.calls.entry(id.clone()).or_default() += 1;
    match inner.predictions.get(&id) {
        Some(prediction) if authorised(&headers) => (StatusCode::OK, Json(to_json(prediction))),
        Some(_) => (StatusCode::UNAUTHORIZED, Json(json!({}))),
        None => (StatusCode::NOT_FOUND, Json(json!({"detail": "Not found."}))),
    }
}

async fn cancel(State(inner): Shared, Path(id): Path<String>) -> (StatusCode, Json<Value>) {
    let mut inner = inner.lock().unwrap();
    *inner.calls.entry(id.clone()).or_default() += 1;
    match inner.predictions.get_mut(&id) {
        Some(prediction) => {
            if !["succeeded", "failed", "canceled"].contains(&prediction.status.as_str()) {
                prediction.status = "canceled".into();
            }
            (StatusCode::OK, Json(to_json(prediction)))
        }
        None => (StatusCode::NOT_FOUND, Json(json!({}))),
    }
}

/// The result file: the prediction's own input photo.
async fn file(State(inner): Shared, Path(id): Path<String>) -> Result<Vec<u8>, StatusCode> {
    let source = {
        let mut inner = inner.lock().unwrap();
        *inner.calls.entry(id.clone()).or_default() += 1;
        let prediction = inner.predictions.get(&id).ok_or(StatusCode::NOT_FOUND)?;
        prediction.input["image"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    Ok(super::download(&source).await)
}
