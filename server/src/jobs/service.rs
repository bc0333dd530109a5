//! Moving jobs along: create, submit, apply a provider's report, store the result, cancel.
//!
//! Every change goes through [`apply`]: one transaction that locks the job, asks the state
//! machine, writes the job and its event, and commits; only then are browsers told.

use super::state::{decide, Decision, ProviderUpdate};
use super::{events, JobRow};
use crate::auth::{random_token, sha256_hex, CurrentUser};
use crate::error::{ApiError, Result};
use crate::photos::{self, NewImage};
use crate::providers::{ProviderError, Pushed, PushedReports, Submission};
use crate::state::AppState;
use app::model::{JobStatus, JobView, PhotoKind, RestoreOptions};
use std::time::Duration;
use uuid::Uuid;

/// Creates a queued job for one of the user's photos and hands it to the provider in the
/// background. Returns at once; it never waits for the work.
pub async fn create_restore_job(
    state: &AppState,
    user: &CurrentUser,
    photo_id: Uuid,
    options: RestoreOptions,
) -> Result<JobView> {
    let photo = crate::gatekeeper::admit(state, user, photo_id).await?;
    let factor: u64 = if options.upscale_2x { 4 } else { 1 };
    if u64::from(photo.width) * u64::from(photo.height) * factor > state.config.max_pixels {
        return Err(ApiError::unprocessable(
            "output_too_large",
            "Enlarged 2×, this photo would pass the size limit. Restore it without enlarging.",
        ));
    }

    let token = random_token(32);
    let now = state.clock.now_ms();
    let job = JobRow {
        id: Uuid::new_v4(),
        user_id: user.user.id,
        photo_id,
        provider: state.provider.name.to_string(),
        provider_job_id: None,
        status: JobStatus::Queued,
        progress: 0,
        stage: None,
        error: None,
        options,
        webhook_token_hash: sha256_hex(&token),
        output_url: None,
        result_photo_id: None,
        check_attempts: 0,
        provider_calls: 0,
        webhooks_received: 0,
        created_at: now,
        updated_at: now,
    };
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO jobs (id, user_id, photo_id, provider, status, progress, options, \
         webhook_token_hash, next_check_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $9)",
    )
    .bind(job.id.to_string())
    .bind(job.user_id.to_string())
    .bind(photo_id.to_string())
    .bind(&job.provider)
    .bind(job.status.as_str())
    .bind(serde_json::to_string(&options).expect("options always serialise"))
    .bind(&job.webhook_token_hash)
    .bind(now + first_check_after(state).as_millis() as i64)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let event = events::record(&state.db, &mut tx, &job, now).await?;
    tx.commit().await?;
    state.realtime.committed(&event);
    tracing::info!(job.id = %job.id, photo.id = %photo_id, provider = job.provider, "job queued");

    let submission = Submission {
        job_id: job.id,
        source_url: crate::gatekeeper::provider_source_url(state, &photo).await?,
        options,
        webhook_url: format!(
            "{}/api/webhooks/{}/{}/{token}",
            state.public_url, job.provider, job.id
        ),
    };
    tokio::spawn(submit(state.clone(), submission));

    Ok(job.to_view())
}

