//! The worker's RunPod-style API end to end, on loopback: a real worker, a webhook
//! receiver that records every post, and a small file server for source images.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use worker::WorkerConfig;

const KEY: &str = "test-key";

/// What the webhook receiver saw, and how many final-status posts it should still refuse
/// with 500.
#[derive(Clone, Default)]
struct Receiver {
    posts: Arc<Mutex<Vec<Value>>>,
    refuse: Arc<AtomicUsize>,
}

struct Harness {
    worker: String,
    hook: String,
    files: String,
    received: Receiver,
    http: reqwest::Client,
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds port 0");
    let addr = listener.local_addr().expect("has an address");
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serves") });
    format!("http://{addr}")
}

fn testdata(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "shared",
        "testdata",
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

async fn record(State(received): State<Receiver>, Json(body): Json<Value>) -> StatusCode {
    let is_final = body["status"] != "IN_PROGRESS";
    received.posts.lock().expect("not poisoned").push(body);
    let refuse = |n: usize| n.checked_sub(1);
    if is_final
        && received
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, refuse)
            .is_ok()
    {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn serve_file(Path(name): Path<String>) -> Vec<u8> {
    if name == "slow.png" {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        return testdata("photos/scratched-b.png");
    }
    match name.as_str() {
        "broken.png" => testdata("edge/broken.png"),
        _ => testdata("photos/scratched-b.png"),
    }
}

async fn start(concurrency: usize) -> Harness {
    let received = Receiver::default();
    let hook = serve(
        Router::new()
            .route("/hook/{token}", post(record))
            .with_state(received.clone()),
    )
    .await;
    let files = serve(Router::new().route("/files/{name}", get(serve_file))).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds port 0");
    let worker = format!("http://{}", listener.local_addr().expect("has an address"));
    let mut config = WorkerConfig::new(KEY, worker.clone());
    config.max_concurrent_jobs = concurrency;
    config.webhook_retry_delay = Duration::from_millis(50);
    let router = worker::router(config);
    tokio::spawn(async move { axum::serve(listener, router).await.expect("serves") });

    Harness {
        worker,
        hook,
        files,
        received,
        http: reqwest::Client::new(),
    }
}

impl Harness {
    async fn submit(&self, file: &str, options: Value) -> Value {
        let body = json!({
            "input": { "image_url": format!("{}/files/{file}", self.files), "options": options },
            "webhook": format!("{}/hook/secret-token", self.hook),
        });
        let response = self.post("/v2/ep/run", &body).await;
        assert_eq!(response.status(), 200);
        response.json().await.expect("JSON body")
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.worker))
            .bearer_auth(KEY)
            .json(body)
            .send()
            .await
            .expect("sent")
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.worker))
            .bearer_auth(KEY)
            .send()
            .await
            .expect("sent")
    }

    /// Every webhook post for `id`, in arrival order.
    fn hooks_for(&self, id: &str) -> Vec<Value> {
        let posts = self.received.posts.lock().expect("not poisoned");
        posts.iter().filter(|p| p["id"] == id).cloned().collect()
    }

    /// Waits until a webhook with `status` arrives for `id`.
    async fn await_hook(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(hook) = self
                .hooks_for(id)
                .into_iter()
                .find(|h| h["status"] == status)
            {
                return hook;
            }
            assert!(
                Instant::now() < deadline,
                "no {status} webhook for {id}: {:?}",
                self.hooks_for(id)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn a_job_is_queued_at_once_reports_progress_and_completes() {
    let harness = start(2).await;
    let started = Instant::now();
    let queued = harness.submit("scratched-b.png", json!({})).await;
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "run waited for the work"
    );
    assert_eq!(queued["status"], "IN_QUEUE");
    let id = queued["id"].as_str().expect("id is a string").to_owned();

    let done = harness.await_hook(&id, "COMPLETED").await;
    let hooks = harness.hooks_for(&id);
    let first_progress = hooks
        .iter()
        .position(|h| h["status"] == "IN_PROGRESS")
        .expect("progress hook");
    let completed = hooks
        .iter()
        .position(|h| h["status"] == "COMPLETED")
        .expect("final hook");
    assert!(
        first_progress < completed,
        "progress must come first: {hooks:?}"
    );
    assert_eq!(hooks[first_progress]["output"]["kind"], "progress");
    assert!(
        hooks.iter().any(|h| h["output"]["stage"] == "reduce noise"),
        "{hooks:?}"
    );
    assert_eq!(
        done["input"]["image_url"],
        format!("{}/files/scratched-b.png", harness.files)
    );
    assert_eq!(done["output"]["kind"], "result");
    assert_eq!(
        (
            done["output"]["width"].as_u64(),
            done["output"]["height"].as_u64()
        ),
        (Some(256), Some(256))
    );
    assert!(done["executionTime"].is_u64() && done["delayTime"].is_u64());

    let image_url = done["output"]["image_url"].as_str().expect("image_url");
    assert!(
        image_url.starts_with(&format!("{}/v2/ep/output/{id}/", harness.worker)),
        "{image_url}"
    );
    let png = harness
        .http
        .get(image_url)
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent");
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    let image = image::load_from_memory(&png.bytes().await.expect("body")).expect("a valid PNG");
    assert_eq!((image.width(), image.height()), (256, 256));

    for status in [
        harness.get(&format!("/v2/ep/status/{id}")).await,
        harness
            .post(&format!("/v2/ep/status/{id}"), &json!({}))
            .await,
    ] {
        let status: Value = status.json().await.expect("JSON");
        assert_eq!(status["status"], "COMPLETED");
        assert_eq!(status["output"], done["output"]);
    }
    let health: Value = harness
        .get("/v2/ep/health")
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(health["jobs"]["completed"], 1);
    assert_eq!(health["workers"]["running"], 0);
}

#[tokio::test]
async fn upscaling_doubles_the_output_size() {
    let harness = start(2).await;
    let id = harness
        .submit("scratched-b.png", json!({ "upscale_2x": true }))
        .await["id"]
        .clone();
    let done = harness
        .await_hook(id.as_str().expect("id"), "COMPLETED")
        .await;
    let url = done["output"]["image_url"].as_str().expect("image_url");
    let bytes = harness
        .http
        .get(url)
        .bearer_auth(KEY)
        .send()
        .await
        .expect("sent")
        .bytes()
        .await
        .expect("body");
    let image = image::load_from_memory(&bytes).expect("a valid PNG");
    assert_eq!((image.width(), image.height()), (512, 512));
}

#[tokio::test]
async fn every_route_refuses_a_missing_or_wrong_bearer_token() {
    let harness = start(1).await;
    let id = uuid::Uuid::new_v4();
    let routes = [
        ("POST", "/v2/ep/run".to_owned()),
        ("GET", format!("/v2/ep/status/{id}")),
        ("POST", format!("/v2/ep/status/{id}")),
        ("POST", format!("/v2/ep/cancel/{id}")),
        ("GET", "/v2/ep/health".to_owned()),
        ("GET", format!("/v2/ep/output/{id}/x.png")),
    ];
    for (method, path) in routes {
        for token in [None, Some("wrong-key"), Some("test-ke")] {
            let url = format!("{}{path}", harness.worker);
            let mut request = match method {
                "GET" => harness.http.get(url),
                _ => harness.http.post(url).json(&json!({})),
            };
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("sent");
            assert_eq!(response.status(), 401, "{method} {path} with {token:?}");
            let body: Value = response.json().await.expect("JSON error");
            assert!(body["error"].is_string());
        }
    }
}

#[tokio::test]
async fn unknown_jobs_are_404_and_bad_bodies_are_400() {
    let harness = start(1).await;
    let id = uuid::Uuid::new_v4();
    assert_eq!(
        harness.get(&format!("/v2/ep/status/{id}")).await.status(),
        404
    );
    assert_eq!(harness.get("/v2/ep/status/not-a-uuid").await.status(), 404);
    assert_eq!(
        harness
            .post(&format!("/v2/ep/cancel/{id}"), &json!({}))
            .await
            .status(),
        404
    );
    assert_eq!(
        harness
            .get(&format!("/v2/ep/output/{id}/a.png"))
            .await
            .status(),
        404
    );

    for body in [
        json!({}),
        json!({ "input": {} }),
        json!({ "input": { "image_url": "file:///etc/passwd" } }),
    ] {
        let response = harness.post("/v2/ep/run", &body).await;
        assert_eq!(response.status(), 400, "{body}");
        assert!(response.json::<Value>().await.expect("JSON")["error"].is_string());
    }
}

#[tokio::test]
async fn a_corrupt_source_fails_with_a_plain_message() {
    let harness = start(1).await;
    let id = harness.submit("broken.png", json!({})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let failed = harness.await_hook(&id, "FAILED").await;
    assert_eq!(
        failed["error"],
        restore::InputError::CorruptImage.to_string()
    );
    let status: Value = harness
        .get(&format!("/v2/ep/status/{id}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(status["status"], "FAILED");
}

#[tokio::test]
async fn a_cancelled_queued_job_never_runs() {
    let harness = start(1).await;
    let first = harness.submit("slow.png", json!({})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let second = harness.submit("scratched-b.png", json!({})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let cancel: Value = harness
        .post(&format!("/v2/ep/cancel/{second}"), &json!({}))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(cancel, json!({ "id": second, "status": "CANCELLED" }));
    harness.await_hook(&second, "CANCELLED").await;
    harness.await_hook(&first, "COMPLETED").await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let hooks = harness.hooks_for(&second);
    assert!(
        hooks.iter().all(|h| h["status"] == "CANCELLED"),
        "the job ran: {hooks:?}"
    );
    let status: Value = harness
        .get(&format!("/v2/ep/status/{second}"))
        .await
        .json()
        .await
        .expect("JSON");
    assert_eq!(status["status"], "CANCELLED");
    assert!(
        status.get("executionTime").is_none(),
        "a cancelled queued job has no run time"
    );
}

#[tokio::test]
async fn a_final_webhook_is_retried_until_the_receiver_accepts_it() {
    let harness = start(1).await;
    harness.received.refuse.store(2, Ordering::SeqCst);
    let id = harness.submit("scratched-b.png", json!({})).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let finals = harness
            .hooks_for(&id)
            .into_iter()
            .filter(|h| h["status"] == "COMPLETED")
            .count();
        if finals == 3 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "webhook not retried: {:?}",
            harness.hooks_for(&id)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let finals = harness
        .hooks_for(&id)
        .into_iter()
        .filter(|h| h["status"] == "COMPLETED")
        .count();
    assert_eq!(
        finals, 3,
        "delivered on the third attempt and not sent again"
    );
}
