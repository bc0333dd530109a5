//! The worker's settings.

use std::fmt;
use std::time::Duration;

/// How the worker authenticates callers, runs jobs and keeps results.
#[derive(Clone)]
pub struct WorkerConfig {
    /// Bearer token every request must carry.
    pub api_key: String,
    /// Jobs restored at the same time (at least 1).
    pub max_concurrent_jobs: usize,
    /// How long results (and finished jobs) are kept, like RunPod's 30 minutes.
    pub output_ttl: Duration,
    /// Base URL where this worker is reachable, used to build output URLs,
    /// e.g. `http://127.0.0.1:3000/worker`.
    pub public_base_url: String,
    /// Limits applied to downloaded source images.
    pub limits: restore::Limits,
    /// Client for downloads and webhooks.
    pub http: reqwest::Client,
    /// Pause between attempts at delivering a final webhook (RunPod waits 10 s).
    pub webhook_retry_delay: Duration,
}

impl WorkerConfig {
    /// Settings with the documented defaults: one job per core, 30-minute retention,
    /// default limits and a 10 s webhook retry delay.
    pub fn new(api_key: impl Into<String>, public_base_url: impl Into<String>) -> Self {
        Self {
            api_key: api_key.into(),
            max_concurrent_jobs: default_concurrency(),
            output_ttl: Duration::from_secs(30 * 60),
            public_base_url: public_base_url.into(),
            limits: restore::Limits::default(),
            http: reqwest::Client::new(),
            webhook_retry_delay: Duration::from_secs(10),
        }
    }
}

/// The number of cores, or 1 when it cannot be determined.
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("api_key", &"[redacted]")
            .field("max_concurrent_jobs", &self.max_concurrent_jobs)
            .field("output_ttl", &self.output_ttl)
            .field("public_base_url", &self.public_base_url)
            .field("limits", &self.limits)
            .field("webhook_retry_delay", &self.webhook_retry_delay)
            .finish_non_exhaustive()
    }
}
