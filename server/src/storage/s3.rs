//! The S3 store: objects in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, ...)
//! through aws-sdk-s3, read by browsers and providers through presigned GET URLs.
//!
//! The client is configured by hand from [`S3Config`] (static credentials, rustls on ring),
//! so nothing is read from `~/.aws` or instance metadata behind the operator's back.

use super::multipart;
use super::{signing, Disposition};
use crate::config::S3Config;
use anyhow::Context;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
use bytes::Bytes;
use std::path::Path;
use std::time::{Duration, SystemTime};
use tokio::io::AsyncReadExt;

/// The longest lifetime S3 allows a presigned URL (SigV4: seven days).
pub const MAX_PRESIGN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Files above this size are sent as a multipart upload, in parts of [`multipart::PART_SIZE`].
const SINGLE_PUT_MAX: u64 = 16 * 1024 * 1024;

/// Objects in one bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    /// A client for the configured bucket; makes no request yet.
    pub fn new(config: &S3Config) -> S3Store {
        let credentials = Credentials::new(
            config.access_key_id.expose(),
            config.secret_access_key.expose(),
            None,
            None,
            "rekindle-config",
        );
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut builder = aws_sdk_s3::config::Builder::new()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .credentials_provider(credentials)
            .http_client(http)
            .force_path_style(config.force_path_style)
            // Checksums only where S3 requires them: several S3-compatible servers refuse the
            // newer default (CRC32 trailers on every upload).
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &config.endpoint {
            builder = builder.endpoint_url(endpoint);
        }

        S3Store {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            bucket: config.bucket.clone(),
        }
    }

    /// Uploads a file from disk: one PutObject when small, a multipart upload otherwise, so
    /// at most one part is in memory.
    pub async fn put_file(
        &self,
        key: &str,
        source: &Path,
        content_type: &str,
    ) -> anyhow::Result<()> {
        let mut file = tokio::fs::File::open(source)
            .await
            .with_context(|| format!("Failed to open {} for upload", source.display()))?;
        let len = file
            .metadata()
            .await
            .with_context(|| format!("Failed to read the size of {}", source.display()))?
            .len();
        if len > SINGLE_PUT_MAX {
            return multipart::upload(&self.client, &self.bucket, key, file, content_type).await;
        }

        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes)
            .await
            .with_context(|| format!("Failed to read {} for upload", source.display()))?;
        self.put_bytes(key, Bytes::from(bytes), content_type).await
    }

    /// Uploads bytes with one PutObject.
    pub async fn put_bytes(
        &self,
        key: &str,
        bytes: Bytes,
        content_type: &str,
    ) -> anyhow::Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .with_context(|| format!("Failed to store object {key} in S3"))?;

        Ok(())
    }

    /// Reads a whole object; `None` when there is no such key.
    pub async fn get_bytes(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        let response = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let output = match response {
            Ok(output) => output,
            Err(err) if matches!(err.as_service_error(), Some(GetObjectError::NoSuchKey(_))) => {
                return Ok(None)
            }
            Err(err) => {
                return Err(err).with_context(|| format!("Failed to read object {key} from S3"))
            }
        };
        let body = output
            .body
            .collect()
            .await
            .with_context(|| format!("Failed to read object {key} from S3"))?;

        Ok(Some(body.into_bytes()))
    }

    /// Deletes an object; S3 treats a missing key as deleted, and so does this.
    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let response = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        match response {
            Ok(_) => Ok(()),
            Err(err) if err.code() == Some("NoSuchKey") => Ok(()),
            Err(err) => Err(err).with_context(|| format!("Failed to delete object {key} from S3")),
        }
    }

    /// A presigned GET for `key` signed at `now`, valid for `ttl` (at most seven days), whose
    /// response carries `content_type` and `disposition`.
    pub async fn presign_get(
        &self,
        key: &str,
        content_type: &str,
        disposition: &Disposition,
        ttl: Duration,
        now: SystemTime,
    ) -> anyhow::Result<String> {
        let presigning = PresigningConfig::builder()
            .start_time(now)
            .expires_in(ttl.min(MAX_PRESIGN_TTL))
            .build()
            .context("Failed to build the presigning settings")?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .response_content_type(content_type)
            .response_content_disposition(signing::content_disposition(disposition))
            .presigned(presigning)
            .await
            .with_context(|| format!("Failed to presign a GET for object {key}"))?;

        Ok(request.uri().to_string())
    }

    /// True when the bucket answers a HeadBucket with these credentials.
    pub async fn is_reachable(&self) -> bool {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => true,
            Err(err) => {
                let code = err.code().unwrap_or("no answer").to_string();
                tracing::warn!(error.code = code, "S3 bucket is not reachable");
                false
            }
        }
    }
}
