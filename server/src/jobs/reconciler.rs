//! The fallback for lost webhooks: jobs whose provider has been silent too long get a status
//! check, with exponential backoff and jitter, until they reach a final state.
//!
//! On the normal path nothing here runs: each webhook pushes `next_check_at` further away.

use super::state::ProviderUpdate;
use super::{service, JobRow, JOB_COLUMNS};
use crate::db::DbKind;
use crate::providers::{CheckSchedule, ProviderError};
use crate::state::AppState;
use rand::Rng;
use std::time::Duration;

/// How often the reconciler looks for overdue jobs.
const TICK: Duration = Duration::from_secs(5);
/// Give up on a job the provider stays silent about for this long.
const GIVE_UP_AFTER: Duration = Duration::from_secs(2 * 3600);

/// Runs until the process stops.
pub async fn run(state: AppState) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(err) = check_due_jobs(&state).await {
            tracing::warn!(error = %err, "reconciler pass failed");
        }
    }
}

/// Checks every job whose next check is due. Each job is claimed by pushing its next check
/// forward in the same statement that selects it, so two instances never check the same job.
pub async fn check_due_jobs(state: &AppState) -> anyhow::Result<usize> {
    crate::webhooks::forget_old_deliveries(state).await?;
    let due = claim_due(state).await?;
    for job in &due {
        check_one(state, job).await;
    }

    Ok(due.len())
}

/// Claims up to 50 overdue unfinished jobs for this instance and schedules their next check.
pub async fn claim_due(state: &AppState) -> anyhow::Result<Vec<JobRow>> {
    let now = state.clock.now_ms();
    let mut tx = state.db.begin_write().await?;
    let skip_locked = if state.db.kind == DbKind::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE next_check_at <= $1 \
         AND status IN ('queued', 'running') ORDER BY next_check_at LIMIT 50{skip_locked}"
    );
    let rows = sqlx::query(&sql).bind(now).fetch_all(&mut *tx).await?;
    let jobs: Vec<JobRow> = rows
        .iter()
        .map(JobRow::from_row)
        .collect::<Result<_, _>>()?;
    let schedule = state.provider.check_schedule(state.config.job_check_after);
    for job in &jobs {
        let backoff = backoff(schedule, job.check_attempts);
        sqlx::query(
            "UPDATE jobs SET next_check_at = $1, check_attempts = check_attempts + 1 WHERE id = $2",
        )
        .bind(now + backoff.as_millis() as i64)
        .bind(job.id.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;

    Ok(jobs)
}

/// Exponential backoff from the provider's base delay, capped, with jitter (half to all of it).
fn backoff(schedule: CheckSchedule, attempts: i64) -> Duration {
    let grown = schedule
        .base
        .saturating_mul(1u32 << attempts.clamp(0, 8) as u32);
    let capped = grown.min(schedule.cap);
    let jitter = rand::thread_rng().gen_range(0.5..1.0);
    capped.mul_f64(jitter)
}

async fn check_one(state: &AppState, job: &JobRow) {
    let now = state.clock.now_ms();
    if job.output_url.is_some() {
        // The provider finished but the result was not stored (a crash, a failed download).
        tokio::spawn(service::store_result(state.clone(), job.id));
        return;
    }
    let Some(provider_job_id) = &job.provider_job_id else {
        if now - job.created_at > GIVE_UP_AFTER.as_millis() as i64 {
            apply(
                state,
                job,
                ProviderUpdate::Failed {
                    reason: "The restoration never started.".into(),
                },
            )
            .await;
        }
        return;
    };
    service::count_provider_call(state, job.id, "status").await;
    let update = match state.provider.status(provider_job_id).await {
        Ok(update) => update,
        Err(ProviderError::UnknownJob) => ProviderUpdate::Failed {
            reason: "The restoration service lost this job. Please try again.".into(),
        },
        Err(err) => {
            tracing::warn!(job.id = %job.id, error = %err, "status check failed");
            return;
        }
    };
    tracing::info!(job.id = %job.id, ?update, "status check");
    apply(state, job, update).await;
}

async fn apply(state: &AppState, job: &JobRow, update: ProviderUpdate) {
    if let Err(err) = service::apply(state, job.id, update).await {
        tracing::warn!(job.id = %job.id, error = %err, "could not apply a status check");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let schedule = CheckSchedule {
            first: Duration::from_secs(60),
            base: Duration::from_secs(10),
            cap: Duration::from_secs(300),
        };
        for attempts in 0..20 {
            let wait = backoff(schedule, attempts);
            let ceiling = Duration::from_secs(10)
                .saturating_mul(1 << attempts.min(8))
                .min(schedule.cap);
            assert!(
                wait <= ceiling && wait >= ceiling / 2,
                "attempt {attempts}: {wait:?}"
            );
        }
    }
}
