//! HTTP details every provider client shares: mapping answers to [`ProviderError`], bounded
//! downloads, and error text that never carries a URL (webhook and output URLs hold secrets).

use super::ProviderError;
use crate::config::Secret;
use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use std::time::Duration;

/// Sends a JSON API request and reads a JSON answer.
pub async fn call_json(request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
    let response = request
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
        let detail = response.text().await.unwrap_or_default();
        let detail: String = detail.chars().take(300).collect();
        return Err(ProviderError::Rejected(format!(
            "answered {status}: {detail}"
        )));
    }

    response
        .json()
        .await
        .map_err(|err| ProviderError::Rejected(format!("unreadable answer: {err}")))
}

/// Downloads `url`, refusing more than `limit` bytes. The key goes only to `api_base`'s own
/// origin, never to a URL a worker chose.
pub async fn fetch_limited(
    http: &reqwest::Client,
    url: &str,
    api_base: &str,
    api_key: Option<&Secret>,
    limit: u64,
) -> Result<Bytes, ProviderError> {
    let mut request = http.get(url).timeout(Duration::from_secs(120));
    if let Some(key) = api_key.filter(|_| same_origin(url, api_base)) {
        request = request.bearer_auth(key.expose());
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

/// A network failure, described without its URL.
pub fn transient(err: &reqwest::Error) -> ProviderError {
    let what = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    ProviderError::Transient(what.into())
}

/// Whether `url` is an http(s) URL, the only kind a provider may hand us as a result.
pub fn is_web_url(url: &str) -> bool {
    url.starts_with("https://") || url.starts_with("http://")
}

fn same_origin(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}
