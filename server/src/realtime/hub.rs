//! The per-instance hub: one broadcast channel per connected user.

use crate::db::Db;
use crate::jobs::events;
use axum::extract::ws::Utf8Bytes;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

/// Frames a slow socket may fall behind before it must catch up from the database.
const CHANNEL_CAPACITY: usize = 64;

/// One job event, serialised once for every socket.
#[derive(Debug, Clone)]
pub struct Frame {
    pub seq: i64,
    pub json: Utf8Bytes,
}

struct UserChannel {
    sender: broadcast::Sender<Arc<Frame>>,
    /// The newest sequence number already broadcast.
    last_seq: i64,
}

struct Inner {
    db: Db,
    users: Mutex<HashMap<Uuid, UserChannel>>,
    notices: mpsc::UnboundedSender<(Uuid, i64)>,
    /// True when PostgreSQL notifications feed the hub; then local notices are not needed.
    listening: bool,
    /// Open WebSockets on this instance.
    open_sockets: std::sync::atomic::AtomicUsize,
    /// False while the PostgreSQL listener is reconnecting.
    listener_up: std::sync::atomic::AtomicBool,
    shutdown: watch::Sender<bool>,
}

/// Handle to the hub; cheap to clone.
#[derive(Clone)]
pub struct Realtime {
    inner: Arc<Inner>,
}

impl Realtime {
    /// Starts the hub. With `listening`, committed changes arrive from the PostgreSQL listener.
    pub fn start(db: Db, listening: bool) -> Realtime {
        let (notices, mut rx) = mpsc::unbounded_channel();
        let (shutdown, _) = watch::channel(false);
        let hub = Realtime {
            inner: Arc::new(Inner {
                db,
                users: Mutex::new(HashMap::new()),
                notices,
                listening,
                open_sockets: Default::default(),
                listener_up: std::sync::atomic::AtomicBool::new(!listening),
                shutdown,
            }),
        };
        let worker = hub.clone();
        tokio::spawn(async move {
            while let Some((user, seq)) = rx.recv().await {
                worker.publish(user, seq).await;
            }
        });
        hub
    }

    /// Called after the transaction that recorded `event` has committed: the event goes
    /// straight to this instance's sockets, without reading it back. (With PostgreSQL the
    /// other instances get it from the notice; this one skips its own notice, already sent.)
    pub fn committed(&self, event: &events::Recorded) {
        self.deliver(event.user_id, event.seq, &event.payload, event.created_at);
    }

    /// Broadcasts event `seq` of `user` whose payload is known. If events before it have not
    /// been sent yet (another commit's delivery is still on its way), they are read from the
    /// database first, in order.
    pub fn deliver(&self, user: Uuid, seq: i64, payload: &str, created_at: i64) {
        let mut users = self.lock();
        let Some(channel) = users.get_mut(&user) else {
            return;
        };
        if seq <= channel.last_seq {
            return;
        }
        if seq > channel.last_seq + 1 {
            drop(users);
            self.notice(user, seq);
            return;
        }
        channel.last_seq = seq;
        let frame = Frame {
            seq,
            json: Utf8Bytes::from(job_frame(seq, payload)),
        };
        let _ = channel.sender.send(Arc::new(frame));
        drop(users);
        self.observe_delay(created_at);
    }

    /// Queues "user reached seq" for broadcasting (from the listener or a local commit).
    pub fn notice(&self, user: Uuid, seq: i64) {
        // The receiver lives as long as the hub; a send can only fail during shutdown.
        let _ = self.inner.notices.send((user, seq));
    }

    /// After the listener lost its connection: every connected user may have missed events.
    pub fn catch_up_all(&self) {
        let users: Vec<Uuid> = self.lock().keys().copied().collect();
        for user in users {
            self.notice(user, i64::MAX);
        }
    }

