//! `loadgen`: the benchmark that proves Rekindle's design. It starts real Rekindle servers
//! (the `server` binary) on SQLite and PostgreSQL, stands in for a GPU provider at the HTTP
//! level, drives them over real sockets, and writes `report.md` and `report.json`.
//!
//! ```text
//! loadgen [--tiny] [--out DIR] [--server-bin PATH] [--pg-url URL] [--photos DIR]
//!         [--only latency,polling,idle,ingest,fanout,gatekeeper,pipeline,upload]
//! ```

mod api;
mod fanout;
mod gatekeeper;
mod idle;
mod ingest;
mod instance;
mod latency;
mod pipeline;
mod polling;
mod provider;
mod report;
mod rig;
mod scale;
mod seed;
mod socket;
mod stats;
mod tabs;
mod upload;

use anyhow::{bail, Context};
use report::{Machine, Report, Section};
use rig::{Rig, Store};
use scale::Scale;
use sqlx::Connection;
use std::path::PathBuf;

/// What every measurement needs.
pub struct Ctx {
    pub scale: Scale,
    pub out: PathBuf,
    pub server_bin: PathBuf,
    pub pg_admin: Option<String>,
    pub photos: PathBuf,
    pub convert: Option<PathBuf>,
    pub file_limit: u64,
    only: Option<Vec<String>>,
}

