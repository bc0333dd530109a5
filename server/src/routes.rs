//! The whole HTTP surface: pages, server functions, JSON API, webhooks, files, live stream.

use crate::backend::ServerBackend;
use crate::state::AppState;
use crate::{auth, jobs, photos, realtime, webhooks};
use app::api::SharedBackend;
use app::{shell, App};
use axum::extract::State;
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
        .merge(realtime::sse::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(get_readiness))
        .route("/api/{*rest}", get(api_not_found).post(api_not_found))
        .leptos_routes_with_context(
            &state,
            pages,
            move || provide_context(backend.clone()),
            move || shell(leptos.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(
            move || provide_context(fallback_backend.clone()), shell
        ))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(record_client_address))
        .layer(crate::telemetry::access_log())
        .with_state(state)
}

/// Records the peer's address for rate limits, replacing anything a client claimed.
async fn record_client_address(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    let headers = request.headers_mut();
    headers.remove(crate::auth::CLIENT_ADDRESS_HEADER);
    if let Some(value) = peer.and_then(|ip| ip.parse().ok()) {
        headers.insert(crate::auth::CLIENT_ADDRESS_HEADER, value);
    }
    next.run(request).await
}

async fn method_not_allowed() -> impl IntoResponse {
    let body = app::model::ErrorBody {
        code: "method_not_allowed".into(),
        message: "This address does not accept that kind of request.".into(),
    };
    (StatusCode::METHOD_NOT_ALLOWED, axum::Json(body))
}

/// Ready to serve: the database and the object store answer.
async fn get_readiness(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.db.is_reachable().await;
    let storage = state.storage.is_reachable().await;
    let status = if database && storage {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        axum::Json(serde_json::json!({ "database": database, "storage": storage })),
    )
}

async fn api_not_found() -> impl IntoResponse {
    let body = app::model::ErrorBody {
        code: "not_found".into(),
        message: "There is no such API route.".into(),
    };
    (StatusCode::NOT_FOUND, axum::Json(body))
}
