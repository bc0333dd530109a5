//! Object storage for photo bytes: a local folder (embedded default) or an S3 bucket, behind
//! one interface.
//!
//! Keys are opaque (`<photo id>/original`), never a user's file name. Reading bytes from a
//! browser always goes through a signed URL issued by the gatekeeper; nothing outside this
//! module knows which store is in use.

mod local;
mod multipart;
mod s3;
pub mod signing;
mod temp;

use crate::config::StorageConfig;
use crate::state::Keys;
use bytes::Bytes;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

pub use local::LocalStore;
pub use s3::{S3Store, MAX_PRESIGN_TTL};
pub use temp::TempFile;

/// How a signed URL presents the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Shown in the page.
    Inline,
    /// Saved as a download under this file name.
    Attachment(String),
}

/// The configured object store.
#[derive(Debug, Clone)]
pub enum Storage {
    Local(LocalStore),
    S3(S3Store),
}

impl Storage {
    /// The configured store; the local one keeps its objects in `<data dir>/objects`.
    pub fn open(config: &StorageConfig, data_dir: &Path) -> anyhow::Result<Storage> {
        Ok(match config {
            StorageConfig::Local => Storage::Local(LocalStore::new(data_dir.join("objects"))?),
            StorageConfig::S3(s3) => Storage::S3(S3Store::new(s3)),
        })
    }

    /// Stores a file from disk under `key`, streaming it.
    pub async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> anyhow::Result<()> {
        match self {
            Storage::Local(store) => store.put_file(key, path, content_type).await,
            Storage::S3(store) => store.put_file(key, path, content_type).await,
        }
    }

    /// Stores bytes under `key`.
    pub async fn put_bytes(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
    ) -> anyhow::Result<()> {
        match self {
            Storage::Local(store) => store.put_bytes(key, bytes, content_type).await,
            Storage::S3(store) => store.put_bytes(key, bytes, content_type).await,
        }
    }

    /// Reads a whole object (for the server's own processing, bounded by upload limits).
    pub async fn get_bytes(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        match self {
            Storage::Local(store) => store.get_bytes(key).await,
            Storage::S3(store) => store.get_bytes(key).await,
        }
    }

    /// Removes an object; removing a missing object is not an error.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        match self {
            Storage::Local(store) => store.delete(key).await,
            Storage::S3(store) => store.delete(key).await,
        }
    }

    /// A URL that reads `key` until it expires (at most [`MAX_PRESIGN_TTL`] from `now_ms`),
    /// with its expiry in Unix milliseconds.
    #[expect(
        clippy::too_many_arguments,
        reason = "the local store signs with the server's key and URL, S3 with its own"
    )]
    pub async fn presign_get(
        &self,
        keys: &Keys,
        public_url: &str,
        key: &str,
        content_type: &str,
        disposition: &Disposition,
        ttl: Duration,
        now_ms: i64,
    ) -> anyhow::Result<(String, i64)> {
        match self {
            Storage::Local(_) => {
                let expires_at_s = now_ms / 1000 + ttl.as_secs() as i64;
                let grant = signing::Grant {
                    key: key.to_string(),
                    expires_at_s,
                    content_type: content_type.to_string(),
                    disposition: disposition.clone(),
                };
                Ok((
                    grant.to_url(public_url, &keys.url_signing),
                    expires_at_s * 1000,
                ))
            }
            Storage::S3(store) => {
                let ttl = ttl.min(MAX_PRESIGN_TTL);
                let now = UNIX_EPOCH + Duration::from_millis(u64::try_from(now_ms).unwrap_or(0));
                let url = store
                    .presign_get(key, content_type, disposition, ttl, now)
                    .await?;
                let expires_at = now_ms + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
                Ok((url, expires_at))
            }
        }
    }

    /// True when the store can be written to.
    pub async fn is_reachable(&self) -> bool {
        match self {
            Storage::Local(store) => store.is_reachable().await,
            Storage::S3(store) => store.is_reachable().await,
        }
    }
}
