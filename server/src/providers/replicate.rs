//! Replicate predictions: `POST /predictions` with a webhook, `GET /predictions/{id}`,
//! `POST /predictions/{id}/cancel`, `Authorization: Bearer`.
//!
//! Webhook bodies are the prediction object itself, signed per Standard Webhooks with the
//! account's `whsec_` secret. We ask for `start`, `logs` and `completed` events; only the
//! final one is retried by Replicate, so lost intermediate ones are normal. Progress comes
//! from the last tqdm-style `NN%` in the logs.

use super::standard_webhooks::SigningKey;
use super::{http, ProviderError, Submission, Webhook, WebhookError};
use crate::config::Secret;
use crate::jobs::state::ProviderUpdate;
use axum::http::HeaderMap;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};

/// A client for one Replicate model.
#[derive(Debug, Clone)]
pub struct ReplicateClient {
    /// `https://api.replicate.com/v1`, or a test double.
    base_url: String,
    api_token: Secret,
    /// `owner/name`, `owner/name:version` or a bare version id.
    model: String,
    /// The model input that receives the photo's URL.
    image_input: String,
    signing_key: SigningKey,
    http: reqwest::Client,
}

/// Replicate's prediction object (also the webhook body).
#[derive(Debug, Deserialize)]
struct Prediction {
    id: Option<String>,
    status: Option<String>,
    #[serde(default)]
    output: Value,
    error: Option<Value>,
    logs: Option<String>,
}

impl ReplicateClient {
    pub fn new(
        base_url: String,
        api_token: Secret,
        model: String,
        image_input: String,
        signing_key: SigningKey,
        http: reqwest::Client,
    ) -> ReplicateClient {
        ReplicateClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_token,
            model,
            image_input,
            signing_key,
            http,
        }
    }

    pub async fn submit(&self, submission: &Submission) -> Result<String, ProviderError> {
        let mut input = json!({ "upscale_2x": submission.options.upscale_2x });
        input[&self.image_input] = Value::String(submission.source_url.clone());
        let body = json!({
            "version": self.model,
            "input": input,
            "webhook": submission.webhook_url,
            "webhook_events_filter": ["start", "logs", "completed"],
        });
        let url = format!("{}/predictions", self.base_url);
        let prediction = self.call(self.http.post(url).json(&body)).await?;
        let id = prediction
            .get("id")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty());

        id.map(str::to_string)
            .ok_or_else(|| ProviderError::Rejected("the prediction had no id".into()))
    }

    pub async fn status(&self, provider_job_id: &str) -> Result<ProviderUpdate, ProviderError> {
        let url = format!("{}/predictions/{provider_job_id}", self.base_url);
        let value = self.call(self.http.get(url)).await?;
        let prediction: Prediction = serde_json::from_value(value)
            .map_err(|err| ProviderError::Rejected(format!("unreadable prediction: {err}")))?;

        Ok(to_update(&prediction))
    }

    pub async fn cancel(&self, provider_job_id: &str) -> Result<(), ProviderError> {
        let url = format!("{}/predictions/{provider_job_id}/cancel", self.base_url);
        self.call(self.http.post(url)).await.map(|_| ())
    }

    pub async fn fetch_output(&self, url: &str, limit: u64) -> Result<Bytes, ProviderError> {
        http::fetch_limited(
            &self.http,
            url,
            &self.base_url,
            Some(&self.api_token),
            limit,
        )
        .await
    }

    /// Verifies the signature on the raw body, then reads the prediction.
    pub fn read_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_ms: i64,
    ) -> Result<Webhook, WebhookError> {
        let delivery_id = self
            .signing_key
            .verify(headers, body, now_ms.div_euclid(1000))
            .map_err(|err| WebhookError::Forged(signature_reason(err)))?;
        let prediction: Prediction = serde_json::from_slice(body).map_err(|_| {
            WebhookError::Unreadable("the webhook body is not a Replicate prediction".into())
        })?;

        Ok(Webhook {
            delivery_id: Some(delivery_id),
            provider_job_id: prediction.id.clone(),
            update: to_update(&prediction),
        })
    }

    async fn call(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, ProviderError> {
        http::call_json(request.bearer_auth(self.api_token.expose())).await
    }
}

