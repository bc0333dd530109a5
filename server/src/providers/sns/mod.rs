//! `POST /api/webhooks/sns`: AWS SNS's HTTP(S) delivery, for workers (AWS Lambda or any AWS
//! compute) that publish their job reports to an SNS topic.
//!
//! Every message must come from a configured topic and carry a valid SNS signature
//! ([`verify`]); anything else changes nothing. A `SubscriptionConfirmation` is confirmed by
//! visiting its `SubscribeURL`; a `Notification` carries a [`message::JobReport`], which must
//! name a job submitted to the `lambda` provider and carry that job's own secret, and goes
//! through the job state machine like any other provider's report, once per `MessageId`.

pub mod lambda;
pub mod message;
mod receipts;
pub mod subscription;
pub mod verify;

use crate::auth::sha256_hex;
use crate::config::SnsConfig;
use crate::error::{ApiError, Result};
use crate::jobs::{self, service};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Extension, Router};
use message::{JobReport, MessageType, SnsMessage};
use std::sync::Arc;
use std::time::Duration;
use subscription::SubscriptionVisitor;
use subtle::ConstantTimeEq;
use verify::{CertificateFetcher, TopicRegion, Verifier};

/// SNS messages are at most 256 KiB; the envelope adds a little.
const MAX_SNS_BYTES: usize = 300 * 1024;

/// What the SNS endpoint needs beyond the app state: allowed topics, the verifier (with its
/// certificate cache) and the subscription visitor.
pub struct SnsEndpoint {
    topic_arns: Vec<String>,
    verifier: Verifier,
    visitor: Arc<dyn SubscriptionVisitor>,
}

impl SnsEndpoint {
    /// An endpoint with its own certificate fetcher and visitor (tests inject local fakes);
    /// URLs are checked before either is called.
    pub fn new(
        topic_arns: Vec<String>,
        fetcher: Arc<dyn CertificateFetcher>,
        visitor: Arc<dyn SubscriptionVisitor>,
    ) -> SnsEndpoint {
        SnsEndpoint {
            topic_arns,
            verifier: Verifier::new(fetcher),
            visitor,
        }
    }

    /// The production endpoint: certificates and confirmations over HTTPS, no redirects.
    pub fn from_config(config: &SnsConfig) -> SnsEndpoint {
        let http = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .expect("the TLS backend initialises, as for every other HTTP client here");
        SnsEndpoint::new(
            config.topic_arns.clone(),
            Arc::new(verify::HttpsCertificateFetcher::new(http.clone())),
            Arc::new(subscription::HttpsSubscriptionVisitor::new(http)),
        )
    }

    fn allows(&self, topic_arn: &str) -> bool {
        self.topic_arns.iter().any(|allowed| allowed == topic_arn)
    }
}

/// The SNS route, configured from the app's settings.
pub fn router(state: &AppState) -> Router<AppState> {
    router_with(Arc::new(SnsEndpoint::from_config(&state.config.sns)))
}

/// The SNS route with a given endpoint.
pub fn router_with(endpoint: Arc<SnsEndpoint>) -> Router<AppState> {
    Router::new()
        .route("/api/webhooks/sns", post(receive_sns_message))
        .layer(Extension(endpoint))
        .layer(DefaultBodyLimit::max(MAX_SNS_BYTES))
}

