//! PostgreSQL restarting under load: requests get a clear 503 while it is down, the server
//! recovers by itself, and the live stream loses and repeats nothing. Runs with
//! `REKINDLE_TEST_DB=postgres` on a machine where `pg_ctlcluster` controls the server (as root).

mod common;

use common::{on_postgres, spawn_app};
use serde_json::Value;
use std::process::Command;
use std::time::Duration;

/// The local cluster, controlled with Debian's `pg_ctlcluster`.
struct Cluster {
    version: String,
}

impl Cluster {
    fn find() -> Option<Cluster> {
        let version = std::fs::read_dir("/etc/postgresql")
            .ok()?
            .flatten()
            .next()?
            .file_name();
        let cluster = Cluster {
            version: version.to_string_lossy().to_string(),
        };
        cluster.ctl("status").then_some(cluster)
    }

    fn ctl(&self, action: &str) -> bool {
        Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &self.version, "main", action])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Cluster {
    /// Whatever happens in the test, leave PostgreSQL running.
    fn drop(&mut self) {
        self.ctl("start");
    }
}

#[tokio::test]
async fn a_postgres_restart_answers_503_then_recovers_without_losing_updates() {
    if !on_postgres() {
        eprintln!("skipped: runs with REKINDLE_TEST_DB=postgres");
        return;
    }
    let Some(cluster) = Cluster::find() else {
        panic!("pg_ctlcluster cannot control the local PostgreSQL; run as root on Debian");
    };
    let a = spawn_app().await;
    let b = a.spawn_peer().await;
    let user = a.register().await;
    let token = "restart-test-token";
    let job_id = a.job_with_token(&user, token).await;
    let mut stream = a.connect_stream(&user, None).await;
    stream
        .next_frame(Duration::from_secs(5))
        .await
        .expect("hello");

    for percent in 1..=10 {
        b.post_progress_until_accepted(&job_id, token, percent)
            .await;
    }
    assert!(cluster.ctl("stop"), "could not stop PostgreSQL");
    let down = a.get(Some(&user), "/api/me").await;
    assert_eq!(down.status(), 503, "a request while the database is down");
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["code"], "unavailable");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("temporarily unavailable"));
    assert_eq!(
        a.get(None, "/readyz").await.status(),
        503,
        "not ready without a database"
    );
    assert_eq!(
        a.get(None, "/healthz").await.status(),
        200,
        "but the process is up"
    );

    let restart = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_secs(1));
        assert!(cluster.ctl("start"), "could not start PostgreSQL");
        cluster
    });
    for percent in 11..=20 {
        b.post_progress_until_accepted(&job_id, token, percent)
            .await;
    }
    let _cluster = restart.await.unwrap();
    assert_eq!(
        a.get(Some(&user), "/api/me").await.status(),
        200,
        "recovered by itself"
    );
    let mut ready = false;
    for _ in 0..100 {
        if a.get(None, "/readyz").await.status() == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ready, "ready again once the listener is back");

    let mut seen = Vec::new();
    while let Some(frame) = stream.next_frame(Duration::from_secs(30)).await {
        if frame["type"] == "job" {
            seen.push(frame["job"]["progress"].as_u64().unwrap());
            if seen.last() == Some(&20) {
                break;
            }
        }
    }
    assert_eq!(
        seen,
        (1..=20).collect::<Vec<_>>(),
        "every update exactly once, in order"
    );
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
