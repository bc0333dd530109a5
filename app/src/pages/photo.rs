//! One photo: start a restoration, watch it live, compare, download.

use crate::api::{get_photo, CancelJob, CreateRestoreJob, DeletePhoto};
use crate::components::before_after::BeforeAfter;
use crate::components::job_progress::JobProgress;
use crate::components::protected_image::{access_href, ProtectedImage};
use crate::components::restore_options::RestoreOptionsForm;
use crate::components::retention::RetentionNote;
use crate::live::use_job_updates;
use crate::model::{JobStatus, JobView, PhotoVariant, PhotoView, RestoreOptions};
use crate::pages::account::human_bytes;
use crate::pages::SignedIn;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

/// The page of one photo.
#[component]
pub fn PhotoPage() -> impl IntoView {
    let params = use_params_map();
    let updates = use_job_updates();
    let photo_id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| Uuid::parse_str(&id).ok())
    };
    let photo = Resource::new(
        move || (photo_id(), updates.resync.get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_photo(id).await,
                None => Err(crate::error::AppError::new(
                    "not_found",
                    "There is no such photo.",
                )),
            }
        },
    );

    view! {
        <SignedIn>
            <section class="page">
                <p class="back-link"><A href="/photos">"← All photos"</A></p>
                <Transition fallback=|| view! { <p>"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match photo.await {
                            Ok(photo) => view! { <PhotoDetail photo /> }.into_any(),
                            Err(err) => view! { <p class="form-error" role="alert">{err.message}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </SignedIn>
    }
}

#[component]
fn PhotoDetail(photo: PhotoView) -> impl IntoView {
    let updates = use_job_updates();
    let options = RwSignal::new(RestoreOptions::default());
    let restore = ServerAction::<CreateRestoreJob>::new();
    let photo_id = photo.id;
    let from_server = photo.latest_job.clone();
    // The newest job of this photo: from the page's data, the restore action, or the stream.
    let job = Memo::new(move |_| {
        let started = restore.value().get().and_then(Result::ok);
        let base = [from_server.clone(), started]
            .into_iter()
            .flatten()
            .max_by_key(|j| (j.created_at, j.updated_at));
        updates.latest_for_photo(photo_id, base)
    });
    let restore_error = move || {
        restore
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.message)
    };
    let busy =
        move || restore.pending().get() || job.get().is_some_and(|j| !j.status.is_terminal());
    let retry = Callback::new(move |options: RestoreOptions| {
        restore.dispatch(CreateRestoreJob { photo_id, options });
    });
    let title = photo.file_name.clone();
    let aspect = (photo.width, photo.height);

    view! {
        <h1 class="photo-title">{title}</h1>
        <p class="photo-meta">{format!("{} × {} pixels · {}", photo.width, photo.height, human_bytes(photo.size_bytes))}</p>
        {photo.expires_at.map(|expires_at| view! { <RetentionNote expires_at /> })}
        <div class="photo-layout">
            <div class="photo-view">
                <Show
                    when=move || job.get().and_then(|j| j.result_photo_id).is_some()
                    fallback=move || view! {
                        <div class="photo-single">
                            <ProtectedImage photo_id variant=PhotoVariant::Full alt="Original photo" test_id="original-image" offer_upgrade=true />
                        </div>
                    }
                >
                    <Comparison photo_id job aspect />
                </Show>
            </div>
            <div class="photo-controls">
                <RestoreOptionsForm options />
                <div class="actions">
                    <button
                        class="button primary"
                        data-testid="restore-button"
                        disabled=busy
                        on:click=move |_| {
                            restore.dispatch(CreateRestoreJob { photo_id, options: options.get() });
                        }
                    >
                        {move || if job.get().is_some() { "Restore again" } else { "Restore this photo" }}
                    </button>
                </div>
                <Show when=move || restore_error().is_some()>
                    <p class="form-error" role="alert">{restore_error}</p>
                </Show>
                <Show when=move || job.with(Option::is_some)>
                    <JobPanel job retry busy=Signal::derive(move || restore.pending().get()) />
                </Show>
                <DeletePhotoButton photo_id />
            </div>
        </div>
    }
}

