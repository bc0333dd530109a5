//! A job's live state: status, progress bar, stage, and why it failed.

use crate::model::{JobStatus, JobView};
use leptos::prelude::*;

/// Shows where a job is; updates as the live stream reports changes.
#[component]
pub fn JobProgress(#[prop(into)] job: Signal<JobView>) -> impl IntoView {
    let status = move || job.with(|j| j.status);
    let progress = move || job.with(|j| j.progress);
    let stage = move || job.with(|j| j.stage.clone());
    let error = move || job.with(|j| j.error.clone());
    let running = move || !status().is_terminal();

    view! {
        <section class="job-progress" aria-live="polite">
            <p
                class=move || format!("job-status status-{}", status().as_str())
                data-testid="job-status"
                data-status=move || status().as_str()
            >
                {move || status().label()}
                {move || stage().filter(|_| running()).map(|s| format!(" · {s}"))}
            </p>
            <Show when=running>
                <progress
                    data-testid="job-progress"
                    max="100"
                    value=move || progress().to_string()
                    aria-label="Restoration progress"
                >
                    {move || format!("{}%", progress())}
                </progress>
            </Show>
            <Show when=move || status() == JobStatus::Failed>
                <p class="job-error" role="alert">
                    {move || error().unwrap_or_else(|| "The restoration did not finish.".into())}
                </p>
            </Show>
        </section>
    }
}
