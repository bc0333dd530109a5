//! An image whose bytes come through the gatekeeper.
//!
//! The `src` is the gatekeeper's access route with `redirect=true`: each load asks it for a
//! fresh short-lived signed URL and follows it, so the image is plain HTML from the server
//! (it shows before the WASM loads, or without JavaScript), and an expired URL is never reused.

use crate::error::AppError;
use crate::model::PhotoVariant;
use leptos::prelude::*;
use uuid::Uuid;

/// The address of one rendition of a photo, for `<img src>` or a download link.
pub fn access_href(photo_id: Uuid, variant: PhotoVariant) -> String {
    format!(
        "/api/photos/{photo_id}/access?variant={}&redirect=true",
        variant.as_str()
    )
}

/// Shows one rendition of a photo. If the gatekeeper refuses it, says why in the server's
/// words (and, with `offer_upgrade`, links to the plans when the plan is the reason).
#[component]
pub fn ProtectedImage(
    photo_id: Uuid,
    variant: PhotoVariant,
    #[prop(into)] alt: String,
    #[prop(optional, into)] test_id: Option<&'static str>,
    #[prop(optional)] lazy: bool,
    /// When the gatekeeper refuses because of the plan (an expired photo, storage over the
    /// limit), link to the plans. Off inside links, which cannot hold another link.
    #[prop(optional)]
    offer_upgrade: bool,
) -> impl IntoView {
    let refused = RwSignal::new(None::<AppError>);
    // A failed load: ask the gatekeeper why, in words.
    let on_error = move |_| {
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            if let Err(err) = crate::api::get_photo_access(photo_id, variant).await {
                refused.set(Some(err));
            }
        });
    };

    view! {
        <img
            src=access_href(photo_id, variant)
            alt=alt
            data-testid=test_id
            loading=if lazy { "lazy" } else { "eager" }
            decoding="async"
            class:refused=move || refused.with(Option::is_some)
            on:error=on_error
        />
        {move || refused.get().map(|err| {
            let upgrade = offer_upgrade
                && matches!(err.code.as_str(), "photo_expired" | "quota_exceeded");
            view! {
                <p class="image-refused" role="note" data-testid="image-refused" data-code=err.code.clone()>
                    {err.message}
                    {upgrade.then(|| view! { " " <a href="/account#plans" data-testid="upgrade-link">"See the plans"</a> })}
                </p>
            }
        })}
    }
}
