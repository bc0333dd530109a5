//! Job records and the RunPod status object they are reported as.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};
use uuid::Uuid;

/// RunPod's job states (the subset this worker produces).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JobStatus {
    InQueue,
    InProgress,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    /// The wire name, such as `IN_QUEUE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InQueue => "IN_QUEUE",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Whether the job can no longer change.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// Where a running job is, as shown in `output` while `IN_PROGRESS`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Progress {
    pub percent: u8,
    pub stage: &'static str,
}

/// The restored image, as shown in `output` once `COMPLETED`.
#[derive(Clone, Debug)]
pub(crate) struct JobResult {
    /// File name under the output route, `<token>.png`.
    pub file_name: String,
    pub width: u32,
    pub height: u32,
}

/// One submitted job.
#[derive(Debug)]
pub(crate) struct Job {
    pub id: Uuid,
    pub endpoint: String,
    /// The request's `input`, echoed in webhooks like RunPod's cloud does.
    pub input: Value,
    pub image_url: String,
    pub options: restore::Options,
    pub webhook: Option<String>,
    pub status: JobStatus,
    pub submitted_at: Instant,
    pub started_at: Option<Instant>,
    pub finished_at: Option<Instant>,
    pub progress: Option<Progress>,
    pub result: Option<JobResult>,
    pub error: Option<String>,
    /// Set when the job is cancelled; the running task checks it between steps.
    pub cancelled: Arc<AtomicBool>,
}

impl Job {
    /// The status object `/status` returns.
    pub fn status_body(&self, public_base_url: &str) -> Value {
        let now = Instant::now();
        let millis = |from: Instant, to: Instant| to.saturating_duration_since(from).as_millis();
        let mut body = json!({ "id": self.id, "status": self.status.as_str() });
        let started = self.started_at.unwrap_or(self.finished_at.unwrap_or(now));
        body["delayTime"] = json!(millis(self.submitted_at, started));
        if let Some(started_at) = self.started_at {
            body["executionTime"] = json!(millis(started_at, self.finished_at.unwrap_or(now)));
        }

        match (self.status, &self.progress, &self.result) {
            (JobStatus::InProgress, Some(progress), _) => {
                body["output"] = progress_output(progress);
            }
            (JobStatus::Completed, _, Some(result)) => {
                body["output"] = json!({
                    "kind": "result",
                    "image_url": self.output_url(public_base_url, &result.file_name),
                    "width": result.width,
                    "height": result.height,
                    "content_type": "image/png",
                });
            }
            _ => {}
        }
        if let Some(error) = &self.error {
            body["error"] = json!(error);
        }
        body
    }

    /// The status object plus the echoed `input`: what a final webhook carries.
    pub fn webhook_body(&self, public_base_url: &str) -> Value {
        let mut body = self.status_body(public_base_url);
        body["input"] = self.input.clone();
        body
    }

    fn output_url(&self, public_base_url: &str, file_name: &str) -> String {
        let base = public_base_url.trim_end_matches('/');
        format!("{base}/v2/{}/output/{}/{file_name}", self.endpoint, self.id)
    }
}

/// The tagged progress object used in `output` while a job runs.
pub(crate) fn progress_output(progress: &Progress) -> Value {
    json!({ "kind": "progress", "percent": progress.percent, "stage": progress.stage })
}
