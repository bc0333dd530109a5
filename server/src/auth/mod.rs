//! Accounts and sessions: passwords, signed session tokens, and the `CurrentUser` extractor.
//!
//! A session is a row in `sessions` plus a JWT naming it, carried in an HttpOnly cookie (or an
//! `Authorization: Bearer` header for API clients). Logging out deletes the row, so a copied
//! token stops working at once even before it expires.

pub mod limits;
pub mod password;
pub mod routes;
mod token;

use crate::error::{ApiError, Result};
use crate::state::AppState;
use crate::users::{self, UserRow};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub use token::Keys;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "rekindle_session";

/// A random URL-safe token of `bytes` random bytes.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// Hex SHA-256 of a secret, for storing secrets we only need to recognise later.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The signed-in user making this request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: UserRow,
    pub session_id: Uuid,
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        authenticate(state, &parts.headers)
            .await?
            .ok_or(ApiError::Unauthenticated)
    }
}

/// Finds the user a request's cookie or bearer token belongs to. A missing, forged, expired
/// or logged-out token is simply no user.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Option<CurrentUser>> {
    let Some(raw) = bearer_token(headers).or_else(|| cookie_token(headers)) else {
        return Ok(None);
    };
    let Some(claims) = state.keys.verify(&raw, state.clock.now_ms()) else {
        return Ok(None);
    };
    let live =
        sqlx::query("SELECT 1 FROM sessions WHERE id = $1 AND user_id = $2 AND expires_at > $3")
            .bind(claims.sid.to_string())
            .bind(claims.sub.to_string())
            .bind(state.clock.now_ms())
            .fetch_optional(&state.db.pool)
            .await?;
    if live.is_none() {
        return Ok(None);
    }
    let Some(user) = users::find_by_id(&state.db, claims.sub).await? else {
        return Ok(None);
    };

    Ok(Some(CurrentUser {
        user,
        session_id: claims.sid,
    }))
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_string())
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

/// A new session: its row, its token and the cookie that carries it.
pub struct NewSession {
    pub token: String,
    pub cookie: String,
}

/// Opens a session for `user_id`.
pub async fn start_session(state: &AppState, user_id: Uuid) -> Result<NewSession> {
    let session_id = Uuid::new_v4();
    let now = state.clock.now_ms();
    let ttl_ms = state.config.session_ttl.as_millis() as i64;
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(session_id.to_string())
    .bind(user_id.to_string())
    .bind(now)
    .bind(now + ttl_ms)
    .execute(&state.db.pool)
    .await?;
    let token = state.keys.sign(user_id, session_id, now, now + ttl_ms)?;
    let cookie = session_cookie(state, &token, state.config.session_ttl.as_secs());

    Ok(NewSession { token, cookie })
}

/// Ends a session; returns the cookie that clears it in the browser.
pub async fn end_session(state: &AppState, session_id: Option<Uuid>) -> Result<String> {
    if let Some(id) = session_id {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(&state.db.pool)
            .await?;
    }

    Ok(session_cookie(state, "", 0))
}

fn session_cookie(state: &AppState, value: &str, max_age_secs: u64) -> String {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

/// Creates an account on the Free tier.
pub async fn register(state: &AppState, email: &str, password: &str) -> Result<UserRow> {
    let email = normalise_email(email)?;
    if password.chars().count() < 8 {
        return Err(ApiError::bad_request(
            "weak_password",
            "Choose a password of at least 8 characters.",
        ));
    }
    if password.len() > 1024 {
        return Err(ApiError::bad_request(
            "weak_password",
            "That password is too long.",
        ));
    }
    let hash = password::hash(password.to_string()).await?;
    let id = Uuid::new_v4();
    let inserted = sqlx::query(
        "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (email) DO NOTHING",
    )
    .bind(id.to_string())
    .bind(&email)
    .bind(&hash)
    .bind(state.clock.now_ms())
    .execute(&state.db.pool)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::conflict(
            "email_taken",
            "An account with this e-mail already exists. Try logging in.",
        ));
    }
    tracing::info!(user.id = %id, "account created");

    users::find_by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("new user vanished")))
}

/// Request header in which the server records the client's address for the handlers; any
/// value a client sends under this name is replaced.
pub const CLIENT_ADDRESS_HEADER: &str = "x-rekindle-client-address";

/// The client's address as recorded by the server.
pub fn client_address(headers: &HeaderMap) -> Option<&str> {
    headers.get(CLIENT_ADDRESS_HEADER)?.to_str().ok()
}

/// Checks an e-mail and password, within the log-in rate limits.
pub async fn check_password(
    state: &AppState,
    headers: &HeaderMap,
    email: &str,
    password: &str,
) -> Result<UserRow> {
    limits::check_login(state, email, client_address(headers)).await?;
    let refused = || ApiError::Unprocessable {
        code: "invalid_credentials",
        message: "That e-mail and password do not match an account.".into(),
    };
    let email = normalise_email(email).map_err(|_| refused())?;
    let user = users::find_by_email(&state.db, &email).await?;
    // Verify against a fixed hash when the account does not exist, so timing does not reveal it.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = password::verify(password.to_string(), stored).await?;
    match user {
        Some(user) if ok => Ok(user),
        _ => Err(refused()),
    }
}

fn normalise_email(email: &str) -> Result<String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    if !valid {
        return Err(ApiError::bad_request(
            "invalid_email",
            "Enter a valid e-mail address.",
        ));
    }

    Ok(email)
}
