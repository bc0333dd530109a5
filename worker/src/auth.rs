//! Bearer-token check on every route, compared in constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::Response;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

/// Rejects requests without `Authorization: Bearer <api_key>` with 401.
pub(crate) async fn require_bearer(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = state.config.api_key.as_bytes();
    let matches: bool = presented.as_bytes().ct_eq(expected).into();
    if !matches || expected.is_empty() {
        return Err(ApiError::unauthorized());
    }

    Ok(next.run(request).await)
}