/// Hands a job to the provider, retrying briefly on transient trouble.
async fn submit(state: AppState, submission: Submission) {
    let job_id = submission.job_id;
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=4 {
        count_provider_call(&state, job_id, "submit").await;
        match state.provider.submit(&submission).await {
            Ok(provider_job_id) => {
                let saved = sqlx::query("UPDATE jobs SET provider_job_id = $1 WHERE id = $2")
                    .bind(&provider_job_id)
                    .bind(job_id.to_string())
                    .execute(&state.db.pool)
                    .await;
                if let Err(err) = saved {
                    tracing::error!(job.id = %job_id, error = %err, "could not record the provider's job id");
                }
                tracing::info!(job.id = %job_id, provider = state.provider.name, "job submitted");
                return;
            }
            Err(ProviderError::Transient(reason)) if attempt < 4 => {
                tracing::warn!(job.id = %job_id, attempt, reason, "submit failed, retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(err) => {
                tracing::warn!(job.id = %job_id, error = %err, "submit failed");
                let reason =
                    "The restoration service could not be reached. Please try again later.";
                let update = ProviderUpdate::Failed {
                    reason: reason.into(),
                };
                if let Err(err) = apply(&state, job_id, update).await {
                    tracing::error!(job.id = %job_id, error = %err, "could not mark the job failed");
                }
                return;
            }
        }
    }
}

/// Applies what a status check found out about a job. Returns the job afterwards.
pub async fn apply(state: &AppState, job_id: Uuid, update: ProviderUpdate) -> Result<JobRow> {
    transact(state, job_id, update, false).await
}

/// Applies a report the provider pushed (a webhook, an SNS message, a ComfyUI event). It is
/// counted, and the job's next status check postponed, in the same transaction that applies
/// it: a webhook costs one commit.
pub async fn apply_report(
    state: &AppState,
    job_id: Uuid,
    update: ProviderUpdate,
) -> Result<JobRow> {
    transact(state, job_id, update, true).await
}

async fn transact(
    state: &AppState,
    job_id: Uuid,
    update: ProviderUpdate,
    pushed: bool,
) -> Result<JobRow> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let job = if pushed {
        let next_check = now + state.config.job_check_after.as_millis() as i64;
        super::note_report_for_update(&mut tx, job_id, next_check).await?
    } else {
        super::find_for_update(&state.db, &mut tx, job_id).await?
    };
    let mut job = job.ok_or(ApiError::NotFound("There is no such job."))?;
    let decision = decide(&job.snapshot(), &update);
    match &decision {
        Decision::Ignore => {
            // Nothing changed, but a pushed report still counts.
            if pushed {
                tx.commit().await?;
            }
            return Ok(job);
        }
        Decision::Progress { percent, stage } => {
            job.status = JobStatus::Running;
            job.progress = *percent;
            job.stage = stage.clone();
        }
        Decision::FetchResult { output_url } => {
            job.status = JobStatus::Running;
            job.progress = job.progress.max(95);
            job.stage = Some("saving result".into());
            job.output_url = Some(output_url.clone());
        }
        Decision::Finish { status, error } => {
            job.status = *status;
            job.error = error.clone();
            job.stage = None;
        }
    }
    job.updated_at = now;
    super::save(&mut tx, &job).await?;
    let event = events::record(&state.db, &mut tx, &job, now).await?;
    tx.commit().await?;
    state.realtime.committed(&event);
    tracing::info!(job.id = %job.id, status = job.status.as_str(), progress = job.progress, "job changed");

    if matches!(decision, Decision::FetchResult { .. }) {
        tokio::spawn(store_result(state.clone(), job.id));
    }

    Ok(job)
}

/// Copies a finished job's result into our storage, then completes the job. The result is
/// checked like an upload: a missing, empty, non-image or wrongly sized output fails the job.
pub async fn store_result(state: AppState, job_id: Uuid) {
    if let Err(err) = try_store_result(&state, job_id).await {
        tracing::warn!(job.id = %job_id, error = %err, "result could not be stored");
        let reason = match &err {
            ApiError::Unprocessable { message, .. } | ApiError::Forbidden { message, .. } => {
                format!("The restored image could not be saved: {message}")
            }
            _ => "The restored image could not be saved. Please try again.".into(),
        };
        let failed = finish_failed_result(&state, job_id, reason).await;
        if let Err(err) = failed {
            tracing::error!(job.id = %job_id, error = %err, "could not mark the job failed");
        }
    }
}

