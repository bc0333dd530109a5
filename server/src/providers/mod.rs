//! GPU (and CPU) providers behind one interface: the job code never knows which one runs a job.
//!
//! Today every provider speaks RunPod's serverless protocol: RunPod itself, and the built-in
//! worker, which this server mounts at `/worker` and drives over real HTTP exactly like RunPod.

pub mod runpod;

use crate::jobs::state::ProviderUpdate;
use app::model::RestoreOptions;
use bytes::Bytes;
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

/// A configured provider.
#[derive(Debug, Clone)]
pub struct Provider {
    /// The name in webhook URLs and job rows (`builtin`, `runpod`).
    pub name: &'static str,
    client: runpod::RunPodClient,
}

impl Provider {
    pub fn runpod(name: &'static str, client: runpod::RunPodClient) -> Provider {
        Provider { name, client }
    }

    /// Hands a job to the provider; returns the provider's id for it.
    pub async fn submit(&self, submission: &Submission) -> Result<String, ProviderError> {
        self.client.submit(submission).await
    }

    /// Asks the provider where a job is (the fallback when webhooks do not come).
    pub async fn status(&self, provider_job_id: &str) -> Result<ProviderUpdate, ProviderError> {
        self.client.status(provider_job_id).await
    }

    /// Asks the provider to stop a job.
    pub async fn cancel(&self, provider_job_id: &str) -> Result<(), ProviderError> {
        self.client.cancel(provider_job_id).await
    }

    /// Reads a webhook body; the URL token has already been checked.
    pub fn parse_webhook(&self, body: &[u8]) -> Result<ProviderUpdate, String> {
        runpod::parse_webhook(body)
    }

    /// Downloads a job's result, refusing more than `limit` bytes.
    pub async fn fetch_output(&self, url: &str, limit: u64) -> Result<Bytes, ProviderError> {
        self.client.fetch_output(url, limit).await
    }
}
