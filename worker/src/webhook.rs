//! Webhook delivery: final statuses with RunPod's retry rule, progress fire-and-forget.
//!
//! Webhook URLs carry a secret token, so only their scheme and host are ever logged.

use std::time::Duration;

use serde_json::Value;

use crate::WorkerConfig;

/// Attempts for a final status: the first plus two retries, as RunPod's cloud does.
const FINAL_ATTEMPTS: u32 = 3;
/// Each POST gives up after this long.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Posts a final status, retrying on failure; returns whether it was delivered.
pub(crate) async fn deliver_final(config: &WorkerConfig, url: &str, body: &Value) -> bool {
    for attempt in 1..=FINAL_ATTEMPTS {
        match post(config, url, body).await {
            Ok(()) => {
                tracing::info!(webhook = %redact(url), attempt, "webhook delivered");
                return true;
            }
            Err(reason) => {
                tracing::warn!(webhook = %redact(url), attempt, %reason, "webhook failed");
            }
        }
        if attempt < FINAL_ATTEMPTS {
            tokio::time::sleep(config.webhook_retry_delay).await;
        }
    }
    tracing::error!(webhook = %redact(url), "webhook given up after {FINAL_ATTEMPTS} attempts");
    false
}

/// Posts a progress update once; failures are only logged.
pub(crate) async fn deliver_progress(config: &WorkerConfig, url: &str, body: &Value) {
    if let Err(reason) = post(config, url, body).await {
        tracing::debug!(webhook = %redact(url), %reason, "progress webhook failed");
    }
}

async fn post(config: &WorkerConfig, url: &str, body: &Value) -> Result<(), String> {
    let response = config
        .http
        .post(url)
        .timeout(POST_TIMEOUT)
        .json(body)
        .send()
        .await
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("receiver answered {}", response.status()))
    }
}

/// A URL reduced to scheme, host and port, safe to log.
pub(crate) fn redact(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => {
            let host = parsed.host_str().unwrap_or("?");
            match parsed.port() {
                Some(port) => format!("{}://{host}:{port}", parsed.scheme()),
                None => format!("{}://{host}", parsed.scheme()),
            }
        }
        Err(_) => "<invalid url>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacted_urls_keep_only_scheme_and_host() {
        let url = "https://hooks.example:8443/hooks/runpod/abc?t=secret";
        assert_eq!(redact(url), "https://hooks.example:8443");
        assert_eq!(redact("not a url"), "<invalid url>");
    }
}
