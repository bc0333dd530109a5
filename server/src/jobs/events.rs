//! The job event log: every visible change of a job, numbered per user without gaps.
//!
//! The event is written in the same transaction as the change it describes. On PostgreSQL the
//! notification (`user id:seq`, a few bytes) is sent inside that transaction too, so listeners
//! only hear of committed changes; on SQLite the caller tells the in-process hub after commit.

use super::JobRow;
use crate::db::{Db, DbKind};
use sqlx::Row;
use uuid::Uuid;

/// PostgreSQL channel the instances listen on.
pub const CHANNEL: &str = "rekindle_job_events";

/// A committed event, as the live stream sends it.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    /// When the change was recorded (Unix ms).
    pub created_at: i64,
    /// The job after the change, serialised once as `JobView` JSON.
    pub payload: String,
}

/// An event just recorded, for the hub to deliver once its transaction has committed.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub user_id: Uuid,
    pub seq: i64,
    /// The job after the change as `JobView` JSON.
    pub payload: String,
    pub created_at: i64,
}

/// Longest event payload sent along with the PostgreSQL notice (NOTIFY allows 8000 bytes);
/// a longer one is read from the table by the instances that receive the notice.
pub const NOTICE_PAYLOAD_LIMIT: usize = 7000;

/// Records that `job` changed: the user's next sequence number, the event, and (PostgreSQL) a
/// notice to every instance carrying `user:seq:created_at:payload`.
pub async fn record(
    db: &Db,
    conn: &mut sqlx::AnyConnection,
    job: &JobRow,
    now_ms: i64,
) -> Result<Recorded, sqlx::Error> {
    let payload = serde_json::to_string(&job.to_view()).expect("a JobView always serialises");
    let seq = match db.kind {
        // One round trip: the next number, the event and the notice to other instances.
        DbKind::Postgres => sqlx::query(
            "WITH next AS (UPDATE users SET event_seq = event_seq + 1 WHERE id = $1 \
                           RETURNING event_seq), \
                  added AS (INSERT INTO job_events (user_id, seq, job_id, payload, created_at) \
                            SELECT $1, event_seq, $2, $3, $4 FROM next RETURNING seq) \
             SELECT added.seq FROM added \
             CROSS JOIN LATERAL (SELECT pg_notify($5, CASE WHEN length($3) <= $6 \
                 THEN $1 || ':' || added.seq || ':' || $4 || ':' || $3 \
                 ELSE $1 || ':' || added.seq END)) AS notice",
        )
        .bind(job.user_id.to_string())
        .bind(job.id.to_string())
        .bind(&payload)
        .bind(now_ms)
        .bind(CHANNEL)
        .bind(NOTICE_PAYLOAD_LIMIT as i64)
        .fetch_one(&mut *conn)
        .await?
        .try_get("seq")?,
        DbKind::Sqlite => {
            let seq: i64 = sqlx::query(
                "UPDATE users SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
            )
            .bind(job.user_id.to_string())
            .fetch_one(&mut *conn)
            .await?
            .try_get("event_seq")?;
            sqlx::query(
                "INSERT INTO job_events (user_id, seq, job_id, payload, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(job.user_id.to_string())
            .bind(seq)
            .bind(job.id.to_string())
            .bind(&payload)
            .bind(now_ms)
            .execute(&mut *conn)
            .await?;
            seq
        }
    };
    crate::metrics::METRICS
        .job_transitions
        .with_label_values(&[&job.provider, job.status.as_str()])
        .inc();

    Ok(Recorded {
        user_id: job.user_id,
        seq,
        payload,
        created_at: now_ms,
    })
}

/// A user's events after `after`, oldest first, at most `limit`.
pub async fn after(
    db: &Db,
    user_id: Uuid,
    after: i64,
    limit: i64,
) -> Result<Vec<EventRow>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT seq, payload, created_at FROM job_events \
         WHERE user_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
    )
    .bind(user_id.to_string())
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(EventRow {
                seq: row.try_get("seq")?,
                created_at: row.try_get("created_at")?,
                payload: row.try_get("payload")?,
            })
        })
        .collect()
}

/// The user's newest sequence number and the oldest one still kept.
pub async fn bounds(db: &Db, user_id: Uuid) -> Result<(i64, Option<i64>), sqlx::Error> {
    let row = sqlx::query(
        "SELECT u.event_seq AS newest, (SELECT MIN(seq) FROM job_events e WHERE e.user_id = u.id) AS oldest \
         FROM users u WHERE u.id = $1",
    )
    .bind(user_id.to_string())
    .fetch_optional(&db.pool)
    .await?;
    match row {
        Some(row) => Ok((row.try_get("newest")?, row.try_get("oldest")?)),
        None => Ok((0, None)),
    }
}
