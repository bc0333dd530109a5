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
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

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
        .merge(crate::providers::sns::router(&state))
        .merge(realtime::ws::router())
        .merge(realtime::sse::router())
        .route("/healthz", get(|| async { "ok" }))
        .route("/api/version", get(get_version))
        .route("/readyz", get(get_readiness))
        .route("/metrics", get(get_metrics))
        .nest_service("/pkg", static_bundle(&state.leptos))
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
        .route_layer(axum::middleware::from_fn(crate::telemetry::record_metrics))
        .layer(crate::telemetry::access_log())
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
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

/// The JS, WASM and CSS bundles, compressed; with hashed names they are cached for a year.
fn static_bundle(options: &leptos::config::LeptosOptions) -> Router {
    use axum::http::{header, HeaderValue};
    use tower_http::compression::CompressionLayer;
    use tower_http::services::ServeDir;
    use tower_http::set_header::SetResponseHeaderLayer;

    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let cache = if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Router::new()
        .fallback_service(ServeDir::new(dir))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache),
        ))
        .layer(CompressionLayer::new())
}

/// Prometheus metrics of this instance.
async fn get_metrics() -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        crate::metrics::METRICS.render(),
    )
}

/// Ready to serve: the database, the object store and the event listener answer.
async fn get_readiness(State(state): State<AppState>) -> impl IntoResponse {
    let database = state.db.is_reachable().await;
    let storage = state.storage.is_reachable().await;
    let listener = state.realtime.listener_up();
    let status = if database && storage && listener {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body =
        serde_json::json!({ "database": database, "storage": storage, "listener": listener });
    (status, axum::Json(body))
}

async fn api_not_found() -> impl IntoResponse {
    let body = app::model::ErrorBody {
        code: "not_found".into(),
        message: "There is no such API route.".into(),
    };
    (StatusCode::NOT_FOUND, axum::Json(body))
}

/// `GET /api/version`: which Rekindle answers; public, and the cheapest JSON the server makes.
async fn get_version() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "name": "rekindle",
        "version": env!("CARGO_PKG_VERSION"),
    }))
}
