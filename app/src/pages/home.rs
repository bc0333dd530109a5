//! The landing page.

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
    }
}
