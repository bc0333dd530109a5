//! `GET /api/jobs/events`: the same job stream as Server-Sent Events, for networks that block
//! WebSockets. `Last-Event-ID` (sent by browsers on reconnect) resumes like `?after=`.

use super::stream;
use crate::auth::CurrentUser;
use crate::state::AppState;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use axum::Router;
use futures::Stream;
use std::convert::Infallible;
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/jobs/events", get(stream_job_events))
}

async fn stream_job_events(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Query(query): Query<super::ws::StreamQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let last_event_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok());
    let (frames, _producer) = stream::open(state, user.user.id, last_event_id.or(query.after));
    let events = futures::stream::unfold(frames, |mut frames| async move {
        let frame = frames.recv().await?;
        let mut event = Event::default().data(frame.json.as_str());
        if let Some(seq) = frame.seq {
            event = event.id(seq.to_string());
        }
        Some((Ok(event), frames))
    });

    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
