//! One photo: start a restoration, watch it live, compare, download.

use crate::api::{get_photo, CancelJob, CreateRestoreJob, DeletePhoto};
use crate::components::before_after::BeforeAfter;
use crate::components::job_progress::JobProgress;
use crate::components::protected_image::ProtectedImage;
use crate::components::restore_options::RestoreOptionsForm;
use crate::live::use_job_updates;
use crate::model::{JobStatus, JobView, PhotoVariant, PhotoView, RestoreOptions};
use crate::pages::SignedIn;
use leptos::prelude::*;
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
    let title = photo.file_name.clone();

    view! {
        <h1 class="photo-title">{title}</h1>
        <p class="photo-meta">{format!("{} × {} pixels", photo.width, photo.height)}</p>
        {photo.expires_at.map(|at| view! { <p class="photo-retention" data-testid="days-left">{days_left(at)}</p> })}
        <Show
            when=move || job.get().and_then(|j| j.result_photo_id).is_some()
            fallback=move || view! {
                <div class="photo-single">
                    <ProtectedImage photo_id variant=PhotoVariant::Full alt="Original photo" test_id="original-image" />
                </div>
            }
        >
            <Comparison photo_id job />
        </Show>
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
        {move || job.get().map(|current| view! { <JobPanel job=Signal::derive(move || job.get().unwrap_or_else(|| current.clone())) /> })}
        <DeletePhotoButton photo_id />
    }
}

#[component]
fn DeletePhotoButton(photo_id: Uuid) -> impl IntoView {
    let delete = ServerAction::<DeletePhoto>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if delete.value().get().is_some_and(|r| r.is_ok()) {
            navigate("/photos", Default::default());
        }
    });

    view! {
        <div class="actions danger-zone">
            <button
                class="button"
                data-testid="delete-photo"
                on:click=move |_| { delete.dispatch(DeletePhoto { id: photo_id }); }
            >
                "Delete this photo"
            </button>
        </div>
    }
}

/// "Kept for 3 more days" for a photo that expires at `expires_at` (Unix ms).
fn days_left(expires_at: i64) -> String {
    let left_ms = expires_at - now_ms();
    if left_ms <= 0 {
        return "This photo expired after 7 days on the Free plan — upgrade to keep photos.".into();
    }
    let days = (left_ms + 86_399_999) / 86_400_000;
    let plural = if days == 1 { "day" } else { "days" };
    format!("On the Free plan this photo is kept for {days} more {plural}. Upgrade to keep it for good.")
}

fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    return web_sys::js_sys::Date::now() as i64;
    #[cfg(not(feature = "hydrate"))]
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[component]
fn Comparison(photo_id: Uuid, job: Memo<Option<JobView>>) -> impl IntoView {
    move || {
        job.get().and_then(|j| j.result_photo_id).map(|result_id| {
            view! {
                <BeforeAfter before=photo_id after=result_id />
                <DownloadLink photo_id=result_id />
            }
        })
    }
}

#[component]
fn JobPanel(job: Signal<JobView>) -> impl IntoView {
    let cancel = ServerAction::<CancelJob>::new();
    let cancellable = move || matches!(job.get().status, JobStatus::Queued | JobStatus::Running);

    view! {
        <JobProgress job />
        <Show when=cancellable>
            <button
                class="button"
                data-testid="cancel-button"
                on:click=move |_| { cancel.dispatch(CancelJob { job_id: job.get_untracked().id }); }
            >
                "Cancel"
            </button>
        </Show>
    }
}

#[component]
fn DownloadLink(photo_id: Uuid) -> impl IntoView {
    let access = Resource::new(
        move || photo_id,
        |id| crate::api::get_photo_access(id, PhotoVariant::Download),
    );

    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                access.await.ok().map(|access| view! {
                    <a class="button" href=access.url download rel="external" data-testid="download-link">
                        "Download restored photo"
                    </a>
                })
            })}
        </Transition>
    }
}
