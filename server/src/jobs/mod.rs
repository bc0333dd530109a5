//! Restoration jobs: the `jobs` table, its event log, and the service that moves jobs along.

pub mod events;
pub mod reconciler;
pub mod routes;
pub mod service;
pub mod state;

use crate::db::{opt_uuid_col, uuid_col, Db};
use app::model::{JobStatus, JobView, RestoreOptions};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// A row of `jobs`.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub photo_id: Uuid,
    pub provider: String,
    pub provider_job_id: Option<String>,
    pub status: JobStatus,
    pub progress: u8,
    pub stage: Option<String>,
    pub error: Option<String>,
    pub options: RestoreOptions,
    pub webhook_token_hash: String,
    pub output_url: Option<String>,
    pub result_photo_id: Option<Uuid>,
    pub check_attempts: i64,
    pub provider_calls: i64,
    pub webhooks_received: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

pub const JOB_COLUMNS: &str =
    "id, user_id, photo_id, provider, provider_job_id, status, progress, \
     stage, error, options, webhook_token_hash, output_url, result_photo_id, check_attempts, \
     provider_calls, webhooks_received, created_at, updated_at";

impl JobRow {
    pub fn from_row(row: &AnyRow) -> Result<JobRow, sqlx::Error> {
        let status: String = row.try_get("status")?;
        let options: String = row.try_get("options")?;
        Ok(JobRow {
            id: uuid_col(row, "id")?,
            user_id: uuid_col(row, "user_id")?,
            photo_id: uuid_col(row, "photo_id")?,
            provider: row.try_get("provider")?,
            provider_job_id: row.try_get("provider_job_id")?,
            status: JobStatus::parse(&status).unwrap_or(JobStatus::Failed),
            progress: row.try_get::<i64, _>("progress")?.clamp(0, 100) as u8,
            stage: row.try_get("stage")?,
            error: row.try_get("error")?,
            options: serde_json::from_str(&options).unwrap_or_default(),
            webhook_token_hash: row.try_get("webhook_token_hash")?,
            output_url: row.try_get("output_url")?,
            result_photo_id: opt_uuid_col(row, "result_photo_id")?,
            check_attempts: row.try_get("check_attempts")?,
            provider_calls: row.try_get("provider_calls")?,
            webhooks_received: row.try_get("webhooks_received")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    pub fn to_view(&self) -> JobView {
        JobView {
            id: self.id,
            photo_id: self.photo_id,
            status: self.status,
            progress: self.progress,
            stage: self.stage.clone(),
            error: self.error.clone(),
            result_photo_id: self.result_photo_id,
            provider: self.provider.clone(),
            options: self.options,
            created_at: self.created_at,
            updated_at: self.updated_at,
            provider_calls: self.provider_calls,
            webhooks_received: self.webhooks_received,
        }
    }

    /// The state-machine view of this job.
    pub fn snapshot(&self) -> state::Snapshot {
        state::Snapshot {
            status: self.status,
            progress: self.progress,
            stage: self.stage.clone(),
            output_pending: self.output_url.is_some(),
        }
    }
}

/// Loads a job by id.
pub async fn find(db: &Db, id: Uuid) -> Result<Option<JobRow>, sqlx::Error> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(JobRow::from_row).transpose()
}

/// Loads a job inside a write transaction, locking its row on PostgreSQL so concurrent
/// reports about the same job are applied one after the other.
pub async fn find_for_update(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    id: Uuid,
) -> Result<Option<JobRow>, sqlx::Error> {
    let lock = match db.kind {
        crate::db::DbKind::Postgres => " FOR UPDATE",
        crate::db::DbKind::Sqlite => "",
    };
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1{lock}");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(JobRow::from_row).transpose()
}

/// Counts a report the provider pushed and postpones the job's next status check; returns the
/// job, now locked for this transaction (the update takes the row lock).
pub async fn note_report_for_update(
    conn: &mut sqlx::AnyConnection,
    id: Uuid,
    next_check_at: i64,
) -> Result<Option<JobRow>, sqlx::Error> {
    let sql = format!(
        "UPDATE jobs SET webhooks_received = webhooks_received + 1, next_check_at = $1 \
         WHERE id = $2 RETURNING {JOB_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(next_check_at)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(JobRow::from_row).transpose()
}

/// The newest job of each of a user's photos.
pub async fn latest_by_photo(
    db: &Db,
    user_id: Uuid,
) -> Result<HashMap<Uuid, JobView>, sqlx::Error> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE user_id = $1 ORDER BY created_at, id");
    let rows = sqlx::query(&sql)
        .bind(user_id.to_string())
        .fetch_all(&db.pool)
        .await?;
    let mut latest = HashMap::new();
    for row in &rows {
        let job = JobRow::from_row(row)?;
        latest.insert(job.photo_id, job.to_view());
    }

    Ok(latest)
}

/// The newest job of one photo.
pub async fn latest_for_photo(db: &Db, photo_id: Uuid) -> Result<Option<JobView>, sqlx::Error> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE photo_id = $1 ORDER BY created_at DESC, id LIMIT 1"
    );
    let row = sqlx::query(&sql)
        .bind(photo_id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    Ok(row
        .as_ref()
        .map(JobRow::from_row)
        .transpose()?
        .map(|job| job.to_view()))
}

/// Writes the changeable columns of a job back.
pub async fn save(conn: &mut sqlx::AnyConnection, job: &JobRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE jobs SET status = $1, progress = $2, stage = $3, error = $4, output_url = $5, \
         result_photo_id = $6, provider_job_id = $7, updated_at = $8 WHERE id = $9",
    )
    .bind(job.status.as_str())
    .bind(i64::from(job.progress))
    .bind(&job.stage)
    .bind(&job.error)
    .bind(&job.output_url)
    .bind(job.result_photo_id.map(|id| id.to_string()))
    .bind(&job.provider_job_id)
    .bind(job.updated_at)
    .bind(job.id.to_string())
    .execute(conn)
    .await?;

    Ok(())
}
