//! Session tokens: HS256 JWTs naming the user and the session row.

use crate::config::Secret;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

const ISSUER: &str = "rekindle";

/// What a session token says.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: Uuid,
    /// The session row; deleting it revokes the token.
    pub sid: Uuid,
    pub iss: String,
    /// Seconds since the epoch.
    pub iat: i64,
    pub exp: i64,
}

/// The keys derived from the server's secret: one for tokens, one for signed file URLs.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// HMAC key for signed file URLs.
    pub url_signing: Vec<u8>,
}

impl Keys {
    /// Derives independent keys from the configured secret.
    pub fn derive(secret: &Secret) -> Keys {
        let token_key = derive(secret, b"rekindle session tokens v1");
        Keys {
            encoding: EncodingKey::from_secret(&token_key),
            decoding: DecodingKey::from_secret(&token_key),
            url_signing: derive(secret, b"rekindle signed urls v1"),
        }
    }

    /// Signs a session token valid until `expires_ms`.
    pub fn sign(
        &self,
        user: Uuid,
        session: Uuid,
        now_ms: i64,
        expires_ms: i64,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: user,
            sid: session,
            iss: ISSUER.to_string(),
            iat: now_ms / 1000,
            exp: expires_ms / 1000,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The claims of a valid token: HS256 only, our issuer, not expired at `now_ms`.
    pub fn verify(&self, token: &str, now_ms: i64) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        // The library checks `exp` against the system clock; we check it against ours.
        validation.validate_exp = false;
        validation.leeway = 0;
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok()?;
        (data.claims.exp * 1000 > now_ms).then_some(data.claims)
    }
}

fn derive(secret: &Secret, purpose: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.expose().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(purpose);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn keys() -> Keys {
        Keys::derive(&Secret::new("test-secret-test-secret-test-secret"))
    }

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let keys = keys();
        let (user, session) = (Uuid::new_v4(), Uuid::new_v4());
        let token = keys.sign(user, session, NOW, NOW + 60_000).unwrap();
        let claims = keys.verify(&token, NOW + 1).expect("valid token");
        assert_eq!((claims.sub, claims.sid), (user, session));
        assert!(
            keys.verify(&token, NOW + 60_000).is_none(),
            "expired token accepted"
        );
    }

    #[test]
    fn forged_tokens_are_refused() {
        let keys = keys();
        let token = keys
            .sign(Uuid::new_v4(), Uuid::new_v4(), NOW, NOW + 60_000)
            .unwrap();
        let other = Keys::derive(&Secret::new("another-secret-another-secret-xx"));
        let foreign = other
            .sign(Uuid::new_v4(), Uuid::new_v4(), NOW, NOW + 60_000)
            .unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let alg_none = format!("{none_header}.{}.", parts[1]);
        let payload: serde_json::Value =
            serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        let mut changed = payload.clone();
        changed["sub"] = serde_json::json!(Uuid::new_v4());
        let changed = format!(
            "{}.{}.{}",
            parts[0],
            b64.encode(changed.to_string()),
            parts[2]
        );

        for (name, forged) in [
            ("wrong key", foreign),
            ("alg none", alg_none),
            ("changed payload", changed),
        ] {
            assert!(keys.verify(&forged, NOW).is_none(), "{name} was accepted");
        }
    }
}
