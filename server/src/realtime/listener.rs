//! PostgreSQL LISTEN: how an instance hears of changes committed by any instance.

use super::Realtime;
use crate::jobs::events::CHANNEL;
use sqlx::postgres::PgListener;
use std::time::Duration;
use uuid::Uuid;

/// Keeps one listening connection open for the life of the process.
pub fn spawn_pg_listener(database_url: String, hub: Realtime) {
    tokio::spawn(async move {
        loop {
            let result = listen(&database_url, &hub).await;
            hub.set_listener_up(false);
            if let Err(err) = result {
                tracing::warn!(error = %err, "job event listener lost its connection; reconnecting");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

async fn listen(database_url: &str, hub: &Realtime) -> anyhow::Result<()> {
    let mut listener = PgListener::connect(database_url).await?;
    listener.listen(CHANNEL).await?;
    // LISTEN is in place before we look back, so nothing falls between the two.
    hub.set_listener_up(true);
    hub.catch_up_all();
    tracing::info!("listening for job events");
    loop {
        match listener.try_recv().await? {
            Some(notification) => {
                if let Some((user, seq)) = parse(notification.payload()) {
                    hub.notice(user, seq);
                }
            }
            // The connection dropped; `try_recv` reconnects and re-listens on the next call.
            None => {
                tracing::warn!("job event listener reconnected");
                hub.catch_up_all();
            }
        }
    }
}

fn parse(payload: &str) -> Option<(Uuid, i64)> {
    let (user, seq) = payload.split_once(':')?;
    Some((Uuid::parse_str(user).ok()?, seq.parse().ok()?))
}
