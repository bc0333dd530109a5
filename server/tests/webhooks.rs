//! Webhooks: only the job's own secret moves a job, and nothing moves a job backwards.

mod common;

use common::spawn_app;
use serde_json::{json, Value};

async fn post_webhook(
    app: &common::TestApp,
    provider: &str,
    job_id: &str,
    token: &str,
    body: Value,
) -> reqwest::StatusCode {
    app.http
        .post(app.url(&format!("/api/webhooks/{provider}/{job_id}/{token}")))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn webhook_with_wrong_token_changes_nothing() {
    let app = spawn_app().await;
    let user = app.register().await;
    let job_id = app.job_with_token(&user, "the-right-token").await;
    let running = json!({ "id": "x", "status": "IN_PROGRESS", "output": { "kind": "progress", "percent": 50, "stage": "denoise" } });

    let cases = [
        ("wrong token", "builtin", job_id.clone(), "the-wrong-token"),
        (
            "other provider",
            "runpod",
            job_id.clone(),
            "the-right-token",
        ),
        (
            "unknown job",
            "builtin",
            uuid::Uuid::new_v4().to_string(),
            "the-right-token",
        ),
        (
            "malformed job id",
            "builtin",
            "not-a-uuid".to_string(),
            "the-right-token",
        ),
    ];
    for (name, provider, id, token) in cases {
        assert_eq!(
            post_webhook(&app, provider, &id, token, running.clone()).await,
            401,
            "{name}"
        );
    }
    let job: Value = app
        .get(Some(&user), &format!("/api/jobs/{job_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (job["status"].as_str(), job["progress"].as_u64()),
        (Some("queued"), Some(0))
    );

    assert_eq!(
        post_webhook(&app, "builtin", &job_id, "the-right-token", running).await,
        200
    );
    let job: Value = app
        .get(Some(&user), &format!("/api/jobs/{job_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (job["status"].as_str(), job["progress"].as_u64()),
        (Some("running"), Some(50))
    );
    app.stop().await;
}

#[tokio::test]
async fn duplicate_and_late_webhooks_never_move_a_job_back() {
    let app = spawn_app().await;
    let user = app.register().await;
    let token = "token-for-order-test";
    let job_id = app.job_with_token(&user, token).await;
    let progress = |p: u8| json!({ "status": "IN_PROGRESS", "output": { "kind": "progress", "percent": p, "stage": "denoise" } });

    for body in [progress(60), progress(30), progress(60)] {
        assert_eq!(
            post_webhook(&app, "builtin", &job_id, token, body).await,
            200
        );
    }
    let job: Value = app
        .get(Some(&user), &format!("/api/jobs/{job_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(job["progress"], 60);

    let failed = json!({ "status": "FAILED", "error": "GPU fell over" });
    assert_eq!(
        post_webhook(&app, "builtin", &job_id, token, failed.clone()).await,
        200
    );
    for late in [
        progress(90),
        json!({ "status": "COMPLETED", "output": { "image_url": "http://127.0.0.1:9/x.png" } }),
        failed,
    ] {
        assert_eq!(
            post_webhook(&app, "builtin", &job_id, token, late).await,
            200
        );
    }
    let job: Value = app
        .get(Some(&user), &format!("/api/jobs/{job_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (job["status"].as_str(), job["error"].as_str()),
        (Some("failed"), Some("GPU fell over"))
    );
    let events: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM job_events WHERE job_id = $1")
        .bind(&job_id)
        .fetch_one(&app.state().db.pool)
        .await
        .unwrap();
    assert_eq!(
        events.0, 2,
        "one event for reaching 60%, one for failing; duplicates add none"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_completed_job_whose_output_is_not_an_image_fails_with_a_reason() {
    let app = spawn_app().await;
    let user = app.register().await;
    let token = "token-for-bad-output";
    let job_id = app.job_with_token(&user, token).await;
    // The server's own /healthz answers "ok": reachable, but not an image.
    let body = json!({ "status": "COMPLETED", "output": { "image_url": app.url("/healthz") } });
    assert_eq!(
        post_webhook(&app, "builtin", &job_id, token, body).await,
        200
    );

    let job = app.wait_for_final(&user, &job_id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert!(
        job["error"]
            .as_str()
            .unwrap()
            .contains("could not be saved"),
        "{job}"
    );
    assert!(job["result_photo_id"].is_null());
    app.stop().await;
}

#[tokio::test]
async fn a_malformed_webhook_body_is_refused_without_changing_the_job() {
    let app = spawn_app().await;
    let user = app.register().await;
    let token = "token-for-garbage";
    let job_id = app.job_with_token(&user, token).await;
    let response = app
        .http
        .post(app.url(&format!("/api/webhooks/builtin/{job_id}/{token}")))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "invalid_webhook"
    );
    let job: Value = app
        .get(Some(&user), &format!("/api/jobs/{job_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(job["status"], "queued");
    app.stop().await;
}

#[tokio::test]
async fn a_completed_job_whose_output_has_the_wrong_size_or_is_missing_fails() {
    let app = spawn_app().await;
    let user = app.register().await;
    // hopper.jpg is 128×128; scratched-b.png is 256×256: the wrong size for a 1× restoration.
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    let wrong_size = photo["id"].as_str().unwrap();
    let access: Value = app
        .get(Some(&user), &format!("/api/photos/{wrong_size}/access"))
        .await
        .json()
        .await
        .unwrap();
    let cases = [
        (
            "wrong size",
            json!({ "status": "COMPLETED", "output": { "image_url": access["url"] } }),
            "instead of",
        ),
        (
            "missing",
            json!({ "status": "COMPLETED", "output": { "image_url": app.url("/files/nothing/here?exp=1&ct=x&sig=00") } }),
            "could not be saved",
        ),
        (
            "no output",
            json!({ "status": "COMPLETED" }),
            "without a result",
        ),
    ];
    for (n, (name, body, reason)) in cases.into_iter().enumerate() {
        let token = format!("token-output-{n}");
        let job_id = app.job_with_token(&user, &token).await;
        assert_eq!(
            post_webhook(&app, "builtin", &job_id, &token, body).await,
            200,
            "{name}"
        );
        let job = app.wait_for_final(&user, &job_id).await;
        assert_eq!(job["status"], "failed", "{name}: {job}");
        assert!(
            job["error"].as_str().unwrap().contains(reason),
            "{name}: {job}"
        );
        assert!(job["result_photo_id"].is_null(), "{name}");
    }
    app.stop().await;
}