async fn try_store_result(state: &AppState, job_id: Uuid) -> Result<()> {
    let job = super::find(&state.db, job_id)
        .await?
        .ok_or(ApiError::NotFound("There is no such job."))?;
    let (Some(output_url), false) = (job.output_url.clone(), job.status.is_terminal()) else {
        return Ok(());
    };
    let source = photos::find(&state.db, job.photo_id)
        .await?
        .ok_or(ApiError::NotFound("The photo is gone."))?;
    let owner = crate::users::find_by_id(&state.db, job.user_id)
        .await?
        .ok_or(ApiError::NotFound("The user is gone."))?;

    count_provider_call(state, job_id, "output").await;
    let bytes = state
        .provider
        .fetch_output(&output_url, state.config.max_upload_bytes)
        .await
        .map_err(|err| ApiError::unprocessable("bad_output", err.to_string()))?;
    let factor = if job.options.upscale_2x { 2 } else { 1 };
    let expected = (source.width * factor, source.height * factor);
    let probe = restore::probe(&bytes, &state.image_limits())?;
    if (probe.width, probe.height) != expected {
        return Err(ApiError::unprocessable(
            "bad_output",
            format!(
                "it is {}×{} pixels instead of {}×{}",
                probe.width, probe.height, expected.0, expected.1
            ),
        ));
    }
    let stem = source
        .file_name
        .rsplit_once('.')
        .map_or(source.file_name.as_str(), |(stem, _)| stem);
    let result = photos::store_image(
        state,
        NewImage {
            user_id: job.user_id,
            kind: PhotoKind::Restored,
            file_name: format!("{stem}-restored.{}", probe.format.extension()),
            source_photo_id: Some(job.photo_id),
            bytes,
            storage_limit: owner.plan(&state.config).storage_limit_bytes,
        },
    )
    .await?;

    if !complete(state, job_id, result.id).await? {
        // Someone else finished the job first (a duplicate report): keep only one result.
        photos::delete_with_results(state, &result).await?;
    }

    Ok(())
}

/// Marks a job completed with its stored result; false when it had already finished.
async fn complete(state: &AppState, job_id: Uuid, result_photo_id: Uuid) -> Result<bool> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let Some(mut job) = super::find_for_update(&state.db, &mut tx, job_id).await? else {
        return Ok(false);
    };
    if job.status.is_terminal() {
        return Ok(false);
    }
    job.status = JobStatus::Completed;
    job.progress = 100;
    job.stage = None;
    job.result_photo_id = Some(result_photo_id);
    job.updated_at = now;
    super::save(&mut tx, &job).await?;
    let event = events::record(&state.db, &mut tx, &job, now).await?;
    tx.commit().await?;
    state.realtime.committed(&event);
    tracing::info!(job.id = %job.id, result.id = %result_photo_id, "job completed");

    Ok(true)
}

async fn finish_failed_result(state: &AppState, job_id: Uuid, reason: String) -> Result<()> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let Some(mut job) = super::find_for_update(&state.db, &mut tx, job_id).await? else {
        return Ok(());
    };
    if job.status.is_terminal() {
        return Ok(());
    }
    job.status = JobStatus::Failed;
    job.error = Some(reason);
    job.stage = None;
    job.updated_at = now;
    super::save(&mut tx, &job).await?;
    let event = events::record(&state.db, &mut tx, &job, now).await?;
    tx.commit().await?;
    state.realtime.committed(&event);

    Ok(())
}

/// Cancels one of the user's unfinished jobs.
pub async fn cancel_job(state: &AppState, user: &CurrentUser, job_id: Uuid) -> Result<JobView> {
    let job = super::find(&state.db, job_id)
        .await?
        .filter(|job| job.user_id == user.user.id)
        .ok_or(ApiError::NotFound("There is no such job."))?;
    if job.status.is_terminal() {
        return Ok(job.to_view());
    }
    if let Some(provider_job_id) = &job.provider_job_id {
        count_provider_call(state, job_id, "cancel").await;
        if let Err(err) = state.provider.cancel(provider_job_id).await {
            // The job is cancelled for the user either way; a late result is ignored.
            tracing::warn!(job.id = %job_id, error = %err, "provider cancel failed");
        }
    }

    Ok(apply(state, job_id, ProviderUpdate::Cancelled)
        .await?
        .to_view())
}

/// Counts a call to the provider for this job (`kind`: submit, status, cancel or output).
pub async fn count_provider_call(state: &AppState, job_id: Uuid, kind: &'static str) {
    crate::metrics::provider_call(state.provider.name, kind);
    let counted = sqlx::query("UPDATE jobs SET provider_calls = provider_calls + 1 WHERE id = $1")
        .bind(job_id.to_string())
        .execute(&state.db.pool)
        .await;
    if let Err(err) = counted {
        tracing::warn!(job.id = %job_id, error = %err, "could not count a provider call");
    }
}

