//! One photo in the gallery grid: its thumbnail, its latest job's state and, on the Free plan,
//! how long it is kept.

use crate::components::protected_image::ProtectedImage;
use crate::components::retention::{days_left, now_ms, short_note};
use crate::live::use_job_updates;
use crate::model::{PhotoVariant, PhotoView};
use leptos::prelude::*;
use leptos_router::components::A;

/// A gallery tile linking to the photo's page.
#[component]
pub fn PhotoCard(photo: PhotoView) -> impl IntoView {
    let updates = use_job_updates();
    let server_job = photo.latest_job.clone();
    let photo_id = photo.id;
    let badge = move || {
        updates
            .latest_for_photo(photo_id, server_job.clone())
            .map(|job| view! { <span class=format!("badge badge-{}", job.status.as_str()) data-testid="job-badge">{job.status.label()}</span> })
    };
    let href = format!("/photos/{}", photo.id);
    let alt = format!("Thumbnail of {}", photo.file_name);
    let retention = photo.expires_at.map(|at| {
        let now = now_ms();
        let expired = days_left(at, now) == 0;
        view! {
            <span class="photo-days" class:expired=expired data-testid="days-left">{short_note(at, now)}</span>
        }
    });

    view! {
        <li class="photo-card">
            <A href=href attr:data-testid="photo-card">
                // In its own element: hydration needs the boundary before the caption.
                <span class="photo-thumb-frame">
                    <ProtectedImage photo_id=photo.id variant=PhotoVariant::Thumbnail alt test_id="photo-thumb" lazy=true />
                </span>
                <span class="photo-caption">
                    <span class="photo-name">{photo.file_name.clone()}</span>
                    {retention}
                </span>
            </A>
            {badge}
        </li>
    }
}
