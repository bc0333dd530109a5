//! One module per page.

pub mod account;
pub mod auth;
pub mod gallery;
pub mod home;
pub mod not_found;
pub mod photo;

use crate::session::Session;
use leptos::prelude::*;
use leptos_router::components::Redirect;

/// Renders its children for a signed-in user and sends anyone else to the log-in page.
#[component]
pub fn SignedIn(children: ChildrenFn) -> impl IntoView {
    let me = Session::get().user_resource();
    let children = StoredValue::new(children);

    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(_)) => children.with_value(|children| children()).into_any(),
                    _ => view! { <Redirect path="/login" /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
