//! PostgreSQL in production: several instances share one database, and a webhook handled by
//! one instance reaches a browser connected to another, without loss, even when the listening
//! connection is killed. These tests run when `REKINDLE_TEST_DB=postgres`.

mod common;

use common::{on_postgres, spawn_app};
use std::time::Duration;

/// Reads frames until progress `last` arrives; returns the progress values in arrival order.
async fn progress_until(stream: &mut common::Stream, last: u64) -> Vec<(i64, u64)> {
    let mut seen = Vec::new();
    while let Some(frame) = stream.next_frame(Duration::from_secs(30)).await {
        if frame["type"] == "job" {
            let progress = frame["job"]["progress"].as_u64().unwrap();
            seen.push((frame["seq"].as_i64().unwrap(), progress));
            if progress == last {
                break;
            }
        }
    }
    seen
}

fn assert_exactly_once_in_order(seen: &[(i64, u64)], count: u64) {
    let progress: Vec<u64> = seen.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        progress,
        (1..=count).collect::<Vec<_>>(),
        "every update exactly once, in order"
    );
    let seqs: Vec<i64> = seen.iter().map(|(s, _)| *s).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gap-free sequence: {seqs:?}"
    );
}

#[tokio::test]
async fn a_socket_on_one_instance_sees_a_job_run_through_another() {
    if !on_postgres() {
        eprintln!("skipped: runs with REKINDLE_TEST_DB=postgres");
        return;
    }
    let a = spawn_app().await;
    let b = a.spawn_peer().await;
    let user = a.register().await;
    let photo = a.upload_testdata(&user, "photos/scratched-b.png").await;
    let mut stream = a.connect_stream(&user, None).await;
    stream
        .next_frame(Duration::from_secs(5))
        .await
        .expect("hello");

    // Submitted through B: B's worker runs it and B receives every webhook.
    let job = b.restore(&user, photo["id"].as_str().unwrap()).await;
    let frames = stream.frames_until_final(job["id"].as_str().unwrap()).await;
    let statuses: Vec<&str> = frames
        .iter()
        .map(|f| f["job"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.first(), Some(&"queued"));
    assert_eq!(statuses.last(), Some(&"completed"), "{statuses:?}");
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn killing_the_listening_connection_loses_no_update() {
    if !on_postgres() {
        eprintln!("skipped: runs with REKINDLE_TEST_DB=postgres");
        return;
    }
    let a = spawn_app().await;
    let b = a.spawn_peer().await;
    let user = a.register().await;
    let token = "listener-test-token";
    let job_id = a.job_with_token(&user, token).await;
    let mut stream = a.connect_stream(&user, None).await;
    stream
        .next_frame(Duration::from_secs(5))
        .await
        .expect("hello");

    for percent in 1..=60u8 {
        if percent % 20 == 0 {
            let killed: Vec<(bool,)> = sqlx::query_as(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query ILIKE 'LISTEN%'",
            )
            .fetch_all(&a.state().db.pool)
            .await
            .unwrap();
            assert!(!killed.is_empty(), "no listening connection found to kill");
        }
        b.post_progress_until_accepted(&job_id, token, percent)
            .await;
    }

    let seen = progress_until(&mut stream, 60).await;
    assert_exactly_once_in_order(&seen, 60);
    assert!(
        stream
            .next_frame(Duration::from_millis(500))
            .await
            .is_none(),
        "nothing delivered twice"
    );
    b.stop().await;
    a.stop().await;
}

#[tokio::test]
async fn two_instances_never_claim_the_same_overdue_job() {
    if !on_postgres() {
        eprintln!("skipped: runs with REKINDLE_TEST_DB=postgres");
        return;
    }
    let a = spawn_app().await;
    let b = a.spawn_peer().await;
    let user = a.register().await;
    let mut created = Vec::new();
    for n in 0..40 {
        created.push(a.job_with_token(&user, &format!("claim-token-{n}")).await);
    }
    // Every job is overdue for a status check.
    sqlx::query("UPDATE jobs SET next_check_at = 0")
        .execute(&a.state().db.pool)
        .await
        .unwrap();

    let (from_a, from_b) = tokio::join!(
        server::jobs::reconciler::claim_due(a.state()),
        server::jobs::reconciler::claim_due(b.state()),
    );
    let mut from_a: Vec<String> = from_a
        .unwrap()
        .into_iter()
        .map(|j| j.id.to_string())
        .collect();
    let from_b: Vec<String> = from_b
        .unwrap()
        .into_iter()
        .map(|j| j.id.to_string())
        .collect();
    assert!(
        from_a.iter().all(|id| !from_b.contains(id)),
        "a job was claimed twice"
    );
    from_a.extend(from_b);
    from_a.sort();
    created.sort();
    assert_eq!(from_a, created, "every overdue job was claimed once");
    b.stop().await;
    a.stop().await;
}
