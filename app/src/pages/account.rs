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
                        let user = me.await.ok().flatten();
                        view! {
                            {user.clone().map(|user| view! { <PlanSummary user /> })}
                            <TierCards user />
                        }
                    })}
                </Transition>
                <DeleteAccount />
            </section>
        </SignedIn>
    }
}

#[component]
fn PlanSummary(user: UserView) -> impl IntoView {
    let limit = user.storage_limit_bytes.max(1);
    let percent = (user.storage_used_bytes as f64 / limit as f64 * 100.0).min(100.0);
    let retention = match user.retention_days {
        Some(days) => format!(
            "Photos are kept for {days} days after upload, then deleted. A paid plan keeps them for good."
        ),
        None => "Your photos are kept for as long as your subscription lasts.".to_string(),
    };
    let storage = format!(
        "Storage: {} of {} used",
        human_bytes(user.storage_used_bytes),
        human_bytes(user.storage_limit_bytes)
    );

    view! {
        <section class="plan" data-testid="plan" aria-labelledby="plan-heading">
            <h2 id="plan-heading" class="plan-tier">"Your plan: " <strong data-testid="plan-tier">{user.tier.label()}</strong></h2>
            <label class="storage-meter">
                <span>{storage}</span>
                <meter
                    min="0"
                    max=limit.to_string()
                    low=(limit / 10 * 8).to_string()
                    high=(limit / 100 * 95).to_string()
                    optimum="0"
                    value=user.storage_used_bytes.min(limit).to_string()
                    aria-valuetext=format!("{percent:.0}% used")
                    data-testid="storage-meter"
                ></meter>
            </label>
            <p data-testid="plan-retention">{retention}</p>
        </section>
    }
}

/// One card per tier: price, how long photos are kept, storage; the user's own is marked.
#[component]
fn TierCards(user: Option<UserView>) -> impl IntoView {
    let current = user.as_ref().map(|u| u.tier);
    // Free's limits are the operator's settings; the signed-in Free user sees them exactly.
    let free = user.filter(|u| u.tier == Tier::Free);
    let free_days = free.as_ref().and_then(|u| u.retention_days).unwrap_or(7);
    let free_storage = free
        .as_ref()
        .map(|u| human_bytes(u.storage_limit_bytes))
        .unwrap_or_else(|| "1 GB".into());

    view! {
        <section class="tiers" id="plans" aria-labelledby="plans-heading">
            <h2 id="plans-heading">"What each plan offers"</h2>
            <ul class="tier-list">
                {Tier::ALL.into_iter().map(|tier| {
                    let mine = current == Some(tier);
                    let price = match tier.monthly_price_usd() {
                        0 => "$0".to_string(),
                        usd => format!("${usd} a month"),
                    };
                    let kept = match tier {
                        Tier::Free => format!("Photos kept for {free_days} days"),
                        _ => "Photos kept for good".to_string(),
                    };
                    let storage = match tier.storage_gb() {
                        Some(gb) => format!("{gb} GB of storage"),
                        None => format!("{free_storage} of storage"),
                    };
                    view! {
                        <li class="tier-card" class:current=mine data-testid="tier-card" data-tier=tier.as_str()>
                            <h3>{tier.label()}</h3>
                            <p class="tier-price" data-testid="tier-price">{price}</p>
                            <ul class="tier-features">
                                <li data-testid="tier-retention">{kept}</li>
                                <li data-testid="tier-storage">{storage}</li>
                                <li>{tier.summary()}</li>
                            </ul>
                            {mine.then(|| view! { <p class="tier-current" data-testid="tier-current">"Your plan"</p> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
            <p class="tier-note">
                "There is no online checkout yet: to change plan, ask whoever runs this Rekindle. "
                "A paid plan that lapses follows the Free plan's rules again, with 7 days' grace."
            </p>
        </section>
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
