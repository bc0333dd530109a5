//! Photos: the `photos` table, uploads, listing, and deletion with their bytes.

pub mod routes;
mod upload;

use crate::db::{opt_uuid_col, uuid_col, Db};
use crate::state::AppState;
use crate::tiers::Plan;
use app::model::{JobView, PhotoKind, PhotoView};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

pub use upload::{store_image, store_upload, NewImage, NewUpload};

/// A row of `photos`.
#[derive(Debug, Clone)]
pub struct PhotoRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub kind: PhotoKind,
    pub file_name: String,
    pub content_type: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    pub storage_key: String,
    pub thumbnail_key: String,
    pub source_photo_id: Option<Uuid>,
    pub created_at: i64,
}

const PHOTO_COLUMNS: &str = "id, user_id, kind, file_name, content_type, width, height, \
     size_bytes, storage_key, thumbnail_key, source_photo_id, created_at";

impl PhotoRow {
    fn from_row(row: &AnyRow) -> Result<PhotoRow, sqlx::Error> {
        let kind: String = row.try_get("kind")?;
        Ok(PhotoRow {
            id: uuid_col(row, "id")?,
            user_id: uuid_col(row, "user_id")?,
            kind: if kind == "restored" {
                PhotoKind::Restored
            } else {
                PhotoKind::Original
            },
            file_name: row.try_get("file_name")?,
            content_type: row.try_get("content_type")?,
            width: row.try_get::<i64, _>("width")? as u32,
            height: row.try_get::<i64, _>("height")? as u32,
            size_bytes: row.try_get::<i64, _>("size_bytes")? as u64,
            storage_key: row.try_get("storage_key")?,
            thumbnail_key: row.try_get("thumbnail_key")?,
            source_photo_id: opt_uuid_col(row, "source_photo_id")?,
            created_at: row.try_get("created_at")?,
        })
    }

    pub fn into_view(self, plan: &Plan, latest_job: Option<JobView>) -> PhotoView {
        PhotoView {
            id: self.id,
            kind: self.kind,
            expires_at: plan.expires_at(self.created_at),
            file_name: self.file_name,
            content_type: self.content_type,
            width: self.width,
            height: self.height,
            size_bytes: self.size_bytes,
            created_at: self.created_at,
            source_photo_id: self.source_photo_id,
            latest_job,
        }
    }
}

/// Loads a photo by id, whoever owns it; callers check ownership through the gatekeeper.
pub async fn find(db: &Db, id: Uuid) -> Result<Option<PhotoRow>, sqlx::Error> {
    let sql = format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(PhotoRow::from_row).transpose()
}

/// A user's uploaded photos, newest first.
pub async fn list_originals(db: &Db, user_id: Uuid) -> Result<Vec<PhotoRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {PHOTO_COLUMNS} FROM photos WHERE user_id = $1 AND kind = 'original' \
         ORDER BY created_at DESC, id"
    );
    let rows = sqlx::query(&sql)
        .bind(user_id.to_string())
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(PhotoRow::from_row).collect()
}

/// Inserts a photo row inside a transaction.
pub async fn insert(conn: &mut sqlx::AnyConnection, photo: &PhotoRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO photos (id, user_id, kind, file_name, content_type, width, height, size_bytes, \
         storage_key, thumbnail_key, source_photo_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(photo.id.to_string())
    .bind(photo.user_id.to_string())
    .bind(match photo.kind {
        PhotoKind::Original => "original",
        PhotoKind::Restored => "restored",
    })
    .bind(&photo.file_name)
    .bind(&photo.content_type)
    .bind(i64::from(photo.width))
    .bind(i64::from(photo.height))
    .bind(photo.size_bytes as i64)
    .bind(&photo.storage_key)
    .bind(&photo.thumbnail_key)
    .bind(photo.source_photo_id.map(|id| id.to_string()))
    .bind(photo.created_at)
    .execute(conn)
    .await?;

    Ok(())
}

/// Deletes a photo with everything made from it, rows first, then bytes
/// (see [`crate::retention::delete_photos`]).
pub async fn delete_with_results(state: &AppState, photo: &PhotoRow) -> anyhow::Result<()> {
    let sweep = crate::retention::delete_photos(state, std::slice::from_ref(photo)).await?;
    tracing::info!(photo.id = %photo.id, removed = sweep.photos_deleted, "photo deleted");

    Ok(())
}

/// The user's gallery: originals with their latest job.
pub async fn views_for(
    state: &AppState,
    user: &crate::auth::CurrentUser,
) -> crate::error::Result<Vec<PhotoView>> {
    let plan = user.user.plan(&state.config);
    let photos = list_originals(&state.db, user.user.id).await?;
    let mut latest = crate::jobs::latest_by_photo(&state.db, user.user.id).await?;

    Ok(photos
        .into_iter()
        .map(|photo| {
            let job = latest.remove(&photo.id);
            photo.into_view(&plan, job)
        })
        .collect())
}

/// One of the user's photos with its latest job.
pub async fn view_of(
    state: &AppState,
    user: &crate::auth::CurrentUser,
    id: Uuid,
) -> crate::error::Result<PhotoView> {
    let photo = find(&state.db, id)
        .await?
        .filter(|photo| photo.user_id == user.user.id)
        .ok_or(crate::error::ApiError::NotFound("There is no such photo."))?;
    let plan = user.user.plan(&state.config);
    let job = crate::jobs::latest_for_photo(&state.db, photo.id).await?;

    Ok(photo.into_view(&plan, job))
}
