//! The `server` binary. Commands:
//!
//! - `serve` (default): run the web app.
//! - `migrate`: apply database migrations and exit.
//! - `set-tier EMAIL TIER [active|lapsed]`: record a user's subscription (no billing yet).
//! - `sweep-retention`: delete expired Free photos now (the server also does it every 10 min).
//! - `check`: validate the configuration and reach the database and storage.
//! - `healthcheck`: ask the running server's `/healthz` (for container health checks).

use anyhow::{bail, Context};
use app::model::Tier;
use server::accounts::{self, SubscriptionStatus};
use server::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = Config::from_env()?;
    server::telemetry::init(config.mode);
    match args.first().map(String::as_str).unwrap_or("serve") {
        "serve" => serve(config).await,
        "migrate" => {
            server::db::Db::connect(&config.database_url).await?.migrate().await?;
            println!("Migrations applied.");
            Ok(())
        }
        "set-tier" => set_tier(config, &args[1..]).await,
        "sweep-retention" => {
            let state = server::offline_state(config).await?;
            let sweep = server::retention::sweep(&state).await?;
            println!("Deleted {} photos and {} stored objects.", sweep.photos_deleted, sweep.objects_removed);
            Ok(())
        }
        "check" => check(config).await,
        "healthcheck" => healthcheck(config).await,
        other => bail!("Unknown command {other:?}. Commands: serve, migrate, set-tier, sweep-retention, check, healthcheck."),
    }
}

async fn set_tier(config: Config, args: &[String]) -> anyhow::Result<()> {
    let usage = "Usage: server set-tier EMAIL free|remember|cherish|forever [active|lapsed]";
    let (Some(email), Some(tier)) = (args.first(), args.get(1)) else {
        bail!(usage)
    };
    let tier = Tier::parse(tier).with_context(|| format!("Unknown tier {tier:?}. {usage}"))?;
    let status = match args.get(2) {
        None => SubscriptionStatus::Active,
        Some(s) => SubscriptionStatus::parse(s)
            .with_context(|| format!("Unknown status {s:?}. {usage}"))?,
    };
    let db = server::db::Db::connect(&config.database_url).await?;
    db.migrate().await?;
    let now = server::clock::Clock::default().now_ms();
    if !accounts::set_tier(&db, email, tier, status, now).await? {
        bail!("No account uses that e-mail address.");
    }
    println!("Tier set to {}.", tier.label());

    Ok(())
}

async fn check(config: Config) -> anyhow::Result<()> {
    println!("Configuration: valid ({:?} mode).", config.mode);
    let state = server::offline_state(config).await?;
    println!("Database: reachable, migrations applied.");
    if !state.storage.is_reachable().await {
        bail!("Storage: NOT reachable. Check the storage settings.");
    }
    println!("Storage: reachable.");

    Ok(())
}

async fn healthcheck(config: Config) -> anyhow::Result<()> {
    let port = config.listen_addr.port();
    let url = format!("http://127.0.0.1:{port}/healthz");
    let response = reqwest::Client::new()
        .get(&url)
        .timeout(std::time::Duration::from_secs(3))
        .send()
        .await
        .with_context(|| format!("Failed to reach {url}"))?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }

    Ok(())
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
    shutdown_signal().await?;
    tracing::info!("shutting down");
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
