//! `/api/jobs/*`: start, read and cancel restoration jobs.

use super::service;
use crate::auth::CurrentUser;
use crate::error::{ApiError, Result};
use crate::extract::{Json, Path};
use crate::state::AppState;
use app::model::{JobView, NewRestoreJob};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/jobs/restore", post(create_restore_job))
        .route("/api/jobs/{id}", get(get_job))
        .route("/api/jobs/{id}/cancel", post(cancel_job))
}

async fn create_restore_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Json(body): Json<NewRestoreJob>,
) -> Result<(StatusCode, axum::Json<JobView>)> {
    let job = service::create_restore_job(&state, &user, body.photo_id, body.options).await?;

    Ok((StatusCode::ACCEPTED, axum::Json(job)))
}

async fn get_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<JobView>> {
    let job = super::find(&state.db, id)
        .await?
        .filter(|job| job.user_id == user.user.id)
        .ok_or(ApiError::NotFound("There is no such job."))?;

    Ok(axum::Json(job.to_view()))
}

async fn cancel_job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<JobView>> {
    Ok(axum::Json(service::cancel_job(&state, &user, id).await?))
}
