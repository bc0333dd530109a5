//! Rekindle's user interface and the types and calls it shares with the server.
//!
//! Compiled twice: with `ssr` inside the server, which renders each page to HTML, and with
//! `hydrate` to WASM, which takes over that HTML in the browser.

// The page views are deeply nested types; the optimised WASM build needs more room for them.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod live;
pub mod model;
pub mod pages;
pub mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: routes to each page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    live::provide_job_updates();
    session::Session::provide();

    view! {
        <Title text="Rekindle" />
        <Router>
            <components::header::Header />
            <main id="main">
                // Async: the server sends each page complete, data and all, so reading pages
                // work before the WASM arrives, or without JavaScript at all.
                <Routes fallback=pages::not_found::NotFoundPage>
                    <Route path=path!("") view=pages::home::HomePage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=pages::auth::LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/register") view=pages::auth::RegisterPage ssr=SsrMode::Async />
                    <Route path=path!("/photos") view=pages::gallery::GalleryPage ssr=SsrMode::Async />
                    <Route path=path!("/photos/:id") view=pages::photo::PhotoPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=pages::account::AccountPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}
