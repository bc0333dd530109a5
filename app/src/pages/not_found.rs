//! The page for unknown addresses.

use leptos::prelude::*;

/// Shown for any address the app does not know.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }

    view! {
        <section class="page narrow">
            <h1>"Page not found"</h1>
            <p><a href="/">"Back to the start"</a></p>
        </section>
    }
}