#[component]
fn DeletePhotoButton(photo_id: Uuid) -> impl IntoView {
    let delete = ServerAction::<DeletePhoto>::new();
    let confirming = RwSignal::new(false);
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if delete.value().get().is_some_and(|r| r.is_ok()) {
            navigate("/photos", Default::default());
        }
    });
    let error = move || {
        delete
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.message)
    };

    view! {
        <div class="danger-zone">
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button
                        type="button"
                        class="button"
                        data-testid="delete-photo"
                        on:click=move |_| confirming.set(true)
                    >
                        "Delete this photo…"
                    </button>
                }
            >
                <p>"Delete this photo and its restorations for good?"</p>
                <div class="actions">
                    <button
                        type="button"
                        class="button danger"
                        data-testid="confirm-delete-photo"
                        disabled=move || delete.pending().get()
                        on:click=move |_| { delete.dispatch(DeletePhoto { id: photo_id }); }
                    >
                        "Yes, delete it"
                    </button>
                    <button type="button" class="button" data-testid="keep-photo" on:click=move |_| confirming.set(false)>
                        "Keep it"
                    </button>
                </div>
            </Show>
            <Show when=move || error().is_some()>
                <p class="form-error" role="alert">{error}</p>
            </Show>
        </div>
    }
}

#[component]
fn Comparison(photo_id: Uuid, job: Memo<Option<JobView>>, aspect: (u32, u32)) -> impl IntoView {
    // Only a new result replaces the comparison; progress updates leave it alone.
    let result = Memo::new(move |_| job.get().and_then(|j| j.result_photo_id));
    move || {
        result.get().map(|result_id| {
            view! {
                <BeforeAfter before=photo_id after=result_id aspect />
                <DownloadLink photo_id=result_id />
            }
        })
    }
}

#[component]
fn JobPanel(
    job: Memo<Option<JobView>>,
    retry: Callback<RestoreOptions>,
    busy: Signal<bool>,
) -> impl IntoView {
    let cancel = ServerAction::<CancelJob>::new();
    let status = move || job.get().map(|j| j.status);
    let cancellable = move || matches!(status(), Some(JobStatus::Queued | JobStatus::Running));
    let retryable = move || {
        matches!(
            status(),
            Some(JobStatus::Failed | JobStatus::Cancelled | JobStatus::TimedOut)
        )
    };
    let cancel_error = move || {
        cancel
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.message)
    };
    // The panel is shown only once there is a job, and a job never goes away again; the memo
    // keeps the last one just in case, so the progress view is built once and then updates.
    let progress = job.get_untracked().map(|first| {
        let current = Memo::new(move |previous: Option<&JobView>| {
            job.get()
                .or_else(|| previous.cloned())
                .unwrap_or_else(|| first.clone())
        });
        view! { <JobProgress job=current /> }
    });

    view! {
        {progress}
        <div class="actions job-actions">
            <Show when=cancellable>
                <button
                    type="button"
                    class="button"
                    data-testid="cancel-button"
                    disabled=move || cancel.pending().get()
                    on:click=move |_| {
                        if let Some(job) = job.get_untracked() {
                            cancel.dispatch(CancelJob { job_id: job.id });
                        }
                    }
                >
                    "Cancel restoration"
                </button>
            </Show>
            <Show when=retryable>
                <button
                    type="button"
                    class="button primary"
                    data-testid="retry-button"
                    disabled=move || busy.get()
                    on:click=move |_| {
                        if let Some(job) = job.get_untracked() {
                            retry.run(job.options);
                        }
                    }
                >
                    "Try again"
                </button>
            </Show>
        </div>
        <Show when=move || cancel_error().is_some()>
            <p class="form-error" role="alert">{cancel_error}</p>
        </Show>
    }
}

#[component]
fn DownloadLink(photo_id: Uuid) -> impl IntoView {
    view! {
        <p class="actions">
            <a
                class="button primary"
                href=access_href(photo_id, PhotoVariant::Download)
                download
                rel="external"
                data-testid="download-link"
            >
                "Download restored photo"
            </a>
        </p>
    }
}
