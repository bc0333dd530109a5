//! The `users` table: accounts, their tier, storage used and event sequence.

use crate::db::{uuid_col, Db};
use crate::tiers::{plan, Plan, Subscription};
use app::model::{Tier, UserView};
use sqlx::any::AnyRow;
use sqlx::Row;
use uuid::Uuid;

/// A row of `users`.
#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub tier: Tier,
    pub subscription: Subscription,
    pub storage_used_bytes: u64,
}

pub const USER_COLUMNS: &str = "id, email, password_hash, tier, subscription_status, \
     subscription_lapsed_at, storage_used_bytes";

impl UserRow {
    pub fn from_row(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
        let tier: String = row.try_get("tier")?;
        let status: String = row.try_get("subscription_status")?;
        Ok(UserRow {
            id: uuid_col(row, "id")?,
            email: row.try_get("email")?,
            password_hash: row.try_get("password_hash")?,
            tier: Tier::parse(&tier).unwrap_or(Tier::Free),
            subscription: Subscription::from_columns(
                &status,
                row.try_get("subscription_lapsed_at")?,
            ),
            storage_used_bytes: row.try_get::<i64, _>("storage_used_bytes")?.max(0) as u64,
        })
    }

    /// The rules that apply to this user now.
    pub fn plan(&self, config: &crate::config::Config) -> Plan {
        plan(
            self.tier,
            self.subscription,
            config.free_quota_bytes,
            config.free_retention_days,
        )
    }

    pub fn into_view(self, config: &crate::config::Config) -> UserView {
        let plan = self.plan(config);
        UserView {
            id: self.id,
            email: self.email,
            tier: plan.effective,
            storage_used_bytes: self.storage_used_bytes,
            storage_limit_bytes: plan.storage_limit_bytes,
            retention_days: plan.retention_days,
        }
    }
}

/// Loads a user by id.
pub async fn find_by_id(db: &Db, id: Uuid) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(UserRow::from_row).transpose()
}

/// Loads a user by e-mail (stored lower-case).
pub async fn find_by_email(db: &Db, email: &str) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    let row = sqlx::query(&sql)
        .bind(email)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(UserRow::from_row).transpose()
}

/// Adds `bytes` to the user's storage only if the total stays within `limit`.
/// Returns false when it would not fit; the check and the update are one statement, so
/// parallel uploads can never pass the limit together.
pub async fn reserve_storage(
    conn: &mut sqlx::AnyConnection,
    user_id: Uuid,
    bytes: u64,
    limit: u64,
) -> Result<bool, sqlx::Error> {
    let result = sqlx::query(
        "UPDATE users SET storage_used_bytes = storage_used_bytes + $1 \
         WHERE id = $2 AND storage_used_bytes + $1 <= $3",
    )
    .bind(bytes as i64)
    .bind(user_id.to_string())
    .bind(limit as i64)
    .execute(conn)
    .await?;

    Ok(result.rows_affected() == 1)
}

/// Gives `bytes` of storage back (after a failed upload or a deletion).
pub async fn release_storage(
    conn: &mut sqlx::AnyConnection,
    user_id: Uuid,
    bytes: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE users SET storage_used_bytes = \
         CASE WHEN storage_used_bytes > $1 THEN storage_used_bytes - $1 ELSE 0 END WHERE id = $2",
    )
    .bind(bytes as i64)
    .bind(user_id.to_string())
    .execute(conn)
    .await?;

    Ok(())
}
