//! Fetching a job's source image, capped in size while it streams.

use restore::InputError;

/// Why a source image could not be fetched, in words for the photo's owner.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DownloadError {
    #[error("The photo could not be downloaded from its address.")]
    Unreachable,
    #[error("The photo's address answered with an error ({0}).")]
    Status(reqwest::StatusCode),
    #[error(transparent)]
    TooLarge(InputError),
}

/// Downloads `url`, aborting as soon as more than `max_bytes` arrive.
pub(crate) async fn fetch(
    http: &reqwest::Client,
    url: &str,
    max_bytes: u64,
) -> Result<Vec<u8>, DownloadError> {
    let unreachable = |error: reqwest::Error| {
        tracing::warn!(error = %error.without_url(), "source download failed");
        DownloadError::Unreachable
    };
    let mut response = http.get(url).send().await.map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(DownloadError::Status(response.status()));
    }
    let too_large = |size| {
        DownloadError::TooLarge(InputError::FileTooLarge {
            size,
            limit: max_bytes,
        })
    };
    if let Some(declared) = response.content_length().filter(|&len| len > max_bytes) {
        return Err(too_large(declared));
    }

    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if (bytes.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large((bytes.len() + chunk.len()) as u64));
        }
        bytes.extend_from_slice(&chunk);
    }

    Ok(bytes)
}
