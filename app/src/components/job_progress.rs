//! A job's live state: status, current stage, progress bar, and why it failed.

use crate::model::{JobStatus, JobView};
use leptos::prelude::*;

/// Shows where a job is; updates as the live stream reports changes.
#[component]
pub fn JobProgress(#[prop(into)] job: Signal<JobView>) -> impl IntoView {
    let status = move || job.with(|j| j.status);
    let progress = move || job.with(|j| j.progress);
    let running = move || !status().is_terminal();
    let stage = move || {
        job.with(|j| {
            j.stage
                .as_deref()
                .filter(|_| !j.status.is_terminal())
                .map(stage_label)
        })
    };
    let explanation = move || job.with(explain);

    view! {
        <section class="job-progress" aria-label="Restoration">
            <p
                class=move || format!("job-status status-{}", status().as_str())
                data-testid="job-status"
                data-status=move || status().as_str()
                role="status"
            >
                {move || status().label()}
                {move || stage().map(|s| view! { <span class="job-stage" data-testid="job-stage">{format!(" · {s}")}</span> })}
            </p>
            <Show when=running>
                <div class="job-bar">
                    <progress
                        data-testid="job-progress"
                        max="100"
                        value=move || progress().to_string()
                        aria-label="Restoration progress"
                    >
                        {move || format!("{}%", progress())}
                    </progress>
                    <span class="job-percent" aria-hidden="true">{move || format!("{}%", progress())}</span>
                </div>
            </Show>
            {move || explanation().map(|(text, alert)| view! {
                <p
                    class=if alert { "job-explanation job-error" } else { "job-explanation" }
                    role=alert.then_some("alert")
                    data-testid="job-explanation"
                >
                    {text}
                </p>
            })}
        </section>
    }
}

/// The pipeline's stage names, as a person would say them.
pub fn stage_label(stage: &str) -> String {
    let known = match stage {
        "download" => "Fetching your photo",
        "clean scratches" => "Cleaning scratches",
        "reduce noise" => "Reducing noise",
        "fix colours" => "Fixing colours",
        "sharpen" => "Sharpening",
        "upscale" => "Enlarging",
        "save" => "Preparing the result",
        "saving result" => "Saving the result",
        other => {
            let mut chars = other.chars();
            return match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect(),
                None => String::new(),
            };
        }
    };
    known.to_string()
}

/// What a finished-but-not-completed job means for the person, and whether it is an error
/// (announced at once) rather than a choice they made.
pub fn explain(job: &JobView) -> Option<(String, bool)> {
    match job.status {
        JobStatus::Failed => Some((
            job.error
                .clone()
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| "The restoration stopped before it finished.".into())
                + " Your original photo is unchanged; you can try again.",
            true,
        )),
        JobStatus::TimedOut => Some((
            "The restoration took too long and was stopped. Your original photo is unchanged; \
             you can try again."
                .into(),
            true,
        )),
        JobStatus::Cancelled => Some((
            "You cancelled this restoration. Your original photo is unchanged.".into(),
            false,
        )),
        JobStatus::Queued | JobStatus::Running | JobStatus::Completed => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RestoreOptions;
    use uuid::Uuid;

    fn job(status: JobStatus, error: Option<&str>) -> JobView {
        JobView {
            id: Uuid::nil(),
            photo_id: Uuid::nil(),
            status,
            progress: 0,
            stage: None,
            error: error.map(str::to_string),
            result_photo_id: None,
            provider: "builtin".into(),
            options: RestoreOptions::default(),
            created_at: 0,
            updated_at: 0,
            provider_calls: 0,
            webhooks_received: 0,
        }
    }

    #[test]
    fn a_failed_job_says_why_in_the_servers_words() {
        let (text, alert) = explain(&job(
            JobStatus::Failed,
            Some("The restoration service could not be reached. Please try again later."),
        ))
        .unwrap();
        assert!(text.starts_with("The restoration service could not be reached."));
        assert!(text.contains("original photo is unchanged"));
        assert!(alert);
    }

    #[test]
    fn a_failed_job_without_a_reason_still_explains() {
        let (text, _) = explain(&job(JobStatus::Failed, Some("  "))).unwrap();
        assert!(text.starts_with("The restoration stopped before it finished."));
    }

    #[test]
    fn cancelled_and_timed_out_jobs_explain_and_running_ones_do_not() {
        assert!(!explain(&job(JobStatus::Cancelled, None)).unwrap().1);
        assert!(explain(&job(JobStatus::TimedOut, None)).unwrap().1);
        for status in [JobStatus::Queued, JobStatus::Running, JobStatus::Completed] {
            assert_eq!(explain(&job(status, None)), None);
        }
    }

    #[test]
    fn stages_read_as_plain_words() {
        assert_eq!(stage_label("clean scratches"), "Cleaning scratches");
        assert_eq!(stage_label("upscale"), "Enlarging");
        assert_eq!(stage_label("colourise faces"), "Colourise faces");
        assert_eq!(stage_label(""), "");
    }
}
