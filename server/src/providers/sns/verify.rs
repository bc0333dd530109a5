//! Proving an SNS message came from AWS: the signing certificate must be served over HTTPS by
//! the SNS endpoint of the topic's own region, and the message's signature (RSA PKCS#1 v1.5,
//! SHA-1 for `SignatureVersion` 1, SHA-256 for 2) must verify with that certificate's key.
//!
//! URLs are checked here, before any fetch, so an injected [`CertificateFetcher`] (tests use
//! one) never sees a URL production would refuse. Keys are cached in memory, a bounded number
//! for a bounded time, so a burst of notifications costs one download.

use super::message::SnsMessage;
use async_trait::async_trait;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

/// Certificates kept at once; SNS uses one per region at a time, rotated rarely.
const CACHE_CAPACITY: usize = 16;
/// How long a downloaded certificate is trusted without downloading it again.
const CACHE_TTL_MS: i64 = 24 * 3600 * 1000;
/// A message older than this is a replay, not a retry; receipts are kept longer than this.
pub const MAX_MESSAGE_AGE_MS: i64 = 24 * 3600 * 1000;
/// Tolerated clock difference for messages dated in the future.
const MAX_CLOCK_SKEW_MS: i64 = 15 * 60 * 1000;

/// Why a message was refused; a phrase for the log, never shown to the sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused(pub &'static str);

/// Downloads a signing certificate (PEM). Only ever called with a URL [`is_signing_cert_url`]
/// accepted.
#[async_trait]
pub trait CertificateFetcher: Send + Sync {
    async fn fetch(&self, url: &str) -> anyhow::Result<Vec<u8>>;
}

/// The production fetcher: HTTPS only, no redirects, a small size limit.
pub struct HttpsCertificateFetcher {
    http: reqwest::Client,
}

impl HttpsCertificateFetcher {
    pub fn new(http: reqwest::Client) -> HttpsCertificateFetcher {
        HttpsCertificateFetcher { http }
    }
}

#[async_trait]
impl CertificateFetcher for HttpsCertificateFetcher {
    async fn fetch(&self, url: &str) -> anyhow::Result<Vec<u8>> {
        const LIMIT: usize = 64 * 1024;
        let mut response = self.http.get(url).send().await?.error_for_status()?;
        let mut pem = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            anyhow::ensure!(pem.len() + chunk.len() <= LIMIT, "certificate too large");
            pem.extend_from_slice(&chunk);
        }

        Ok(pem)
    }
}

/// The AWS region and DNS suffix a topic ARN belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRegion {
    region: String,
    dns_suffix: &'static str,
}

impl TopicRegion {
    /// Reads `arn:<partition>:sns:<region>:<account>:<topic>`.
    pub fn of(topic_arn: &str) -> Option<TopicRegion> {
        let parts: Vec<&str> = topic_arn.split(':').collect();
        let [_, partition, "sns", region, _, _] = parts[..] else {
            return None;
        };
        let valid_region = !region.is_empty()
            && region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let dns_suffix = match partition {
            "aws" | "aws-us-gov" => "amazonaws.com",
            "aws-cn" => "amazonaws.com.cn",
            _ => return None,
        };

        valid_region.then(|| TopicRegion {
            region: region.to_string(),
            dns_suffix,
        })
    }

    /// True when `url` is `https://sns.<region>.<suffix>/…` for this region, with no port
    /// and no credentials: the only place AWS serves SNS certificates and confirmations.
    pub fn is_sns_url(&self, url: &str) -> bool {
        let Ok(url) = url::Url::parse(url) else {
            return false;
        };
        let expected = format!("sns.{}.{}", self.region, self.dns_suffix);
        url.scheme() == "https"
            && url.host_str() == Some(expected.as_str())
            && url.port().is_none()
            && url.username().is_empty()
            && url.password().is_none()
    }
}

/// True when `url` may serve the certificate for a message from `topic_arn`.
pub fn is_signing_cert_url(url: &str, topic_arn: &str) -> bool {
    let pem_path = url::Url::parse(url).is_ok_and(|u| u.path().ends_with(".pem"));
    pem_path && TopicRegion::of(topic_arn).is_some_and(|region| region.is_sns_url(url))
}

/// A signing key and how long it may be used.
#[derive(Clone)]
struct CachedKey {
    key: Arc<RsaPublicKey>,
    not_before_ms: i64,
    not_after_ms: i64,
    fetched_at_ms: i64,
}

/// Verifies messages, downloading and caching signing certificates.
pub struct Verifier {
    fetcher: Arc<dyn CertificateFetcher>,
    cache: Mutex<HashMap<String, CachedKey>>,
}

