//! The `worker` binary: serves the restoration worker on its own.
//!
//! Environment:
//! * `WORKER_API_KEY` (required): the bearer token callers must send.
//! * `WORKER_ADDR` (default `127.0.0.1:8100`): address to listen on.
//! * `WORKER_PUBLIC_URL` (default `http://<WORKER_ADDR>`): base URL in output links.
//! * `WORKER_CONCURRENCY` (default: number of cores): jobs restored at once.

use std::net::SocketAddr;

use anyhow::{bail, Context};
use tracing_subscriber::EnvFilter;
use worker::WorkerConfig;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();

    let config = config_from_env()?;
    let addr: SocketAddr = env_or("WORKER_ADDR", "127.0.0.1:8100")
        .parse()
        .context("Failed to parse WORKER_ADDR as host:port")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("Failed to listen on {addr}"))?;
    tracing::info!(%addr, concurrency = config.max_concurrent_jobs, "worker listening");

    axum::serve(listener, worker::router(config))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("Failed to serve the worker")?;

    Ok(())
}

fn config_from_env() -> anyhow::Result<WorkerConfig> {
    let api_key = std::env::var("WORKER_API_KEY").unwrap_or_default();
    if api_key.trim().is_empty() {
        bail!("WORKER_API_KEY is not set; the worker refuses to start without a bearer token");
    }
    let addr = env_or("WORKER_ADDR", "127.0.0.1:8100");
    let public_url = env_or("WORKER_PUBLIC_URL", &format!("http://{addr}"));
    let mut config = WorkerConfig::new(api_key, public_url);
    if let Ok(value) = std::env::var("WORKER_CONCURRENCY") {
        config.max_concurrent_jobs = value
            .parse()
            .context("Failed to parse WORKER_CONCURRENCY as a number")?;
    }

    Ok(config)
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => drop(signal.recv().await),
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
