//! S3 multipart uploads from a file, one part in memory at a time.
//!
//! An upload that fails is aborted, so S3 keeps no orphaned parts (which it would bill for);
//! one whose caller goes away mid-way (a dropped future) is aborted in the background.

use anyhow::Context;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use tokio::io::AsyncReadExt;

/// Size of each part but the last. S3 wants at least 5 MiB and at most 10,000 parts, so
/// this covers files up to about 78 GiB.
pub const PART_SIZE: u64 = 8 * 1024 * 1024;

/// Uploads `file` (positioned at its start) as `key` in parts of [`PART_SIZE`].
pub async fn upload(
    client: &Client,
    bucket: &str,
    key: &str,
    file: tokio::fs::File,
    content_type: &str,
) -> anyhow::Result<()> {
    let created = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .content_type(content_type)
        .send()
        .await
        .with_context(|| format!("Failed to start a multipart upload of {key}"))?;
    let upload_id = created
        .upload_id()
        .context("S3 started a multipart upload without an upload id")?;
    let mut pending = Pending {
        client: client.clone(),
        bucket: bucket.to_string(),
        key: key.to_string(),
        upload_id: upload_id.to_string(),
        finished: false,
    };

    let result = send_parts(&pending, file).await;
    pending.finished = true;
    if let Err(err) = result {
        pending.abort().await;
        return Err(err);
    }
    tracing::debug!(key, "multipart upload completed");

    Ok(())
}

/// A multipart upload in progress.
struct Pending {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    /// Completed, or aborted by the caller: nothing left for `Drop` to do.
    finished: bool,
}

async fn send_parts(pending: &Pending, file: tokio::fs::File) -> anyhow::Result<()> {
    let mut parts = Vec::new();
    let mut file = file;
    for part_number in 1.. {
        let mut part = Vec::with_capacity(PART_SIZE as usize);
        (&mut file)
            .take(PART_SIZE)
            .read_to_end(&mut part)
            .await
            .with_context(|| format!("Failed to read part {part_number} of {}", pending.key))?;
        if part.is_empty() && part_number > 1 {
            break;
        }
        let last = (part.len() as u64) < PART_SIZE;
        let sent = pending
            .client
            .upload_part()
            .bucket(&pending.bucket)
            .key(&pending.key)
            .upload_id(&pending.upload_id)
            .part_number(part_number)
            .body(ByteStream::from(part))
            .send()
            .await
            .with_context(|| format!("Failed to upload part {part_number} of {}", pending.key))?;
        parts.push(
            CompletedPart::builder()
                .part_number(part_number)
                .set_e_tag(sent.e_tag().map(str::to_string))
                .build(),
        );
        if last {
            break;
        }
    }

    pending
        .client
        .complete_multipart_upload()
        .bucket(&pending.bucket)
        .key(&pending.key)
        .upload_id(&pending.upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("Failed to complete the multipart upload of {}", pending.key))?;

    Ok(())
}

impl Pending {
    async fn abort(&self) {
        let aborted = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&self.upload_id)
            .send()
            .await;
        if let Err(err) = aborted {
            tracing::warn!(key = self.key, error = %aws_sdk_s3::error::DisplayErrorContext(&err),
                "could not abort a failed multipart upload; a bucket lifecycle rule will have to");
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let pending = Pending {
            client: self.client.clone(),
            bucket: std::mem::take(&mut self.bucket),
            key: std::mem::take(&mut self.key),
            upload_id: std::mem::take(&mut self.upload_id),
            finished: true,
        };
        runtime.spawn(async move { pending.abort().await });
    }
}
