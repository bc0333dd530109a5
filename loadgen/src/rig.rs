//! A test rig: the fake provider, a Rekindle instance using it, and a fresh database (SQLite
//! in its own folder, or a new PostgreSQL database dropped afterwards).

use crate::api::{small_png, Api};
use crate::instance::{Instance, Launch};
use crate::provider::{FakeRunPod, Submitted};
use crate::seed::{self, Account};
use crate::Ctx;
use anyhow::{bail, Context};
use futures::StreamExt;
use sqlx::Connection;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Which database a rig runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

impl Store {
    pub fn label(self) -> &'static str {
        match self {
            Store::Sqlite => "SQLite",
            Store::Postgres => "PostgreSQL",
        }
    }
}

/// A job Rekindle has submitted to the fake provider.
#[derive(Debug, Clone)]
pub struct BenchJob {
    /// Index of the owner in the account list.
    pub owner: usize,
    pub job_id: Uuid,
    pub provider_id: String,
    pub webhook_url: String,
}

pub struct Rig {
    pub store: Store,
    pub provider: FakeRunPod,
    submitted: mpsc::UnboundedReceiver<Submitted>,
    pub launch: Launch,
    pub instance: Instance,
    pub api: Api,
    /// The PostgreSQL database to drop afterwards, with the admin URL.
    pg: Option<(String, String)>,
}

impl Rig {
    pub async fn start(
        ctx: &Ctx,
        store: Store,
        name: &str,
        extra: &[(&str, String)],
    ) -> anyhow::Result<Rig> {
        let (provider, submitted) = FakeRunPod::start().await?;
        let data_dir = ctx.out.join("work").join(name);
        let _ = std::fs::remove_dir_all(&data_dir);
        let (database_url, pg) = match store {
            Store::Sqlite => (None, None),
            Store::Postgres => {
                let admin = ctx
                    .pg_admin
                    .as_deref()
                    .context("PostgreSQL is not available")?;
                let db = format!(
                    "rekindle_bench_{}_{}",
                    name.replace('-', "_"),
                    std::process::id()
                );
                let url = create_database(admin, &db).await?;
                (Some(url), Some((admin.to_string(), db)))
            }
        };
        let mut launch = Launch {
            server_bin: ctx.server_bin.clone(),
            data_dir,
            database_url,
            secret_key: server::auth::random_token(32),
            provider_url: provider.endpoint_url.clone(),
            provider_key: provider.api_key.clone(),
            extra: Vec::new(),
        };
        for (name, value) in extra {
            launch = launch.with(name, value.clone());
        }
        let instance = Instance::start(&launch, "instance-a").await?;
        let api = Api::new(&instance.base);

        Ok(Rig {
            store,
            provider,
            submitted,
            launch,
            instance,
            api,
            pg,
        })
    }

    /// `count` signed-in accounts.
    pub async fn accounts(&self, count: usize) -> anyhow::Result<Vec<Account>> {
        seed::accounts(&self.instance.env, count).await
    }

    /// One restoration job for each account, through the API; waits until the provider has
    /// every one of them.
    pub async fn create_jobs(&mut self, accounts: &[Account]) -> anyhow::Result<Vec<BenchJob>> {
        let api = self.api.clone();
        let created: Vec<anyhow::Result<(Uuid, usize)>> =
            futures::stream::iter(accounts.iter().enumerate())
                .map(|(i, account)| {
                    let api = api.clone();
                    let token = account.token.clone();
                    async move {
                        let photo = api
                            .upload_photo(&token, &format!("photo-{i}.png"), small_png(i as u32))
                            .await?;
                        let job = api.restore(&token, photo).await?;
                        Ok((job.id, i))
                    }
                })
                .buffer_unordered(16)
                .collect()
                .await;
        let mut owner_of_job = HashMap::new();
        for result in created {
            let (job, owner) = result?;
            owner_of_job.insert(job, owner);
        }

        let mut jobs = Vec::with_capacity(accounts.len());
        while jobs.len() < accounts.len() {
            let submitted = tokio::time::timeout(Duration::from_secs(60), self.submitted.recv())
                .await
                .context("the provider received no /run call within 60 s")?
                .context("the provider stopped")?;
            let Some(owner) = owner_of_job.get(&submitted.job_id) else {
                bail!("the provider got a job nobody created");
            };
            jobs.push(BenchJob {
                owner: *owner,
                job_id: submitted.job_id,
                provider_id: submitted.provider_id,
                webhook_url: submitted.webhook_url,
            });
        }
        // Let the server record the provider's job ids before the first webhook.
        tokio::time::sleep(Duration::from_millis(500)).await;
        jobs.sort_by_key(|job| job.owner);

        Ok(jobs)
    }

    /// Another instance on the same database (PostgreSQL: the instances share live updates).
    pub async fn another_instance(&self, name: &str) -> anyhow::Result<Instance> {
        Instance::start(&self.launch, name).await
    }

    pub async fn stop(self) {
        self.instance.stop().await;
        if let Some((admin, db)) = self.pg {
            if let Err(err) = drop_database(&admin, &db).await {
                eprintln!("loadgen: could not drop database {db}: {err:#}");
            }
        }
    }
}

async fn create_database(admin: &str, name: &str) -> anyhow::Result<String> {
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .with_context(|| format!("Failed to connect to PostgreSQL at {admin}"))?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await?;
    database_url(admin, name)
}

async fn drop_database(admin: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// The URL of database `name` on the server `admin` points at.
pub fn database_url(admin: &str, name: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(admin).context("unreadable PostgreSQL URL")?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}
