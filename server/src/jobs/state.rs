//! The job state machine: what a provider's report does to a job. Pure, so it is tested alone.
//!
//! A job only moves forward — queued → running → completed / failed / cancelled / timed out —
//! and a final state is final. Duplicate, retried and out-of-order reports change nothing.
//! "Completed" is reached only by storing the result ([`Decision::Complete`]), never directly
//! from a report, so a job never counts as completed before its result is in our storage.

use app::model::JobStatus;

/// A provider's report about a job, in our words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderUpdate {
    Queued,
    Running {
        percent: Option<u8>,
        stage: Option<String>,
    },
    /// Finished; the result waits at `output_url` until we copy it.
    Succeeded {
        output_url: String,
    },
    Failed {
        reason: String,
    },
    Cancelled,
    TimedOut,
}

/// The parts of a job the decision depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub status: JobStatus,
    pub progress: u8,
    pub stage: Option<String>,
    /// A result is being copied into our storage.
    pub output_pending: bool,
}

/// What to do with the job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Nothing changes (a duplicate, stale or backward report).
    Ignore,
    /// Running, with new progress.
    Progress { percent: u8, stage: Option<String> },
    /// The provider finished: copy the result, then complete.
    FetchResult { output_url: String },
    /// A final state other than completed.
    Finish {
        status: JobStatus,
        error: Option<String>,
    },
}

/// Decides what a report does to a job in state `job`.
pub fn decide(job: &Snapshot, update: &ProviderUpdate) -> Decision {
    if job.status.is_terminal() {
        return Decision::Ignore;
    }
    match update {
        ProviderUpdate::Queued => Decision::Ignore,
        ProviderUpdate::Running { .. } if job.output_pending => Decision::Ignore,
        ProviderUpdate::Running { percent, stage } => {
            // Progress never goes backwards; a report without a number keeps the old one.
            let percent = percent.map_or(job.progress, |p| p.min(99).max(job.progress));
            let stage = stage.clone().or_else(|| job.stage.clone());
            let changed =
                job.status == JobStatus::Queued || percent != job.progress || stage != job.stage;
            if changed {
                Decision::Progress { percent, stage }
            } else {
                Decision::Ignore
            }
        }
        ProviderUpdate::Succeeded { .. } if job.output_pending => Decision::Ignore,
        ProviderUpdate::Succeeded { output_url } => Decision::FetchResult {
            output_url: output_url.clone(),
        },
        // The provider already reported success; a later contradiction is a stale message.
        _ if job.output_pending => Decision::Ignore,
        ProviderUpdate::Failed { reason } => Decision::Finish {
            status: JobStatus::Failed,
            error: Some(reason.clone()),
        },
        ProviderUpdate::Cancelled => Decision::Finish {
            status: JobStatus::Cancelled,
            error: None,
        },
        ProviderUpdate::TimedOut => Decision::Finish {
            status: JobStatus::TimedOut,
            error: Some("The restoration took too long and was stopped.".into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(status: JobStatus, progress: u8, output_pending: bool) -> Snapshot {
        Snapshot {
            status,
            progress,
            stage: None,
            output_pending,
        }
    }

    fn running(percent: u8) -> ProviderUpdate {
        ProviderUpdate::Running {
            percent: Some(percent),
            stage: Some("denoise".into()),
        }
    }

    fn done() -> ProviderUpdate {
        ProviderUpdate::Succeeded {
            output_url: "http://out".into(),
        }
    }

    #[test]
    fn final_states_never_change() {
        for status in [
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::Cancelled,
            JobStatus::TimedOut,
        ] {
            for update in [
                running(50),
                done(),
                ProviderUpdate::Cancelled,
                ProviderUpdate::Queued,
            ] {
                assert_eq!(
                    decide(&job(status, 100, false), &update),
                    Decision::Ignore,
                    "{status:?} + {update:?}"
                );
            }
        }
    }

    #[test]
    fn progress_only_moves_forward() {
        let at_60 = Snapshot {
            status: JobStatus::Running,
            progress: 60,
            stage: Some("denoise".into()),
            output_pending: false,
        };
        assert_eq!(decide(&at_60, &running(40)), Decision::Ignore);
        assert_eq!(decide(&at_60, &running(60)), Decision::Ignore);
        assert_eq!(
            decide(&at_60, &running(80)),
            Decision::Progress {
                percent: 80,
                stage: Some("denoise".into())
            }
        );
        assert_eq!(
            decide(
                &job(JobStatus::Queued, 0, false),
                &ProviderUpdate::Running {
                    percent: None,
                    stage: None
                }
            ),
            Decision::Progress {
                percent: 0,
                stage: None
            }
        );
    }

    #[test]
    fn success_fetches_the_result_once() {
        let url = "http://out".to_string();
        assert_eq!(
            decide(&job(JobStatus::Running, 10, false), &done()),
            Decision::FetchResult { output_url: url }
        );
        assert_eq!(
            decide(&job(JobStatus::Running, 10, true), &done()),
            Decision::Ignore
        );
    }

    #[test]
    fn late_reports_after_success_are_ignored() {
        let saving = job(JobStatus::Running, 95, true);
        for update in [
            running(99),
            ProviderUpdate::Failed { reason: "x".into() },
            ProviderUpdate::TimedOut,
        ] {
            assert_eq!(decide(&saving, &update), Decision::Ignore, "{update:?}");
        }
    }

    #[test]
    fn failures_finish_with_a_reason() {
        let decision = decide(
            &job(JobStatus::Queued, 0, false),
            &ProviderUpdate::Failed {
                reason: "bad".into(),
            },
        );
        assert_eq!(
            decision,
            Decision::Finish {
                status: JobStatus::Failed,
                error: Some("bad".into())
            }
        );
    }
}
