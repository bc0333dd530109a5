//! Log-in rate limits, per account and per client address, shared by every instance through
//! the database (a fixed window per bucket).

use crate::error::{ApiError, Result};
use crate::state::AppState;
use sqlx::Row;

/// Attempts allowed per account in one window.
const PER_ACCOUNT: i64 = 10;
/// Attempts allowed per client address in one window (a household may share one).
const PER_ADDRESS: i64 = 30;
const WINDOW_MS: i64 = 15 * 60 * 1000;

/// Counts a log-in attempt; refuses it when either limit is used up.
pub async fn check_login(state: &AppState, email: &str, address: Option<&str>) -> Result<()> {
    let account = format!(
        "account:{}",
        crate::auth::sha256_hex(&email.trim().to_lowercase())
    );
    let mut over = count(state, &account).await? > PER_ACCOUNT;
    if let Some(address) = address {
        over |= count(state, &format!("address:{address}")).await? > PER_ADDRESS;
    }
    if over {
        tracing::warn!("log-in rate limit reached");
        return Err(ApiError::RateLimited);
    }

    Ok(())
}

async fn count(state: &AppState, bucket: &str) -> Result<i64> {
    let now = state.clock.now_ms();
    let row = sqlx::query(
        "INSERT INTO login_attempts (bucket, window_start, attempts) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket) DO UPDATE SET \
           attempts = CASE WHEN login_attempts.window_start <= $3 THEN 1 ELSE login_attempts.attempts + 1 END, \
           window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 ELSE login_attempts.window_start END \
         RETURNING attempts",
    )
    .bind(bucket)
    .bind(now)
    .bind(now - WINDOW_MS)
    .fetch_one(&state.db.pool)
    .await?;

    Ok(row.try_get("attempts")?)
}
