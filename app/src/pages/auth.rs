//! Log-in and registration pages. Both are plain forms that work without JavaScript.

use crate::api::{Login, Register};
use crate::session::Session;
use leptos::prelude::*;
use leptos_router::components::A;

/// Signs an existing account in.
#[component]
pub fn LoginPage() -> impl IntoView {
    let action = ServerAction::<Login>::new();
    Session::get().follow(action);
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.message)
    };

    view! {
        <section class="page narrow">
            <h1>"Log in"</h1>
            <ActionForm action=action attr:class="auth-form">
                <CredentialFields new_password=false />
                <FormError error=Signal::derive(error) />
                <button type="submit" class="button primary">"Log in"</button>
            </ActionForm>
            <p>"New here? " <A href="/register">"Create an account"</A></p>
        </section>
    }
}

/// Creates a new account on the Free tier.
#[component]
pub fn RegisterPage() -> impl IntoView {
    let action = ServerAction::<Register>::new();
    Session::get().follow(action);
    let error = move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.message)
    };

    view! {
        <section class="page narrow">
            <h1>"Create your account"</h1>
            <p>"Free accounts keep photos for 7 days. Upgrade any time to keep them for good."</p>
            <ActionForm action=action attr:class="auth-form">
                <CredentialFields new_password=true />
                <FormError error=Signal::derive(error) />
                <button type="submit" class="button primary">"Create account"</button>
            </ActionForm>
            <p>"Already have an account? " <A href="/login">"Log in"</A></p>
        </section>
    }
}

#[component]
fn CredentialFields(new_password: bool) -> impl IntoView {
    view! {
        <label for="email">"E-mail"</label>
        <input id="email" type="email" name="email" autocomplete="email" required />
        <label for="password">"Password"</label>
        <input
            id="password"
            type="password"
            name="password"
            minlength="8"
            autocomplete=if new_password { "new-password" } else { "current-password" }
            required
        />
    }
}

#[component]
fn FormError(error: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || error.get().is_some()>
            <p class="form-error" role="alert">{move || error.get()}</p>
        </Show>
    }
}
