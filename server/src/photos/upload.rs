//! Turning an image into a stored photo: validate, orient, thumbnail, reserve, store.
//!
//! Uploads arrive as a temporary file and are streamed to storage; provider results arrive as
//! bytes (bounded by the upload limit) and are stored from memory.

use super::PhotoRow;
use crate::error::{ApiError, Result};
use crate::state::AppState;
use crate::storage::TempFile;
use app::model::PhotoKind;
use bytes::Bytes;
use uuid::Uuid;

/// Longest side of a gallery thumbnail, in pixels.
const THUMBNAIL_SIDE: u32 = 480;

/// An image about to become a photo.
pub struct NewImage {
    pub user_id: Uuid,
    pub kind: PhotoKind,
    pub file_name: String,
    pub source_photo_id: Option<Uuid>,
    pub bytes: Bytes,
    /// The user's storage limit under their current plan.
    pub storage_limit: u64,
}

/// An upload already streamed to a temporary file, about to become a photo.
pub struct NewUpload {
    pub user_id: Uuid,
    pub file_name: String,
    /// The uploaded bytes; removed when this is dropped.
    pub file: TempFile,
    pub size: u64,
    /// The user's storage limit under their current plan.
    pub storage_limit: u64,
}

/// Where the original's bytes come from.
enum Original<'a> {
    Bytes(Bytes),
    File(&'a std::path::Path),
}

/// Checks, thumbnails and stores an image, counting it against the user's quota.
/// Either everything is stored and recorded, or nothing is: refused bytes leave no trace.
pub async fn store_image(state: &AppState, new: NewImage) -> Result<PhotoRow> {
    let limits = state.image_limits();
    let bytes = new.bytes.clone();
    let (probe, thumbnail) = tokio::task::spawn_blocking(move || -> Result<_> {
        let decoded = restore::decode(&bytes, &limits)?;
        Ok((restore::probe(&bytes, &limits)?, make_thumbnail(&decoded)?))
    })
    .await
    .map_err(|err| ApiError::Internal(err.into()))??;

    let photo = new_row(
        state,
        new.user_id,
        new.kind,
        new.file_name,
        new.source_photo_id,
        (probe.format, probe.width, probe.height),
        new.bytes.len() as u64 + thumbnail.len() as u64,
    );
    let original = Original::Bytes(new.bytes);
    save(state, photo, original, thumbnail, new.storage_limit).await
}

/// [`store_image`] for an upload on disk: decoded from the file and streamed to storage, so
/// its bytes are never all in memory. Once started it runs to the end even if the client goes
/// away, so a disconnect cannot leave a half-stored photo behind.
pub async fn store_upload(state: &AppState, new: NewUpload) -> Result<PhotoRow> {
    let state = state.clone();
    tokio::spawn(async move { store_upload_now(&state, new).await })
        .await
        .map_err(|err| ApiError::Internal(err.into()))?
}

async fn store_upload_now(state: &AppState, new: NewUpload) -> Result<PhotoRow> {
    let limits = state.image_limits();
    let path = new.file.path().to_path_buf();
    let (decoded, thumbnail) = tokio::task::spawn_blocking(move || -> Result<_> {
        let decoded = restore::decode_file(&path, &limits).map_err(|err| match err {
            restore::FileError::Input(input) => ApiError::from(input),
            restore::FileError::Io(io) => {
                ApiError::Internal(anyhow::Error::new(io).context("Failed to read the upload"))
            }
        })?;
        let thumbnail = make_thumbnail(&decoded)?;
        let (width, height) = (decoded.image.width(), decoded.image.height());
        Ok(((decoded.format, width, height), thumbnail))
    })
    .await
    .map_err(|err| ApiError::Internal(err.into()))??;

    let photo = new_row(
        state,
        new.user_id,
        PhotoKind::Original,
        new.file_name,
        None,
        decoded,
        new.size + thumbnail.len() as u64,
    );
    let original = Original::File(new.file.path());
    save(state, photo, original, thumbnail, new.storage_limit).await
}

