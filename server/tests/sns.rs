//! AWS Lambda workers reporting through SNS: only messages SNS signed for a configured topic,
//! about a Lambda job and carrying that job's secret, move a job, and each message only once.
//!
//! The tests make their own self-signed certificate and RSA key and sign messages with them;
//! the SNS endpoint under test gets a certificate fetcher that serves that certificate for any
//! URL it is asked for, so a refused URL proves the endpoint's own check, not the fetcher's.
//! Nothing here reaches AWS.

mod common;

use async_trait::async_trait;
use aws_sdk_lambda::primitives::{DateTime, DateTimeFormat};
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use base64::Engine;
use common::{spawn_app_with, TestApp, TestUser};
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use server::config::{LambdaConfig, Secret};
use server::providers::sns::lambda::{LambdaInput, LambdaInvoker};
use server::providers::sns::subscription::SubscriptionVisitor;
use server::providers::sns::verify::CertificateFetcher;
use server::providers::sns::{router_with, SnsEndpoint};
use server::providers::ProviderError;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rekindle-jobs";
const OTHER_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:someone-else";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";
const TOKEN: &str = "the-jobs-own-secret";

/// The test's signing key and its self-signed certificate (PEM), made once per run.
struct TestKey {
    key: RsaPrivateKey,
    pem: String,
}

fn test_key() -> &'static TestKey {
    static KEY: OnceLock<TestKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use x509_cert::builder::{Builder, CertificateBuilder, Profile};
        use x509_cert::der::{pem::LineEnding, EncodePem};
        use x509_cert::{name::Name, serial_number::SerialNumber, spki, time::Validity};

        let key = RsaPrivateKey::new(&mut rand::thread_rng(), 2048).expect("an RSA key");
        let signer = SigningKey::<sha2::Sha256>::new(key.clone());
        let public = spki::SubjectPublicKeyInfoOwned::from_key(key.to_public_key())
            .expect("the public key encodes");
        let builder = CertificateBuilder::new(
            Profile::Root,
            SerialNumber::from(1u32),
            Validity::from_now(Duration::from_secs(30 * 24 * 3600)).unwrap(),
            Name::from_str("CN=sns.amazonaws.com").unwrap(),
            public,
            &signer,
        )
        .expect("a certificate builder");
        let certificate = builder
            .build::<rsa::pkcs1v15::Signature>()
            .expect("a certificate");
        let pem = certificate.to_pem(LineEnding::LF).expect("PEM");
        TestKey { key, pem }
    })
}

/// Serves the test certificate for any URL and remembers which were asked for.
#[derive(Default)]
struct FakeFetcher {
    fetched: Mutex<Vec<String>>,
}

#[async_trait]
impl CertificateFetcher for FakeFetcher {
    async fn fetch(&self, url: &str) -> anyhow::Result<Vec<u8>> {
        self.fetched.lock().unwrap().push(url.to_string());
        Ok(test_key().pem.as_bytes().to_vec())
    }
}

/// Remembers confirmation URLs instead of visiting them.
#[derive(Default)]
struct RecordingVisitor {
    visited: Mutex<Vec<String>>,
}

#[async_trait]
impl SubscriptionVisitor for RecordingVisitor {
    async fn visit(&self, url: &str) -> anyhow::Result<()> {
        self.visited.lock().unwrap().push(url.to_string());
        Ok(())
    }
}

/// The app, plus an SNS endpoint on the app's state with the fake fetcher and visitor.
struct Harness {
    app: TestApp,
    user: TestUser,
    sns_url: String,
    fetcher: Arc<FakeFetcher>,
    visitor: Arc<RecordingVisitor>,
}

