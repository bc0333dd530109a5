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
            Some(notification) => match parse(notification.payload()) {
                Some(Notice {
                    user,
                    seq,
                    event: Some((created_at, payload)),
                }) => hub.deliver(user, seq, payload, created_at),
                Some(Notice {
                    user,
                    seq,
                    event: None,
                }) => hub.notice(user, seq),
                None => tracing::warn!("unreadable job event notice"),
            },
            // The connection dropped; `try_recv` reconnects and re-listens on the next call.
            None => {
                tracing::warn!("job event listener reconnected");
                hub.catch_up_all();
            }
        }
    }
}

/// A notice: `user:seq`, or `user:seq:created_at:payload` when the event was small enough to
/// travel along.
struct Notice<'a> {
    user: Uuid,
    seq: i64,
    event: Option<(i64, &'a str)>,
}

fn parse(notice: &str) -> Option<Notice<'_>> {
    let mut parts = notice.splitn(4, ':');
    let user = Uuid::parse_str(parts.next()?).ok()?;
    let seq = parts.next()?.parse().ok()?;
    let event = match (parts.next(), parts.next()) {
        (Some(created_at), Some(payload)) => Some((created_at.parse().ok()?, payload)),
        _ => None,
    };
    Some(Notice { user, seq, event })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_carries_the_event_when_it_fits() {
        let user = Uuid::new_v4();
        let text = format!("{user}:42:1700000000000:{{\"stage\":\"a:b\"}}");
        let notice = parse(&text).unwrap();
        assert_eq!((notice.user, notice.seq), (user, 42));
        assert_eq!(notice.event, Some((1700000000000, "{\"stage\":\"a:b\"}")));
    }

    #[test]
    fn a_notice_without_the_event_is_read_from_the_table() {
        let user = Uuid::new_v4();
        let text = format!("{user}:7");
        let notice = parse(&text).unwrap();
        assert_eq!((notice.user, notice.seq, notice.event), (user, 7, None));
        assert!(parse("not-a-user:7").is_none());
        assert!(parse(&format!("{user}:x")).is_none());
    }
}
