//! Rekindle's server: the web app, its JSON API, webhooks, live updates and the built-in
//! restoration worker, wired together by [`start`].

pub mod accounts;
pub mod auth;
pub mod backend;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod extract;
pub mod gatekeeper;
pub mod jobs;
pub mod metrics;
pub mod photos;
pub mod providers;
pub mod realtime;
pub mod retention;
pub mod routes;
pub mod state;
pub mod storage;
pub mod telemetry;
pub mod tiers;
pub mod users;
pub mod webhooks;

use crate::clock::Clock;
use crate::config::{Config, ProviderConfig, Secret};
use crate::db::{Db, DbKind};
use crate::providers::comfyui::{ComfyUiClient, Workflow};
use crate::providers::replicate::ReplicateClient;
use crate::providers::standard_webhooks::SigningKey;
use crate::providers::{runpod::RunPodClient, Provider, PushedReports};
use crate::realtime::Realtime;
use crate::state::{AppState, Inner, Keys};
use crate::storage::Storage;
use anyhow::Context;
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    serve: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Server {
    /// Stops accepting, closes live sockets with "going away", and waits (bounded) for
    /// requests in flight.
    pub async fn shut_down(self) {
        self.state.realtime.shut_down();
        self.stop.send_replace(true);
        match tokio::time::timeout(Duration::from_secs(10), self.serve).await {
            Ok(Ok(Err(err))) => tracing::warn!(error = %err, "server stopped with an error"),
            Err(_) => tracing::warn!("requests still running after 10 s; stopping anyway"),
            _ => {}
        }
    }

    /// Waits until the server stops by itself.
    pub async fn wait(self) -> anyhow::Result<()> {
        self.serve
            .await
            .context("server task panicked")?
            .context("server failed")
    }
}

/// Connects, migrates and starts serving on `listener`. With `clock`, tests control time.
pub async fn start(
    config: Config,
    listener: TcpListener,
    leptos: LeptosOptions,
    clock: Clock,
) -> anyhow::Result<Server> {
    let addr = listener
        .local_addr()
        .context("Failed to read the bound address")?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let (state, worker) = build_state(config, public_url, leptos, clock).await?;
    if state.db.kind == DbKind::Postgres {
        realtime::spawn_pg_listener(state.config.database_url.clone(), state.realtime.clone());
    }
    let mut router = routes::router(state.clone());
    if let Some(worker) = worker {
        router = router.nest("/worker", worker);
    }
    tokio::spawn(jobs::reconciler::run(state.clone()));
    tokio::spawn(retention::run(state.clone()));

    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    let serve = tokio::spawn(async move {
        axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await
    });
    tracing::info!(%addr, public_url = state.public_url, "rekindle is listening");

    Ok(Server {
        addr,
        state,
        serve,
        stop,
    })
}

/// The state a command needs without serving: database (migrated), storage, provider.
pub async fn offline_state(config: Config) -> anyhow::Result<AppState> {
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen_addr));
    let (state, _) = build_state(config, public_url, leptos_options(), Clock::default()).await?;

    Ok(state)
}

async fn build_state(
    config: Config,
    public_url: String,
    leptos: LeptosOptions,
    clock: Clock,
) -> anyhow::Result<(AppState, Option<axum::Router>)> {
    let db = Db::connect_with(&config.database_url, config.db_max_connections).await?;
    db.migrate().await?;
    let storage = Storage::open(&config.storage, &config.data_dir)?;
    let realtime = Realtime::start(db.clone(), db.kind == DbKind::Postgres);
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .build()
        .context("Failed to build the HTTP client")?;
    let (provider, worker, reports) = provider(&config, &public_url, http)?;
    let state = AppState::new(Inner {
        keys: Keys::derive(&config.secret_key),
        config,
        public_url,
        db,
        storage,
        clock,
        realtime,
        provider,
        leptos,
    });

    if let Some(reports) = reports {
        tokio::spawn(jobs::service::follow_pushed_reports(state.clone(), reports));
    }

    Ok((state, worker))
}