async fn receive_sns_message(
    State(state): State<AppState>,
    Extension(endpoint): Extension<Arc<SnsEndpoint>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode> {
    let invalid = || ApiError::bad_request("invalid_sns_message", "This is not an SNS message.");
    let kind = headers
        .get("x-amz-sns-message-type")
        .and_then(|value| value.to_str().ok())
        .and_then(MessageType::parse)
        .ok_or_else(invalid)?;
    let message: SnsMessage = serde_json::from_slice(&body).map_err(|_| invalid())?;
    if message.message_type() != Some(kind) {
        return Err(invalid());
    }

    // Unknown topics are refused before anything is fetched for them.
    if !endpoint.allows(&message.topic_arn) {
        tracing::warn!(
            sns.topic = %message.topic_arn,
            sns.message_id = %message.message_id,
            "SNS message refused: topic not configured"
        );
        return Err(ApiError::forbidden(
            "unknown_topic",
            "This server does not take messages from that topic.",
        ));
    }
    if let Err(refused) = endpoint
        .verifier
        .verify(&message, state.clock.now_ms())
        .await
    {
        tracing::warn!(
            sns.topic = %message.topic_arn,
            sns.message_id = %message.message_id,
            reason = refused.0,
            "SNS message refused"
        );
        return Err(ApiError::Unauthenticated);
    }

    match kind {
        MessageType::SubscriptionConfirmation => confirm_subscription(&endpoint, &message).await,
        MessageType::UnsubscribeConfirmation => {
            tracing::info!(sns.topic = %message.topic_arn, "SNS subscription ended");
            Ok(StatusCode::OK)
        }
        MessageType::Notification => receive_job_report(&state, &message).await,
    }
}

/// Confirms a subscription to an allowed topic by visiting its `SubscribeURL`.
async fn confirm_subscription(endpoint: &SnsEndpoint, message: &SnsMessage) -> Result<StatusCode> {
    let url = message.subscribe_url.as_deref().unwrap_or_default();
    let on_sns = TopicRegion::of(&message.topic_arn).is_some_and(|region| region.is_sns_url(url));
    if !on_sns {
        let topic = &message.topic_arn;
        tracing::warn!(sns.topic = %topic, "SubscribeURL is not on the topic's SNS host");
        return Err(ApiError::Unauthenticated);
    }
    endpoint.visitor.visit(url).await.map_err(|err| {
        ApiError::Unavailable(err.context("Failed to confirm the SNS subscription"))
    })?;
    tracing::info!(sns.topic = %message.topic_arn, "SNS subscription confirmed");

    Ok(StatusCode::OK)
}

/// Applies a worker's report to its job, once per `MessageId`.
async fn receive_job_report(state: &AppState, message: &SnsMessage) -> Result<StatusCode> {
    let unreadable = |reason: &'static str| ApiError::bad_request("invalid_job_report", reason);
    let report: JobReport = serde_json::from_str(&message.message)
        .map_err(|_| unreadable("The notification's Message is not a Rekindle job report."))?;
    let update = report.to_update().map_err(unreadable)?;
    let job_id = report.job_id;

    // A missing job, another provider's job and a wrong token all look the same.
    let job = jobs::find(&state.db, job_id)
        .await?
        .filter(|job| job.provider == lambda::PROVIDER_NAME);
    let token_matches = job.is_some_and(|job| {
        let given = sha256_hex(&report.token);
        bool::from(given.as_bytes().ct_eq(job.webhook_token_hash.as_bytes()))
    });
    if !token_matches {
        tracing::warn!(
            job.id = %job_id,
            sns.message_id = %message.message_id,
            "SNS report refused: unknown job or wrong token"
        );
        return Err(ApiError::Unauthenticated);
    }

    let now = state.clock.now_ms();
    if !receipts::claim(&state.db, &message.message_id, &message.topic_arn, now).await? {
        tracing::debug!(
            job.id = %job_id,
            sns.message_id = %message.message_id,
            "SNS message already applied"
        );
        return Ok(StatusCode::OK);
    }
    tracing::debug!(job.id = %job_id, ?update, "SNS report received");
    if let Err(err) = service::apply_report(state, job_id, update).await {
        // Let SNS's retry of this message be applied.
        if let Err(release) = receipts::release(&state.db, &message.message_id).await {
            tracing::warn!(job.id = %job_id, error = %release, "could not release an SNS message");
        }
        return Err(err);
    }

    Ok(StatusCode::OK)
}
