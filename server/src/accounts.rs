//! Account management without a billing integration: tiers set by an operator, and people
//! deleting their own account with everything in it.

use crate::auth::CurrentUser;
use crate::db::Db;
use crate::state::AppState;
use app::model::Tier;
use sqlx::Row;
use uuid::Uuid;

/// The subscription state an operator records with a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    Active,
    Lapsed,
}

impl SubscriptionStatus {
    pub fn parse(name: &str) -> Option<SubscriptionStatus> {
        match name {
            "active" => Some(SubscriptionStatus::Active),
            "lapsed" => Some(SubscriptionStatus::Lapsed),
            _ => None,
        }
    }
}

/// Sets a user's tier and subscription state; returns false when no account has that e-mail.
/// Free needs no subscription; a lapse is dated now, starting Free's retention from today.
pub async fn set_tier(
    db: &Db,
    email: &str,
    tier: Tier,
    status: SubscriptionStatus,
    now_ms: i64,
) -> anyhow::Result<bool> {
    let (status, lapsed_at) = match (tier, status) {
        (Tier::Free, _) => ("none", None),
        (_, SubscriptionStatus::Active) => ("active", None),
        (_, SubscriptionStatus::Lapsed) => ("lapsed", Some(now_ms)),
    };
    let updated = sqlx::query(
        "UPDATE users SET tier = $1, subscription_status = $2, subscription_lapsed_at = $3 WHERE email = $4",
    )
    .bind(tier.as_str())
    .bind(status)
    .bind(lapsed_at)
    .bind(email.trim().to_lowercase())
    .execute(&db.pool)
    .await?;

    Ok(updated.rows_affected() == 1)
}

/// Deletes the signed-in user's account: every photo and its bytes, then the account.
pub async fn delete_account(state: &AppState, user: &CurrentUser) -> anyhow::Result<()> {
    let user_id = user.user.id;
    let ids: Vec<Uuid> =
        sqlx::query("SELECT id FROM photos WHERE user_id = $1 AND kind = 'original'")
            .bind(user_id.to_string())
            .fetch_all(&state.db.pool)
            .await?
            .iter()
            .map(|row| Ok(Uuid::parse_str(&row.try_get::<String, _>("id")?)?))
            .collect::<anyhow::Result<_>>()?;
    let mut photos = Vec::new();
    for id in ids {
        photos.extend(crate::photos::find(&state.db, id).await?);
    }
    crate::retention::delete_photos(state, &photos).await?;

    // Restored photos whose original is gone are swept with the user row below; queue their
    // bytes first so none are forgotten.
    let mut tx = state.db.begin_write().await?;
    let leftovers = sqlx::query("SELECT storage_key, thumbnail_key FROM photos WHERE user_id = $1")
        .bind(user_id.to_string())
        .fetch_all(&mut *tx)
        .await?;
    for row in &leftovers {
        for column in ["storage_key", "thumbnail_key"] {
            crate::retention::queue_cleanup(&mut tx, &row.try_get::<String, _>(column)?, 0).await?;
        }
    }
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(user_id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    crate::retention::remove_due_objects(state).await?;
    tracing::info!(user.id = %user_id, "account deleted");

    Ok(())
}
