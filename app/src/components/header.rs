//! The top bar: the app's name, who is signed in, and the live-connection indicator.

use crate::api::Logout;
use crate::live::{Connection, JobUpdates};
use crate::session::Session;
use leptos::prelude::*;
use leptos_router::components::A;

/// Site header with account links.
#[component]
pub fn Header() -> impl IntoView {
    let session = Session::get();
    let me = session.user_resource();
    let logout = ServerAction::<Logout>::new();
    session.follow(logout);

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <A href="/" attr:class="brand">"Rekindle"</A>
            <ConnectionIndicator />
            <nav aria-label="Account">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        match me.await {
                            Ok(Some(user)) => view! {
                                <A href="/photos">"My photos"</A>
                                <A href="/account">"Account"</A>
                                <span class="user-email" data-testid="user-email">{user.email}</span>
                                <ActionForm action=logout>
                                    <button type="submit" class="link-button" data-testid="logout-button">
                                        "Log out"
                                    </button>
                                </ActionForm>
                            }.into_any(),
                            _ => view! {
                                <A href="/login">"Log in"</A>
                                <A href="/register">"Create account"</A>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </nav>
        </header>
    }
}

/// A small, polite note while live updates are reconnecting.
#[component]
fn ConnectionIndicator() -> impl IntoView {
    let updates = expect_context::<JobUpdates>();
    let reconnecting = move || updates.connection.get() == Connection::Reconnecting;

    view! {
        <Show when=reconnecting>
            <span class="connection-note" role="status" data-testid="reconnecting">
                "Reconnecting…"
            </span>
        </Show>
    }
}