/// A JPEG thumbnail of a decoded image.
fn make_thumbnail(decoded: &restore::Decoded) -> Result<Vec<u8>> {
    let thumb = restore::thumbnail(&decoded.image, THUMBNAIL_SIDE);
    restore::encode_jpeg(&thumb, 82)
        .map_err(|err| ApiError::Internal(anyhow::anyhow!("thumbnail encoding failed: {err}")))
}

fn new_row(
    state: &AppState,
    user_id: Uuid,
    kind: PhotoKind,
    file_name: String,
    source_photo_id: Option<Uuid>,
    (format, width, height): (restore::Format, u32, u32),
    size_bytes: u64,
) -> PhotoRow {
    let id = Uuid::new_v4();
    PhotoRow {
        id,
        user_id,
        kind,
        file_name,
        content_type: format.content_type().to_string(),
        width,
        height,
        size_bytes,
        storage_key: format!("{id}/original"),
        thumbnail_key: format!("{id}/thumbnail"),
        source_photo_id,
        created_at: state.clock.now_ms(),
    }
}

/// Reserves the photo's storage, stores the original and the thumbnail, then records the
/// photo. The keys wait in the cleanup queue until the row is committed, so a crash at any
/// point leaves nothing behind for good; a failure releases the reservation and the bytes.
async fn save(
    state: &AppState,
    photo: PhotoRow,
    original: Original<'_>,
    thumbnail: Vec<u8>,
    storage_limit: u64,
) -> Result<PhotoRow> {
    reserve(state, &photo, storage_limit).await?;
    let (key, content_type) = (&photo.storage_key, &photo.content_type);
    let stored = async {
        match original {
            Original::Bytes(bytes) => state.storage.put_bytes(key, bytes, content_type).await?,
            Original::File(path) => state.storage.put_file(key, path, content_type).await?,
        }
        state
            .storage
            .put_bytes(&photo.thumbnail_key, Bytes::from(thumbnail), "image/jpeg")
            .await?;
        record(state, &photo).await
    };
    if let Err(err) = stored.await {
        undo(state, &photo).await;
        return Err(err);
    }
    tracing::info!(photo.id = %photo.id, user.id = %photo.user_id, bytes = photo.size_bytes, "photo stored");

    Ok(photo)
}

/// How long an upload's keys may wait in the cleanup queue before counting as abandoned.
const UPLOAD_GRACE_MS: i64 = 3600 * 1000;

async fn reserve(state: &AppState, photo: &PhotoRow, limit: u64) -> Result<()> {
    let mut tx = state.db.begin_write().await?;
    if !crate::users::reserve_storage(&mut tx, photo.user_id, photo.size_bytes, limit).await? {
        return Err(ApiError::forbidden(
            "quota_exceeded",
            "This photo does not fit in your storage. Delete some photos or upgrade your plan.",
        ));
    }
    let due = state.clock.now_ms() + UPLOAD_GRACE_MS;
    for key in [&photo.storage_key, &photo.thumbnail_key] {
        crate::retention::queue_cleanup(&mut tx, key, due).await?;
    }
    tx.commit().await?;

    Ok(())
}

async fn record(state: &AppState, photo: &PhotoRow) -> Result<()> {
    let mut tx = state.db.begin_write().await?;
    super::insert(&mut tx, photo).await?;
    for key in [&photo.storage_key, &photo.thumbnail_key] {
        crate::retention::keep_object(&mut tx, key).await?;
    }
    tx.commit().await?;

    Ok(())
}

/// Gives the reservation back and removes whatever bytes were stored.
async fn undo(state: &AppState, photo: &PhotoRow) {
    let released = async {
        let mut tx = state.db.begin_write().await?;
        crate::users::release_storage(&mut tx, photo.user_id, photo.size_bytes).await?;
        for key in [&photo.storage_key, &photo.thumbnail_key] {
            sqlx::query("UPDATE object_cleanup SET due_at = 0 WHERE storage_key = $1")
                .bind(key)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        crate::retention::remove_due_objects(state).await
    };
    if let Err(err) = released.await {
        tracing::warn!(photo.id = %photo.id, error = %err, "could not undo a refused photo; the sweeper will");
    }
}
