//! `/api/auth/*` and `/api/me`: accounts over JSON for API clients and scripts.

use crate::auth::{self, CurrentUser};
use crate::error::Result;
use crate::extract::Json;
use crate::state::AppState;
use app::model::UserView;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register_user))
        .route("/api/auth/login", post(login_user))
        .route("/api/auth/logout", post(logout_user))
        .route("/api/me", get(get_me).delete(delete_me))
}

/// Body of register and log-in requests.
#[derive(Deserialize)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// A new session for an API client; browsers use the cookie set alongside.
#[derive(Serialize)]
struct SessionBody {
    token: String,
    user: UserView,
}

async fn register_user(
    state: axum::extract::State<AppState>,
    Json(body): Json<Credentials>,
) -> Result<Response> {
    let user = auth::register(&state, &body.email, &body.password).await?;
    let session = auth::start_session(&state, user.id).await?;
    let body = SessionBody {
        token: session.token,
        user: user.into_view(&state.config),
    };

    Ok((
        StatusCode::CREATED,
        [(header::SET_COOKIE, session.cookie)],
        axum::Json(body),
    )
        .into_response())
}

async fn login_user(
    state: axum::extract::State<AppState>,
    headers: axum::http::HeaderMap,
    Json(body): Json<Credentials>,
) -> Result<Response> {
    let user = auth::check_password(&state, &headers, &body.email, &body.password).await?;
    let session = auth::start_session(&state, user.id).await?;
    let body = SessionBody {
        token: session.token,
        user: user.into_view(&state.config),
    };

    Ok(([(header::SET_COOKIE, session.cookie)], axum::Json(body)).into_response())
}

async fn logout_user(state: axum::extract::State<AppState>, user: CurrentUser) -> Result<Response> {
    let cookie = auth::end_session(&state, Some(user.session_id)).await?;

    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}

async fn get_me(state: axum::extract::State<AppState>, user: CurrentUser) -> axum::Json<UserView> {
    axum::Json(user.user.into_view(&state.config))
}

/// Deletes the account with every photo and its bytes; the session cookie is cleared.
async fn delete_me(state: axum::extract::State<AppState>, user: CurrentUser) -> Result<Response> {
    crate::accounts::delete_account(&state, &user).await?;
    let cookie = auth::end_session(&state, None).await?;

    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response())
}
