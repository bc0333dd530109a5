//! The gatekeeper: the one place that decides whether someone may see a photo's bytes.
//!
//! Every image the UI shows and every download comes from a short-lived signed URL, and only
//! this module issues them, after checking: signed in, owner, retention, storage within limit.

use crate::auth::CurrentUser;
use crate::error::{ApiError, Result};
use crate::photos::{self, PhotoRow};
use crate::state::AppState;
use crate::storage::Disposition;
use app::model::{PhotoAccess, PhotoVariant, Tier};
use uuid::Uuid;

/// Loads a photo the user may see, or says why not.
pub async fn admit(state: &AppState, user: &CurrentUser, photo_id: Uuid) -> Result<PhotoRow> {
    let photo = photos::find(&state.db, photo_id)
        .await?
        .filter(|photo| photo.user_id == user.user.id)
        // Someone else's photo looks exactly like a missing one.
        .ok_or(ApiError::NotFound("There is no such photo."))?;
    let plan = user.user.plan(&state.config);
    if plan
        .expires_at(photo.created_at)
        .is_some_and(|at| at <= state.clock.now_ms())
    {
        let days = plan.retention_days.unwrap_or_default();
        return Err(ApiError::forbidden(
            "photo_expired",
            format!(
                "This photo expired after {days} days on the Free plan — upgrade to keep photos."
            ),
        ));
    }
    if user.user.storage_used_bytes > plan.storage_limit_bytes {
        let tier = plan.effective.label();
        let upgrade = if plan.effective == Tier::Forever {
            ""
        } else {
            " or upgrade"
        };
        return Err(ApiError::forbidden(
            "quota_exceeded",
            format!("Your photos use more storage than the {tier} plan includes. Delete some photos{upgrade} to see them again."),
        ));
    }

    Ok(photo)
}

/// Issues a signed URL for one rendition of a photo the user may see.
pub async fn issue_access(
    state: &AppState,
    user: &CurrentUser,
    photo_id: Uuid,
    variant: PhotoVariant,
) -> Result<PhotoAccess> {
    let photo = admit(state, user, photo_id).await?;
    let (key, content_type, disposition) = match variant {
        PhotoVariant::Full => (
            &photo.storage_key,
            photo.content_type.as_str(),
            Disposition::Inline,
        ),
        PhotoVariant::Thumbnail => (&photo.thumbnail_key, "image/jpeg", Disposition::Inline),
        PhotoVariant::Download => (
            &photo.storage_key,
            photo.content_type.as_str(),
            Disposition::Attachment(photo.file_name.clone()),
        ),
    };
    let (url, expires_at) = state
        .storage
        .presign_get(
            &state.keys,
            &state.public_url,
            key,
            content_type,
            &disposition,
            state.config.signed_url_ttl,
            state.clock.now_ms(),
        )
        .await?;
    tracing::debug!(photo.id = %photo.id, variant = variant.as_str(), "signed url issued");

    Ok(PhotoAccess { url, expires_at })
}

/// A signed URL the built-in worker or a provider uses to read a job's source image.
pub async fn provider_source_url(state: &AppState, photo: &PhotoRow) -> Result<String> {
    // Long enough for a queued job to start; the provider only needs it once.
    let ttl = std::time::Duration::from_secs(3600);
    let (url, _) = state
        .storage
        .presign_get(
            &state.keys,
            &state.public_url,
            &photo.storage_key,
            &photo.content_type,
            &Disposition::Inline,
            ttl,
            state.clock.now_ms(),
        )
        .await?;

    Ok(url)
}
