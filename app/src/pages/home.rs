//! The landing page.

use crate::model::Tier;
use leptos::prelude::*;
use leptos_router::components::A;

/// What Rekindle does, and where to start.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <section class="page hero">
            <h1>"Bring old photos back to life"</h1>
            <p class="lead">
                "Upload a scanned print. Rekindle cleans scratches and dust, lifts faded colours and "
                "sharpens detail, and you watch it happen."
            </p>
            <p class="actions">
                <A href="/register" attr:class="button primary">"Create a free account"</A>
                <A href="/login" attr:class="button">"Log in"</A>
            </p>
        </section>
        <section class="steps" aria-labelledby="how-heading">
            <h2 id="how-heading">"How it works"</h2>
            <ol class="step-list">
                <li>
                    <h3>"1. Add your scans"</h3>
                    <p>"Drop several photos at once, or pick them from your phone's camera roll."</p>
                </li>
                <li>
                    <h3>"2. Choose what to fix"</h3>
                    <p>"Scratches, noise, faded colours, soft detail — and enlarge for printing if you like."</p>
                </li>
                <li>
                    <h3>"3. Compare and download"</h3>
                    <p>"Slide between before and after, zoom in on faces, then save the restored photo."</p>
                </li>
            </ol>
        </section>
        <section class="steps" aria-labelledby="plans-heading">
            <h2 id="plans-heading">"Plans"</h2>
            <ul class="plan-strip">
                {Tier::ALL.into_iter().map(|tier| {
                    let price = match tier.monthly_price_usd() { 0 => "free".to_string(), usd => format!("${usd} a month") };
                    let detail = match tier.storage_gb() {
                        None => "photos kept 7 days".to_string(),
                        Some(gb) => format!("{gb} GB, kept for good"),
                    };
                    view! { <li><strong>{tier.label()}</strong>" — "{price}", "{detail}</li> }
                }).collect_view()}
            </ul>
        </section>
    }
}
