//! Live updates that never lose one: resume, Server-Sent Events, slow clients, shutdown, and a
//! fault-injection run with connections and a server killed at random moments.

mod common;

use common::{on_postgres, spawn_app};
use futures::StreamExt;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn post_progress(
    http: &reqwest::Client,
    base: &str,
    job_id: &str,
    token: &str,
    percent: u8,
) -> bool {
    let body =
        json!({ "status": "IN_PROGRESS", "output": { "kind": "progress", "percent": percent } });
    let url = format!("{base}/api/webhooks/builtin/{job_id}/{token}");
    matches!(
        http.post(url)
            .json(&body)
            .send()
            .await
            .map(|r| r.status().as_u16()),
        Ok(200)
    )
}

#[tokio::test]
async fn server_sent_events_carry_the_same_stream_and_resume_from_last_event_id() {
    let app = spawn_app().await;
    let user = app.register().await;
    let job_id = app.job_with_token(&user, "sse-token").await;
    for percent in 1..=3 {
        assert!(post_progress(&app.http, &app.base, &job_id, "sse-token", percent).await);
    }
    let response = app
        .http
        .get(app.url("/api/jobs/events"))
        .header("cookie", &user.cookie)
        .header("last-event-id", "1")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut body = response.bytes_stream();
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("\"progress\":3") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("events in time")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("\"type\":\"hello\""), "{text}");
    assert!(
        !text.contains("id: 1\n"),
        "event 1 was before Last-Event-ID: {text}"
    );
    assert!(
        text.contains("id: 2\n") && text.contains("id: 3\n"),
        "{text}"
    );

    assert!(post_progress(&app.http, &app.base, &job_id, "sse-token", 4).await);
    while !text.contains("\"progress\":4") {
        let chunk = tokio::time::timeout_at(deadline, body.next())
            .await
            .expect("live event")
            .unwrap()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("id: 4\n"));
    let anonymous = app
        .http
        .get(app.url("/api/jobs/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn a_client_that_stops_reading_is_cut_off_without_slowing_others() {
    let app = spawn_app().await;
    let user = app.register().await;
    let job_id = app.job_with_token(&user, "slow-token").await;
    let me: Value = app.get(Some(&user), "/api/me").await.json().await.unwrap();
    let user_id = uuid::Uuid::parse_str(me["id"].as_str().unwrap()).unwrap();
    // A stream nobody reads, and a healthy client beside it.
    let (_unread, producer) = server::realtime::stream::open(app.state().clone(), user_id, Some(0));
    let mut healthy = app.connect_stream(&user, None).await;
    healthy.next_frame(Duration::from_secs(5)).await.unwrap();

    // More changes than the stalled client's queue holds (progress only rises to 99, so
    // alternate two jobs' worth of events by re-queueing progress through new jobs).
    let mut sent = 0;
    let mut jobs = vec![job_id];
    while sent < server::realtime::stream::QUEUE_FRAMES + 20 {
        let token = format!("slow-token-{}", jobs.len());
        let job = app.job_with_token(&user, &token).await;
        for percent in 1..=40 {
            assert!(post_progress(&app.http, &app.base, &job, &token, percent).await);
            sent += 1;
        }
        jobs.push(job);
    }
    let mut received = 0;
    while received < sent {
        let frame = healthy
            .next_frame(Duration::from_secs(10))
            .await
            .expect("healthy client keeps up");
        if frame["type"] == "job" {
            received += 1;
        }
    }
    let ended = tokio::time::timeout(Duration::from_secs(15), producer)
        .await
        .expect("stalled stream ends")
        .unwrap();
    assert_eq!(ended, server::realtime::stream::Ended::Stalled);
    app.stop().await;
}

#[tokio::test]
async fn a_shutdown_closes_sockets_with_going_away_and_clients_resume_elsewhere() {
    let first = spawn_app().await;
    let user = first.register().await;
    let job_id = first.job_with_token(&user, "shutdown-token").await;
    let mut stream = first.connect_stream(&user, None).await;
    stream.next_frame(Duration::from_secs(5)).await.unwrap();
    assert!(post_progress(&first.http, &first.base, &job_id, "shutdown-token", 10).await);
    let seen = stream.next_frame(Duration::from_secs(5)).await.unwrap();
    let last_seq = seen["seq"].as_i64().unwrap();

    let second = first.spawn_peer().await;
    let socket = &mut stream.socket;
    let first_base = first.base.clone();
    first.stop().await;
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(message) = socket.next().await {
            if let Ok(Message::Close(frame)) = message {
                return frame.map(|f| u16::from(f.code));
            }
        }
        None
    })
    .await
    .expect("the server closed the socket");
    assert_eq!(close, Some(1001), "going away");
    assert!(
        reqwest::get(format!("{first_base}/healthz")).await.is_err(),
        "first instance is down"
    );

    assert!(post_progress(&second.http, &second.base, &job_id, "shutdown-token", 20).await);
    let mut resumed = second.connect_stream(&user, Some(last_seq)).await;
    resumed.next_frame(Duration::from_secs(5)).await.unwrap();
    let frame = resumed.next_frame(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        (frame["seq"].as_i64(), frame["job"]["progress"].as_u64()),
        (Some(last_seq + 1), Some(20))
    );
    second.stop().await;
}

