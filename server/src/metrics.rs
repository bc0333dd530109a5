//! Prometheus metrics at `/metrics`: requests, live sockets, job transitions, webhooks,
//! provider calls, notification latency and upload bytes.
//!
//! One process-wide registry; every instance reports its own numbers and Prometheus adds them
//! up. Labels are bounded (route templates, never raw paths or ids).

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use std::sync::LazyLock;

/// All of Rekindle's metrics.
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub open_websockets: IntGauge,
    pub job_transitions: IntCounterVec,
    pub webhooks: IntCounterVec,
    pub provider_calls: IntCounterVec,
    pub notification_seconds: HistogramVec,
    pub upload_bytes: IntCounter,
}

/// The process's metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

impl Metrics {
    fn new() -> Metrics {
        let registry = Registry::new_custom(Some("rekindle".into()), None)
            .expect("the prefix is a valid metric name");
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status.",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route.",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
            ]),
            &["route"],
        )
        .expect("valid metric");
        let open_websockets =
            IntGauge::new("open_websockets", "Open live-update WebSockets.").expect("valid metric");
        let job_transitions = IntCounterVec::new(
            Opts::new(
                "job_transitions_total",
                "Job state changes by provider and new status.",
            ),
            &["provider", "status"],
        )
        .expect("valid metric");
        let webhooks = IntCounterVec::new(
            Opts::new(
                "webhooks_total",
                "Webhooks received by provider and outcome (accepted, duplicate, rejected).",
            ),
            &["provider", "outcome"],
        )
        .expect("valid metric");
        let provider_calls = IntCounterVec::new(
            Opts::new(
                "provider_calls_total",
                "Calls made to providers by provider and kind (submit, status, cancel, output).",
            ),
            &["provider", "kind"],
        )
        .expect("valid metric");
        let notification_seconds = HistogramVec::new(
            HistogramOpts::new(
                "job_event_delivery_seconds",
                "From a job change being recorded to this instance broadcasting it to sockets.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            &["path"],
        )
        .expect("valid metric");
        let upload_bytes = IntCounter::new("upload_bytes_total", "Bytes of accepted uploads.")
            .expect("valid metric");

        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_seconds.clone()),
            Box::new(open_websockets.clone()),
            Box::new(job_transitions.clone()),
            Box::new(webhooks.clone()),
            Box::new(provider_calls.clone()),
            Box::new(notification_seconds.clone()),
            Box::new(upload_bytes.clone()),
        ] {
            registry
                .register(collector)
                .expect("each metric is registered once");
        }

        Metrics {
            registry,
            requests,
            request_seconds,
            open_websockets,
            job_transitions,
            webhooks,
            provider_calls,
            notification_seconds,
            upload_bytes,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buffer = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .expect("encoding into a Vec cannot fail");
        String::from_utf8(buffer).expect("the text format is UTF-8")
    }
}

/// Counts a webhook by outcome.
pub fn webhook(provider: &str, outcome: &str) {
    METRICS
        .webhooks
        .with_label_values(&[provider, outcome])
        .inc();
}

/// Counts a call to a provider.
pub fn provider_call(provider: &str, kind: &str) {
    METRICS
        .provider_calls
        .with_label_values(&[provider, kind])
        .inc();
}

/// Records a request; `route` is the matched route template.
pub fn request(route: &str, method: &str, status: u16, seconds: f64) {
    METRICS
        .requests
        .with_label_values(&[route, method, &status.to_string()])
        .inc();
    METRICS
        .request_seconds
        .with_label_values(&[route])
        .observe(seconds);
}
