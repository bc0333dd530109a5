//! Standard Webhooks (v1.0.0) signature checks, as Replicate signs its webhooks.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{raw body}`, HMAC-SHA256 with the
//! bytes of a `whsec_<base64>` secret; `webhook-signature` lists one or more `v1,<base64>`
//! entries (several while a key rotates) and any one may match. Timestamps more than five
//! minutes away from our clock, in either direction, are refused.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a webhook's timestamp may be from our clock, either way.
pub const TOLERANCE_SECS: i64 = 5 * 60;

/// Why a webhook's signature was refused. The texts are safe to log: they hold no secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing webhook-id, webhook-timestamp or webhook-signature")]
    MissingHeaders,
    #[error("webhook-timestamp is not a number")]
    BadTimestamp,
    #[error("webhook-timestamp is outside the tolerance")]
    StaleTimestamp,
    #[error("no signature matches")]
    NoMatch,
}

/// A `whsec_` signing secret, decoded. `Debug` never shows it.
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(***)")
    }
}

impl SigningKey {
    /// Reads `whsec_<base64>` (the prefix is optional, as some dashboards omit it).
    pub fn parse(secret: &str) -> Result<SigningKey, &'static str> {
        let encoded = secret
            .trim()
            .strip_prefix("whsec_")
            .unwrap_or(secret.trim());
        let bytes = BASE64
            .decode(encoded)
            .map_err(|_| "the webhook secret is not whsec_ followed by base64")?;
        if bytes.is_empty() {
            return Err("the webhook secret is empty");
        }

        Ok(SigningKey(bytes))
    }

    /// The `v1,<base64>` signature of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", BASE64.encode(self.mac(id, timestamp, body)))
    }

    /// Checks a webhook's headers against its raw body; returns its `webhook-id`.
    pub fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_secs: i64,
    ) -> Result<String, SignatureError> {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .filter(|value| !value.is_empty())
        };
        let (Some(id), Some(timestamp), Some(signatures)) = (
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        ) else {
            return Err(SignatureError::MissingHeaders);
        };
        let timestamp: i64 = timestamp
            .parse()
            .map_err(|_| SignatureError::BadTimestamp)?;
        if (now_secs - timestamp).abs() > TOLERANCE_SECS {
            return Err(SignatureError::StaleTimestamp);
        }

        let expected = self.mac(id, timestamp, body);
        let matches = signatures
            .split(' ')
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(|encoded| BASE64.decode(encoded).ok())
            .any(|given| bool::from(given.as_slice().ct_eq(&expected)));
        if !matches {
            return Err(SignatureError::NoMatch);
        }

        Ok(id.to_string())
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any size");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        mac.finalize().into_bytes().to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vector of the Standard Webhooks specification's reference libraries.
    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TIMESTAMP: i64 = 1649367553;
    const BODY: &str = r#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn headers(id: &str, timestamp: &str, signature: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("webhook-id", id),
            ("webhook-timestamp", timestamp),
            ("webhook-signature", signature),
        ] {
            if !value.is_empty() {
                headers.insert(name, value.parse().unwrap());
            }
        }
        headers
    }

    fn key() -> SigningKey {
        SigningKey::parse(SECRET).unwrap()
    }

    #[test]
    fn the_specification_test_vector_signs_and_verifies() {
        assert_eq!(key().sign(ID, TIMESTAMP, BODY.as_bytes()), SIGNATURE);
        let verified = key().verify(
            &headers(ID, &TIMESTAMP.to_string(), SIGNATURE),
            BODY.as_bytes(),
            TIMESTAMP,
        );
        assert_eq!(verified.as_deref(), Ok(ID));
    }

    #[test]
    fn any_of_several_signatures_may_match_during_key_rotation() {
        let list = format!("v1,Zm9yZ2Vk v1a,c29tZXRoaW5n {SIGNATURE}");
        let verified = key().verify(
            &headers(ID, &TIMESTAMP.to_string(), &list),
            BODY.as_bytes(),
            TIMESTAMP,
        );
        assert_eq!(verified.as_deref(), Ok(ID));
    }

    #[test]
    fn each_kind_of_forgery_is_refused_with_its_reason() {
        let ts = TIMESTAMP.to_string();
        let cases: [(&str, HeaderMap, &str, i64, SignatureError); 8] = [
            (
                "changed body",
                headers(ID, &ts, SIGNATURE),
                r#"{"email":"evil@example.com","username":"test_user"}"#,
                TIMESTAMP,
                SignatureError::NoMatch,
            ),
            (
                "changed id",
                headers("msg_other", &ts, SIGNATURE),
                BODY,
                TIMESTAMP,
                SignatureError::NoMatch,
            ),
            (
                "no signature",
                headers(ID, &ts, ""),
                BODY,
                TIMESTAMP,
                SignatureError::MissingHeaders,
            ),
            (
                "no id",
                headers("", &ts, SIGNATURE),
                BODY,
                TIMESTAMP,
                SignatureError::MissingHeaders,
            ),
            (
                "unversioned signature",
                headers(ID, &ts, SIGNATURE.trim_start_matches("v1,")),
                BODY,
                TIMESTAMP,
                SignatureError::NoMatch,
            ),
            (
                "too old",
                headers(ID, &ts, SIGNATURE),
                BODY,
                TIMESTAMP + TOLERANCE_SECS + 1,
                SignatureError::StaleTimestamp,
            ),
            (
                "too far ahead",
                headers(ID, &ts, SIGNATURE),
                BODY,
                TIMESTAMP - TOLERANCE_SECS - 1,
                SignatureError::StaleTimestamp,
            ),
            (
                "timestamp not a number",
                headers(ID, "yesterday", SIGNATURE),
                BODY,
                TIMESTAMP,
                SignatureError::BadTimestamp,
            ),
        ];
        for (name, headers, body, now, expected) in cases {
            assert_eq!(
                key().verify(&headers, body.as_bytes(), now),
                Err(expected),
                "{name}"
            );
        }
    }

    #[test]
    fn timestamps_at_the_edge_of_the_tolerance_are_accepted() {
        let headers = headers(ID, &TIMESTAMP.to_string(), SIGNATURE);
        for now in [TIMESTAMP - TOLERANCE_SECS, TIMESTAMP + TOLERANCE_SECS] {
            assert!(
                key().verify(&headers, BODY.as_bytes(), now).is_ok(),
                "{now}"
            );
        }
    }

    #[test]
    fn a_secret_that_is_not_base64_is_refused() {
        assert!(SigningKey::parse("whsec_not base64!").is_err());
        assert!(SigningKey::parse("whsec_").is_err());
    }
}