/// When the reconciler should first ask about a new job: late for a provider that reports by
/// itself, soon for one that must be asked.
fn first_check_after(state: &AppState) -> Duration {
    state
        .provider
        .check_schedule(state.config.job_check_after)
        .first
}

/// Notes that the provider reported on a job (a webhook, a pushed event): counts it and moves
/// the job's next status check further away.
pub async fn note_report(state: &AppState, job_id: Uuid) -> Result<()> {
    let next_check = state.clock.now_ms() + state.config.job_check_after.as_millis() as i64;
    sqlx::query(
        "UPDATE jobs SET webhooks_received = webhooks_received + 1, next_check_at = $1 \
         WHERE id = $2",
    )
    .bind(next_check)
    .bind(job_id.to_string())
    .execute(&state.db.pool)
    .await?;

    Ok(())
}

/// Applies the reports a provider pushes over its own channel (ComfyUI's WebSocket) through
/// the same path as webhooks. Runs until the provider's channel closes.
pub async fn follow_pushed_reports(state: AppState, mut reports: PushedReports) {
    while let Some(report) = reports.recv().await {
        let followed = match report {
            Pushed::Update {
                provider_job_id,
                update,
            } => apply_pushed(&state, &provider_job_id, update).await,
            Pushed::Finished { provider_job_id } => {
                // The outcome is a status call away; it must not hold up the next reports.
                let state = state.clone();
                tokio::spawn(async move {
                    if let Err(err) = check_finished(&state, &provider_job_id).await {
                        tracing::warn!(error = %err, "could not read a finished job's outcome");
                    }
                });
                Ok(())
            }
            Pushed::Reconnected => recheck_unfinished(&state).await,
        };
        if let Err(err) = followed {
            tracing::warn!(provider = state.provider.name, error = %err, "pushed report not applied");
        }
    }
}

/// The job a provider's id names. ComfyUI runs our job under our own UUID, so a report can
/// arrive before the provider's id was saved.
async fn job_for_provider_id(state: &AppState, provider_job_id: &str) -> Result<Option<Uuid>> {
    let row: Option<(String,)> = sqlx::query_as(
        "SELECT id FROM jobs WHERE provider = $1 AND (provider_job_id = $2 OR id = $2)",
    )
    .bind(state.provider.name)
    .bind(provider_job_id)
    .fetch_optional(&state.db.pool)
    .await?;

    Ok(row.and_then(|(id,)| Uuid::parse_str(&id).ok()))
}

async fn apply_pushed(
    state: &AppState,
    provider_job_id: &str,
    update: ProviderUpdate,
) -> Result<()> {
    let Some(job_id) = job_for_provider_id(state, provider_job_id).await? else {
        tracing::debug!(
            provider = state.provider.name,
            "report about a job that is not ours"
        );
        return Ok(());
    };
    apply_report(state, job_id, update).await?;

    Ok(())
}

async fn check_finished(state: &AppState, provider_job_id: &str) -> Result<()> {
    let Some(job_id) = job_for_provider_id(state, provider_job_id).await? else {
        return Ok(());
    };
    note_report(state, job_id).await?;
    count_provider_call(state, job_id, "status").await;
    match state.provider.status(provider_job_id).await {
        Ok(update) => {
            apply(state, job_id, update).await?;
        }
        // The reconciler asks again later.
        Err(err) => tracing::warn!(job.id = %job_id, error = %err, "status check failed"),
    }

    Ok(())
}

/// Reports may have been lost while the provider's channel was down: check every unfinished
/// job of this provider at the reconciler's next pass.
async fn recheck_unfinished(state: &AppState) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET next_check_at = $1 WHERE provider = $2 AND status IN ('queued', 'running')",
    )
    .bind(state.clock.now_ms())
    .bind(state.provider.name)
    .execute(&state.db.pool)
    .await?;

    Ok(())
}