impl Verifier {
    pub fn new(fetcher: Arc<dyn CertificateFetcher>) -> Verifier {
        Verifier {
            fetcher,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Checks that `message` is signed by SNS for its topic and is not stale.
    pub async fn verify(&self, message: &SnsMessage, now_ms: i64) -> Result<(), Refused> {
        if !matches!(message.signature_version.as_str(), "1" | "2") {
            return Err(Refused("unsupported signature version"));
        }
        if !is_signing_cert_url(&message.signing_cert_url, &message.topic_arn) {
            return Err(Refused(
                "signing certificate URL is not on the topic's SNS host",
            ));
        }
        let text = message
            .string_to_sign()
            .ok_or(Refused("a signed field is missing"))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(message.signature.trim())
            .map_err(|_| Refused("signature is not base64"))?;

        let key = self.key(&message.signing_cert_url, now_ms).await?;
        let verified = match message.signature_version.as_str() {
            "1" => key.verify(
                Pkcs1v15Sign::new::<Sha1>(),
                &Sha1::digest(text.as_bytes()),
                &signature,
            ),
            _ => key.verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(text.as_bytes()),
                &signature,
            ),
        };
        verified.map_err(|_| Refused("signature does not verify"))?;

        check_timestamp(&message.timestamp, now_ms)
    }

    /// The key of the certificate at `url`, from the cache or freshly downloaded.
    async fn key(&self, url: &str, now_ms: i64) -> Result<Arc<RsaPublicKey>, Refused> {
        let cached = self.lock().get(url).cloned();
        let cached = cached.filter(|c| now_ms - c.fetched_at_ms < CACHE_TTL_MS);
        let entry = match cached {
            Some(entry) => entry,
            None => {
                let pem = self.fetcher.fetch(url).await.map_err(|err| {
                    tracing::warn!(error = %err, "could not download the SNS signing certificate");
                    Refused("signing certificate unavailable")
                })?;
                let entry = parse_certificate(&pem, now_ms)?;
                self.remember(url, entry.clone());
                entry
            }
        };
        if now_ms < entry.not_before_ms || now_ms > entry.not_after_ms {
            return Err(Refused("signing certificate is not valid now"));
        }

        Ok(entry.key)
    }

    fn remember(&self, url: &str, entry: CachedKey) {
        let mut cache = self.lock();
        if cache.len() >= CACHE_CAPACITY && !cache.contains_key(url) {
            let oldest = cache
                .iter()
                .min_by_key(|(_, c)| c.fetched_at_ms)
                .map(|(url, _)| url.clone());
            if let Some(oldest) = oldest {
                cache.remove(&oldest);
            }
        }
        cache.insert(url.to_string(), entry);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedKey>> {
        // The map stays consistent even if a holder panicked: every change is one call.
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn parse_certificate(pem: &[u8], now_ms: i64) -> Result<CachedKey, Refused> {
    let certificate =
        Certificate::from_pem(pem).map_err(|_| Refused("signing certificate is unreadable"))?;
    let tbs = &certificate.tbs_certificate;
    let key_der = tbs
        .subject_public_key_info
        .to_der()
        .map_err(|_| Refused("signing certificate is unreadable"))?;
    let key = RsaPublicKey::from_public_key_der(&key_der)
        .map_err(|_| Refused("signing certificate has no RSA key"))?;
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);

    Ok(CachedKey {
        key: Arc::new(key),
        not_before_ms: millis(tbs.validity.not_before.to_unix_duration()),
        not_after_ms: millis(tbs.validity.not_after.to_unix_duration()),
        fetched_at_ms: now_ms,
    })
}

/// Refuses messages dated too far in the past (replays) or the future.
fn check_timestamp(timestamp: &str, now_ms: i64) -> Result<(), Refused> {
    use aws_sdk_lambda::primitives::{DateTime, DateTimeFormat};
    let sent_ms = DateTime::from_str(timestamp, DateTimeFormat::DateTime)
        .ok()
        .and_then(|time| time.to_millis().ok())
        .ok_or(Refused("timestamp is unreadable"))?;
    if sent_ms < now_ms - MAX_MESSAGE_AGE_MS || sent_ms > now_ms + MAX_CLOCK_SKEW_MS {
        return Err(Refused("timestamp is too old or in the future"));
    }

    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:rekindle";

    #[test]
    fn only_https_pem_urls_on_the_topics_sns_host_are_trusted() {
        let cases = [
            (
                "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
                true,
            ),
            (
                "https://SNS.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
                true,
            ),
            (
                "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem",
                false,
            ),
            (
                "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem",
                false,
            ),
            (
                "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
                false,
            ),
            (
                "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
                false,
            ),
            (
                "https://sns.us-east-1.amazonaws.com@evil.example/cert.pem",
                false,
            ),
            ("https://x@sns.us-east-1.amazonaws.com/cert.pem", false),
            ("https://sns.us-east-1.amazonaws.com:8443/cert.pem", false),
            ("https://sns.us-east-1.amazonaws.com/cert.txt", false),
            ("https://example.com/cert.pem", false),
            ("not a url", false),
        ];
        for (url, trusted) in cases {
            assert_eq!(is_signing_cert_url(url, TOPIC), trusted, "{url}");
        }
    }

    #[test]
    fn china_topics_use_the_china_suffix() {
        let topic = "arn:aws-cn:sns:cn-north-1:123456789012:rekindle";
        assert!(is_signing_cert_url(
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-abc.pem",
            topic
        ));
        assert!(!is_signing_cert_url(
            "https://sns.cn-north-1.amazonaws.com/SimpleNotificationService-abc.pem",
            topic
        ));
        assert_eq!(TopicRegion::of("arn:evil:sns:us-east-1:1:t"), None);
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let now = 1_700_000_000_000;
        assert_eq!(check_timestamp("2023-11-14T22:13:20.000Z", now), Ok(()));
        assert!(check_timestamp("2023-11-12T22:13:20.000Z", now).is_err());
        assert!(check_timestamp("2023-11-15T22:13:20.000Z", now).is_err());
        assert!(check_timestamp("yesterday", now).is_err());
    }
}
