//! RunPod: the cloud contract through a fake, a polled endpoint without webhooks, and the real
//! `runpod` Python package's local test server with its quirks.

mod common;
mod fakes;

use common::{spawn_app_with, TestApp, TestUser};
use fakes::runpod::FakeRunPod;
use serde_json::{json, Value};
use std::time::Duration;

async fn job(app: &TestApp, user: &TestUser, id: &str) -> Value {
    app.get(Some(user), &format!("/api/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

async fn start_job(app: &TestApp, user: &TestUser) -> String {
    let photo = app.upload_testdata(user, "edge/hopper.jpg").await;
    app.restore(user, photo["id"].as_str().unwrap()).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_runpod_cloud_job_completes_once_however_often_the_webhook_comes() {
    let fake = FakeRunPod::start().await;
    let endpoint = fake.endpoint();
    let app = spawn_app_with(&[
        ("REKINDLE_PROVIDER", "runpod"),
        ("RUNPOD_ENDPOINT_URL", &endpoint),
        ("RUNPOD_API_KEY", fakes::runpod::API_KEY),
    ])
    .await;
    let user = app.register().await;
    let job_id = start_job(&app, &user).await;
    let submitted = fake.wait_for_jobs(1).await.remove(0);
    let webhook = submitted.request["webhook"].as_str().unwrap().to_string();
    assert!(webhook.contains(&format!("/api/webhooks/runpod/{job_id}/")));
    assert_eq!(submitted.request["policy"]["executionTimeout"], 600_000);

    // RunPod retries a slow receiver up to twice; all three arrive.
    fake.set(&submitted.id, "COMPLETED", Value::Null);
    for _ in 0..3 {
        let status = app
            .http
            .post(&webhook)
            .json(&fake.webhook_body(&submitted.id))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    // A body naming another RunPod job is refused even with the right token.
    let mut other = fake.webhook_body(&submitted.id);
    other["id"] = json!("someone-elses-job");
    assert_eq!(
        app.http
            .post(&webhook)
            .json(&other)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );

    let done = app.wait_for_final(&user, &job_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["provider_calls"], 2, "submit and download: {done}");
    assert_eq!(done["webhooks_received"], 4, "{done}");
    let (results,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM photos WHERE kind = 'restored'")
        .fetch_one(&app.state().db.pool)
        .await
        .unwrap();
    assert_eq!(results, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_provider_without_webhooks_is_followed_by_status_checks_with_backoff() {
    let fake = FakeRunPod::start().await;
    let endpoint = fake.endpoint();
    let app = spawn_app_with(&[
        ("REKINDLE_PROVIDER", "polling"),
        ("POLLING_ENDPOINT_URL", &endpoint),
        ("POLLING_API_KEY", fakes::runpod::API_KEY),
    ])
    .await;
    let user = app.register().await;
    let job_id = start_job(&app, &user).await;
    let submitted = fake.wait_for_jobs(1).await.remove(0);
    assert!(
        submitted.request.get("webhook").is_none(),
        "no webhook is asked for"
    );

    // The first check is due after two seconds, not the webhook providers' minute.
    app.clock.advance(Duration::from_secs(3));
    fake.set(
        &submitted.id,
        "IN_PROGRESS",
        json!({"kind": "progress", "percent": 30, "stage": "denoise"}),
    );
    assert_eq!(
        server::jobs::reconciler::check_due_jobs(app.state())
            .await
            .unwrap(),
        1
    );
    assert_eq!(job(&app, &user, &job_id).await["progress"], 30);
    // Checked again only after the backoff (2 s doubled, with jitter: 2–4 s).
    assert_eq!(
        server::jobs::reconciler::check_due_jobs(app.state())
            .await
            .unwrap(),
        0
    );

    fake.set(&submitted.id, "COMPLETED", Value::Null);
    app.clock.advance(Duration::from_secs(5));
    assert_eq!(
        server::jobs::reconciler::check_due_jobs(app.state())
            .await
            .unwrap(),
        1
    );
    let done = app.wait_for_final(&user, &job_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["provider_calls"], 4,
        "submit, two status checks, download: {done}"
    );
    assert_eq!(
        fake.calls(&submitted.id),
        3,
        "/run and two /status, as the fake saw them"
    );
    app.stop().await;
}

/// The Python interpreter of the venv `scripts/install-tools.sh` makes, if it is there.
fn runpod_python() -> Option<std::path::PathBuf> {
    let python = std::env::var("REKINDLE_RUNPOD_PYTHON")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("tests/runpod_worker/.venv/bin/python")
        });
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var("REKINDLE_REQUIRE_RUNPOD").is_err(),
        "REKINDLE_REQUIRE_RUNPOD is set but {} is missing",
        python.display()
    );
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: no runpod venv at {}",
        python.display()
    );
    None
}

/// RunPod's local test server, stopped (by its own pid) when dropped.
struct LocalWorker {
    child: std::process::Child,
    url: String,
}

impl Drop for LocalWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_local_worker(python: &std::path::Path) -> LocalWorker {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/runpod_worker");
    let child = std::process::Command::new(python)
        .current_dir(&dir)
        .args([
            "handler.py",
            "--rp_serve_api",
            "--rp_api_host",
            "127.0.0.1",
            "--rp_api_port",
        ])
        .arg(port.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the runpod local test server");
    let worker = LocalWorker {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return worker;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the runpod local test server did not start on port {port}");
}

#[tokio::test]
async fn the_real_runpod_local_server_runs_jobs_despite_its_quirks() {
    let Some(python) = runpod_python() else {
        return;
    };
    let worker = start_local_worker(&python).await;
    let app = spawn_app_with(&[
        ("REKINDLE_PROVIDER", "runpod"),
        ("RUNPOD_ENDPOINT_URL", &worker.url),
        ("RUNPOD_LOCAL_SERVER", "true"),
    ])
    .await;
    let user = app.register().await;

    // `/run` only stores the job; the handler runs inside the first `POST /status`, which then
    // also posts the bare `{"output": ...}` webhook. Either report completes the job.
    let job_id = start_job(&app, &user).await;
    let provider_job_id = wait_for_provider_id(&app, &job_id).await;
    assert!(provider_job_id.starts_with("test-"), "{provider_job_id}");
    app.clock.advance(Duration::from_secs(61));
    assert_eq!(
        server::jobs::reconciler::check_due_jobs(app.state())
            .await
            .unwrap(),
        1
    );
    let done = app.wait_for_final(&user, &job_id).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["result_photo_id"].is_string());

    // Asked again, the local server has forgotten the job ("Job ID not found", HTTP 200).
    let provider = &app.state().provider;
    assert!(matches!(
        provider.status(&provider_job_id).await,
        Err(server::providers::ProviderError::UnknownJob)
    ));

    // A failing handler sends no webhook: the status check alone reports the failure.
    sqlx::query("UPDATE photos SET storage_key = 'gone/missing.jpg' WHERE kind = 'original'")
        .execute(&app.state().db.pool)
        .await
        .unwrap();
    let photo: Value = app
        .get(Some(&user), "/api/photos")
        .await
        .json()
        .await
        .unwrap();
    let photo_id = photo
        .as_array()
        .and_then(|p| p.iter().find(|p| p["kind"] == "original"))
        .map(|p| p["id"].as_str().unwrap().to_string());
    let photo_id = photo_id.expect("the original photo is listed");
    let failing = app.restore(&user, &photo_id).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_for_provider_id(&app, &failing).await;
    app.clock.advance(Duration::from_secs(61));
    server::jobs::reconciler::check_due_jobs(app.state())
        .await
        .unwrap();
    let failed = app.wait_for_final(&user, &failing).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["webhooks_received"], 0, "{failed}");
    app.stop().await;
    drop(worker);
}

async fn wait_for_provider_id(app: &TestApp, job_id: &str) -> String {
    for _ in 0..200 {
        let row = server::jobs::find(&app.state().db, job_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        if let Some(id) = row.provider_job_id {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {job_id} was never submitted");
}
