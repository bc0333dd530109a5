//! The whole HTTP surface: pages, server functions, JSON API, webhooks, files, live stream.

use crate::backend::ServerBackend;
use crate::state::AppState;
use crate::{auth, jobs, photos, realtime, webhooks};
use app::api::SharedBackend;
use app::{shell, App};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::sync::Arc;

/// Every route of the server, with the shared layers.
pub fn router(state: AppState) -> Router {
    let backend: SharedBackend = Arc::new(ServerBackend(state.clone()));
    let leptos = state.leptos.clone();
    let pages = generate_route_list(App);
    let fallback_backend = backend.clone();

    Router::new()
        .merge(auth::routes::router())
        .merge(photos::routes::router(state.config.max_upload_bytes))
        .merge(jobs::routes::router())
        .merge(webhooks::router())
        .merge(realtime::ws::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/{*rest}", get(api_not_found).post(api_not_found))
        .leptos_routes_with_context(
            &state,
            pages,
            move || provide_context(backend.clone()),
            move || shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            move || provide_context(fallback_backend.clone()),
            shell,
        ))
        .layer(crate::telemetry::access_log())
        .with_state(state)
}

async fn api_not_found() -> impl IntoResponse {
    let body = app::model::ErrorBody {
        code: "not_found".into(),
        message: "There is no such API route.".into(),
    };
    (StatusCode::NOT_FOUND, axum::Json(body))
}
