//! The design Rekindle replaces, run beside it on the same jobs: the browser polled the
//! backend every 3 s and the backend polled the provider every 5 s. Each job goes through the
//! same scripted life at the fake provider; Rekindle hears of each change by webhook and
//! pushes it to the tabs, the old design finds out when its polls come round.

use crate::api::small_png;
use crate::provider::{completed_status, progress_status, FakeRunPod};
use crate::report::{Section, Verdict};
use crate::rig::{BenchJob, Rig};
use crate::socket::Arrival;
use crate::stats::Samples;
use crate::{tabs, Ctx};
use app::model::JobStatus;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use uuid::Uuid;

const BROWSER_POLL: Duration = Duration::from_secs(3);
const BACKEND_POLL: Duration = Duration::from_secs(5);

/// A state a job passes through: (fraction of the job's life, percent, stage); `None` percent
/// is completion.
const LIFE: [(f64, Option<u8>, &str); 5] = [
    (0.10, Some(10), "decode"),
    (0.30, Some(35), "scratches"),
    (0.55, Some(60), "denoise"),
    (0.80, Some(85), "colour"),
    (1.00, None, "done"),
];

/// Identifies a state in what either design shows: running at a percent, or completed.
type StateKey = (bool, u8);

fn key_of(percent: Option<u8>) -> StateKey {
    match percent {
        Some(p) => (false, p),
        None => (true, 0),
    }
}

