//! The account page: tier, storage used, what each tier offers, and deleting the account.

use crate::api::DeleteAccount;
use crate::model::{Tier, UserView};
use crate::pages::SignedIn;
use crate::session::Session;
use leptos::prelude::*;

/// The signed-in user's plan and storage.
#[component]
pub fn AccountPage() -> impl IntoView {
    let session = Session::get();
    let me = session.user_resource();

    view! {
        <SignedIn>
            <section class="page">
                <h1>"Your account"</h1>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        me.await.ok().flatten().map(|user| view! { <PlanSummary user /> })
                    })}
                </Transition>
                <TierTable />
                <DeleteAccount />
            </section>
        </SignedIn>
    }
}

#[component]
fn PlanSummary(user: UserView) -> impl IntoView {
    let percent = (user.storage_used_bytes as f64 / user.storage_limit_bytes.max(1) as f64 * 100.0)
        .min(100.0);
    let retention = match user.retention_days {
        Some(days) => format!("Photos are kept for {days} days. Upgrade to keep them for good."),
        None => "Your photos are kept for as long as your subscription lasts.".to_string(),
    };

    view! {
        <section class="plan" data-testid="plan">
            <p class="plan-tier">"Plan: " <strong data-testid="plan-tier">{user.tier.label()}</strong></p>
            <label class="storage-meter">
                <span>{format!("Storage: {} of {} used", human_bytes(user.storage_used_bytes), human_bytes(user.storage_limit_bytes))}</span>
                <meter min="0" max="100" low="80" high="95" optimum="0" value=format!("{percent:.1}") data-testid="storage-meter"></meter>
            </label>
            <p>{retention}</p>
        </section>
    }
}

#[component]
fn TierTable() -> impl IntoView {
    view! {
        <table class="tiers">
            <caption>"What each plan offers"</caption>
            <thead>
                <tr><th scope="col">"Plan"</th><th scope="col">"Price"</th><th scope="col">"Photos kept"</th><th scope="col">"Storage"</th></tr>
            </thead>
            <tbody>
                {Tier::ALL.into_iter().map(|tier| view! {
                    <tr>
                        <th scope="row">{tier.label()}</th>
                        <td>{match tier.monthly_price_usd() { 0 => "Free".to_string(), usd => format!("${usd}/month") }}</td>
                        <td>{if tier == Tier::Free { "7 days" } else { "For good" }}</td>
                        <td>{match tier { Tier::Free => "1 GB", Tier::Remember => "50 GB", Tier::Cherish => "100 GB", Tier::Forever => "200 GB" }}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn DeleteAccount() -> impl IntoView {
    let action = ServerAction::<DeleteAccount>::new();
    Session::get().follow(action);
    let confirming = RwSignal::new(false);

    view! {
        <section class="danger-zone">
            <h2>"Delete your account"</h2>
            <p>"This removes every photo and restoration for good. It cannot be undone."</p>
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button class="button" data-testid="delete-account" on:click=move |_| confirming.set(true)>
                        "Delete my account…"
                    </button>
                }
            >
                <ActionForm action=action>
                    <button type="submit" class="button danger" data-testid="confirm-delete-account">
                        "Yes, delete everything"
                    </button>
                </ActionForm>
            </Show>
        </section>
    }
}

/// Bytes in the largest unit that keeps the number readable.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["bytes", "KB", "MB", "GB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
