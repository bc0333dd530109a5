//! Live job updates: one WebSocket per tab, turned into reactive job signals.
//!
//! The stream carries the user's job events with gap-free sequence numbers. The client keeps
//! the last number it saw and resumes from it after any reconnect, so nothing is missed and
//! nothing is applied twice; when the server says the gap is too old, pages reload their jobs.

use crate::model::JobView;
use leptos::prelude::*;
use std::collections::HashMap;
use uuid::Uuid;

/// The state of the live connection, for the "reconnecting…" indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Not started (signed out, or rendering on the server).
    Idle,
    Connecting,
    Live,
    Reconnecting,
}

/// Reactive view of the user's jobs as the live stream reports them.
#[derive(Debug, Clone, Copy)]
pub struct JobUpdates {
    /// The newest state of every job an event arrived for, by job id.
    pub jobs: RwSignal<HashMap<Uuid, JobView>>,
    pub connection: RwSignal<Connection>,
    /// Bumped when pages must reload their jobs from the server (a fresh stream or a reset).
    pub resync: RwSignal<u64>,
}

/// Creates the updates store for this tab and makes it available as context.
pub fn provide_job_updates() -> JobUpdates {
    let updates = JobUpdates {
        jobs: RwSignal::new(HashMap::new()),
        connection: RwSignal::new(Connection::Idle),
        resync: RwSignal::new(0),
    };
    provide_context(updates);
    updates
}

/// The tab's updates store; starts the live connection the first time a page asks for it.
pub fn use_job_updates() -> JobUpdates {
    let updates = expect_context::<JobUpdates>();
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| client::ensure_connected(updates));
    updates
}

impl JobUpdates {
    /// The newest known job of a photo: whichever of the server's copy and the live events is
    /// most recent.
    pub fn latest_for_photo(
        &self,
        photo_id: Uuid,
        from_server: Option<JobView>,
    ) -> Option<JobView> {
        self.jobs.with(|jobs| {
            jobs.values()
                .filter(|job| job.photo_id == photo_id)
                .cloned()
                .chain(from_server)
                .max_by_key(|job| (job.created_at, job.updated_at, job.status.is_terminal()))
        })
    }
}

#[cfg(feature = "hydrate")]
mod client {
    use super::{Connection, JobUpdates};
    use crate::model::StreamFrame;
    use leptos::prelude::*;
    use std::cell::RefCell;
    use std::time::Duration;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;
    use web_sys::{MessageEvent, WebSocket};

    /// Reconnect delays grow from this...
    const BACKOFF_START_MS: f64 = 500.0;
    /// ...up to this cap.
    const BACKOFF_CAP_MS: f64 = 20_000.0;

    #[derive(Default)]
    struct Client {
        started: bool,
        socket: Option<WebSocket>,
        last_seq: Option<i64>,
        attempt: u32,
        handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    }

    thread_local! {
        static CLIENT: RefCell<Client> = RefCell::new(Client::default());
    }

    /// Opens the stream once per tab and keeps it open.
    pub fn ensure_connected(updates: JobUpdates) {
        let first = CLIENT.with_borrow_mut(|client| !std::mem::replace(&mut client.started, true));
        if first {
            watch_wake_ups(updates);
            connect(updates);
        }
    }

    fn connect(updates: JobUpdates) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        let scheme = if location.protocol().as_deref() == Ok("https:") {
            "wss"
        } else {
            "ws"
        };
        let host = location.host().unwrap_or_default();
        let after = CLIENT.with_borrow(|client| client.last_seq);
        let query = after.map(|seq| format!("?after={seq}")).unwrap_or_default();
        let Ok(socket) = WebSocket::new(&format!("{scheme}://{host}/ws/jobs{query}")) else {
            schedule_reconnect(updates);
            return;
        };
        if updates.connection.get_untracked() == Connection::Idle {
            updates.connection.set(Connection::Connecting);
        }

        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            CLIENT.with_borrow_mut(|client| client.attempt = 0);
            updates.connection.set(Connection::Live);
        });
        let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
            let Some(text) = event
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            if let Ok(frame) = serde_json::from_str::<StreamFrame>(&text) {
                apply_frame(updates, frame);
            }
        });
        let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            CLIENT.with_borrow_mut(|client| client.socket = None);
            updates.connection.set(Connection::Reconnecting);
            schedule_reconnect(updates);
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        CLIENT.with_borrow_mut(|client| {
            if let Some(old) = client.socket.replace(socket) {
                old.set_onclose(None);
                let _ = old.close();
            }
            client.handlers = vec![on_open, on_message, on_close];
        });
    }

    fn apply_frame(updates: JobUpdates, frame: StreamFrame) {
        match frame {
            StreamFrame::Hello { seq } => {
                let resumed = CLIENT.with_borrow_mut(|client| {
                    let resumed = client.last_seq.is_some();
                    client.last_seq.get_or_insert(seq);
                    resumed
                });
                if !resumed {
                    updates.resync.update(|n| *n += 1);
                }
            }
            StreamFrame::Job { seq, job } => {
                let fresh = CLIENT.with_borrow_mut(|client| {
                    let fresh = client.last_seq.is_none_or(|last| seq > last);
                    if fresh {
                        client.last_seq = Some(seq);
                    }
                    fresh
                });
                if fresh {
                    updates.jobs.update(|jobs| {
                        jobs.insert(job.id, job);
                    });
                }
            }
            StreamFrame::Reset { seq } => {
                CLIENT.with_borrow_mut(|client| client.last_seq = Some(seq));
                updates.resync.update(|n| *n += 1);
            }
        }
    }

    fn schedule_reconnect(updates: JobUpdates) {
        let attempt = CLIENT.with_borrow_mut(|client| {
            client.attempt += 1;
            client.attempt
        });
        let ceiling = (BACKOFF_START_MS * 2f64.powi(attempt as i32 - 1)).min(BACKOFF_CAP_MS);
        // Full jitter between half and all of the ceiling spreads a crowd of reconnecting tabs.
        let delay = ceiling * (0.5 + web_sys::js_sys::Math::random() * 0.5);
        set_timeout(
            move || connect(updates),
            Duration::from_millis(delay as u64),
        );
    }

    /// After sleep, a network change or a return to the tab, reconnect at once instead of
    /// waiting out the backoff.
    fn watch_wake_ups(updates: JobUpdates) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let wake = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let open = CLIENT.with_borrow(|client| {
                client
                    .socket
                    .as_ref()
                    .is_some_and(|s| s.ready_state() <= WebSocket::OPEN)
            });
            if !open {
                CLIENT.with_borrow_mut(|client| client.attempt = 0);
                connect(updates);
            }
        });
        for event in ["online", "focus", "pageshow", "visibilitychange"] {
            let _ = window.add_event_listener_with_callback(event, wake.as_ref().unchecked_ref());
        }
        // The listener lives as long as the tab.
        wake.forget();
    }
}
