//! RunPod's serverless queue API: `/run` with a webhook, `/status/{id}`, `/cancel/{id}`.
//!
//! RunPod does not sign webhooks; the per-job secret in the webhook URL is the proof, checked
//! before a body ever reaches [`parse_webhook`]. `output` is overloaded in RunPod's status
//! object: a progress report while `IN_PROGRESS`, the result when `COMPLETED`.

use super::{http, ProviderError, Submission, Webhook, WebhookError};
use crate::config::Secret;
use crate::jobs::state::ProviderUpdate;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

/// A client for one RunPod endpoint (`https://api.runpod.ai/v2/<endpoint id>`).
#[derive(Debug, Clone)]
pub struct RunPodClient {
    base_url: String,
    api_key: Secret,
    http: reqwest::Client,
    /// Ask for a webhook on `/run`; without one the reconciler's status checks follow the job.
    webhooks: bool,
    /// RunPod's local test server (`--rp_serve_api`) answers `/status` only to POST.
    post_status: bool,
}

/// RunPod's job status object (also the webhook body).
#[derive(Debug, Deserialize)]
struct StatusObject {
    id: Option<String>,
    status: Option<String>,
    #[serde(default)]
    output: Value,
    error: Option<Value>,
}

impl RunPodClient {
    pub fn new(base_url: String, api_key: Secret, http: reqwest::Client) -> RunPodClient {
        RunPodClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            http,
            webhooks: true,
            post_status: false,
        }
    }

    /// Follows jobs by status checks only: no webhook is asked for.
    pub fn without_webhooks(mut self) -> RunPodClient {
        self.webhooks = false;
        self
    }

    /// Uses `POST /status/{id}`, as RunPod's local test server requires.
    pub fn with_post_status(mut self) -> RunPodClient {
        self.post_status = true;
        self
    }

    pub fn sends_webhooks(&self) -> bool {
        self.webhooks
    }

    pub async fn submit(&self, submission: &Submission) -> Result<String, ProviderError> {
        let mut body = json!({
            "input": { "image_url": submission.source_url, "options": submission.options },
            // Milliseconds: ten minutes to run once picked up, a day in all.
            "policy": { "executionTimeout": 600_000, "ttl": 86_400_000 },
        });
        if self.webhooks {
            body["webhook"] = Value::String(submission.webhook_url.clone());
        }
        let response = self
            .call(self.http.post(format!("{}/run", self.base_url)).json(&body))
            .await?;
        let id = response
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());

        id.map(str::to_string)
            .ok_or_else(|| ProviderError::Rejected("the /run response had no job id".into()))
    }

    pub async fn status(&self, provider_job_id: &str) -> Result<ProviderUpdate, ProviderError> {
        let url = format!("{}/status/{provider_job_id}", self.base_url);
        let request = if self.post_status {
            self.http.post(url)
        } else {
            self.http.get(url)
        };
        let value = self.call(request).await?;
        let status: StatusObject = serde_json::from_value(value)
            .map_err(|err| ProviderError::Rejected(format!("unreadable status: {err}")))?;
        // The local test server answers an unknown (or already read) id with HTTP 200.
        if status.status.as_deref() == Some("FAILED")
            && status.error.as_ref().and_then(Value::as_str) == Some("Job ID not found")
        {
            return Err(ProviderError::UnknownJob);
        }

        Ok(to_update(status))
    }

    pub async fn cancel(&self, provider_job_id: &str) -> Result<(), ProviderError> {
        let url = format!("{}/cancel/{provider_job_id}", self.base_url);
        self.call(self.http.post(url)).await.map(|_| ())
    }

    pub async fn fetch_output(&self, url: &str, limit: u64) -> Result<Bytes, ProviderError> {
        if let Some(data) = url.strip_prefix("data:") {
            return decode_data_url(data, limit);
        }
        http::fetch_limited(&self.http, url, &self.base_url, Some(&self.api_key), limit).await
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        http::call_json(request.bearer_auth(self.api_key.expose())).await
    }
}

