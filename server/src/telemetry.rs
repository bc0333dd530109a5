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
    tracing::info_span!("request", method = %request.method(), path = %path)
}
