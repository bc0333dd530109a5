//! ComfyUI through its fake: jobs follow ComfyUI's own WebSocket events, and a job whose
//! events were lost is read from `/history` by the reconciler.

mod common;
mod fakes;

use common::{spawn_app_with, TestApp, TestUser};
use fakes::comfyui::FakeComfyUi;
use serde_json::Value;
use std::time::Duration;

async fn app_for(fake: &FakeComfyUi) -> TestApp {
    let dir = std::env::temp_dir().join(format!("rekindle-comfy-{}", uuid::Uuid::new_v4()));
    let vars = fake.app_vars(&dir);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = spawn_app_with(&vars).await;
    fake.wait_for_socket(1).await;
    app
}

async fn job(app: &TestApp, user: &TestUser, id: &str) -> Value {
    app.get(Some(user), &format!("/api/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

/// Waits (briefly, in real time) until the job satisfies `done`.
async fn wait_until(
    app: &TestApp,
    user: &TestUser,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..200 {
        let job = job(app, user, id).await;
        if done(&job) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} never got there: {}", job(app, user, id).await);
}

async fn start_job(app: &TestApp, user: &TestUser) -> String {
    let photo = app.upload_testdata(user, "edge/hopper.jpg").await;
    app.restore(user, photo["id"].as_str().unwrap()).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_comfyui_job_follows_websocket_events_to_its_result() {
    let fake = FakeComfyUi::start().await;
    let app = app_for(&fake).await;
    let user = app.register().await;
    let job_id = start_job(&app, &user).await;
    let prompt = fake.wait_for_prompts(1).await.remove(0);
    assert_eq!(prompt.id, job_id, "our job's UUID is the prompt id");
    assert_eq!(
        prompt.graph["1"]["inputs"]["image"],
        format!("rekindle-{job_id}.jpg")
    );
    assert_eq!(
        prompt.graph["3"]["inputs"]["filename_prefix"],
        format!("rekindle-{job_id}")
    );

    fake.start_prompt(&job_id);
    fake.progress(&job_id, 1, 4);
    fake.progress(&job_id, 3, 4);
    let running = wait_until(&app, &user, &job_id, |j| j["progress"] == 75).await;
    assert_eq!(
        (running["status"].as_str(), running["stage"].as_str()),
        (Some("running"), Some("restoring"))
    );

    fake.succeed(&job_id);
    let done = wait_until(&app, &user, &job_id, |j| j["status"] == "completed").await;
    assert!(done["result_photo_id"].is_string(), "{done}");
    // Submit, one /queue + /history read after `executing: null`, and the /view download:
    // no status checks while the socket carried the events.
    assert_eq!(done["provider_calls"], 3, "{done}");
    assert_eq!(
        done["webhooks_received"], 4,
        "start, two progress events, finished: {done}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_comfyui_job_whose_events_were_lost_is_read_from_history_after_a_reconnect() {
    let fake = FakeComfyUi::start().await;
    let app = app_for(&fake).await;
    let user = app.register().await;
    let job_id = start_job(&app, &user).await;
    fake.wait_for_prompts(1).await;

    // The socket is down while the prompt runs and finishes: every event is lost.
    fake.mute(true);
    fake.disconnect();
    fake.start_prompt(&job_id);
    fake.succeed(&job_id);
    fake.wait_for_socket(2).await;
    fake.mute(false);

    // The reconnect made the job due at once: no clock needs moving.
    for _ in 0..100 {
        server::jobs::reconciler::check_due_jobs(app.state())
            .await
            .unwrap();
        if job(&app, &user, &job_id).await["status"] != "queued" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let done = wait_until(&app, &user, &job_id, |j| j["status"] == "completed").await;
    assert_eq!(done["webhooks_received"], 0, "{done}");
    assert_eq!(
        done["provider_calls"], 3,
        "submit, one status check, download: {done}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_comfyui_execution_error_fails_the_job_with_its_message() {
    let fake = FakeComfyUi::start().await;
    let app = app_for(&fake).await;
    let user = app.register().await;
    let job_id = start_job(&app, &user).await;
    fake.wait_for_prompts(1).await;

    fake.start_prompt(&job_id);
    fake.fail(
        &job_id,
        "Allocation on device failed\nTraceback (most recent call last)",
    );
    let failed = wait_until(&app, &user, &job_id, |j| j["status"] == "failed").await;
    assert_eq!(failed["error"], "Allocation on device failed");
    app.stop().await;
}

#[tokio::test]
async fn cancelling_a_running_comfyui_job_interrupts_it() {
    let fake = FakeComfyUi::start().await;
    let app = app_for(&fake).await;
    let user = app.register().await;
    let job_id = start_job(&app, &user).await;
    fake.wait_for_prompts(1).await;
    fake.start_prompt(&job_id);
    wait_until(&app, &user, &job_id, |j| j["status"] == "running").await;
    // The provider's id is saved right after /prompt answers.
    for _ in 0..100 {
        let row = server::jobs::find(&app.state().db, job_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        if row.provider_job_id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let response = app
        .post_json(
            Some(&user),
            &format!("/api/jobs/{job_id}/cancel"),
            Value::Null,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(job(&app, &user, &job_id).await["status"], "cancelled");
    let history: Value = reqwest::get(format!("{}/history/{job_id}", fake.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        history[&job_id]["status"]["messages"][0][0],
        "execution_interrupted"
    );
    app.stop().await;
}
