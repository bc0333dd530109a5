//! Logging: human-readable in development, JSON in production; one access line per request.
//!
//! Access lines carry the method, the route's path (query strings are left out: signed URLs
//! carry their signature there), the status and the latency. Never log e-mails, passwords,
//! tokens, cookies, signatures or image bytes.

use crate::config::Mode;
use axum::body::Body;
use axum::http::Request;
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber.
pub fn init(mode: Mode) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match mode {
        Mode::Production => builder.json().try_init(),
        Mode::Development => builder.try_init(),
    };
}

/// The access-log layer type.
pub type AccessLog = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&Request<Body>) -> tracing::Span,
    (),
    DefaultOnResponse,
>;

/// The access-log layer: a span per request and a line when it finishes.
pub fn access_log() -> AccessLog {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request<Body>) -> tracing::Span)
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO))
}

fn request_span(request: &Request<Body>) -> tracing::Span {
    // Webhook paths end in a secret token; log only the route's shape.
    let path = request.uri().path();
    let path = if path.starts_with("/api/webhooks/") {
        "/api/webhooks/…"
    } else {
        path
    };
    let path = if path.starts_with("/files/") {
        "/files/…"
    } else {
        path
    };
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!("request", request_id = %request_id, method = %request.method(), path = %path)
}

/// Records every request in the metrics, labelled by its route template.
pub async fn record_metrics(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |path| path.as_str())
        .to_string();
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    crate::metrics::request(
        &route,
        &method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
