//! `/api/photos/*` and the signed file route `/files/*`.

use super::{NewUpload, PhotoRow};
use crate::auth::CurrentUser;
use crate::error::{ApiError, Result};
use crate::extract::{Path, Query};
use crate::gatekeeper;
use crate::state::AppState;
use crate::storage::signing::{content_disposition, Grant, Refusal, SignedQuery};
use crate::storage::{Storage, TempFile};
use anyhow::Context;
use app::model::{PhotoAccess, PhotoVariant, PhotoView};
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

pub fn router(max_upload_bytes: u64) -> Router<AppState> {
    // The body limit only guards the multipart framing; the upload stream enforces the
    // configured size exactly while reading.
    let body_limit = usize::try_from(max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        .route(
            "/api/photos",
            get(list_photos)
                .post(upload_photo)
                .layer(DefaultBodyLimit::max(body_limit)),
        )
        .route("/api/photos/{id}", get(get_photo).delete(delete_photo))
        .route("/api/photos/{id}/access", get(get_photo_access))
        .route("/files/{*key}", get(get_file))
}

async fn upload_photo(
    State(state): State<AppState>,
    user: CurrentUser,
    multipart: Multipart,
) -> Result<Response> {
    let temp_dir = state.config.data_dir.join("tmp");
    let limit = state.config.max_upload_bytes;
    let (file_name, file, size) = receive_upload(multipart, &temp_dir, limit).await?;
    let plan = user.user.plan(&state.config);
    let photo = super::store_upload(
        &state,
        NewUpload {
            user_id: user.user.id,
            file_name,
            file,
            size,
            storage_limit: plan.storage_limit_bytes,
        },
    )
    .await?;
    crate::metrics::METRICS.upload_bytes.inc_by(size);

    Ok((StatusCode::CREATED, Json(photo.into_view(&plan, None))).into_response())
}

/// Streams the `photo` field to a temporary file in `temp_dir`, stopping as soon as it passes
/// `limit` bytes; returns the file name, the file and its size.
async fn receive_upload(
    mut multipart: Multipart,
    temp_dir: &std::path::Path,
    limit: u64,
) -> Result<(String, TempFile, u64)> {
    let bad_form = || {
        ApiError::bad_request(
            "invalid_upload",
            "Send the photo as a multipart form field named \"photo\".",
        )
    };
    let too_large = || ApiError::PayloadTooLarge {
        code: "file_too_large",
        message: format!(
            "This file is larger than the {} MB limit.",
            limit / (1024 * 1024)
        ),
    };
    // A body whose declared length is over the limit is cut off before the first field.
    let form_error = |err: axum::extract::multipart::MultipartError| {
        if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            bad_form()
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(form_error)? {
        if field.name() != Some("photo") {
            continue;
        }
        let file_name = field
            .file_name()
            .map(str::to_string)
            .filter(|n| !n.trim().is_empty());
        let file_name = file_name.unwrap_or_else(|| "photo".to_string());

        let (temp, mut file) = TempFile::create(temp_dir).await?;
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(form_error)? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(too_large());
            }
            file.write_all(&chunk)
                .await
                .context("Failed to write the upload to a temporary file")?;
        }
        // tokio writes in the background; the bytes must be on disk before they are read.
        file.flush()
            .await
            .context("Failed to write the upload to a temporary file")?;
        if size == 0 {
            return Err(ApiError::unprocessable("empty_file", "The file is empty."));
        }
        return Ok((file_name, temp, size));
    }

    Err(bad_form())
}

async fn list_photos(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<Vec<PhotoView>>> {
    Ok(Json(super::views_for(&state, &user).await?))
}

async fn get_photo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<Json<PhotoView>> {
    Ok(Json(super::view_of(&state, &user, id).await?))
}

async fn delete_photo(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<StatusCode> {
    let photo: PhotoRow = super::find(&state.db, id)
        .await?
        .filter(|photo| photo.user_id == user.user.id)
        .ok_or(ApiError::NotFound("There is no such photo."))?;
    super::delete_with_results(&state, &photo).await?;

    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AccessQuery {
    variant: Option<PhotoVariant>,
    /// `true`: answer with a redirect to the signed URL instead of JSON, so an `<img src>` or
    /// a download link can point here directly (the UI's images work without JavaScript).
    #[serde(default)]
    redirect: bool,
}

async fn get_photo_access(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
    Query(query): Query<AccessQuery>,
) -> Result<Response> {
    let variant = query.variant.unwrap_or(PhotoVariant::Full);
    let access: PhotoAccess = gatekeeper::issue_access(&state, &user, id, variant).await?;
    if query.redirect {
        return Ok((
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, access.url),
                // Each visit gets a fresh URL from the gatekeeper.
                (header::CACHE_CONTROL, "private, no-store".to_string()),
            ],
        )
            .into_response());
    }

    Ok(Json(access).into_response())
}

/// Serves bytes to whoever holds a valid signed URL; the gatekeeper checked them when it
/// signed it.
async fn get_file(
    State(state): State<AppState>,
    axum::extract::Path(key): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<SignedQuery>,
) -> Result<Response> {
    // Only the local store is served from here; S3 URLs point at the bucket itself.
    let Storage::Local(store) = &state.storage else {
        return Err(ApiError::NotFound("There is no such file."));
    };
    let grant = Grant::verify(
        &key,
        query,
        &state.keys.url_signing,
        state.clock.now_ms() / 1000,
    )
    .map_err(|refusal| match refusal {
        Refusal::BadSignature => {
            ApiError::forbidden("invalid_signature", "This link is not valid.")
        }
        Refusal::Expired => ApiError::forbidden(
            "url_expired",
            "This link has expired. Reload the page to get a new one.",
        ),
    })?;
    let (file, len) = store
        .open(&grant.key)
        .await?
        .ok_or(ApiError::NotFound("This file no longer exists."))?;
    let stream = tokio_util::io::ReaderStream::new(file);
    let max_age = (grant.expires_at_s - state.clock.now_ms() / 1000).max(0);

    Ok((
        [
            (header::CONTENT_TYPE, grant.content_type.clone()),
            (header::CONTENT_LENGTH, len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                content_disposition(&grant.disposition),
            ),
            (header::CACHE_CONTROL, format!("private, max-age={max_age}")),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