pub async fn run(ctx: &Ctx, rig: &mut Rig) -> anyhow::Result<Section> {
    let scale = &ctx.scale;
    let mut section = Section::new(
        &format!("polling_{}", rig.store.label().to_lowercase()),
        &format!("Rekindle beside the polling design, {}", rig.store.label()),
        "1 submit, 1 webhook per state change, 1 frame per state change per tab, zero polls",
    );
    let tabs_per_user = scale.polling_tabs;
    let accounts = rig.accounts(scale.polling_jobs).await?;
    let (arrivals_tx, mut arrivals) = mpsc::unbounded_channel();
    let owners: Vec<usize> = (0..accounts.len() * tabs_per_user)
        .map(|t| t / tabs_per_user)
        .collect();
    tabs::open_following(rig.instance.addr, &accounts, &owners, 0, &arrivals_tx).await?;
    let jobs = rig.create_jobs(&accounts).await?;

    // The old design: a backend that polls the provider, browsers that poll the backend.
    let legacy = Legacy::start(&rig.provider, &jobs).await?;
    let life = Duration::from_secs_f64(scale.job_secs);
    let start = Instant::now() + Duration::from_millis(200);
    let changes = Arc::new(Mutex::new(HashMap::<(String, StateKey), Instant>::new()));
    let mut drivers = Vec::new();
    for (n, job) in jobs.iter().enumerate() {
        let jitter = 1.0 + 0.2 * ((n * 7919 % 100) as f64 / 100.0 - 0.5);
        drivers.push(tokio::spawn(drive_job(
            rig.provider.clone(),
            rig.api.http.clone(),
            job.clone(),
            start,
            life.mul_f64(jitter),
            changes.clone(),
        )));
    }
    let mut browsers = Vec::new();
    for job in &jobs {
        for _ in 0..tabs_per_user {
            browsers.push(tokio::spawn(legacy.browser(
                job.provider_id.clone(),
                start,
                changes.clone(),
            )));
        }
    }
    let mut webhooks = 0u64;
    for driver in drivers {
        webhooks += driver.await?? as u64;
    }
    let mut old_delays = Samples::default();
    let mut old_browser_polls = 0u64;
    let mut old_missed = 0usize;
    for browser in browsers {
        let seen = browser.await?;
        old_browser_polls += seen.polls;
        old_missed += LIFE.len() - seen.delays.len();
        old_delays.extend(seen.delays);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    // Rekindle: what each tab received.
    let by_provider: HashMap<Uuid, &BenchJob> = jobs.iter().map(|j| (j.job_id, j)).collect();
    let changes = changes.lock().unwrap().clone();
    let mut new_delays = Samples::default();
    let mut frames_per_tab_job: HashMap<(usize, Uuid), usize> = HashMap::new();
    let mut seen: HashSet<(usize, Uuid, StateKey)> = HashSet::new();
    let mut server_counts: HashMap<Uuid, (i64, i64)> = HashMap::new();
    while let Ok(arrival) = arrivals.try_recv() {
        let Some(job) = by_provider.get(&arrival.job_id) else {
            continue;
        };
        *frames_per_tab_job
            .entry((arrival.tab, arrival.job_id))
            .or_default() += 1;
        if let Some(key) = shown_state(&arrival) {
            if let Some(changed) = changes.get(&(job.provider_id.clone(), key)) {
                if seen.insert((arrival.tab, arrival.job_id, key)) {
                    new_delays.push(arrival.at.saturating_duration_since(*changed));
                }
            }
        }
        if arrival.status == JobStatus::Completed {
            server_counts.insert(
                arrival.job_id,
                (arrival.provider_calls, arrival.webhooks_received),
            );
        }
    }
    let tabs_total = jobs.len() * tabs_per_user;
    let new_missed = tabs_total * LIFE.len() - seen.len();
    let provider_calls: u64 = jobs
        .iter()
        .map(|j| rig.provider.calls(&j.provider_id).rekindle())
        .sum();
    let old_provider_polls: u64 = jobs
        .iter()
        .map(|j| rig.provider.calls(&j.provider_id).legacy_status)
        .sum();
    let frames: usize = frames_per_tab_job.values().sum();
    let n = jobs.len() as f64;

    let new = new_delays.summary();
    let old = old_delays.summary();
    section.row(
        "jobs × tabs",
        format!(
            "{} × {tabs_per_user}, each job {:.0} s long with {} state changes",
            jobs.len(),
            scale.job_secs,
            LIFE.len()
        ),
    );
    section.row(
        "Rekindle: delay from change to tab",
        new.map(|s| s.describe()).unwrap_or_else(|| "none".into()),
    );
    section.row(
        "polling: delay from change to tab",
        old.map(|s| s.describe()).unwrap_or_else(|| "none".into()),
    );
    section.row(
        "Rekindle: provider calls per job (submit + status checks)",
        format!("{:.2}", provider_calls as f64 / n),
    );
    section.row(
        "Rekindle: webhooks per job",
        format!("{:.2}", webhooks as f64 / n),
    );
    section.row(
        "Rekindle: frames per job per tab",
        format!(
            "{:.2} (state changes seen by the tab: creation + {} + the stored result)",
            frames as f64 / (n * tabs_per_user as f64),
            LIFE.len()
        ),
    );
    section.row(
        "Rekindle: polls per job",
        "0 (the tabs make no HTTP requests after connecting)",
    );
    section.row(
        "polling: provider polls per job",
        format!("{:.2}", old_provider_polls as f64 / n),
    );
    section.row(
        "polling: browser polls per job (all tabs)",
        format!("{:.2}", old_browser_polls as f64 / n),
    );
    section.row(
        "polling: HTTP calls per job in all",
        format!(
            "{:.2} (1 submit + polls)",
            1.0 + (old_provider_polls + old_browser_polls) as f64 / n
        ),
    );
    section.row(
        "Rekindle: HTTP calls per job in all",
        format!(
            "{:.2} (submit and status checks + webhooks)",
            (provider_calls + webhooks) as f64 / n
        ),
    );
    section.row(
        "state changes a tab never saw",
        format!(
            "Rekindle {new_missed} of {}, polling {old_missed} of {}",
            tabs_total * LIFE.len(),
            tabs_total * LIFE.len()
        ),
    );
    if let (Some(new), Some(old)) = (new, old) {
        section.row(
            "delay ratio (polling ÷ Rekindle), p50",
            format!("{:.0}×", old.p50_ms / new.p50_ms.max(0.001)),
        );
    }
    // The server counts the submit and the result's download (here a data URL) as calls.
    let server_agrees = server_counts.len() == jobs.len()
        && server_counts
            .values()
            .all(|(calls, hooks)| *calls == 2 && *hooks == LIFE.len() as i64);
    section.row(
        "the server's own count on the completed frame",
        if server_agrees {
            format!(
                "every job: 2 provider calls (submit, result download), {} webhooks",
                LIFE.len()
            )
        } else {
            format!(
                "{} completed frames; counts (calls, webhooks) differ: {:?}",
                server_counts.len(),
                server_counts.values().take(3).collect::<Vec<_>>()
            )
        },
    );
    let exact = server_agrees
        && provider_calls == jobs.len() as u64
        && webhooks == (jobs.len() * LIFE.len()) as u64
        && new_missed == 0;
    section.verdict = Verdict::from_check(exact);
    section.note("Both designs watch the very same provider jobs in the same run. The completion delay includes copying and storing the result before the tab hears of it.");
    section.note("A frame per state change: the tab also receives the job's creation and, on completion, a 'saving result' frame before 'completed'.");
    section.data = json!({
        "jobs": jobs.len(), "tabs_per_user": tabs_per_user, "job_secs": scale.job_secs,
        "rekindle": { "delay": new, "provider_calls_per_job": provider_calls as f64 / n, "webhooks_per_job": webhooks as f64 / n, "frames_per_job_per_tab": frames as f64 / (n * tabs_per_user as f64), "polls_per_job": 0, "missed_states": new_missed },
        "polling": { "delay": old, "provider_polls_per_job": old_provider_polls as f64 / n, "browser_polls_per_job": old_browser_polls as f64 / n, "missed_states": old_missed },
    });

    Ok(section)
}

fn shown_state(arrival: &Arrival) -> Option<StateKey> {
    match arrival.status {
        JobStatus::Completed => Some((true, 0)),
        JobStatus::Running => Some((false, arrival.progress)),
        _ => None,
    }
}

/// Walks one job through its life at the provider, sending a webhook at each change.
/// Returns the number of webhooks sent.
async fn drive_job(
    provider: FakeRunPod,
    http: reqwest::Client,
    job: BenchJob,
    start: Instant,
    life: Duration,
    changes: Arc<Mutex<HashMap<(String, StateKey), Instant>>>,
) -> anyhow::Result<usize> {
    let result = small_png(7);
    let mut sent = 0;
    for (fraction, percent, stage) in LIFE {
        tokio::time::sleep_until((start + life.mul_f64(fraction)).into()).await;
        let status = match percent {
            Some(p) => progress_status(&job.provider_id, p, stage),
            None => completed_status(&job.provider_id, &result),
        };
        provider.set_status(&job.provider_id, status.clone());
        changes
            .lock()
            .unwrap()
            .insert((job.provider_id.clone(), key_of(percent)), Instant::now());
        let response = http.post(&job.webhook_url).json(&status).send().await?;
        anyhow::ensure!(
            response.status().is_success(),
            "webhook refused: {}",
            response.status()
        );
        sent += 1;
    }
    Ok(sent)
}

/// The old backend: a status cache per job, refreshed by polling the provider every 5 s.
#[derive(Clone)]
struct Legacy {
    base: String,
    http: reqwest::Client,
}

/// What one polling browser tab saw.
struct Seen {
    polls: u64,
    delays: Samples,
}

impl Legacy {
    async fn start(provider: &FakeRunPod, jobs: &[BenchJob]) -> anyhow::Result<Legacy> {
        let cache: Arc<Mutex<HashMap<String, Value>>> = Arc::new(Mutex::new(HashMap::new()));
        let http = reqwest::Client::new();
        for job in jobs {
            let (cache, http, id) = (cache.clone(), http.clone(), job.provider_id.clone());
            let url = format!("{}/status/{id}", provider.legacy_url);
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval_at(
                    tokio::time::Instant::now() + BACKEND_POLL,
                    BACKEND_POLL,
                );
                loop {
                    ticks.tick().await;
                    let Ok(response) = http.get(&url).send().await else {
                        continue;
                    };
                    let Ok(status) = response.json::<Value>().await else {
                        continue;
                    };
                    let done = status["status"] == "COMPLETED";
                    cache.lock().unwrap().insert(id.clone(), status);
                    if done {
                        break;
                    }
                }
            });
        }
        let router = Router::new()
            .route("/api/jobs/{id}", get(read_cached))
            .with_state(cache);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        tokio::spawn(async move { axum::serve(listener, router).await });

        Ok(Legacy { base, http })
    }

    /// A tab polling every 3 s until it sees the job completed.
    fn browser(
        &self,
        provider_id: String,
        start: Instant,
        changes: Arc<Mutex<HashMap<(String, StateKey), Instant>>>,
    ) -> impl std::future::Future<Output = Seen> + Send + 'static {
        let this = self.clone();
        async move {
            let mut seen = Seen {
                polls: 0,
                delays: Samples::default(),
            };
            let mut shown = HashSet::new();
            let url = format!("{}/api/jobs/{provider_id}", this.base);
            let mut ticks = tokio::time::interval_at((start + BROWSER_POLL).into(), BROWSER_POLL);
            loop {
                ticks.tick().await;
                seen.polls += 1;
                let Ok(response) = this.http.get(&url).send().await else {
                    continue;
                };
                let Ok(status) = response.json::<Value>().await else {
                    continue;
                };
                let key = match status["status"].as_str() {
                    Some("COMPLETED") => key_of(None),
                    Some("IN_PROGRESS") => {
                        key_of(status["output"]["percent"].as_u64().map(|p| p as u8))
                    }
                    _ => continue,
                };
                let changed = changes
                    .lock()
                    .unwrap()
                    .get(&(provider_id.clone(), key))
                    .copied();
                if let (Some(changed), true) = (changed, shown.insert(key)) {
                    seen.delays.push(changed.elapsed());
                }
                if key.0 {
                    return seen;
                }
            }
        }
    }
}

async fn read_cached(
    State(cache): State<Arc<Mutex<HashMap<String, Value>>>>,
    Path(id): Path<String>,
) -> Json<Value> {
    Json(
        cache
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .unwrap_or_else(|| json!({ "status": "IN_QUEUE" })),
    )
}
