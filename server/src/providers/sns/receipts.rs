//! The `sns_messages` table: which SNS messages were already applied, by `MessageId`.
//!
//! SNS delivers at least once and retries a message under the same id, so a message is claimed
//! before it is applied and released again if applying fails (SNS will then retry it).

use super::verify::MAX_MESSAGE_AGE_MS;
use crate::db::Db;

/// Receipts are kept twice as long as a message is accepted, so an accepted replay always
/// finds its receipt.
const KEEP_MS: i64 = 2 * MAX_MESSAGE_AGE_MS;

/// Records a message; false when it had been recorded before (a redelivery).
pub async fn claim(
    db: &Db,
    message_id: &str,
    topic_arn: &str,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM sns_messages WHERE received_at < $1")
        .bind(now_ms - KEEP_MS)
        .execute(&db.pool)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO sns_messages (message_id, topic_arn, received_at) VALUES ($1, $2, $3) \
         ON CONFLICT (message_id) DO NOTHING",
    )
    .bind(message_id)
    .bind(topic_arn)
    .bind(now_ms)
    .execute(&db.pool)
    .await?;

    Ok(inserted.rows_affected() == 1)
}

/// Forgets a claimed message whose update could not be applied, so its retry is applied.
pub async fn release(db: &Db, message_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sns_messages WHERE message_id = $1")
        .bind(message_id)
        .execute(&db.pool)
        .await?;

    Ok(())
}
