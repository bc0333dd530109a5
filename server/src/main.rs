//! The `server` binary: `serve` (the default) and `migrate`.

use anyhow::Context;
use server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    server::telemetry::init(config.mode);
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    match command.as_str() {
        "serve" => serve(config).await,
        "migrate" => {
            server::db::Db::connect(&config.database_url)
                .await?
                .migrate()
                .await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        other => anyhow::bail!("unknown command {other:?}; expected serve or migrate"),
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("Failed to listen on {}", config.listen_addr))?;
    let server = server::start(
        config,
        listener,
        server::leptos_options(),
        Default::default(),
    )
    .await?;
    let state = server.state.clone();
    tokio::select! {
        result = shutdown_signal() => result?,
        // `wait` only returns if serving fails.
    }
    tracing::info!("shutting down");
    drop(state);
    server.shut_down().await;

    Ok(())
}

async fn shutdown_signal() -> anyhow::Result<()> {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .context("Failed to listen for SIGTERM")?;
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    ctrl_c.await?;

    Ok(())
}