/// A `data:image/...;base64,` result, as a worker may return one instead of a URL.
fn decode_data_url(data: &str, limit: u64) -> Result<Bytes, ProviderError> {
    use base64::Engine;
    let (meta, payload) = data
        .split_once(',')
        .filter(|(meta, _)| meta.ends_with(";base64"))
        .ok_or_else(|| ProviderError::Rejected("the result is not a base64 data URL".into()))?;
    if !meta.starts_with("image/") || payload.len() as u64 > limit.saturating_mul(4) / 3 + 4 {
        return Err(ProviderError::Rejected(
            "the result is not an image of an acceptable size".into(),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(payload)
        .map(Bytes::from)
        .map_err(|_| ProviderError::Rejected("the result is not valid base64".into()))
}

/// Reads a RunPod webhook body. RunPod signs nothing: the URL token is the only proof.
pub fn read_webhook(body: &[u8]) -> Result<Webhook, WebhookError> {
    let status: StatusObject = serde_json::from_slice(body).map_err(|_| {
        WebhookError::Unreadable("the webhook body is not a RunPod status object".into())
    })?;

    Ok(Webhook {
        delivery_id: None,
        provider_job_id: status.id.clone(),
        update: to_update(status),
    })
}

fn to_update(object: StatusObject) -> ProviderUpdate {
    match object.status.as_deref() {
        Some("IN_QUEUE") => ProviderUpdate::Queued,
        Some("IN_PROGRESS" | "RUNNING") => progress(&object.output),
        // RunPod's local test server posts only `{"output": ...}` for a finished job.
        Some("COMPLETED") | None if !object.output.is_null() => match output_url(&object.output) {
            Some(url) => ProviderUpdate::Succeeded { output_url: url },
            None => ProviderUpdate::Failed {
                reason: "The restoration finished without a result image.".into(),
            },
        },
        Some("COMPLETED") => ProviderUpdate::Failed {
            reason: "The restoration finished without a result image.".into(),
        },
        Some("FAILED") => ProviderUpdate::Failed {
            reason: failure_reason(object.error.as_ref()),
        },
        Some("CANCELLED") => ProviderUpdate::Cancelled,
        Some("TIMED_OUT") => ProviderUpdate::TimedOut,
        // Unknown states are treated as not final.
        _ => ProviderUpdate::Queued,
    }
}

fn progress(output: &Value) -> ProviderUpdate {
    let is_progress = output.get("kind").and_then(Value::as_str) == Some("progress");
    let percent = output
        .get("percent")
        .and_then(Value::as_u64)
        .filter(|_| is_progress)
        .map(|p| p.min(100) as u8);
    let stage = output
        .get("stage")
        .and_then(Value::as_str)
        .filter(|_| is_progress)
        .map(|s| s.chars().take(40).collect());
    ProviderUpdate::Running { percent, stage }
}

/// The result's URL: `{"image_url": …}` from our worker, or a bare URL string.
fn output_url(output: &Value) -> Option<String> {
    let url = output
        .get("image_url")
        .and_then(Value::as_str)
        .or_else(|| output.as_str())?;
    (http::is_web_url(url) || url.starts_with("data:image/")).then(|| url.to_string())
}

/// A sentence for the user; provider errors can be tracebacks, so only a short message is kept.
fn failure_reason(error: Option<&Value>) -> String {
    let text = match error {
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .ok()
            .and_then(|v| {
                v.get("error_message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| s.clone()),
        Some(other) => other
            .get("error_message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        None => String::new(),
    };
    let text: String = text
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(300)
        .collect();
    if text.trim().is_empty() {
        "The restoration service reported a failure.".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(body: &str) -> ProviderUpdate {
        read_webhook(body.as_bytes()).unwrap().update
    }

    #[test]
    fn each_runpod_status_maps_to_one_update() {
        let cases = [
            (r#"{"id":"a","status":"IN_QUEUE"}"#, ProviderUpdate::Queued),
            (
                r#"{"status":"IN_PROGRESS","output":{"kind":"progress","percent":40,"stage":"reduce noise"}}"#,
                ProviderUpdate::Running {
                    percent: Some(40),
                    stage: Some("reduce noise".into()),
                },
            ),
            (
                r#"{"status":"IN_PROGRESS","output":{"progress":"4/10"}}"#,
                ProviderUpdate::Running {
                    percent: None,
                    stage: None,
                },
            ),
            (
                r#"{"status":"COMPLETED","output":{"kind":"result","image_url":"https://w/o.png"}}"#,
                ProviderUpdate::Succeeded {
                    output_url: "https://w/o.png".into(),
                },
            ),
            (
                r#"{"output":"http://w/o.png"}"#,
                ProviderUpdate::Succeeded {
                    output_url: "http://w/o.png".into(),
                },
            ),
            (
                r#"{"status":"FAILED","error":"out of memory"}"#,
                ProviderUpdate::Failed {
                    reason: "out of memory".into(),
                },
            ),
            (r#"{"status":"CANCELLED"}"#, ProviderUpdate::Cancelled),
            (r#"{"status":"TIMED_OUT"}"#, ProviderUpdate::TimedOut),
            (r#"{"status":"SOMETHING_NEW"}"#, ProviderUpdate::Queued),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(body), expected, "{body}");
        }
    }

    #[test]
    fn a_completed_job_without_an_image_fails() {
        for body in [
            r#"{"status":"COMPLETED"}"#,
            r#"{"status":"COMPLETED","output":{"kind":"result"}}"#,
            r#"{"status":"COMPLETED","output":"file:///etc/passwd"}"#,
        ] {
            assert!(
                matches!(parse(body), ProviderUpdate::Failed { .. }),
                "{body}"
            );
        }
    }

    #[test]
    fn tracebacks_are_reduced_to_their_message() {
        let raised = r#"{"status":"FAILED","error":"{\"error_type\":\"ValueError\",\"error_message\":\"bad image\",\"error_traceback\":\"Traceback...\"}"}"#;
        assert_eq!(
            parse(raised),
            ProviderUpdate::Failed {
                reason: "bad image".into()
            }
        );
    }

    #[test]
    fn garbage_is_not_a_status() {
        assert!(read_webhook(b"not json").is_err());
    }
}