/// What one client saw: sequence numbers and job ids in arrival order.
type Seen = Arc<Mutex<Vec<(i64, String)>>>;

/// A client that reconnects to whichever instance is up, resuming from its last sequence, and
/// sometimes drops its own connection at random.
async fn flaky_client(
    cookie: String,
    instances: Arc<Mutex<Vec<String>>>,
    seen: Seen,
    stop: Arc<tokio::sync::Notify>,
    seed: u64,
) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    // The client starts before any job changed, so it wants everything from the first event.
    let mut last: Option<i64> = Some(0);
    loop {
        let base = instances.lock().unwrap().last().cloned().unwrap();
        let query = last.map(|s| format!("?after={s}")).unwrap_or_default();
        let mut request = format!("{}/ws/jobs{query}", base.replace("http://", "ws://"))
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("cookie", cookie.parse().unwrap());
        let Ok((mut socket, _)) = tokio_tungstenite::connect_async(request).await else {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(20..100))).await;
            continue;
        };
        loop {
            let message = tokio::select! {
                m = socket.next() => m,
                _ = stop.notified() => return,
            };
            let Some(Ok(Message::Text(text))) = message else {
                break;
            };
            let frame: Value = serde_json::from_str(&text).unwrap();
            if frame["type"] == "job" {
                let seq = frame["seq"].as_i64().unwrap();
                seen.lock()
                    .unwrap()
                    .push((seq, frame["job"]["id"].as_str().unwrap().to_string()));
                last = Some(seq);
            }
            // Client-side failures: the connection just vanishes.
            if rng.gen_bool(0.05) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..50))).await;
    }
}

#[tokio::test]
async fn under_random_faults_every_client_sees_each_of_its_events_once_in_order() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut current = spawn_app().await;
    let users = [
        current.register().await,
        current.register().await,
        current.register().await,
    ];
    let mut jobs: HashMap<usize, Vec<(String, String)>> = HashMap::new();
    for (u, user) in users.iter().enumerate() {
        for j in 0..3 {
            let token = format!("fault-{u}-{j}");
            jobs.entry(u)
                .or_default()
                .push((current.job_with_token(user, &token).await, token));
        }
    }
    let instances = Arc::new(Mutex::new(vec![current.base.clone()]));
    let stop = Arc::new(tokio::sync::Notify::new());
    let mut clients = Vec::new();
    for (u, user) in users.iter().enumerate() {
        for c in 0..2 {
            let seen: Seen = Arc::default();
            let task = tokio::spawn(flaky_client(
                user.cookie.clone(),
                instances.clone(),
                seen.clone(),
                stop.clone(),
                (u * 10 + c) as u64,
            ));
            clients.push((u, seen, task));
        }
    }

    // Every job of every user reports progress 1..=15, interleaved at random.
    let mut pending: Vec<(usize, usize, u8)> = (0..3)
        .flat_map(|u| (0..3).flat_map(move |j| (1..=15).map(move |p| (u, j, p))))
        .collect();
    let mut next_progress: HashMap<(usize, usize), u8> = HashMap::new();
    let total = pending.len();
    let mut sent = 0;
    while !pending.is_empty() {
        let index = rng.gen_range(0..pending.len());
        let (u, j, _) = pending[index];
        let percent = next_progress.entry((u, j)).or_insert(0);
        *percent += 1;
        pending.retain(|&(pu, pj, pp)| !(pu == u && pj == j && pp == *percent));
        let (job_id, token) = &jobs[&u][j];
        let base = instances.lock().unwrap().last().cloned().unwrap();
        while !post_progress(&current.http, &base, job_id, token, *percent).await {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        sent += 1;
        if sent == total / 2 {
            // A server restart: a new instance takes over, the old one goes away.
            let next = current.spawn_peer().await;
            instances.lock().unwrap().push(next.base.clone());
            let old = std::mem::replace(&mut current, next);
            old.stop().await;
        }
        if on_postgres() && sent % 40 == 0 {
            sqlx::query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'")
                .execute(&current.state().db.pool)
                .await
                .unwrap();
        }
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    for (u, seen, _) in &clients {
        let own: Vec<&String> = jobs[u].iter().map(|(id, _)| id).collect();
        loop {
            let count = seen.lock().unwrap().len();
            if count >= 45 || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let seen = seen.lock().unwrap().clone();
        let seqs: Vec<i64> = seen.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            seqs,
            (1..=45).collect::<Vec<_>>(),
            "user {u}: every event once, in order"
        );
        assert!(
            seen.iter().all(|(_, job)| own.contains(&job)),
            "user {u} saw someone else's job"
        );
    }
    stop.notify_waiters();
    for (_, _, task) in clients {
        task.abort();
    }
    current.stop().await;
}