/// The configured provider, the built-in worker's routes when it runs in this process, and
/// the reports of a provider that pushes them over its own channel (ComfyUI).
fn provider(
    config: &Config,
    public_url: &str,
    http: reqwest::Client,
) -> anyhow::Result<(Provider, Option<axum::Router>, Option<PushedReports>)> {
    match &config.provider {
        ProviderConfig::Builtin { concurrency } => {
            // A fresh key per process: only this server ever calls its own worker.
            let api_key = auth::random_token(32);
            let worker = worker::router(worker::WorkerConfig {
                api_key: api_key.clone(),
                max_concurrent_jobs: (*concurrency).max(1),
                output_ttl: Duration::from_secs(30 * 60),
                public_base_url: format!("{public_url}/worker"),
                limits: restore::Limits {
                    max_bytes: config.max_upload_bytes,
                    max_pixels: config.max_pixels,
                    ..restore::Limits::default()
                },
                http: http.clone(),
                webhook_retry_delay: Duration::from_secs(10),
            });
            let client = RunPodClient::new(
                format!("{public_url}/worker/v2/builtin"),
                Secret::new(api_key),
                http,
            );
            Ok((Provider::runpod("builtin", client), Some(worker), None))
        }
        ProviderConfig::RunPod {
            base_url,
            api_key,
            local_server,
        } => {
            let mut client = RunPodClient::new(base_url.clone(), api_key.clone(), http);
            if *local_server {
                client = client.with_post_status();
            }
            Ok((Provider::runpod("runpod", client), None, None))
        }
        ProviderConfig::Polling { base_url, api_key } => {
            let client = RunPodClient::new(base_url.clone(), api_key.clone(), http);
            let provider = Provider::runpod("polling", client.without_webhooks());
            Ok((provider, None, None))
        }
        ProviderConfig::Replicate {
            api_url,
            api_token,
            model,
            image_input,
            webhook_secret,
        } => {
            let key = SigningKey::parse(webhook_secret.expose())
                .map_err(|reason| anyhow::anyhow!("REPLICATE_WEBHOOK_SECRET: {reason}"))?;
            let client = ReplicateClient::new(
                api_url.clone(),
                api_token.clone(),
                model.clone(),
                image_input.clone(),
                key,
                http,
            );
            Ok((Provider::replicate(client), None, None))
        }
        ProviderConfig::ComfyUi {
            url,
            workflow_path,
            input_node,
            output_node,
        } => {
            let text = std::fs::read_to_string(workflow_path).with_context(|| {
                format!(
                    "Failed to read COMFYUI_WORKFLOW {}",
                    workflow_path.display()
                )
            })?;
            let graph =
                serde_json::from_str(&text).context("Failed to parse COMFYUI_WORKFLOW as JSON")?;
            let workflow = Workflow::new(graph, input_node, output_node)
                .context("COMFYUI_WORKFLOW does not fit COMFYUI_INPUT_NODE/OUTPUT_NODE")?;
            let client = ComfyUiClient::new(url.clone(), workflow, http);
            let reports = client.follow();
            Ok((Provider::comfyui(client), None, Some(reports)))
        }
        ProviderConfig::Lambda => {
            let lambda = config.sns.lambda.as_ref().context(
                "REKINDLE_PROVIDER=lambda needs LAMBDA_FUNCTION_NAME and the other Lambda settings",
            )?;
            let invoker = providers::sns::lambda::LambdaInvoker::new(lambda);
            Ok((Provider::lambda(invoker, http), None, None))
        }
    }
}

/// Leptos settings from the variables cargo-leptos sets, with the workspace's defaults.
pub fn leptos_options() -> LeptosOptions {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    LeptosOptions::builder()
        .output_name(var("LEPTOS_OUTPUT_NAME", "rekindle"))
        .site_root(var("LEPTOS_SITE_ROOT", "target/site"))
        .site_pkg_dir(var("LEPTOS_SITE_PKG_DIR", "pkg"))
        .hash_files(var("LEPTOS_HASH_FILES", "false") == "true")
        .hash_file(std::sync::Arc::<str>::from(var(
            "LEPTOS_HASH_FILE_NAME",
            "hash.txt",
        )))
        .build()
}
