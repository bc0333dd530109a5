//! Password hashing with Argon2id, off the async threads (it is slow on purpose).

use crate::error::{ApiError, Result};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// Hashes a new password.
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("Failed to hash a password: {err}"))
    })
    .await
    .map_err(|err| ApiError::Internal(err.into()))?
    .map_err(ApiError::Internal)
}

/// Checks a password against a stored hash; with no hash, does the same work and says no.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && stored != DUMMY_HASH
    })
    .await
    .map_err(|err| ApiError::Internal(err.into()))
}

/// A valid Argon2id hash of a random password nobody knows.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$J2cJ4q3x1cPq8e7f0u0wX9ym3Sxv1wdJQ7o0YQk8q3c";
