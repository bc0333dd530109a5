//! `GET /ws/jobs[?after=SEQ]`: the live job stream of the signed-in user.
//!
//! Authenticated by the session cookie (never a token in the URL). The server says hello with
//! the newest sequence number, replays what the client missed after `after`, then goes live.
//! Every frame carries its sequence number; the socket never sends one twice or out of order.

use super::hub::job_frame;
use super::Frame;
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::jobs::events;
use crate::state::AppState;
use app::model::StreamFrame;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

/// Server ping interval; a socket that stays silent for two of them is dropped.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Close code for "going away" (server shutting down).
const GOING_AWAY: u16 = 1001;
/// Close code for a client that fell too far behind or stopped answering.
const TRY_AGAIN: u16 = 1013;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws/jobs", get(stream_jobs))
}

#[derive(Deserialize)]
struct StreamQuery {
    after: Option<i64>,
}

async fn stream_jobs(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<StreamQuery>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    check_origin(&headers)?;
    let user_id = user.user.id;
    // Small buffers: thousands of idle sockets must stay cheap.
    let upgrade = upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(64 * 1024);

    Ok(upgrade.on_upgrade(move |socket| async move {
        let hub = state.realtime.clone();
        if let Err(err) = run(&state, socket, user_id, query.after).await {
            tracing::debug!(user.id = %user_id, error = %err, "job stream ended");
        }
        hub.unsubscribe(user_id);
    }))
}

/// Refuses cross-site pages: a WebSocket handshake carries cookies from any origin.
fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    if origin_host.eq_ignore_ascii_case(host) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "cross_origin",
            "Live updates are only available to Rekindle's own pages.",
        ))
    }
}

async fn run(
    state: &AppState,
    mut socket: WebSocket,
    user: Uuid,
    after: Option<i64>,
) -> anyhow::Result<()> {
    let mut frames = state.realtime.subscribe(user).await?;
    let mut shutdown = state.realtime.shutdown_signal();
    let (newest, oldest) = events::bounds(&state.db, user).await?;
    send(&mut socket, &StreamFrame::Hello { seq: newest }).await?;

    let mut last = newest;
    if let Some(after) = after {
        // Replay only if every event after `after` is still kept; otherwise say so.
        let kept = after <= newest && oldest.is_none_or(|oldest| after + 1 >= oldest);
        if kept {
            last = after;
            catch_up(state, &mut socket, user, &mut last, newest).await?;
        } else {
            send(&mut socket, &StreamFrame::Reset { seq: newest }).await?;
        }
    }

    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut silent_pings = 0u8;
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Ok(frame) => forward(state, &mut socket, user, &mut last, &frame).await?,
                // Fell behind the channel: read what was missed from the database instead.
                Err(RecvError::Lagged(_)) => catch_up(state, &mut socket, user, &mut last, i64::MAX).await?,
                Err(RecvError::Closed) => return Ok(()),
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(()),
                Some(Ok(_)) => silent_pings = 0,
            },
            _ = ping.tick() => {
                if silent_pings >= 2 {
                    return close(&mut socket, TRY_AGAIN, "no answer to ping").await;
                }
                silent_pings += 1;
                socket.send(Message::Ping(Default::default())).await?;
            }
            _ = shutdown.changed() => {
                return close(&mut socket, GOING_AWAY, "server restarting").await;
            }
        }
    }
}

/// Sends a live frame, first filling any gap before it from the database.
async fn forward(
    state: &AppState,
    socket: &mut WebSocket,
    user: Uuid,
    last: &mut i64,
    frame: &Arc<Frame>,
) -> anyhow::Result<()> {
    if frame.seq <= *last {
        return Ok(());
    }
    if frame.seq > *last + 1 {
        catch_up(state, socket, user, last, frame.seq - 1).await?;
    }
    socket.send(Message::Text(frame.json.clone())).await?;
    *last = frame.seq;

    Ok(())
}

/// Sends the stored events after `last` up to `until`.
async fn catch_up(
    state: &AppState,
    socket: &mut WebSocket,
    user: Uuid,
    last: &mut i64,
    until: i64,
) -> anyhow::Result<()> {
    loop {
        let batch = events::after(&state.db, user, *last, 500).await?;
        let done = batch.len() < 500;
        for event in batch.into_iter().take_while(|e| e.seq <= until) {
            socket
                .send(Message::Text(Utf8Bytes::from(job_frame(
                    event.seq,
                    &event.payload,
                ))))
                .await?;
            *last = event.seq;
        }
        if done || *last >= until {
            return Ok(());
        }
    }
}

async fn send(socket: &mut WebSocket, frame: &StreamFrame) -> anyhow::Result<()> {
    let json = serde_json::to_string(frame)?;
    socket.send(Message::Text(json.into())).await?;

    Ok(())
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) -> anyhow::Result<()> {
    let frame = CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    };
    socket.send(Message::Close(Some(frame))).await?;

    Ok(())
}
