//! The restoration choices, each in plain words.

use crate::model::RestoreOptions;
use leptos::prelude::*;

/// Check boxes for each restoration step, bound to `options`.
#[component]
pub fn RestoreOptionsForm(options: RwSignal<RestoreOptions>) -> impl IntoView {
    view! {
        <fieldset class="restore-options">
            <legend>"What should we fix?"</legend>
            <OptionBox options label="Clean scratches" hint="Finds thin scratches and dust specks and paints them out."
                get=|o| o.clean_scratches set=|o, v| o.clean_scratches = v />
            <OptionBox options label="Reduce noise" hint="Smooths film grain and scanner noise, keeping edges crisp."
                get=|o| o.reduce_noise set=|o, v| o.reduce_noise = v />
            <OptionBox options label="Fix colours" hint="Restores faded contrast and removes a yellow or sepia cast."
                get=|o| o.fix_colours set=|o, v| o.fix_colours = v />
            <OptionBox options label="Sharpen" hint="Brings back detail without halos."
                get=|o| o.sharpen set=|o, v| o.sharpen = v />
            <OptionBox options label="Enlarge 2×" hint="Doubles the width and height for printing."
                get=|o| o.upscale_2x set=|o, v| o.upscale_2x = v />
        </fieldset>
    }
}

#[component]
fn OptionBox(
    options: RwSignal<RestoreOptions>,
    label: &'static str,
    hint: &'static str,
    get: fn(&RestoreOptions) -> bool,
    set: fn(&mut RestoreOptions, bool),
) -> impl IntoView {
    view! {
        <label class="option">
            <input
                type="checkbox"
                prop:checked=move || options.with(get)
                on:change=move |ev| {
                    let checked = event_target_checked(&ev);
                    options.update(|o| set(o, checked));
                }
            />
            <span class="option-label">{label}</span>
            <span class="option-hint">{hint}</span>
        </label>
    }
}