fn signature_reason(err: super::standard_webhooks::SignatureError) -> &'static str {
    use super::standard_webhooks::SignatureError::*;
    match err {
        MissingHeaders => "missing signature headers",
        BadTimestamp => "unreadable timestamp",
        StaleTimestamp => "timestamp outside the tolerance",
        NoMatch => "bad signature",
    }
}

fn to_update(prediction: &Prediction) -> ProviderUpdate {
    match prediction.status.as_deref() {
        Some("processing") => ProviderUpdate::Running {
            percent: prediction.logs.as_deref().and_then(last_percent),
            stage: Some("restoring".into()),
        },
        Some("succeeded") => match output_url(&prediction.output) {
            Some(url) => ProviderUpdate::Succeeded { output_url: url },
            None => ProviderUpdate::Failed {
                reason: "The restoration finished without a result image.".into(),
            },
        },
        Some("failed") => ProviderUpdate::Failed {
            reason: failure_reason(prediction.error.as_ref()),
        },
        Some("canceled") => ProviderUpdate::Cancelled,
        // Replicate's deadline passed before the prediction started.
        Some("aborted") => ProviderUpdate::TimedOut,
        // `starting` and anything new: not final.
        _ => ProviderUpdate::Queued,
    }
}

/// The result: a URL, or the last URL of a list (models that return several stages).
fn output_url(output: &Value) -> Option<String> {
    let url = match output {
        Value::String(url) => Some(url.as_str()),
        Value::Array(items) => items.iter().rev().find_map(Value::as_str),
        Value::Object(map) => map.get("image").and_then(Value::as_str),
        _ => None,
    }?;
    http::is_web_url(url).then(|| url.to_string())
}

/// The last tqdm percentage in the logs (`" 45%|████▌     | 45/100"`).
pub fn last_percent(logs: &str) -> Option<u8> {
    let bytes = logs.as_bytes();
    let mut found = None;
    for (at, _) in logs.match_indices('%') {
        let digits = bytes[..at]
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if (1..=3).contains(&digits) {
            if let Ok(value) = logs[at - digits..at].parse::<u8>() {
                found = Some(value.min(100));
            }
        }
    }
    found
}

fn failure_reason(error: Option<&Value>) -> String {
    let text = match error {
        Some(Value::String(text)) => text.lines().next().unwrap_or_default(),
        _ => "",
    };
    let text: String = text.chars().take(300).collect();
    if text.trim().is_empty() {
        "The restoration service reported a failure.".into()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(body: Value) -> ProviderUpdate {
        to_update(&serde_json::from_value(body).unwrap())
    }

    #[test]
    fn each_prediction_status_maps_to_one_update() {
        let cases = [
            (json!({"status": "starting"}), ProviderUpdate::Queued),
            (
                json!({"status": "processing", "logs": "load\n 10%|█ | 1/10\n 40%|████ | 4/10"}),
                ProviderUpdate::Running {
                    percent: Some(40),
                    stage: Some("restoring".into()),
                },
            ),
            (
                json!({"status": "succeeded", "output": "https://replicate.delivery/x/out.png"}),
                ProviderUpdate::Succeeded {
                    output_url: "https://replicate.delivery/x/out.png".into(),
                },
            ),
            (
                json!({"status": "succeeded", "output": ["https://r/a.png", "https://r/b.png"]}),
                ProviderUpdate::Succeeded {
                    output_url: "https://r/b.png".into(),
                },
            ),
            (
                json!({"status": "succeeded", "output": null}),
                ProviderUpdate::Failed {
                    reason: "The restoration finished without a result image.".into(),
                },
            ),
            (
                json!({"status": "failed", "error": "CUDA out of memory\nTraceback"}),
                ProviderUpdate::Failed {
                    reason: "CUDA out of memory".into(),
                },
            ),
            (json!({"status": "canceled"}), ProviderUpdate::Cancelled),
            (json!({"status": "aborted"}), ProviderUpdate::TimedOut),
            (json!({"status": "brand_new"}), ProviderUpdate::Queued),
        ];
        for (body, expected) in cases {
            assert_eq!(update(body.clone()), expected, "{body}");
        }
    }

    #[test]
    fn progress_is_the_last_percentage_in_the_logs() {
        assert_eq!(last_percent("no numbers here"), None);
        assert_eq!(last_percent("100%|██████████| 10/10"), Some(100));
        assert_eq!(last_percent(" 5%| 7%|"), Some(7));
        assert_eq!(last_percent("50 % spaced"), None);
    }
}
