//! Operating Rekindle: health, readiness, metrics and request ids.

mod common;

use common::spawn_app;
use serde_json::Value;

/// The value of one metric line, e.g. `rekindle_upload_bytes_total`, or 0 when absent.
fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|line| {
            line.starts_with(name_and_labels) && line[name_and_labels.len()..].starts_with(' ')
        })
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_move_after_a_restore() {
    let app = spawn_app().await;
    let before = app.get(None, "/metrics").await.text().await.unwrap();
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    let _watching = app.connect_stream(&user, None).await;
    let job = app.restore(&user, photo["id"].as_str().unwrap()).await;
    app.wait_for_final(&user, job["id"].as_str().unwrap()).await;
    let response = app.get(None, "/metrics").await;
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let after = response.text().await.unwrap();

    let completed = r#"rekindle_job_transitions_total{provider="builtin",status="completed"}"#;
    assert!(
        metric(&after, completed) >= metric(&before, completed) + 1.0,
        "{after}"
    );
    let uploads = "rekindle_upload_bytes_total";
    assert!(
        metric(&after, uploads) >= metric(&before, uploads) + 132_096.0,
        "upload bytes counted"
    );
    let registered =
        r#"rekindle_http_requests_total{method="POST",route="/api/auth/register",status="201"}"#;
    assert!(
        metric(&after, registered) >= 1.0,
        "requests are counted by route template"
    );
    assert!(
        after.contains("rekindle_job_event_delivery_seconds_bucket"),
        "notification latency: {after}"
    );
    assert!(after.contains("rekindle_open_websockets"));
    assert!(
        !after.contains(photo["id"].as_str().unwrap()),
        "no ids in labels"
    );
    app.stop().await;
}

#[tokio::test]
async fn health_and_readiness_flip_when_the_database_goes_away() {
    let app = spawn_app().await;
    assert_eq!(app.get(None, "/healthz").await.status(), 200);
    let ready = app.get(None, "/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({ "database": true, "storage": true, "listener": true })
    );

    app.state().db.pool.close().await;
    let not_ready = app.get(None, "/readyz").await;
    assert_eq!(not_ready.status(), 503);
    assert_eq!(not_ready.json::<Value>().await.unwrap()["database"], false);
    assert_eq!(
        app.get(None, "/healthz").await.status(),
        200,
        "the process is still up"
    );
    let refused = app.get(None, "/api/photos").await;
    let request = app
        .http
        .get(app.url("/api/me"))
        .header("authorization", "Bearer x.y.z")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    assert_eq!(request.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = spawn_app().await;
    let response = app.get(None, "/healthz").await;
    let id = response
        .headers()
        .get("x-request-id")
        .expect("x-request-id")
        .to_str()
        .unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let given = app
        .http
        .get(app.url("/healthz"))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        given.headers()["x-request-id"],
        "trace-me-123",
        "a caller's id is kept"
    );
    app.stop().await;
}