impl Ctx {
    fn wants(&self, phase: &str) -> bool {
        self.only
            .as_ref()
            .is_none_or(|only| only.iter().any(|p| p == phase))
    }
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let file_limit = instance::raise_file_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.first().map(String::as_str) == Some("hold-sockets") {
        return runtime.block_on(idle::hold_sockets(&args[1..]));
    }
    let ctx = runtime.block_on(context(&args, file_limit))?;
    let report = runtime.block_on(run_all(&ctx))?;
    report.write(&ctx.out)?;
    println!("{}", report.markdown());
    println!("Report written to {}", ctx.out.join("report.md").display());
    let failed: Vec<&Section> = report
        .sections
        .iter()
        .filter(|s| s.verdict == report::Verdict::NotRun)
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} measurement(s) did not run: {}",
            failed.len(),
            failed
                .iter()
                .map(|s| s.title.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

async fn context(args: &[String], file_limit: u64) -> anyhow::Result<Ctx> {
    let mut tiny = false;
    let (mut out, mut server_bin, mut pg_url, mut photos, mut only) =
        (None, None, None, None, None);
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || {
            rest.next()
                .cloned()
                .with_context(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--tiny" => tiny = true,
            "--out" => out = Some(PathBuf::from(value()?)),
            "--server-bin" => server_bin = Some(PathBuf::from(value()?)),
            "--pg-url" => pg_url = Some(value()?),
            "--photos" => photos = Some(PathBuf::from(value()?)),
            "--only" => only = Some(value()?.split(',').map(str::to_string).collect()),
            "-h" | "--help" => {
                println!("usage: loadgen [--tiny] [--out DIR] [--server-bin PATH] [--pg-url URL] [--photos DIR] [--only PHASES]");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (try --help)"),
        }
    }
    let server_bin = match server_bin {
        Some(path) => path,
        None => std::env::current_exe()?.with_file_name("server"),
    };
    if !server_bin.exists() {
        bail!("no server binary at {} (build it with `cargo build --release -p server`, or pass --server-bin)", server_bin.display());
    }
    let pg_admin = postgres(pg_url).await;

    Ok(Ctx {
        scale: if tiny { Scale::tiny() } else { Scale::full() },
        out: out.unwrap_or_else(|| {
            PathBuf::from(if tiny {
                "target/bench-tiny"
            } else {
                "target/bench"
            })
        }),
        server_bin: server_bin.canonicalize()?,
        pg_admin,
        photos: photos.unwrap_or_else(|| PathBuf::from("../shared/testdata/photos")),
        convert: imagemagick(),
        file_limit,
        only,
    })
}

/// The PostgreSQL admin URL to create benchmark databases with, if one answers.
async fn postgres(given: Option<String>) -> Option<String> {
    let user = std::env::var("USER").unwrap_or_else(|_| "postgres".into());
    let url = given
        .or_else(|| std::env::var("REKINDLE_BENCH_PG_URL").ok())
        .or_else(|| std::env::var("REKINDLE_TEST_PG_URL").ok())
        .unwrap_or_else(|| format!("postgres://{user}@127.0.0.1:5432/postgres"));
    match sqlx::PgConnection::connect(&url).await {
        Ok(conn) => {
            let _ = conn.close().await;
            Some(url)
        }
        Err(err) => {
            eprintln!(
                "loadgen: PostgreSQL not reachable at {url} ({err}); its measurements are skipped"
            );
            None
        }
    }
}

/// ImageMagick's `convert`: `REKINDLE_CONVERT`, else Debian's.
fn imagemagick() -> Option<PathBuf> {
    std::env::var_os("REKINDLE_CONVERT")
        .map(PathBuf::from)
        .or_else(|| Some(PathBuf::from("/usr/bin/convert")))
        .filter(|path| path.exists())
}

async fn run_all(ctx: &Ctx) -> anyhow::Result<Report> {
    std::fs::create_dir_all(ctx.out.join("work"))?;
    let mut sections = Vec::new();
    let record =
        |sections: &mut Vec<Section>, result: anyhow::Result<Section>, id: &str, title: &str| {
            sections.push(result.unwrap_or_else(|err| {
                eprintln!("loadgen: {title} failed: {err:#}");
                Section::not_run(id, title, "", format!("failed: {err:#}"))
            }));
        };

    if ctx.wants("pipeline") {
        step("restoration pipeline beside ImageMagick");
        record(
            &mut sections,
            pipeline::run(ctx).await,
            "pipeline",
            "Restoration pipeline speed",
        );
    }
    for store in [Store::Sqlite, Store::Postgres] {
        if store == Store::Postgres && ctx.pg_admin.is_none() {
            continue;
        }
        let name = store.label().to_lowercase();
        if ctx.wants("latency")
            || ctx.wants("polling")
            || ctx.wants("gatekeeper")
            || (store == Store::Postgres && ctx.wants("fanout"))
        {
            let mut rig = Rig::start(ctx, store, &format!("{name}-main"), &[]).await?;
            if ctx.wants("latency") {
                step(&format!("update latency on {}", store.label()));
                record(
                    &mut sections,
                    latency::run(ctx, &mut rig).await,
                    "latency",
                    "Update latency",
                );
            }
            if ctx.wants("polling") {
                step(&format!("polling design side by side on {}", store.label()));
                record(
                    &mut sections,
                    polling::run(ctx, &mut rig).await,
                    "polling",
                    "Polling design side by side",
                );
            }
            if ctx.wants("gatekeeper") {
                step(&format!("gatekeeper on {}", store.label()));
                record(
                    &mut sections,
                    gatekeeper::run(ctx, &rig).await,
                    "gatekeeper",
                    "Gatekeeper",
                );
            }
            if store == Store::Postgres && ctx.wants("fanout") {
                step("fan-out across instances");
                record(
                    &mut sections,
                    fanout::run(ctx, &mut rig).await,
                    "fanout",
                    "Fan-out across instances",
                );
            }
            rig.stop().await;
        }
    }
    if ctx.wants("ingest") {
        step("webhook ingest beside pgbench");
        match ctx.pg_admin {
            Some(_) => {
                let mut rig = Rig::start(ctx, Store::Postgres, "ingest", &[]).await?;
                record(
                    &mut sections,
                    ingest::run(ctx, &mut rig).await,
                    "ingest",
                    "Webhook ingest on PostgreSQL",
                );
                rig.stop().await;
            }
            None => sections.push(Section::not_run(
                "ingest",
                "Webhook ingest on PostgreSQL",
                "",
                "PostgreSQL is not reachable".into(),
            )),
        }
    }
    if ctx.wants("idle") {
        step("idle connections");
        let store = if ctx.pg_admin.is_some() {
            Store::Postgres
        } else {
            Store::Sqlite
        };
        // Six instances on one PostgreSQL (max_connections 100 by default) need small pools.
        let pool = [("REKINDLE_DB_MAX_CONNECTIONS", "8".to_string())];
        let rig = Rig::start(ctx, store, "idle", &pool).await?;
        record(
            &mut sections,
            idle::run(ctx, &rig).await,
            "idle",
            "Idle WebSockets",
        );
        rig.stop().await;
    }
    if ctx.wants("upload") {
        step("upload memory");
        let limit = upload::rig_limit(ctx).to_string();
        let rig = Rig::start(
            ctx,
            Store::Sqlite,
            "upload",
            &[("REKINDLE_MAX_UPLOAD_BYTES", limit)],
        )
        .await?;
        record(
            &mut sections,
            upload::run(ctx, &rig).await,
            "upload",
            "Upload memory",
        );
        rig.stop().await;
    }

    Ok(Report {
        machine: machine(ctx),
        sections,
    })
}

fn step(what: &str) {
    eprintln!("==> loadgen: {what}");
}

fn machine(ctx: &Ctx) -> Machine {
    let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory_kib: f64 = read("/proc/meminfo")
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let started_at = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let args: Vec<String> = std::env::args().skip(1).collect();

    Machine {
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: memory_kib / 1048576.0,
        kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        file_limit: ctx.file_limit,
        command: format!("loadgen {}", args.join(" ")).trim().to_string(),
        started_at,
        configuration: ctx.scale.name.to_string(),
    }
}
