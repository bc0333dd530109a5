//! One photo in the gallery grid: its thumbnail and its latest job's state.

use crate::components::protected_image::ProtectedImage;
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
            .map(|job| view! { <span class=format!("badge badge-{}", job.status.as_str())>{job.status.label()}</span> })
    };
    let href = format!("/photos/{}", photo.id);
    let alt = format!("Thumbnail of {}", photo.file_name);

    view! {
        <li class="photo-card">
            <A href=href attr:data-testid="photo-card">
                <ProtectedImage photo_id=photo.id variant=PhotoVariant::Thumbnail alt test_id="photo-thumb" lazy=true />
                <span class="photo-name">{photo.file_name.clone()}</span>
            </A>
            {badge}
        </li>
    }
}
