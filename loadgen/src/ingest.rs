//! Webhook ingest on PostgreSQL with durable commits, beside `pgbench` running a single-row
//! update on the same database in the same run.

use crate::provider::progress_status;
use crate::report::{Section, Verdict};
use crate::rig::Rig;
use crate::stats::Samples;
use crate::Ctx;
use anyhow::{bail, Context};
use serde_json::json;
use sqlx::Connection;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const TARGET_RATIO: f64 = 0.5;

pub async fn run(ctx: &Ctx, rig: &mut Rig) -> anyhow::Result<Section> {
    let scale = &ctx.scale;
    let mut section = Section::new(
        "ingest",
        "Webhook ingest on PostgreSQL",
        "≥ 50% of pgbench's single-row updates per second",
    );
    let url = rig
        .launch
        .database_url
        .clone()
        .context("ingest needs PostgreSQL")?;
    let settings = durability(&url).await?;
    let accounts = rig.accounts(scale.ingest_jobs).await?;
    let jobs = rig.create_jobs(&accounts).await?;

    // Rekindle: as many progress webhooks as `concurrency` senders can get answered.
    let next = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(Samples::default()));
    let limit = jobs.len() * 98;
    let duration = Duration::from_secs_f64(scale.ingest_secs);
    let cpu_before = rig.instance.cpu()?;
    let started = Instant::now();
    let mut senders = Vec::new();
    for _ in 0..scale.ingest_concurrency {
        let (next, answers, jobs, http) = (
            next.clone(),
            answers.clone(),
            jobs.clone(),
            rig.api.http.clone(),
        );
        senders.push(tokio::spawn(async move {
            let mut refused = 0usize;
            while started.elapsed() < duration {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= limit {
                    break;
                }
                let job = &jobs[i % jobs.len()];
                let body = progress_status(&job.provider_id, (i / jobs.len() + 1) as u8, "ingest");
                let sent = Instant::now();
                match http.post(&job.webhook_url).json(&body).send().await {
                    Ok(r) if r.status().is_success() => {
                        answers.lock().unwrap().push(sent.elapsed())
                    }
                    _ => refused += 1,
                }
            }
            refused
        }));
    }
    let mut refused = 0;
    for sender in senders {
        refused += sender.await?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = rig.instance.cpu()?.saturating_sub(cpu_before).as_secs_f64() / seconds;
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    let accepted = answers.len();
    let rekindle_rate = accepted as f64 / seconds;

    let pgbench = pgbench(
        ctx,
        &url,
        jobs.len(),
        scale.ingest_concurrency,
        scale.ingest_secs,
    )
    .await?;
    let ratio = rekindle_rate / pgbench;

    section.row("durability", settings.clone());
    section.row("Rekindle webhooks/s", format!("{rekindle_rate:.0} ({accepted} accepted, {refused} refused, {} senders, {seconds:.1} s)", scale.ingest_concurrency));
    if let Some(s) = answers.summary() {
        section.row("Rekindle webhook answer time", s.describe());
    }
    section.row(
        "Rekindle server CPU",
        format!("{:.0}% of one core", cpu * 100.0),
    );
    section.row(
        "pgbench single-row UPDATE transactions/s",
        format!(
            "{pgbench:.0} ({} clients, same database, same run)",
            scale.ingest_concurrency
        ),
    );
    section.row("Rekindle ÷ pgbench", format!("{:.0}%", ratio * 100.0));
    section.verdict = Verdict::from_check(refused == 0 && ratio >= TARGET_RATIO);
    section.note("Each webhook is authenticated by its per-job token, counted, and applied in one transaction that updates the job, appends the user's event with its sequence number and notifies the other instances; pgbench's transaction is one UPDATE of one row.");
    section.data = json!({
        "durability": settings, "rekindle_per_sec": rekindle_rate, "accepted": accepted,
        "refused": refused, "pgbench_tps": pgbench, "ratio": ratio, "server_cpu_cores": cpu,
        "answer": answers.summary(),
    });

    Ok(section)
}

async fn durability(url: &str) -> anyhow::Result<String> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    let mut parts = Vec::new();
    for setting in ["fsync", "synchronous_commit", "wal_sync_method"] {
        let value: String = sqlx::query_scalar(&format!("SHOW {setting}"))
            .fetch_one(&mut conn)
            .await?;
        parts.push(format!("{setting} = {value}"));
    }
    Ok(parts.join(", "))
}

/// Runs pgbench with a comparable single-row update; returns transactions per second.
async fn pgbench(
    ctx: &Ctx,
    url: &str,
    rows: usize,
    clients: usize,
    secs: f64,
) -> anyhow::Result<f64> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("CREATE TABLE bench_ingest (id INT PRIMARY KEY, progress INT NOT NULL, stage TEXT, updated_at BIGINT NOT NULL)")
        .execute(&mut conn)
        .await?;
    sqlx::query(&format!(
        "INSERT INTO bench_ingest SELECT g, 0, NULL, 0 FROM generate_series(1, {rows}) g"
    ))
    .execute(&mut conn)
    .await?;
    let script = ctx.out.join("work").join("pgbench-update.sql");
    std::fs::write(
        &script,
        format!("\\set id random(1, {rows})\nUPDATE bench_ingest SET progress = progress + 1, stage = 'ingest', updated_at = :id WHERE id = :id;\n"),
    )?;
    let output = tokio::process::Command::new("pgbench")
        .args([
            "-n",
            "-c",
            &clients.to_string(),
            "-j",
            "2",
            "-T",
            &(secs.ceil() as u64).to_string(),
            "-f",
        ])
        .arg(&script)
        .arg(url)
        .output()
        .await
        .context("Failed to run pgbench (install postgresql-client)")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    text.lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .with_context(|| format!("no tps in pgbench's output: {text}"))
}
