//! One client's job stream, independent of the transport: hello, replay from the client's last
//! sequence number, then live frames and heartbeats, written into a bounded queue that the
//! WebSocket or Server-Sent-Events handler drains.
//!
//! A client that stops reading cannot hold anything up: when its queue stays full past
//! [`STALL_LIMIT`] the stream ends, the connection is closed, and the client resumes from its
//! last sequence number on reconnecting.

use super::hub::job_frame;
use crate::jobs::events;
use crate::state::AppState;
use app::model::StreamFrame;
use axum::extract::ws::Utf8Bytes;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use uuid::Uuid;

/// Frames waiting for one client.
pub const QUEUE_FRAMES: usize = 256;
/// How long a full queue may stay full before the client counts as stalled.
pub const STALL_LIMIT: Duration = Duration::from_secs(5);
/// Interval of application heartbeats when nothing else is sent.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(20);
/// Replay at most this many events per database read.
const REPLAY_BATCH: i64 = 500;

/// A frame for the transport: its sequence number (for SSE ids) and its JSON.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub seq: Option<i64>,
    pub json: Utf8Bytes,
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The transport went away.
    ClientGone,
    /// The client did not read its frames in time.
    Stalled,
    /// The server is shutting down.
    ShuttingDown,
    /// The database failed; the client should come back later.
    Failed,
}

/// Opens a stream for `user`; frames arrive on the returned receiver until the stream ends.
pub fn open(
    state: AppState,
    user: Uuid,
    after: Option<i64>,
) -> (mpsc::Receiver<Outgoing>, tokio::task::JoinHandle<Ended>) {
    let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
    let task = tokio::spawn(async move {
        let ended = match produce(&state, user, after, &tx).await {
            Ok(ended) => ended,
            Err(Stop(ended)) => ended,
        };
        state.realtime.unsubscribe(user);
        ended
    });
    (rx, task)
}

struct Stop(Ended);

impl From<sqlx::Error> for Stop {
    fn from(err: sqlx::Error) -> Self {
        tracing::warn!(error = %err, "job stream stopped by a database error");
        Stop(Ended::Failed)
    }
}

async fn produce(
    state: &AppState,
    user: Uuid,
    after: Option<i64>,
    out: &mpsc::Sender<Outgoing>,
) -> Result<Ended, Stop> {
    // The database futures are large and run once or rarely: boxed, they do not stay
    // allocated in every idle stream's task (memory per idle socket is measured; BENCHMARKS.md).
    let mut frames = Box::pin(state.realtime.subscribe(user)).await?;
    let mut shutdown = state.realtime.shutdown_signal();
    let (newest, oldest) = Box::pin(events::bounds(&state.db, user)).await?;
    send_frame(out, &StreamFrame::Hello { seq: newest }, None).await?;

    let mut last = newest;
    if let Some(after) = after {
        // Replay only if every event after `after` is still kept; otherwise say so.
        let kept = after <= newest && oldest.is_none_or(|oldest| after + 1 >= oldest);
        if kept {
            last = after;
            Box::pin(catch_up(state, out, user, &mut last, newest)).await?;
        } else {
            send_frame(out, &StreamFrame::Reset { seq: newest }, Some(newest)).await?;
        }
    }

    let mut heartbeat = tokio::time::interval(HEARTBEAT_EVERY);
    heartbeat.tick().await;
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(frame) if frame.seq <= last => {}
                Ok(frame) => {
                    // A gap means a notice was missed: fill it from the database first.
                    if frame.seq > last + 1 {
                        Box::pin(catch_up(state, out, user, &mut last, frame.seq - 1)).await?;
                    }
                    send(out, Outgoing { seq: Some(frame.seq), json: frame.json.clone() }).await?;
                    last = frame.seq;
                }
                // Fell behind the hub: read what was missed from the database instead.
                Err(RecvError::Lagged(_)) => {
                    Box::pin(catch_up(state, out, user, &mut last, i64::MAX)).await?
                }
                Err(RecvError::Closed) => return Ok(Ended::ShuttingDown),
            },
            _ = heartbeat.tick() => send_frame(out, &StreamFrame::Heartbeat { seq: last }, None).await?,
            _ = shutdown.changed() => return Ok(Ended::ShuttingDown),
            _ = out.closed() => return Ok(Ended::ClientGone),
        }
    }
}

/// Sends the stored events after `last` up to `until`.
async fn catch_up(
    state: &AppState,
    out: &mpsc::Sender<Outgoing>,
    user: Uuid,
    last: &mut i64,
    until: i64,
) -> Result<(), Stop> {
    loop {
        let batch = events::after(&state.db, user, *last, REPLAY_BATCH).await?;
        let done = (batch.len() as i64) < REPLAY_BATCH;
        for event in batch.into_iter().take_while(|e| e.seq <= until) {
            let json = Utf8Bytes::from(job_frame(event.seq, &event.payload));
            send(
                out,
                Outgoing {
                    seq: Some(event.seq),
                    json,
                },
            )
            .await?;
            *last = event.seq;
        }
        if done || *last >= until {
            return Ok(());
        }
    }
}

async fn send_frame(
    out: &mpsc::Sender<Outgoing>,
    frame: &StreamFrame,
    seq: Option<i64>,
) -> Result<(), Stop> {
    let json = serde_json::to_string(frame).expect("stream frames always serialise");
    send(
        out,
        Outgoing {
            seq,
            json: Utf8Bytes::from(json),
        },
    )
    .await
}

async fn send(out: &mpsc::Sender<Outgoing>, frame: Outgoing) -> Result<(), Stop> {
    match out.send_timeout(frame, STALL_LIMIT).await {
        Ok(()) => Ok(()),
        Err(mpsc::error::SendTimeoutError::Timeout(_)) => Err(Stop(Ended::Stalled)),
        Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(Stop(Ended::ClientGone)),
    }
}
