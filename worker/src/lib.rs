//! Rekindle's built-in restoration worker.
//!
//! It speaks RunPod's serverless queue API (`/run`, `/status`, `/cancel`, `/health`, plus
//! `/output` for the result files), so the server drives it exactly as it drives RunPod's
//! cloud. Jobs download their source image, restore it with the [`restore`] crate and report
//! through webhooks: progress while running (an extension) and the final status.

mod auth;
mod config;
mod download;
mod error;
mod jobs;
mod outputs;
mod routes;
mod runner;
mod state;
mod webhook;

pub use config::WorkerConfig;

/// The worker's routes, relative to where they are mounted (the server nests them at
/// `/worker`; the `worker` binary serves them at `/`).
pub fn router(config: WorkerConfig) -> axum::Router {
    routes::router(state::AppState::new(config))
}
