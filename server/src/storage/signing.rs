//! Signed file URLs for the local store: an HMAC over everything the URL grants.
//!
//! `GET /files/<key>?exp=<unix s>&ct=<type>[&dl=<file name>]&sig=<hex>`. The signature covers
//! the key, the expiry, the content type and the download name, so none can be changed.

use super::Disposition;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;
use url::form_urlencoded;

/// What one signed URL allows: reading `key` until `expires_at_s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub key: String,
    pub expires_at_s: i64,
    pub content_type: String,
    pub disposition: Disposition,
}

/// The query string of a signed URL.
#[derive(Debug, Deserialize)]
pub struct SignedQuery {
    pub exp: Option<i64>,
    pub ct: Option<String>,
    pub dl: Option<String>,
    pub sig: Option<String>,
}

/// Why a signed URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    BadSignature,
    Expired,
}

impl Grant {
    fn message(&self) -> String {
        let download = match &self.disposition {
            Disposition::Inline => "",
            Disposition::Attachment(name) => name,
        };
        format!(
            "GET\n{}\n{}\n{}\n{}",
            self.key, self.expires_at_s, self.content_type, download
        )
    }

    fn signature(&self, secret: &[u8]) -> Vec<u8> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
        mac.update(self.message().as_bytes());
        mac.finalize().into_bytes().to_vec()
    }

    /// The full URL under `base` (the server's public URL).
    pub fn to_url(&self, base: &str, secret: &[u8]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("exp", &self.expires_at_s.to_string());
        query.append_pair("ct", &self.content_type);
        if let Disposition::Attachment(name) = &self.disposition {
            query.append_pair("dl", name);
        }
        query.append_pair("sig", &hex::encode(self.signature(secret)));
        format!("{base}/files/{}?{}", self.key, query.finish())
    }

    /// Checks a request for `key` with `query` at `now_s`.
    pub fn verify(
        key: &str,
        query: SignedQuery,
        secret: &[u8],
        now_s: i64,
    ) -> Result<Grant, Refusal> {
        let (Some(exp), Some(ct), Some(sig)) = (query.exp, query.ct, query.sig) else {
            return Err(Refusal::BadSignature);
        };
        let grant = Grant {
            key: key.to_string(),
            expires_at_s: exp,
            content_type: ct,
            disposition: query
                .dl
                .map_or(Disposition::Inline, Disposition::Attachment),
        };
        let given = hex::decode(sig).map_err(|_| Refusal::BadSignature)?;
        let mut mac =
            Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts keys of any length");
        mac.update(grant.message().as_bytes());
        // `verify_slice` compares in constant time.
        mac.verify_slice(&given)
            .map_err(|_| Refusal::BadSignature)?;
        if now_s >= grant.expires_at_s {
            return Err(Refusal::Expired);
        }

        Ok(grant)
    }
}

/// A `Content-Disposition` value that keeps any file name intact: an ASCII fallback for old
/// clients and the exact name in RFC 5987 `filename*`.
pub fn content_disposition(disposition: &Disposition) -> String {
    match disposition {
        Disposition::Inline => "inline".to_string(),
        Disposition::Attachment(name) => {
            let fallback: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let encoded: String = name
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"signing-secret";

    fn grant() -> Grant {
        Grant {
            key: "abc/original".into(),
            expires_at_s: 1_000,
            content_type: "image/png".into(),
            disposition: Disposition::Attachment("Grandma & me + \"1952\".png".into()),
        }
    }

    fn query_of(url: &str) -> (String, SignedQuery) {
        let (path, query) = url.split_once('?').unwrap();
        let key = path.split("/files/").nth(1).unwrap().to_string();
        (key, serde_urlencoded::from_str(query).unwrap())
    }

    #[test]
    fn a_signed_url_verifies_until_it_expires() {
        let url = grant().to_url("http://h", SECRET);
        let (key, query) = query_of(&url);
        assert_eq!(Grant::verify(&key, query, SECRET, 999), Ok(grant()));
        let (key, query) = query_of(&url);
        assert_eq!(
            Grant::verify(&key, query, SECRET, 1_000),
            Err(Refusal::Expired)
        );
    }

    #[test]
    fn any_change_to_a_signed_url_is_refused() {
        let url = grant().to_url("http://h", SECRET);
        let cases = [
            ("other key", url.replace("abc/original", "abd/original")),
            ("later expiry", url.replace("exp=1000", "exp=9000")),
            ("other type", url.replace("image%2Fpng", "text%2Fhtml")),
            ("other name", url.replace("Grandma", "Grandpa")),
            (
                "no signature",
                url.split("&sig=").next().unwrap().to_string(),
            ),
        ];
        for (name, tampered) in cases {
            assert_ne!(tampered, url, "{name}: tampering changed nothing");
            let (key, query) = query_of(&tampered);
            assert_eq!(
                Grant::verify(&key, query, SECRET, 0),
                Err(Refusal::BadSignature),
                "{name}"
            );
        }
        let (key, query) = query_of(&url);
        assert_eq!(
            Grant::verify(&key, query, b"wrong", 0),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn download_names_survive_any_characters() {
        let header = content_disposition(&Disposition::Attachment("Oma's foto 🎞 (1).png".into()));
        assert!(
            header.starts_with("attachment; filename=\"Oma's foto _ (1).png\""),
            "{header}"
        );
        assert!(
            header.ends_with("filename*=UTF-8''Oma%27s%20foto%20%F0%9F%8E%9E%20%281%29.png"),
            "{header}"
        );
    }
}
