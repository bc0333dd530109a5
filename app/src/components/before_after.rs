//! Before-and-after comparison: the restored photo over the original, split by a slider.

use crate::components::protected_image::ProtectedImage;
use crate::model::PhotoVariant;
use leptos::prelude::*;
use uuid::Uuid;

/// Compares an original with its restoration. The slider works with mouse, touch and keys.
#[component]
pub fn BeforeAfter(before: Uuid, after: Uuid) -> impl IntoView {
    let split = RwSignal::new(50u8);
    let clip = move || format!("clip-path: inset(0 0 0 {}%)", split.get());

    view! {
        <figure class="before-after" data-testid="before-after">
            <div class="before-after-frame">
                <div class="before-after-layer">
                    <ProtectedImage photo_id=before variant=PhotoVariant::Full alt="Original photo" test_id="before-image" />
                </div>
                <div class="before-after-layer after" style=clip>
                    <ProtectedImage photo_id=after variant=PhotoVariant::Full alt="Restored photo" test_id="after-image" />
                </div>
            </div>
            <label class="before-after-slider">
                <span class="visually-hidden">"Compare original and restored"</span>
                <input
                    type="range"
                    min="0"
                    max="100"
                    prop:value=move || split.get().to_string()
                    on:input=move |ev| {
                        if let Ok(value) = event_target_value(&ev).parse::<u8>() {
                            split.set(value.min(100));
                        }
                    }
                    data-testid="compare-slider"
                />
            </label>
            <figcaption>"Left: original · Right: restored"</figcaption>
        </figure>
    }
}
