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
    use web_sys::{EventSource, MessageEvent, WebSocket};

    /// Reconnect delays grow from this...
    const BACKOFF_START_MS: f64 = 500.0;
    /// ...up to this cap.
    const BACKOFF_CAP_MS: f64 = 20_000.0;
    /// The server sends something at least every 20 s; silence this long means a dead link.
    const SILENCE_LIMIT_MS: f64 = 50_000.0;
    /// WebSocket attempts that never open before falling back to Server-Sent Events.
    const WEBSOCKET_TRIES: u32 = 2;

    type Handler = Closure<dyn FnMut(web_sys::Event)>;

    /// The open transport: a WebSocket, or Server-Sent Events where WebSockets are blocked.
    enum Transport {
        Socket(WebSocket),
        Events(EventSource),
    }

    impl Transport {
        fn close(&self) {
            match self {
                Transport::Socket(socket) => {
                    socket.set_onclose(None);
                    let _ = socket.close();
                }
                Transport::Events(source) => source.close(),
            }
        }
    }

    #[derive(Default)]
    struct Client {
        started: bool,
        transport: Option<Transport>,
        opened: bool,
        last_seq: Option<i64>,
        attempt: u32,
        failed_sockets: u32,
        last_message_ms: f64,
        handlers: Vec<Handler>,
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

    fn now_ms() -> f64 {
        web_sys::js_sys::Date::now()
    }

    fn connect(updates: JobUpdates) {
        let use_events = CLIENT.with_borrow(|c| c.failed_sockets >= WEBSOCKET_TRIES);
        let transport = if use_events {
            open_events(updates)
        } else {
            open_socket(updates)
        };
        let Some((transport, handlers)) = transport else {
            schedule_reconnect(updates);
            return;
        };
        if updates.connection.get_untracked() == Connection::Idle {
            updates.connection.set(Connection::Connecting);
        }
        CLIENT.with_borrow_mut(|client| {
            if let Some(old) = client.transport.replace(transport) {
                old.close();
            }
            client.opened = false;
            client.last_message_ms = now_ms();
            client.handlers = handlers;
        });
    }

    fn stream_url(path: &str, scheme_for_ws: bool) -> Option<String> {
        let location = web_sys::window()?.location();
        let secure = location.protocol().as_deref() == Ok("https:");
        let host = location.host().ok()?;
        let after = CLIENT.with_borrow(|client| client.last_seq);
        let query = after.map(|seq| format!("?after={seq}")).unwrap_or_default();
        Some(if scheme_for_ws {
            format!(
                "{}://{host}{path}{query}",
                if secure { "wss" } else { "ws" }
            )
        } else {
            format!("{path}{query}")
        })
    }

    fn open_socket(updates: JobUpdates) -> Option<(Transport, Vec<Handler>)> {
        let socket = WebSocket::new(&stream_url("/ws/jobs", true)?).ok()?;
        let on_open = Handler::new(move |_| opened(updates));
        let on_message = Handler::new(move |event: web_sys::Event| received(updates, &event));
        let on_close = Handler::new(move |_| {
            let never_opened = CLIENT.with_borrow_mut(|client| {
                client.transport = None;
                !client.opened
            });
            if never_opened {
                CLIENT.with_borrow_mut(|client| client.failed_sockets += 1);
            }
            updates.connection.set(Connection::Reconnecting);
            schedule_reconnect(updates);
        });
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        Some((
            Transport::Socket(socket),
            vec![on_open, on_message, on_close],
        ))
    }

    /// Server-Sent Events reconnect by themselves and resume with `Last-Event-ID`.
    fn open_events(updates: JobUpdates) -> Option<(Transport, Vec<Handler>)> {
        let source = EventSource::new(&stream_url("/api/jobs/events", false)?).ok()?;
        let on_open = Handler::new(move |_| opened(updates));
        let on_message = Handler::new(move |event: web_sys::Event| received(updates, &event));
        let on_error = Handler::new(move |_| updates.connection.set(Connection::Reconnecting));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));

        Some((
            Transport::Events(source),
            vec![on_open, on_message, on_error],
        ))
    }

    fn opened(updates: JobUpdates) {
        CLIENT.with_borrow_mut(|client| {
            client.attempt = 0;
            client.opened = true;
            client.failed_sockets = 0;
            client.last_message_ms = now_ms();
        });
        updates.connection.set(Connection::Live);
    }

    fn received(updates: JobUpdates, event: &web_sys::Event) {
        CLIENT.with_borrow_mut(|client| client.last_message_ms = now_ms());
        let Some(text) = event
            .dyn_ref::<MessageEvent>()
            .and_then(|m| m.data().as_string())
        else {
            return;
        };
        if let Ok(frame) = serde_json::from_str::<StreamFrame>(&text) {
            apply_frame(updates, frame);
        }
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
            StreamFrame::Heartbeat { .. } => {}
        }
    }

    fn schedule_reconnect(updates: JobUpdates) {
        let attempt = CLIENT.with_borrow_mut(|client| {
            client.attempt += 1;
            client.attempt
        });
        let ceiling = (BACKOFF_START_MS * 2f64.powi(attempt as i32 - 1)).min(BACKOFF_CAP_MS);
        // Jitter between half and all of the ceiling spreads a crowd of reconnecting tabs.
        let delay = ceiling * (0.5 + web_sys::js_sys::Math::random() * 0.5);
        set_timeout(
            move || connect(updates),
            Duration::from_millis(delay as u64),
        );
    }

    /// True when the transport is open and has heard from the server recently.
    fn healthy() -> bool {
        CLIENT.with_borrow(|client| {
            let open = match &client.transport {
                Some(Transport::Socket(socket)) => socket.ready_state() <= WebSocket::OPEN,
                Some(Transport::Events(source)) => source.ready_state() != EventSource::CLOSED,
                None => false,
            };
            open && now_ms() - client.last_message_ms < SILENCE_LIMIT_MS
        })
    }

    /// After sleep, a network change or a return to the tab, and whenever the server has gone
    /// quiet for too long, reconnect at once instead of waiting out the backoff.
    fn watch_wake_ups(updates: JobUpdates) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let wake = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            if !healthy() {
                CLIENT.with_borrow_mut(|client| client.attempt = 0);
                updates.connection.set(Connection::Reconnecting);
                connect(updates);
            }
        });
        for event in ["online", "focus", "pageshow", "visibilitychange"] {
            let _ = window.add_event_listener_with_callback(event, wake.as_ref().unchecked_ref());
        }
        // The listener lives as long as the tab.
        wake.forget();
        let _ = set_interval_with_handle(
            move || {
                let stale = CLIENT.with_borrow(|c| c.transport.is_some()) && !healthy();
                if stale {
                    updates.connection.set(Connection::Reconnecting);
                    connect(updates);
                }
            },
            Duration::from_secs(10),
        );
    }
}
