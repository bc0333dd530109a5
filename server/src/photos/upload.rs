//! Turning image bytes into a stored photo: validate, orient, thumbnail, reserve, store.

use super::PhotoRow;
use crate::error::{ApiError, Result};
use crate::state::AppState;
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

/// Checks, thumbnails and stores an image, counting it against the user's quota.
/// Either everything is stored and recorded, or nothing is: refused bytes leave no trace.
pub async fn store_image(state: &AppState, new: NewImage) -> Result<PhotoRow> {
    let limits = state.image_limits();
    let bytes = new.bytes.clone();
    let (probe, thumbnail) = tokio::task::spawn_blocking(move || -> Result<_> {
        let decoded = restore::decode(&bytes, &limits)?;
        let thumb = restore::thumbnail(&decoded.image, THUMBNAIL_SIDE);
        let thumb = restore::encode_jpeg(&thumb, 82).map_err(|err| {
            ApiError::Internal(anyhow::anyhow!("thumbnail encoding failed: {err}"))
        })?;
        Ok((restore::probe(&bytes, &limits)?, thumb))
    })
    .await
    .map_err(|err| ApiError::Internal(err.into()))??;

    let id = Uuid::new_v4();
    let photo = PhotoRow {
        id,
        user_id: new.user_id,
        kind: new.kind,
        file_name: new.file_name,
        content_type: probe.format.content_type().to_string(),
        width: probe.width,
        height: probe.height,
        size_bytes: (new.bytes.len() + thumbnail.len()) as u64,
        storage_key: format!("{id}/original"),
        thumbnail_key: format!("{id}/thumbnail"),
        source_photo_id: new.source_photo_id,
        created_at: state.clock.now_ms(),
    };

    state
        .storage
        .put_bytes(&photo.storage_key, new.bytes, &photo.content_type)
        .await?;
    let stored = async {
        state
            .storage
            .put_bytes(&photo.thumbnail_key, Bytes::from(thumbnail), "image/jpeg")
            .await?;
        record(state, &photo, new.storage_limit).await
    };
    if let Err(err) = stored.await {
        discard_bytes(state, &photo).await;
        return Err(err);
    }
    tracing::info!(photo.id = %photo.id, user.id = %photo.user_id, bytes = photo.size_bytes, "photo stored");

    Ok(photo)
}

async fn record(state: &AppState, photo: &PhotoRow, limit: u64) -> Result<()> {
    let mut tx = state.db.begin_write().await?;
    if !crate::users::reserve_storage(&mut tx, photo.user_id, photo.size_bytes, limit).await? {
        return Err(ApiError::forbidden(
            "quota_exceeded",
            "This photo does not fit in your storage. Delete some photos or upgrade your plan.",
        ));
    }
    super::insert(&mut tx, photo).await?;
    tx.commit().await?;

    Ok(())
}

async fn discard_bytes(state: &AppState, photo: &PhotoRow) {
    for key in [&photo.storage_key, &photo.thumbnail_key] {
        if let Err(err) = state.storage.delete(key).await {
            tracing::warn!(photo.id = %photo.id, error = %err, "could not remove refused photo bytes");
        }
    }
}
