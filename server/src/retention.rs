//! Deleting photos for good, and the retention sweeper that does it for expired Free photos.
//!
//! Rows go first, in one transaction that also queues the photos' storage keys in
//! `object_cleanup`; the bytes go after, and each key leaves the queue only once its bytes are
//! gone. A crash at any point leaves queued keys for the next sweep: never a row pointing at
//! missing bytes, and no object forgotten for good.

use crate::db::DbKind;
use crate::photos::PhotoRow;
use crate::state::AppState;
use sqlx::Row;
use uuid::Uuid;

/// How often the sweeper runs.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(600);
/// PostgreSQL advisory lock held while sweeping, so one instance sweeps at a time.
const SWEEP_LOCK: i64 = 0x5245_4b49_4e44_4c45;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Sweep {
    pub photos_deleted: usize,
    pub objects_removed: usize,
}

/// Deletes photos (with their jobs and restored results) and then their bytes.
pub async fn delete_photos(state: &AppState, photos: &[PhotoRow]) -> anyhow::Result<Sweep> {
    let mut tx = state.db.begin_write().await?;
    let mut deleted = 0;
    for photo in photos {
        // Restorations first: deleting the original would cascade to them unaccounted.
        let results = sqlx::query(
            "SELECT id, user_id, size_bytes, storage_key, thumbnail_key FROM photos \
             WHERE id = $1 OR source_photo_id = $1 ORDER BY CASE WHEN id = $1 THEN 1 ELSE 0 END",
        )
        .bind(photo.id.to_string())
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM jobs WHERE photo_id = $1")
            .bind(photo.id.to_string())
            .execute(&mut *tx)
            .await?;
        for row in &results {
            let id: String = row.try_get("id")?;
            let gone = sqlx::query("DELETE FROM photos WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx)
                .await?;
            if gone.rows_affected() == 0 {
                continue;
            }
            deleted += 1;
            let user_id = Uuid::parse_str(&row.try_get::<String, _>("user_id")?)?;
            let size: i64 = row.try_get("size_bytes")?;
            crate::users::release_storage(&mut tx, user_id, size.max(0) as u64).await?;
            for column in ["storage_key", "thumbnail_key"] {
                queue_cleanup(&mut tx, &row.try_get::<String, _>(column)?, 0).await?;
            }
        }
    }
    tx.commit().await?;
    let objects_removed = remove_due_objects(state).await?;

    Ok(Sweep {
        photos_deleted: deleted,
        objects_removed,
    })
}

/// Queues a storage key for removal once `due_at` has passed.
pub async fn queue_cleanup(
    conn: &mut sqlx::AnyConnection,
    key: &str,
    due_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO object_cleanup (storage_key, due_at) VALUES ($1, $2) ON CONFLICT (storage_key) DO NOTHING")
        .bind(key)
        .bind(due_at)
        .execute(conn)
        .await?;

    Ok(())
}

/// Takes a key off the cleanup queue (its upload committed, so its bytes are wanted).
pub async fn keep_object(conn: &mut sqlx::AnyConnection, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM object_cleanup WHERE storage_key = $1")
        .bind(key)
        .execute(conn)
        .await?;

    Ok(())
}

/// Removes the bytes of every due key, then its queue entry.
pub async fn remove_due_objects(state: &AppState) -> anyhow::Result<usize> {
    let keys: Vec<String> =
        sqlx::query("SELECT storage_key FROM object_cleanup WHERE due_at <= $1 LIMIT 1000")
            .bind(state.clock.now_ms())
            .fetch_all(&state.db.pool)
            .await?
            .iter()
            .map(|row| row.try_get("storage_key"))
            .collect::<Result<_, _>>()?;
    for key in &keys {
        state.storage.delete(key).await?;
        keep_object(&mut *state.db.pool.acquire().await?, key).await?;
    }

    Ok(keys.len())
}

/// Deletes every photo past its retention (Free, or a paid tier that lapsed), results
/// included. Paid photos are never touched. Safe to run anywhere, any number of times.
pub async fn sweep(state: &AppState) -> anyhow::Result<Sweep> {
    let Some(_lock) = SweepLock::acquire(state).await? else {
        tracing::debug!("another instance is sweeping");
        return Ok(Sweep::default());
    };
    let objects_before = remove_due_objects(state).await?;
    let retention_ms = i64::from(state.config.free_retention_days) * DAY_MS;
    // A photo expires `retention` after the later of its upload and the subscription's lapse.
    let expired = sqlx::query(
        "SELECT p.id FROM photos p JOIN users u ON u.id = p.user_id \
         WHERE p.kind = 'original' AND (u.tier = 'free' OR u.subscription_status <> 'active') \
         AND (CASE WHEN COALESCE(u.subscription_lapsed_at, 0) > p.created_at \
              THEN u.subscription_lapsed_at ELSE p.created_at END) + $1 <= $2 \
         LIMIT 500",
    )
    .bind(retention_ms)
    .bind(state.clock.now_ms())
    .fetch_all(&state.db.pool)
    .await?;
    let mut photos = Vec::new();
    for row in &expired {
        let id = Uuid::parse_str(&row.try_get::<String, _>("id")?)?;
        if let Some(photo) = crate::photos::find(&state.db, id).await? {
            photos.push(photo);
        }
    }
    let mut sweep = delete_photos(state, &photos).await?;
    sweep.objects_removed += objects_before;
    tracing::info!(
        photos = sweep.photos_deleted,
        objects = sweep.objects_removed,
        "retention sweep finished"
    );

    Ok(sweep)
}

/// Runs the sweeper until the process stops.
pub async fn run(state: AppState) {
    // The first sweep waits a full period: start-up stays quick, and restarts do not sweep.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + SWEEP_EVERY, SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = sweep(&state).await {
            tracing::warn!(error = %err, "retention sweep failed");
        }
    }
}

/// On PostgreSQL, an advisory lock on a connection held for the sweep; SQLite has one
/// instance, so nothing to lock.
struct SweepLock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Any>>,
}

impl SweepLock {
    async fn acquire(state: &AppState) -> anyhow::Result<Option<SweepLock>> {
        if state.db.kind != DbKind::Postgres {
            return Ok(Some(SweepLock { conn: None }));
        }
        let mut conn = state.db.pool.acquire().await?;
        let locked: bool = sqlx::query("SELECT pg_try_advisory_lock($1) AS locked")
            .bind(SWEEP_LOCK)
            .fetch_one(&mut *conn)
            .await?
            .try_get("locked")?;

        Ok(locked.then_some(SweepLock { conn: Some(conn) }))
    }
}

impl Drop for SweepLock {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            tokio::spawn(async move {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(SWEEP_LOCK)
                    .execute(&mut *conn)
                    .await;
            });
        }
    }
}