    /// Subscribes a socket to a user's frames.
    pub async fn subscribe(
        &self,
        user: Uuid,
    ) -> Result<broadcast::Receiver<Arc<Frame>>, sqlx::Error> {
        if let Some(channel) = self.lock().get(&user) {
            return Ok(channel.sender.subscribe());
        }
        let (newest, _) = events::bounds(&self.inner.db, user).await?;
        let mut users = self.lock();
        let channel = users.entry(user).or_insert_with(|| UserChannel {
            sender: broadcast::channel(CHANNEL_CAPACITY).0,
            last_seq: newest,
        });

        Ok(channel.sender.subscribe())
    }

    /// Drops a user's channel once their last socket is gone.
    pub fn unsubscribe(&self, user: Uuid) {
        let mut users = self.lock();
        if users
            .get(&user)
            .is_some_and(|c| c.sender.receiver_count() == 0)
        {
            users.remove(&user);
        }
    }

    /// Records whether the PostgreSQL listener is connected.
    pub fn set_listener_up(&self, up: bool) {
        self.inner
            .listener_up
            .store(up, std::sync::atomic::Ordering::Relaxed);
    }

    /// True when committed changes reach this instance (always, without a listener).
    pub fn listener_up(&self) -> bool {
        self.inner
            .listener_up
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Counts a WebSocket opening.
    pub fn socket_opened(&self) {
        crate::metrics::METRICS.open_websockets.inc();
        self.inner
            .open_sockets
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts a WebSocket closing.
    pub fn socket_closed(&self) {
        crate::metrics::METRICS.open_websockets.dec();
        self.inner
            .open_sockets
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Open WebSockets on this instance.
    pub fn open_sockets(&self) -> usize {
        self.inner
            .open_sockets
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Number of users with at least one open socket on this instance.
    pub fn connected_users(&self) -> usize {
        self.lock().len()
    }

    /// A receiver that turns true when the server is shutting down.
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Tells every socket to close with "going away".
    pub fn shut_down(&self) {
        self.inner.shutdown.send_replace(true);
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    async fn publish(&self, user: Uuid, seq: i64) {
        let Some(last) = self.lock().get(&user).map(|c| c.last_seq) else {
            return;
        };
        if seq <= last {
            return;
        }
        let events = match events::after(&self.inner.db, user, last, 1000).await {
            Ok(events) => events,
            Err(err) => {
                // Sockets fill the gap themselves on the next frame or reconnect.
                tracing::warn!(user.id = %user, error = %err, "could not read new job events");
                return;
            }
        };
        self.observe_delivery(&events);
        let mut users = self.lock();
        let Some(channel) = users.get_mut(&user) else {
            return;
        };
        for event in events {
            if event.seq <= channel.last_seq {
                continue;
            }
            channel.last_seq = event.seq;
            let frame = Frame {
                seq: event.seq,
                json: Utf8Bytes::from(job_frame(event.seq, &event.payload)),
            };
            // No receivers is fine: the last socket just left.
            let _ = channel.sender.send(Arc::new(frame));
        }
    }

    /// Records how long each event took from being recorded to being broadcast here.
    fn observe_delivery(&self, events: &[events::EventRow]) {
        for event in events {
            self.observe_delay(event.created_at);
        }
    }

    /// Records how long after its commit an event reached the sockets.
    fn observe_delay(&self, created_at: i64) {
        let path = if self.inner.listening {
            "listen"
        } else {
            "local"
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        crate::metrics::METRICS
            .notification_seconds
            .with_label_values(&[path])
            .observe((now_ms - created_at).max(0) as f64 / 1000.0);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, UserChannel>> {
        self.inner
            .users
            .lock()
            .expect("the hub's lock is never held across a panic")
    }
}

/// The wire form of a job event; the payload is already `JobView` JSON.
pub fn job_frame(seq: i64, payload: &str) -> String {
    format!(r#"{{"type":"job","seq":{seq},"job":{payload}}}"#)
}
