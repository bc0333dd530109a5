//! GPU (and CPU) providers behind one interface: the job code never knows which one runs a job.
//!
//! - [`runpod`]: RunPod serverless (`/run` with a webhook, `/status`, `/cancel`). The built-in
//!   worker speaks the same protocol, and so does a "polling" endpoint that sends no webhooks
//!   (a Modal-like service behind a small RunPod-shaped web app).
//! - [`replicate`]: Replicate predictions, webhooks signed per [`standard_webhooks`].
//! - [`comfyui`]: a self-hosted ComfyUI, followed over its own WebSocket ([`Pushed`] events).
//!
//! How a provider proves a webhook is its own differs (a URL token for all of them, a signature
//! for Replicate), so each provider reads its webhooks in [`Provider::read_webhook`].

pub mod comfyui;
mod http;
pub mod replicate;
pub mod runpod;
pub mod sns;
pub mod standard_webhooks;

use crate::jobs::state::ProviderUpdate;
use app::model::RestoreOptions;
use axum::http::HeaderMap;
use bytes::Bytes;
use std::time::Duration;
use uuid::Uuid;

/// What a provider needs to run one job.
#[derive(Debug, Clone)]
pub struct Submission {
    pub job_id: Uuid,
    /// A signed URL the provider reads the source image from.
    pub source_url: String,
    pub options: RestoreOptions,
    /// Where the provider reports back; it carries the job's secret token.
    pub webhook_url: String,
}

/// Why a call to a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Worth trying again later (network trouble, 429, 5xx).
    #[error("provider temporarily unavailable: {0}")]
    Transient(String),
    /// The provider refused the request; retrying will not help.
    #[error("provider refused the request: {0}")]
    Rejected(String),
    /// The provider no longer knows the job (RunPod forgets jobs after their TTL).
    #[error("provider does not know this job")]
    UnknownJob,
}

/// A webhook that passed the provider's own checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// The provider's message id, when it has one (Standard Webhooks' `webhook-id`); a second
    /// delivery with the same id is a replay.
    pub delivery_id: Option<String>,
    /// The provider's job id as the body states it, to be matched against the job's.
    pub provider_job_id: Option<String>,
    pub update: ProviderUpdate,
}

/// Why a webhook was not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    /// Not provably from the provider: missing or bad signature, stale timestamp.
    #[error("webhook not authentic: {0}")]
    Forged(&'static str),
    /// Authentic, but not something we can read.
    #[error("{0}")]
    Unreadable(String),
}

/// A report a provider pushes over its own channel (ComfyUI's WebSocket) rather than a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pushed {
    /// A change of one job, named by the provider's job id.
    Update {
        provider_job_id: String,
        update: ProviderUpdate,
    },
    /// The provider says the job ended; its outcome is read with a status check.
    Finished { provider_job_id: String },
    /// The channel was down for a while: reports may have been lost.
    Reconnected,
}

/// Where [`Pushed`] reports arrive; `None` for providers without such a channel.
pub type PushedReports = tokio::sync::mpsc::UnboundedReceiver<Pushed>;

/// A configured provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The name in webhook URLs and job rows (`builtin`, `runpod`, `replicate`, ...).
    pub name: &'static str,
    api: Api,
}

#[derive(Debug, Clone)]
enum Api {
    RunPod(runpod::RunPodClient),
    Replicate(replicate::ReplicateClient),
    ComfyUi(comfyui::ComfyUiClient),
    /// An AWS Lambda function invoked asynchronously; it reports through SNS.
    Lambda(sns::lambda::LambdaInvoker, reqwest::Client),
}

impl Provider {
    /// RunPod's protocol: RunPod itself, the built-in worker, or a polled endpoint.
    pub fn runpod(name: &'static str, client: runpod::RunPodClient) -> Provider {
        Provider {
            name,
            api: Api::RunPod(client),
        }
    }

    pub fn replicate(client: replicate::ReplicateClient) -> Provider {
        Provider {
            name: "replicate",
            api: Api::Replicate(client),
        }
    }

    pub fn lambda(invoker: sns::lambda::LambdaInvoker, http: reqwest::Client) -> Provider {
        Provider {
            name: sns::lambda::PROVIDER_NAME,
            api: Api::Lambda(invoker, http),
        }
    }