async fn harness() -> Harness {
    let app = spawn_app_with(&[("SNS_TOPIC_ARNS", TOPIC)]).await;
    let user = app.register().await;
    let fetcher = Arc::new(FakeFetcher::default());
    let visitor = Arc::new(RecordingVisitor::default());
    let endpoint = SnsEndpoint::new(vec![TOPIC.into()], fetcher.clone(), visitor.clone());
    let router = router_with(Arc::new(endpoint)).with_state(app.state().clone());
    let sns_url = serve(router).await + "/api/webhooks/sns";
    Harness {
        app,
        user,
        sns_url,
        fetcher,
        visitor,
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

impl Harness {
    /// A queued job of `provider` whose secret is [`TOKEN`], created straight in the database.
    async fn job(&self, provider: &str) -> String {
        let photo = self
            .app
            .upload_testdata(&self.user, "edge/hopper.jpg")
            .await;
        let me: Value = self
            .app
            .get(Some(&self.user), "/api/me")
            .await
            .json()
            .await
            .unwrap();
        let job_id = uuid::Uuid::new_v4().to_string();
        sqlx::query(
            "INSERT INTO jobs (id, user_id, photo_id, provider, status, progress, options, \
             webhook_token_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 'queued', 0, '{}', $5, 1, 1)",
        )
        .bind(&job_id)
        .bind(me["id"].as_str().unwrap())
        .bind(photo["id"].as_str().unwrap())
        .bind(provider)
        .bind(server::auth::sha256_hex(TOKEN))
        .execute(&self.app.state().db.pool)
        .await
        .unwrap();
        job_id
    }

    async fn job_view(&self, job_id: &str) -> Value {
        let path = format!("/api/jobs/{job_id}");
        self.app
            .get(Some(&self.user), &path)
            .await
            .json()
            .await
            .unwrap()
    }

    async fn webhooks_received(&self, job_id: &str) -> i64 {
        sqlx::query_scalar("SELECT webhooks_received FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_one(&self.app.state().db.pool)
            .await
            .unwrap()
    }

    async fn post(&self, message: &Value) -> reqwest::StatusCode {
        post_to(&self.app, &self.sns_url, message).await
    }

    fn now(&self) -> String {
        timestamp(self.app.clock.now_ms())
    }

    fn fetched(&self) -> Vec<String> {
        self.fetcher.fetched.lock().unwrap().clone()
    }
}

async fn post_to(app: &TestApp, url: &str, message: &Value) -> reqwest::StatusCode {
    app.http
        .post(url)
        .header("x-amz-sns-message-type", message["Type"].as_str().unwrap())
        .header("content-type", "text/plain; charset=UTF-8")
        .body(message.to_string())
        .send()
        .await
        .unwrap()
        .status()
}

fn timestamp(ms: i64) -> String {
    DateTime::from_millis(ms)
        .fmt(DateTimeFormat::DateTime)
        .unwrap()
}

/// The text SNS signs, written here from AWS's documentation rather than taken from the code
/// under test.
fn string_to_sign(message: &Value) -> String {
    let fields: &[&str] = if message["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    fields
        .iter()
        .filter_map(|name| {
            message[*name]
                .as_str()
                .map(|value| format!("{name}\n{value}\n"))
        })
        .collect()
}

/// Signs `message` in place with the test key, as SNS would with `SignatureVersion`.
fn sign(message: &mut Value, version: &str) {
    let text = string_to_sign(message);
    let key = test_key().key.clone();
    let signature = match version {
        "1" => SigningKey::<sha1::Sha1>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
        _ => SigningKey::<sha2::Sha256>::new(key)
            .sign(text.as_bytes())
            .to_vec(),
    };
    message["SignatureVersion"] = json!(version);
    message["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(signature));
}

/// A signed notification carrying `report` from `topic`.
fn notification(topic: &str, report: &Value, now: &str, version: &str) -> Value {
    let mut message = json!({
        "Type": "Notification",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "TopicArn": topic,
        "Message": report.to_string(),
        "Timestamp": now,
        "SigningCertURL": CERT_URL,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
    });
    sign(&mut message, version);
    message
}

/// A signed subscription confirmation from `topic`.
fn confirmation(topic: &str, subscribe_url: &str, now: &str) -> Value {
    let mut message = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": uuid::Uuid::new_v4().to_string(),
        "Token": "confirmation-token",
        "TopicArn": topic,
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": subscribe_url,
        "Timestamp": now,
        "SigningCertURL": CERT_URL,
    });
    sign(&mut message, "2");
    message
}

fn running(job_id: &str, progress: u8) -> Value {
    json!({
        "job_id": job_id, "token": TOKEN, "status": "running", "progress": progress,
        "stage": "denoise",
    })
}

/// A local server handing out the restored image, as a worker's output bucket would.
async fn output_server() -> String {
    let bytes = std::fs::read(common::testdata("edge/hopper.jpg")).unwrap();
    let router = axum::Router::new().route(
        "/out/hopper.jpg",
        axum::routing::get(move || {
            let bytes = bytes.clone();
            async move { ([("content-type", "image/jpeg")], bytes) }
        }),
    );
    serve(router).await + "/out/hopper.jpg"
}

#[tokio::test]
async fn signed_v1_and_v2_notifications_run_and_complete_a_lambda_job() {
    let h = harness().await;
    let output_url = output_server().await;

    for version in ["1", "2"] {
        let job_id = h.job("lambda").await;
        let report = running(&job_id, 40);
        let status = h
            .post(&notification(TOPIC, &report, &h.now(), version))
            .await;
        assert_eq!(status, 200, "v{version} running");
        let job = h.job_view(&job_id).await;
        assert_eq!(job["status"], "running", "v{version}: {job}");
        assert_eq!(job["progress"], 40, "v{version}: {job}");

        let done = json!({
            "job_id": job_id, "token": TOKEN, "status": "succeeded", "output_url": output_url,
        });
        let status = h.post(&notification(TOPIC, &done, &h.now(), version)).await;
        assert_eq!(status, 200, "v{version} succeeded");
        let job = h.app.wait_for_final(&h.user, &job_id).await;
        assert_eq!(job["status"], "completed", "v{version}: {job}");
        let result = job["result_photo_id"].as_str().expect("a stored result");
        let photo = h
            .app
            .get(Some(&h.user), &format!("/api/photos/{result}"))
            .await;
        assert_eq!(
            photo.status(),
            200,
            "v{version}: the result is in our storage"
        );
    }
    assert_eq!(
        h.fetched(),
        vec![CERT_URL.to_string()],
        "one download, then the cache"
    );
    h.app.stop().await;
}

#[tokio::test]
async fn failed_reports_fail_the_job_with_the_workers_reason() {
    let h = harness().await;
    let job_id = h.job("lambda").await;
    let report = json!({
        "job_id": job_id, "token": TOKEN, "status": "failed",
        "error": "CUDA out of memory\nTraceback ...",
    });

    assert_eq!(
        h.post(&notification(TOPIC, &report, &h.now(), "2")).await,
        200
    );
    let job = h.job_view(&job_id).await;
    assert_eq!(job["status"], "failed", "{job}");
    assert_eq!(job["error"], "CUDA out of memory", "{job}");
    h.app.stop().await;
}

#[tokio::test]
async fn tampered_messages_are_refused_and_change_nothing() {
    let h = harness().await;
    let job_id = h.job("lambda").await;
    let signed = notification(TOPIC, &running(&job_id, 50), &h.now(), "2");
    let later = timestamp(h.app.clock.now_ms() + 1000);

    let tampered: [(&str, &str, Value); 7] = [
        (
            "changed Message",
            "Message",
            json!(running(&job_id, 90).to_string()),
        ),
        (
            "changed MessageId",
            "MessageId",
            json!(uuid::Uuid::new_v4().to_string()),
        ),
        ("changed Timestamp", "Timestamp", json!(later)),
        ("added Subject", "Subject", json!("hello")),
        (
            "garbage Signature",
            "Signature",
            json!("bm90IGEgc2lnbmF0dXJl"),
        ),
        ("unknown SignatureVersion", "SignatureVersion", json!("3")),
        ("v1 label on a v2 signature", "SignatureVersion", json!("1")),
    ];
    for (case, field, value) in tampered {
        let mut message = signed.clone();
        message[field] = value;
        assert_eq!(h.post(&message).await, 401, "{case}");
    }
    let mut unsigned = signed.clone();
    unsigned.as_object_mut().unwrap().remove("Signature");
    assert_eq!(h.post(&unsigned).await, 400, "no Signature field");

    let job = h.job_view(&job_id).await;
    assert_eq!(job["status"], "queued", "{job}");
    assert_eq!(h.webhooks_received(&job_id).await, 0);
    h.app.stop().await;
}

#[tokio::test]
async fn certificates_from_anywhere_but_the_topics_sns_host_are_refused_unfetched() {
    let h = harness().await;
    let job_id = h.job("lambda").await;
    let cert_urls = [
        "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-test.pem",
        "https://example.com/SimpleNotificationService-test.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.us-east-1.amazonaws.com@evil.example/SimpleNotificationService-test.pem",
        "https://sns.us-east-1.amazonaws.com:4443/SimpleNotificationService-test.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.txt",
    ];
    for url in cert_urls {
        // The certificate URL is not part of the signed text: the signature stays valid.
        let mut message = notification(TOPIC, &running(&job_id, 50), &h.now(), "2");
        message["SigningCertURL"] = json!(url);
        assert_eq!(h.post(&message).await, 401, "{url}");
    }

    assert!(h.fetched().is_empty(), "fetched {:?}", h.fetched());
    assert_eq!(h.job_view(&job_id).await["status"], "queued");
    h.app.stop().await;
}

#[tokio::test]
async fn stale_messages_are_refused() {
    let h = harness().await;
    let job_id = h.job("lambda").await;
    let two_days_ago = timestamp(h.app.clock.now_ms() - 2 * 24 * 3600 * 1000);

    let message = notification(TOPIC, &running(&job_id, 50), &two_days_ago, "2");
    assert_eq!(h.post(&message).await, 401);
    assert_eq!(h.job_view(&job_id).await["status"], "queued");
    h.app.stop().await;
}

#[tokio::test]
async fn messages_from_unknown_topics_are_ignored() {
    let h = harness().await;
    let job_id = h.job("lambda").await;

    let message = notification(OTHER_TOPIC, &running(&job_id, 50), &h.now(), "2");
    assert_eq!(h.post(&message).await, 403);
    let subscribe = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=x";
    assert_eq!(
        h.post(&confirmation(OTHER_TOPIC, subscribe, &h.now()))
            .await,
        403
    );

    assert_eq!(h.job_view(&job_id).await["status"], "queued");
    assert_eq!(h.webhooks_received(&job_id).await, 0);
    assert!(h.fetched().is_empty(), "fetched {:?}", h.fetched());
    assert!(h.visitor.visited.lock().unwrap().is_empty());
    h.app.stop().await;
}

#[tokio::test]
async fn a_redelivered_message_is_applied_once() {
    let h = harness().await;
    let job_id = h.job("lambda").await;
    let message = notification(TOPIC, &running(&job_id, 30), &h.now(), "2");

    for delivery in 1..=3 {
        assert_eq!(h.post(&message).await, 200, "delivery {delivery}");
    }
    assert_eq!(h.webhooks_received(&job_id).await, 1);
    let receipts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sns_messages WHERE message_id = $1")
            .bind(message["MessageId"].as_str().unwrap())
            .fetch_one(&h.app.state().db.pool)
            .await
            .unwrap();
    assert_eq!(receipts, 1);
    assert_eq!(h.job_view(&job_id).await["progress"], 30);
    h.app.stop().await;
}

#[tokio::test]
async fn reports_for_another_job_or_provider_are_refused() {
    let h = harness().await;
    let lambda_job = h.job("lambda").await;
    let builtin_job = h.job("builtin").await;

    let cases = [
        (
            "wrong token",
            json!({ "job_id": lambda_job, "token": "guess", "status": "running" }),
        ),
        ("builtin job", running(&builtin_job, 50)),
        (
            "unknown job",
            running(&uuid::Uuid::new_v4().to_string(), 50),
        ),
    ];
    for (case, report) in cases {
        let status = h.post(&notification(TOPIC, &report, &h.now(), "2")).await;
        assert_eq!(status, 401, "{case}");
    }
    let unreadable = json!({ "job_id": lambda_job, "status": "running" });
    let status = h
        .post(&notification(TOPIC, &unreadable, &h.now(), "2"))
        .await;
    assert_eq!(status, 400, "report without a token");

    for job_id in [&lambda_job, &builtin_job] {
        assert_eq!(h.job_view(job_id).await["status"], "queued", "{job_id}");
    }
    h.app.stop().await;
}

#[tokio::test]
async fn subscriptions_to_allowed_topics_are_confirmed_on_sns_hosts_only() {
    let h = harness().await;
    let subscribe =
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=y";

    assert_eq!(h.post(&confirmation(TOPIC, subscribe, &h.now())).await, 200);
    assert_eq!(
        *h.visitor.visited.lock().unwrap(),
        vec![subscribe.to_string()]
    );

    for elsewhere in [
        "https://evil.example/?Action=ConfirmSubscription",
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com.evil.example/?Action=ConfirmSubscription",
    ] {
        let status = h.post(&confirmation(TOPIC, elsewhere, &h.now())).await;
        assert_eq!(status, 401, "{elsewhere}");
    }
    assert_eq!(
        h.visitor.visited.lock().unwrap().len(),
        1,
        "only the SNS URL was visited"
    );

    let mut unsubscribed = confirmation(TOPIC, subscribe, &h.now());
    unsubscribed["Type"] = json!("UnsubscribeConfirmation");
    sign(&mut unsubscribed, "2");
    assert_eq!(h.post(&unsubscribed).await, 200);
    assert_eq!(
        h.visitor.visited.lock().unwrap().len(),
        1,
        "unsubscribing visits nothing"
    );
    h.app.stop().await;
}

#[tokio::test]
async fn the_apps_own_sns_route_refuses_untrusted_messages_without_fetching() {
    // The production endpoint: a fetch would go to the network, so refusing before any fetch
    // is what keeps this test local.
    let app = spawn_app_with(&[("SNS_TOPIC_ARNS", TOPIC)]).await;
    let url = app.url("/api/webhooks/sns");
    let report = json!({ "job_id": uuid::Uuid::new_v4(), "token": TOKEN, "status": "running" });
    let now = timestamp(app.clock.now_ms());

    let mut plain_http = notification(TOPIC, &report, &now, "2");
    plain_http["SigningCertURL"] = json!(CERT_URL.replace("https://", "http://"));
    assert_eq!(post_to(&app, &url, &plain_http).await, 401);
    let other_topic = notification(OTHER_TOPIC, &report, &now, "2");
    assert_eq!(post_to(&app, &url, &other_topic).await, 403);
    let headerless = app
        .http
        .post(&url)
        .body(plain_http.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(headerless.status(), 400);
    app.stop().await;
}

/// A fake Lambda API that records each request and answers with `status`.
async fn fake_lambda(status: u16) -> (String, Arc<Mutex<Vec<(Method, Uri, HeaderMap, Bytes)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let router = axum::Router::new().fallback(
        move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let record = record.clone();
            async move {
                record.lock().unwrap().push((method, uri, headers, body));
                let status = axum::http::StatusCode::from_u16(status).unwrap();
                let headers = [
                    ("x-amzn-RequestId", "req-123"),
                    ("content-type", "application/json"),
                ];
                let body = if status.is_success() {
                    ""
                } else {
                    r#"{"message":"no"}"#
                };
                (status, headers, body)
            }
        },
    );
    (serve(router).await, seen)
}

fn lambda_config(endpoint: &str) -> LambdaConfig {
    LambdaConfig {
        function_name: "rekindle-restore".into(),
        region: "us-east-1".into(),
        reply_topic_arn: TOPIC.into(),
        endpoint: Some(endpoint.into()),
        access_key_id: Secret::new("AKIDTEST"),
        secret_access_key: Secret::new("test-secret"),
        session_token: None,
    }
}

#[tokio::test]
async fn lambda_is_invoked_asynchronously_with_the_documented_input() {
    let (endpoint, seen) = fake_lambda(202).await;
    let invoker = LambdaInvoker::new(&lambda_config(&endpoint));
    let job_id = uuid::Uuid::new_v4();
    let input = LambdaInput::new(
        job_id,
        TOKEN.into(),
        "https://photos.example.org/signed/source.jpg?sig=abc".into(),
        Default::default(),
        invoker.reply_topic_arn().into(),
    );

    let request_id = invoker
        .invoke(&input)
        .await
        .expect("the invocation is queued");
    assert_eq!(request_id, "req-123");
    let seen = seen.lock().unwrap();
    let (method, uri, headers, body) = &seen[0];
    assert_eq!(seen.len(), 1);
    assert_eq!(*method, Method::POST);
    assert_eq!(
        uri.path(),
        "/2015-03-31/functions/rekindle-restore/invocations"
    );
    assert_eq!(headers["x-amz-invocation-type"], "Event");
    assert!(
        headers["authorization"]
            .to_str()
            .unwrap()
            .starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/"),
        "SigV4-signed"
    );
    let body: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        body,
        json!({
            "version": 1,
            "job_id": job_id,
            "token": TOKEN,
            "image_url": "https://photos.example.org/signed/source.jpg?sig=abc",
            "options": serde_json::to_value(app::model::RestoreOptions::default()).unwrap(),
            "reply": { "topic_arn": TOPIC },
        })
    );
    assert!(
        !format!("{input:?}").contains(TOKEN),
        "Debug hides the token"
    );
}

#[tokio::test]
async fn lambda_throttling_is_transient_and_refusals_are_final() {
    let input = LambdaInput::new(
        uuid::Uuid::new_v4(),
        TOKEN.into(),
        "https://photos.example.org/source.jpg".into(),
        Default::default(),
        TOPIC.into(),
    );
    for (status, transient) in [(429, true), (503, true), (403, false), (400, false)] {
        let (endpoint, _) = fake_lambda(status).await;
        let result = LambdaInvoker::new(&lambda_config(&endpoint))
            .invoke(&input)
            .await;
        let is_transient = matches!(result, Err(ProviderError::Transient(_)));
        let is_rejected = matches!(result, Err(ProviderError::Rejected(_)));
        assert!(
            if transient { is_transient } else { is_rejected },
            "{status}: {result:?}"
        );
    }
}
