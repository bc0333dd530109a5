//! Accounts for the load: written straight into the database with the server's own
//! configuration and session-signing code, because signing up ten thousand people through
//! the API would spend minutes in Argon2 and measure nothing this benchmark is about.

use anyhow::Context;
use server::config::Config;
use std::collections::HashMap;
use uuid::Uuid;

/// A signed-in user: the bearer token their browser tabs use.
#[derive(Debug, Clone)]
pub struct Account {
    pub token: String,
}

/// Creates `count` Free accounts, each with one session, in the database `env` names.
pub async fn accounts(env: &[(String, String)], count: usize) -> anyhow::Result<Vec<Account>> {
    let vars: HashMap<String, String> = env.iter().cloned().collect();
    let config = Config::from_lookup(|name| vars.get(name).cloned())?;
    let state = server::offline_state(config).await?;
    let password_hash = server::auth::password::hash("load-generator-password".into())
        .await
        .map_err(|err| anyhow::anyhow!("Failed to hash the password: {err:?}"))?;
    let now = server::clock::Clock::default().now_ms();
    let expires = now + 24 * 3600 * 1000;

    let mut accounts = Vec::with_capacity(count);
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let mut tx = state.db.pool.begin().await?;
        for _ in chunk {
            let user_id = Uuid::new_v4();
            let session_id = Uuid::new_v4();
            sqlx::query(
                "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(user_id.to_string())
            .bind(format!("load-{user_id}@bench.invalid"))
            .bind(&password_hash)
            .bind(now)
            .execute(&mut *tx)
            .await
            .context("Failed to insert a user")?;
            sqlx::query(
                "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(session_id.to_string())
            .bind(user_id.to_string())
            .bind(now)
            .bind(expires)
            .execute(&mut *tx)
            .await
            .context("Failed to insert a session")?;
            let token = state.keys.sign(user_id, session_id, now, expires)?;
            accounts.push(Account { token });
        }
        tx.commit().await?;
    }
    state.db.pool.close().await;

    Ok(accounts)
}