    pub fn comfyui(client: comfyui::ComfyUiClient) -> Provider {
        Provider {
            name: "comfyui",
            api: Api::ComfyUi(client),
        }
    }

    /// Hands a job to the provider; returns the provider's id for it.
    pub async fn submit(&self, submission: &Submission) -> Result<String, ProviderError> {
        match &self.api {
            Api::RunPod(client) => client.submit(submission).await,
            Api::Replicate(client) => client.submit(submission).await,
            Api::ComfyUi(client) => client.submit(submission).await,
            Api::Lambda(invoker, _) => {
                let input = sns::lambda::LambdaInput::from_submission(
                    submission,
                    invoker.reply_topic_arn(),
                )
                .ok_or_else(|| ProviderError::Rejected("the job has no webhook token".into()))?;
                invoker.invoke(&input).await
            }
        }
    }

    /// Asks the provider where a job is (the fallback when webhooks do not come).
    pub async fn status(&self, provider_job_id: &str) -> Result<ProviderUpdate, ProviderError> {
        match &self.api {
            Api::RunPod(client) => client.status(provider_job_id).await,
            Api::Replicate(client) => client.status(provider_job_id).await,
            Api::ComfyUi(client) => client.status(provider_job_id).await,
            // Lambda has no status API: reports arrive through SNS only.
            Api::Lambda(..) => Ok(ProviderUpdate::Queued),
        }
    }

    /// Asks the provider to stop a job.
    pub async fn cancel(&self, provider_job_id: &str) -> Result<(), ProviderError> {
        match &self.api {
            Api::RunPod(client) => client.cancel(provider_job_id).await,
            Api::Replicate(client) => client.cancel(provider_job_id).await,
            Api::ComfyUi(client) => client.cancel(provider_job_id).await,
            // An invoked function cannot be stopped; its late report is ignored.
            Api::Lambda(..) => Ok(()),
        }
    }

    /// Checks and reads a webhook; the URL token has already been checked. `now_ms` is the
    /// server's clock, for timestamp tolerance.
    pub fn read_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_ms: i64,
    ) -> Result<Webhook, WebhookError> {
        match &self.api {
            Api::RunPod(_) => runpod::read_webhook(body),
            Api::Replicate(client) => client.read_webhook(headers, body, now_ms),
            // ComfyUI reports over its WebSocket; it never calls us.
            Api::ComfyUi(_) => Err(WebhookError::Forged("this provider sends no webhooks")),
            Api::Lambda(..) => Err(WebhookError::Forged(
                "Lambda reports arrive through /api/webhooks/sns",
            )),
        }
    }

    /// Downloads a job's result, refusing more than `limit` bytes.
    pub async fn fetch_output(&self, url: &str, limit: u64) -> Result<Bytes, ProviderError> {
        match &self.api {
            Api::RunPod(client) => client.fetch_output(url, limit).await,
            Api::Replicate(client) => client.fetch_output(url, limit).await,
            Api::ComfyUi(client) => client.fetch_output(url, limit).await,
            Api::Lambda(_, http) => http::fetch_limited(http, url, "", None, limit).await,
        }
    }

    /// Whether the provider tells us about changes (webhooks, a WebSocket). Without that, the
    /// reconciler's status checks are the only way to follow a job, so they start early.
    pub fn pushes_updates(&self) -> bool {
        match &self.api {
            Api::RunPod(client) => client.sends_webhooks(),
            Api::Replicate(_) | Api::ComfyUi(_) | Api::Lambda(..) => true,
        }
    }

    /// When to check a job first, and the base and cap of the backoff between later checks.
    pub fn check_schedule(&self, check_after: Duration) -> CheckSchedule {
        if self.pushes_updates() {
            CheckSchedule {
                first: check_after,
                base: Duration::from_secs(10),
                cap: Duration::from_secs(300),
            }
        } else {
            CheckSchedule {
                first: Duration::from_secs(2),
                base: Duration::from_secs(2),
                cap: Duration::from_secs(60),
            }
        }
    }
}

/// How often the reconciler asks a provider about one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckSchedule {
    pub first: Duration,
    pub base: Duration,
    pub cap: Duration,
}
