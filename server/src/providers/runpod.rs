//! RunPod's serverless queue API: `/run` with a webhook, `/status/{id}`, `/cancel/{id}`.
//!
//! RunPod does not sign webhooks; the per-job secret in the webhook URL is the proof, checked
//! before a body ever reaches [`parse_webhook`]. `output` is overloaded in RunPod's status
//! object: a progress report while `IN_PROGRESS`, the result when `COMPLETED`.

use super::{ProviderError, Submission};
use crate::config::Secret;
use crate::jobs::state::ProviderUpdate;
use bytes::Bytes;
use futures::StreamExt;
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Duration;

/// A client for one RunPod endpoint (`https://api.runpod.ai/v2/<endpoint id>`).
#[derive(Debug, Clone)]
pub struct RunPodClient {
    base_url: String,
    api_key: Secret,
    http: reqwest::Client,
}

/// RunPod's job status object (also the webhook body).
#[derive(Debug, Deserialize)]
struct StatusObject {
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
        }
    }

    pub async fn submit(&self, submission: &Submission) -> Result<String, ProviderError> {
        let body = json!({
            "input": { "image_url": submission.source_url, "options": submission.options },
            "webhook": submission.webhook_url,
            // Milliseconds: ten minutes to run once picked up, a day in all.
            "policy": { "executionTimeout": 600_000, "ttl": 86_400_000 },
        });
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
        let value = self.call(self.http.get(url)).await?;
        let status: StatusObject = serde_json::from_value(value)
            .map_err(|err| ProviderError::Rejected(format!("unreadable status: {err}")))?;

        Ok(to_update(status))
    }

    pub async fn cancel(&self, provider_job_id: &str) -> Result<(), ProviderError> {
        let url = format!("{}/cancel/{provider_job_id}", self.base_url);
        self.call(self.http.post(url)).await.map(|_| ())
    }

    pub async fn fetch_output(&self, url: &str, limit: u64) -> Result<Bytes, ProviderError> {
        let mut request = self.http.get(url).timeout(Duration::from_secs(120));
        // The API key goes only to the endpoint's own host, never to a URL a worker chose.
        if same_origin(url, &self.base_url) {
            request = request.bearer_auth(self.api_key.expose());
        }
        let response = request.send().await.map_err(|err| transient(&err))?;
        if !response.status().is_success() {
            return Err(ProviderError::Rejected(format!(
                "output download answered {}",
                response.status()
            )));
        }
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|err| transient(&err))?;
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(ProviderError::Rejected(
                    "the result is larger than the upload limit".into(),
                ));
            }
            body.extend_from_slice(&chunk);
        }

        Ok(Bytes::from(body))
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = request
            .bearer_auth(self.api_key.expose())
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|err| transient(&err))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ProviderError::UnknownJob);
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(ProviderError::Transient(format!("answered {status}")));
        }
        if !status.is_success() {
            return Err(ProviderError::Rejected(format!("answered {status}")));
        }

        response
            .json()
            .await
            .map_err(|err| ProviderError::Rejected(format!("unreadable answer: {err}")))
    }
}

fn transient(err: &reqwest::Error) -> ProviderError {
    // Without the URL: webhook and output URLs carry secrets.
    ProviderError::Transient(err.without_url_ref().to_string())
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        if self.is_timeout() {
            "timed out".into()
        } else if self.is_connect() {
            "could not connect".into()
        } else {
            "request failed".into()
        }
    }
}

fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// Reads a RunPod webhook body.
pub fn parse_webhook(body: &[u8]) -> Result<ProviderUpdate, String> {
    let status: StatusObject = serde_json::from_slice(body)
        .map_err(|_| "the webhook body is not a RunPod status object".to_string())?;

    Ok(to_update(status))
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
    (url.starts_with("https://") || url.starts_with("http://")).then(|| url.to_string())
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
        parse_webhook(body.as_bytes()).unwrap()
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
        assert!(parse_webhook(b"not json").is_err());
    }
}
