//! Running one job: wait for a slot, download, decode, restore, save, report.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use rand::Rng;
use serde_json::json;
use tokio::sync::mpsc;
use tracing::Instrument;
use uuid::Uuid;

use crate::jobs::{progress_output, JobResult, JobStatus, Progress};
use crate::state::AppState;
use crate::{download, webhook};

/// How a job that ran ended.
enum Outcome {
    Completed(JobResult),
    Failed(String),
    /// Cancelled while running: the result is discarded and nothing more is reported.
    Cancelled,
}

/// Starts a submitted job in the background.
pub(crate) fn spawn(state: Arc<AppState>, id: Uuid) {
    let span = tracing::info_span!("job", job.id = %id);
    tokio::spawn(run(state, id).instrument(span));
}

async fn run(state: Arc<AppState>, id: Uuid) {
    let Ok(_slot) = state.slots.acquire().await else {
        return;
    };
    let started = state.with_job(id, |job| {
        if job.status != JobStatus::InQueue {
            return None;
        }
        job.status = JobStatus::InProgress;
        job.started_at = Some(Instant::now());
        Some((job.image_url.clone(), job.options, job.webhook.clone()))
    });
    let Some(Some((image_url, options, webhook_url))) = started else {
        tracing::info!("job was cancelled before it started");
        return;
    };
    tracing::info!("job started");

    let (updates, receiver) = mpsc::unbounded_channel();
    let poster = tokio::spawn(post_progress(state.clone(), id, webhook_url, receiver));
    let outcome = execute(&state, id, &image_url, options, updates).await;
    // Progress webhooks are sent in order and all before the final one.
    if let Err(error) = poster.await {
        tracing::warn!(%error, "progress webhook task ended abnormally");
    }
    finish(&state, id, outcome).await;
}

async fn execute(
    state: &Arc<AppState>,
    id: Uuid,
    image_url: &str,
    options: restore::Options,
    updates: mpsc::UnboundedSender<Progress>,
) -> Outcome {
    let report = progress_reporter(state.clone(), id, updates);
    report(Progress {
        percent: 0,
        stage: "download",
    });
    let limits = state.config.limits;
    let bytes = match download::fetch(&state.config.http, image_url, limits.max_bytes).await {
        Ok(bytes) => bytes,
        Err(error) => return Outcome::Failed(error.to_string()),
    };

    let span = tracing::Span::current();
    let work = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let decoded = restore::decode(&bytes, &limits).map_err(|e| e.to_string())?;
        let restored = restore::restore(&decoded.image, &options, &mut |stage, percent| {
            let percent = 5 + (u16::from(percent) * 85 / 100) as u8;
            report(Progress {
                percent,
                stage: stage.name(),
            });
        });
        report(Progress {
            percent: 90,
            stage: "save",
        });
        let png = restore::encode_png(&restored).map_err(|error| {
            tracing::error!(%error, "encoding the result failed");
            "The restored photo could not be saved.".to_owned()
        })?;
        Ok::<_, String>((png, restored.width(), restored.height()))
    });
    let (png, width, height) = match work.await {
        Ok(Ok(done)) => done,
        Ok(Err(message)) => return Outcome::Failed(message),
        Err(error) => {
            tracing::error!(%error, "restoration task failed");
            return Outcome::Failed("The restoration failed unexpectedly.".to_owned());
        }
    };

    if is_cancelled(state, id) {
        return Outcome::Cancelled;
    }
    let file_name = format!("{:032x}.png", rand::thread_rng().gen::<u128>());
    if let Err(error) = state.outputs.save(id, &file_name, png).await {
        tracing::error!(%error, "storing the result failed");
        return Outcome::Failed("The restored photo could not be stored.".to_owned());
    }
    Outcome::Completed(JobResult {
        file_name,
        width,
        height,
    })
}

/// Records progress on the job (for `/status`) and queues it for the progress webhook.
fn progress_reporter(
    state: Arc<AppState>,
    id: Uuid,
    updates: mpsc::UnboundedSender<Progress>,
) -> impl Fn(Progress) + Send + 'static {
    move |progress: Progress| {
        state.with_job(id, |job| {
            if job.status == JobStatus::InProgress {
                job.progress = Some(progress.clone());
            }
        });
        // The receiver only goes away when the job is over; a late update is moot.
        let _ = updates.send(progress);
    }
}

/// Sends each progress update to the job's webhook, one at a time, without retries.
async fn post_progress(
    state: Arc<AppState>,
    id: Uuid,
    webhook_url: Option<String>,
    mut updates: mpsc::UnboundedReceiver<Progress>,
) {
    while let Some(progress) = updates.recv().await {
        let Some(url) = &webhook_url else { continue };
        if is_cancelled(&state, id) {
            continue;
        }
        let body =
            json!({ "id": id, "status": "IN_PROGRESS", "output": progress_output(&progress) });
        webhook::deliver_progress(&state.config, url, &body).await;
    }
}

fn is_cancelled(state: &AppState, id: Uuid) -> bool {
    state
        .with_job(id, |job| job.cancelled.load(Ordering::SeqCst))
        .unwrap_or(true)
}

/// Records the outcome, schedules expiry and sends the final webhook.
async fn finish(state: &Arc<AppState>, id: Uuid, outcome: Outcome) {
    let public_base_url = &state.config.public_base_url;
    let recorded = state.with_job(id, |job| {
        if job.status == JobStatus::Cancelled {
            return Err(outcome);
        }
        match outcome {
            Outcome::Completed(result) => {
                job.status = JobStatus::Completed;
                job.result = Some(result);
            }
            Outcome::Failed(message) => {
                job.status = JobStatus::Failed;
                job.error = Some(message);
            }
            Outcome::Cancelled => return Err(Outcome::Cancelled),
        }
        job.finished_at = Some(Instant::now());
        job.progress = None;
        Ok((
            job.webhook.clone(),
            job.webhook_body(public_base_url),
            job.status,
        ))
    });
    let (webhook_url, body, status) = match recorded {
        Some(Ok(recorded)) => recorded,
        Some(Err(discarded)) => {
            if let Outcome::Completed(result) = discarded {
                state.outputs.remove(id, &result.file_name).await;
            }
            tracing::info!("job was cancelled while running; result discarded");
            return;
        }
        None => return,
    };
    tracing::info!(status = status.as_str(), "job finished");

    schedule_expiry(state.clone(), id);
    if let Some(url) = webhook_url {
        webhook::deliver_final(&state.config, &url, &body).await;
    }
}

/// Forgets a finished job and deletes its result after the retention time.
pub(crate) fn schedule_expiry(state: Arc<AppState>, id: Uuid) {
    tokio::spawn(async move {
        tokio::time::sleep(state.config.output_ttl).await;
        let removed = state.jobs().remove(&id);
        if let Some(result) = removed.and_then(|job| job.result) {
            state.outputs.remove(id, &result.file_name).await;
        }
        tracing::debug!(job.id = %id, "job expired");
    });
}
