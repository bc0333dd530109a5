//! How long a photo on the Free plan has left, in words, with the way to keep it.

use leptos::prelude::*;

const DAY_MS: i64 = 86_400_000;

/// Whole days left until `expires_at`, rounded up; 0 once it has passed.
pub fn days_left(expires_at: i64, now_ms: i64) -> i64 {
    let left = expires_at - now_ms;
    if left <= 0 {
        0
    } else {
        (left + DAY_MS - 1) / DAY_MS
    }
}

/// "6 days left", "1 day left", "Expired": for a gallery tile.
pub fn short_note(expires_at: i64, now_ms: i64) -> String {
    match days_left(expires_at, now_ms) {
        0 => "Expired".into(),
        1 => "1 day left".into(),
        days => format!("{days} days left"),
    }
}

/// The sentence on a photo's page.
pub fn long_note(expires_at: i64, now_ms: i64) -> String {
    match days_left(expires_at, now_ms) {
        0 => "This photo expired: the Free plan keeps photos for a limited time, and it has \
              passed. A paid plan keeps photos for good."
            .into(),
        1 => "On the Free plan this photo is kept for 1 more day. A paid plan keeps it for good."
            .into(),
        days => format!(
            "On the Free plan this photo is kept for {days} more days. A paid plan keeps it for good."
        ),
    }
}

/// The current time in Unix milliseconds, in the browser or on the server.
pub fn now_ms() -> i64 {
    #[cfg(feature = "hydrate")]
    return web_sys::js_sys::Date::now() as i64;
    #[cfg(not(feature = "hydrate"))]
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

/// The retention note of a photo page, with a link to the plans.
#[component]
pub fn RetentionNote(expires_at: i64) -> impl IntoView {
    let now = now_ms();
    let expired = days_left(expires_at, now) == 0;

    view! {
        <p class="photo-retention" class:expired=expired data-testid="days-left" data-expired=expired.to_string()>
            {long_note(expires_at, now)}
            " "
            <a href="/account#plans" data-testid="upgrade-link">
                {if expired { "Upgrade to keep photos" } else { "Compare plans" }}
            </a>
        </p>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_up_and_stop_at_zero() {
        assert_eq!(days_left(7 * DAY_MS, 0), 7);
        assert_eq!(days_left(7 * DAY_MS, 1), 7);
        assert_eq!(days_left(7 * DAY_MS, 6 * DAY_MS + 1), 1);
        assert_eq!(days_left(7 * DAY_MS, 7 * DAY_MS), 0);
        assert_eq!(days_left(7 * DAY_MS, 9 * DAY_MS), 0);
    }

    #[test]
    fn notes_say_days_left_or_expired() {
        assert_eq!(short_note(7 * DAY_MS, 0), "7 days left");
        assert_eq!(short_note(DAY_MS, 1), "1 day left");
        assert_eq!(short_note(DAY_MS, DAY_MS), "Expired");
        assert!(long_note(3 * DAY_MS, 0).contains("kept for 3 more days"));
        assert!(long_note(0, 1).starts_with("This photo expired"));
    }
}
