//! An image whose bytes come through the gatekeeper's short-lived signed URL.

use crate::api::get_photo_access;
use crate::model::PhotoVariant;
use leptos::prelude::*;
use uuid::Uuid;

/// Shows one rendition of a photo; asks for a fresh URL if the old one has expired.
#[component]
pub fn ProtectedImage(
    photo_id: Uuid,
    variant: PhotoVariant,
    #[prop(into)] alt: String,
    #[prop(optional, into)] test_id: Option<&'static str>,
    #[prop(optional)] lazy: bool,
) -> impl IntoView {
    let access = Resource::new(
        move || (photo_id, variant),
        |(id, v)| get_photo_access(id, v),
    );
    let retried = StoredValue::new(false);
    // An expired URL fails to load: ask the gatekeeper again, once.
    let on_error = move |_| {
        if !retried.get_value() {
            retried.set_value(true);
            access.refetch();
        }
    };
    let alt = StoredValue::new(alt);

    view! {
        <Transition fallback=|| view! { <span class="image-placeholder" aria-hidden="true"></span> }>
            {move || Suspend::new(async move {
                match access.await {
                    Ok(access) => view! {
                        <img
                            src=access.url
                            alt=alt.get_value()
                            data-testid=test_id
                            loading=if lazy { "lazy" } else { "eager" }
                            decoding="async"
                            on:error=on_error
                        />
                    }.into_any(),
                    Err(err) => view! {
                        <p class="image-refused" role="note">{err.message}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}
