//! Update latency: from the moment a webhook is sent to Rekindle to the moment a browser
//! tab has read the frame it caused, with thousands of tabs open and webhooks arriving at a
//! fixed rate.

use crate::provider::progress_status;
use crate::report::{Section, Verdict};
use crate::rig::{BenchJob, Rig};
use crate::socket::Arrival;
use crate::stats::Samples;
use crate::{tabs, Ctx};
use app::model::JobStatus;
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

const TARGET_P99_MS: f64 = 25.0;

pub async fn run(ctx: &Ctx, rig: &mut Rig) -> anyhow::Result<Section> {
    let scale = &ctx.scale;
    let mut section = Section::new(
        &format!("latency_{}", rig.store.label().to_lowercase()),
        &format!("Update latency, {}", rig.store.label()),
        &format!(
            "p99 ≤ {TARGET_P99_MS} ms at {} webhooks/s with {} sockets",
            scale.webhook_rate, scale.latency_sockets
        ),
    );
    let accounts = rig.accounts(scale.latency_sockets).await?;
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let owners: Vec<usize> = (0..accounts.len()).collect();
    let opened = Instant::now();
    tabs::open_following(rig.instance.addr, &accounts, &owners, 0, &arrivals_tx).await?;
    let open_secs = opened.elapsed().as_secs_f64();
    let jobs = rig.create_jobs(&accounts[..scale.latency_jobs]).await?;
    drain(&mut arrivals);

    let fired = fire(rig, &jobs, scale.webhook_rate, scale.latency_secs).await;
    let latencies = collect(&mut arrivals, &fired.sent, fired.accepted).await;
    let summary = latencies.summary();

    section.row(
        "sockets (one tab per user)",
        format!("{} (opened in {open_secs:.1} s)", accounts.len()),
    );
    section.row("jobs receiving progress webhooks", jobs.len().to_string());
    section.row(
        "webhooks sent / accepted",
        format!(
            "{} / {} in {:.2} s ({:.0}/s achieved)",
            fired.sent_count,
            fired.accepted,
            fired.seconds,
            fired.sent_count as f64 / fired.seconds
        ),
    );
    section.row(
        "frames matched to their webhook",
        format!(
            "{} (missing {})",
            latencies.len(),
            fired.accepted.saturating_sub(latencies.len())
        ),
    );
    match &summary {
        Some(s) => section.row("webhook → frame read by the tab", s.describe()),
        None => section.row("webhook → frame read by the tab", "no frames"),
    }
    if let Some(answer) = fired.answer.summary() {
        section.row("webhook answered (HTTP 200) after", answer.describe());
    }
    section.row(
        "server CPU during the run",
        format!("{:.0}% of one core", fired.server_cpu * 100.0),
    );
    section.verdict = match &summary {
        Some(s) if latencies.len() == fired.accepted && fired.accepted == fired.sent_count => {
            Verdict::from_check(s.p99_ms <= TARGET_P99_MS)
        }
        _ => Verdict::Missed,
    };
    section.note("Measured from just before the load generator sends the webhook request to just after the tab's socket has read the frame: client send, server verification, the database commit, the in-process hub and the WebSocket write are all inside it.");
    section.data = json!({
        "sockets": accounts.len(), "jobs": jobs.len(), "rate": scale.webhook_rate,
        "sent": fired.sent_count, "accepted": fired.accepted, "matched": latencies.len(),
        "latency": summary, "answer": fired.answer.summary(), "server_cpu_cores": fired.server_cpu,
    });

    Ok(section)
}

/// What a firing run sent.
pub struct Fired {
    /// Send instant of each (job, percent).
    pub sent: HashMap<(Uuid, u8), Instant>,
    pub sent_count: usize,
    pub accepted: usize,
    pub seconds: f64,
    pub answer: Samples,
    /// Server CPU time ÷ wall time.
    pub server_cpu: f64,
}

/// Sends `rate` progress webhooks a second for `secs` seconds, spread over `jobs`, each job's
/// progress increasing so that every webhook is a real change.
pub async fn fire(rig: &Rig, jobs: &[BenchJob], rate: u32, secs: f64) -> Fired {
    let total = ((rate as f64 * secs) as usize).min(jobs.len() * 98);
    let per_job = total.div_ceil(jobs.len());
    let step = (98 / per_job.max(1)).max(1) as u8;
    let http = rig.api.http.clone();
    let sent = Arc::new(Mutex::new(HashMap::with_capacity(total)));
    let answers = Arc::new(Mutex::new((Samples::default(), 0usize)));
    let cpu_before = rig.instance.cpu().unwrap_or_default();
    let started = Instant::now();

    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let job = &jobs[i % jobs.len()];
        let percent = ((i / jobs.len()) as u8 + 1) * step;
        let body = progress_status(&job.provider_id, percent, "bench");
        let (http, url, job_id) = (http.clone(), job.webhook_url.clone(), job.job_id);
        let (sent, answers) = (sent.clone(), answers.clone());
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            sent.lock().unwrap().insert((job_id, percent), at);
            let response = http.post(&url).json(&body).send().await;
            let ok = response.is_ok_and(|r| r.status().is_success());
            let mut answers = answers.lock().unwrap();
            answers.0.push(at.elapsed());
            answers.1 += ok as usize;
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let cpu = rig
        .instance
        .cpu()
        .unwrap_or_default()
        .saturating_sub(cpu_before);
    let (answer, accepted) = std::mem::take(&mut *answers.lock().unwrap());
    let sent = std::mem::take(&mut *sent.lock().unwrap());

    Fired {
        sent_count: sent.len(),
        sent,
        accepted,
        seconds,
        answer,
        server_cpu: cpu.as_secs_f64() / seconds,
    }
}

/// Matches running-job frames to the webhooks that caused them; waits up to 10 s for stragglers.
pub async fn collect(
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
    sent: &HashMap<(Uuid, u8), Instant>,
    expected: usize,
) -> Samples {
    let mut samples = Samples::default();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while samples.len() < expected {
        let Ok(Some(arrival)) = tokio::time::timeout_at(deadline, arrivals.recv()).await else {
            break;
        };
        if arrival.status != JobStatus::Running {
            continue;
        }
        if let Some(at) = sent.get(&(arrival.job_id, arrival.progress)) {
            samples.push(arrival.at.saturating_duration_since(*at));
        }
    }
    samples
}

/// Discards frames already received (job creation), waiting briefly for late ones.
pub fn drain(arrivals: &mut mpsc::UnboundedReceiver<Arrival>) {
    while arrivals.try_recv().is_ok() {}
}
