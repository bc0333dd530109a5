//! `GET /ws/jobs[?after=SEQ]`: the live job stream of the signed-in user over a WebSocket.
//!
//! Authenticated by the session cookie (never a token in the URL) and refused to other
//! origins. The frames come from [`super::stream`]; this handler adds protocol pings (a peer
//! that misses two is dropped) and close codes that tell the client what happened.

use super::stream::{self, Ended, STALL_LIMIT};
use crate::auth::CurrentUser;
use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use std::time::Duration;
use uuid::Uuid;

/// Server ping interval; a socket that leaves two unanswered is dropped.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Close code for "going away" (the server is shutting down: reconnect anywhere).
pub const GOING_AWAY: u16 = 1001;
/// Close code for a client that fell behind or stopped answering: reconnect and resume.
pub const TRY_AGAIN: u16 = 1013;

pub fn router() -> Router<AppState> {
    Router::new().route("/ws/jobs", get(stream_jobs))
}

#[derive(Deserialize)]
pub struct StreamQuery {
    pub after: Option<i64>,
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
    // Small buffers: many idle sockets must stay cheap.
    let upgrade = upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(256 * 1024)
        .max_message_size(64 * 1024);

    Ok(upgrade.on_upgrade(move |socket| run(state, socket, user_id, query.after)))
}

/// Refuses cross-site pages: a WebSocket handshake carries cookies from any origin.
pub fn check_origin(headers: &HeaderMap) -> Result<(), ApiError> {
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

async fn run(state: AppState, mut socket: WebSocket, user: Uuid, after: Option<i64>) {
    state.realtime.socket_opened();
    let (mut frames, producer) = stream::open(state.clone(), user, after);
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    let mut unanswered = 0u8;
    let ended = loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Some(frame) => {
                    let sent = tokio::time::timeout(STALL_LIMIT, socket.send(Message::Text(frame.json))).await;
                    if !matches!(sent, Ok(Ok(()))) {
                        break Ended::Stalled;
                    }
                }
                None => break producer.await.unwrap_or(Ended::Failed),
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break Ended::ClientGone,
                Some(Ok(_)) => unanswered = 0,
            },
            _ = ping.tick() => {
                if unanswered >= 2 {
                    break Ended::Stalled;
                }
                unanswered += 1;
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break Ended::ClientGone;
                }
            }
        }
    };
    drop(frames);
    let close = match ended {
        Ended::ClientGone => None,
        Ended::ShuttingDown => Some((GOING_AWAY, "server restarting")),
        Ended::Stalled => Some((TRY_AGAIN, "connection too slow; resume")),
        Ended::Failed => Some((TRY_AGAIN, "temporarily unavailable; resume")),
    };
    if let Some((code, reason)) = close {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            socket.send(Message::Close(Some(frame))),
        )
        .await;
    }
    state.realtime.socket_closed();
    tracing::debug!(user.id = %user, ?ended, "job stream closed");
}
