//! The gallery: upload photos and see each one with its restoration state.

use crate::api::list_photos;
use crate::components::photo_card::PhotoCard;
use crate::components::uploader::Uploader;
use crate::error::AppError;
use crate::live::use_job_updates;
use crate::model::PhotoView;
use crate::pages::SignedIn;
use leptos::prelude::*;

/// The signed-in user's photos.
#[component]
pub fn GalleryPage() -> impl IntoView {
    let updates = use_job_updates();
    let photos = Resource::new(move || updates.resync.get(), |_| list_photos());
    let on_uploaded = Callback::new(move |_| photos.refetch());

    view! {
        <SignedIn>
            <section class="page">
                <h1>"Your photos"</h1>
                <Uploader on_uploaded />
                <Transition fallback=|| view! { <p>"Loading your photos…"</p> }>
                    {move || Suspend::new(async move { view! { <PhotoGrid photos=photos.await /> } })}
                </Transition>
            </section>
        </SignedIn>
    }
}

#[component]
fn PhotoGrid(photos: Result<Vec<PhotoView>, AppError>) -> impl IntoView {
    match photos {
        Ok(photos) if photos.is_empty() => view! {
            <p class="gallery-empty" data-testid="gallery-empty">
                "No photos yet. Add your first old photo above and watch it come back to life."
            </p>
        }
        .into_any(),
        Ok(photos) => view! {
            <ul class="gallery" data-testid="gallery">
                {photos.into_iter().map(|photo| view! { <PhotoCard photo /> }).collect_view()}
            </ul>
        }
        .into_any(),
        Err(err) => view! { <p class="form-error" role="alert">{err.message}</p> }.into_any(),
    }
}
