//! Replicate through its HTTP fake: signed webhooks only, no replays, and every job reaching
//! its right final state whatever happens to the webhooks.

mod common;
mod fakes;

use common::{spawn_app_with, TestApp, TestUser};
use fakes::replicate::{Delivery, FakeReplicate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use server::providers::standard_webhooks::SigningKey;
use std::time::Duration;

async fn app_for(fake: &FakeReplicate) -> TestApp {
    let mut vars = fake.app_vars();
    vars.push(("REKINDLE_JOB_CHECK_AFTER_SECS", "30".into()));
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_app_with(&vars).await
}

async fn job(app: &TestApp, user: &TestUser, id: &str) -> Value {
    app.get(Some(user), &format!("/api/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

async fn event_count(app: &TestApp, job_id: &str) -> i64 {
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM job_events WHERE job_id = $1")
        .bind(job_id)
        .fetch_one(&app.state().db.pool)
        .await
        .unwrap();
    count
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn forged_stale_and_replayed_webhooks_are_refused_and_change_nothing() {
    let fake = FakeReplicate::start().await;
    let app = app_for(&fake).await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let job_id = app.restore(&user, photo["id"].as_str().unwrap()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prediction = fake.wait_for_predictions(1).await.remove(0);
    assert_eq!(prediction.events, ["start", "logs", "completed"]);
    assert!(prediction
        .webhook
        .contains(&format!("/api/webhooks/replicate/{job_id}/")));

    fake.set(&prediction.id, "processing", " 40%|████      | 4/10");
    let genuine = fake.snapshot(&prediction.id);
    let other_key = SigningKey::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    let wrong_token = Delivery {
        webhook_url: format!("{}/api/webhooks/replicate/{job_id}/not-the-token", app.base),
        ..genuine.clone()
    };
    let other_prediction = Delivery {
        body: genuine.body.replace(&prediction.id, "p-someone-elses"),
        ..genuine.clone()
    };
    let now = unix_now();
    let cases: Vec<(&str, u16)> = vec![
        (
            "no signature headers",
            fake.post(&genuine.webhook_url, &genuine, &[]).await,
        ),
        (
            "another key",
            fake.deliver_signed(&genuine, now, &other_key).await,
        ),
        (
            "six minutes old",
            fake.deliver_signed(
                &genuine,
                now - 360,
                &SigningKey::parse(&fake.secret).unwrap(),
            )
            .await,
        ),
        (
            "six minutes ahead",
            fake.deliver_signed(
                &genuine,
                now + 360,
                &SigningKey::parse(&fake.secret).unwrap(),
            )
            .await,
        ),
        ("wrong URL token", fake.deliver(&wrong_token).await),
        (
            "body names another prediction",
            fake.deliver(&other_prediction).await,
        ),
        (
            "signature of another body",
            fake.post(
                &genuine.webhook_url,
                &Delivery {
                    body: genuine.body.replace("40%", "90%"),
                    ..genuine.clone()
                },
                &[
                    ("webhook-id", genuine.msg_id.clone()),
                    ("webhook-timestamp", now.to_string()),
                    (
                        "webhook-signature",
                        SigningKey::parse(&fake.secret).unwrap().sign(
                            &genuine.msg_id,
                            now,
                            genuine.body.as_bytes(),
                        ),
                    ),
                ],
            )
            .await,
        ),
    ];
    for (name, status) in &cases {
        assert_eq!(*status, 401, "{name}");
    }
    let unchanged = job(&app, &user, &job_id).await;
    assert_eq!(
        (unchanged["status"].as_str(), unchanged["progress"].as_u64()),
        (Some("queued"), Some(0))
    );
    assert_eq!(
        event_count(&app, &job_id).await,
        1,
        "only the job's creation"
    );

    assert_eq!(fake.deliver(&genuine).await, 200, "the genuine webhook");
    assert_eq!(
        fake.deliver(&genuine).await,
        401,
        "the same webhook-id again is a replay"
    );
    let running = job(&app, &user, &job_id).await;
    assert_eq!(
        (running["status"].as_str(), running["progress"].as_u64()),
        (Some("running"), Some(40))
    );
    assert_eq!(event_count(&app, &job_id).await, 2);
    assert_eq!(
        running["webhooks_received"],
        cases.len() as i64 - 1 + 2,
        "all but the wrong token"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_user_cancels_a_running_replicate_job_at_the_provider() {
    let fake = FakeReplicate::start().await;
    let app = app_for(&fake).await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let job_id = app.restore(&user, photo["id"].as_str().unwrap()).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let prediction = fake.wait_for_predictions(1).await.remove(0);
    // Until the prediction id is saved there is nothing to cancel at the provider.
    for _ in 0..100 {
        let row = server::jobs::find(&app.state().db, job_id.parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        if row.provider_job_id.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    fake.set(&prediction.id, "processing", "");

    let response = app
        .post_json(
            Some(&user),
            &format!("/api/jobs/{job_id}/cancel"),
            Value::Null,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(job(&app, &user, &job_id).await["status"], "cancelled");
    assert_eq!(fake.predictions()[0].status, "canceled");
    // Replicate's own "canceled" webhook arrives afterwards and changes nothing.
    assert_eq!(fake.deliver(&fake.snapshot(&prediction.id)).await, 200);
    let cancelled = job(&app, &user, &job_id).await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["provider_calls"], 2,
        "submit and cancel: {cancelled}"
    );
    app.stop().await;
}

/// What the fake does with one prediction.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Succeeds,
    Fails,
    CanceledByProvider,
}

impl Outcome {
    fn replicate_status(self) -> &'static str {
        match self {
            Outcome::Succeeds => "succeeded",
            Outcome::Fails => "failed",
            Outcome::CanceledByProvider => "canceled",
        }
    }

    fn job_status(self) -> &'static str {
        match self {
            Outcome::Succeeds => "completed",
            Outcome::Fails => "failed",
            Outcome::CanceledByProvider => "cancelled",
        }
    }
}

#[tokio::test]
async fn thirty_jobs_reach_their_final_state_whatever_happens_to_the_webhooks() {
    const JOBS: usize = 30;
    let seed: u64 = std::env::var("REKINDLE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let fake = FakeReplicate::start().await;
    let app = app_for(&fake).await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let photo_id = photo["id"].as_str().unwrap();

    let mut job_ids = Vec::new();
    for _ in 0..JOBS {
        job_ids.push(
            app.restore(&user, photo_id).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let predictions = fake.wait_for_predictions(JOBS).await;
    // The prediction of each job, by the job id in its webhook URL.
    let job_of = |p: &fakes::replicate::Prediction| {
        job_ids
            .iter()
            .find(|id| p.webhook.contains(id.as_str()))
            .unwrap()
            .clone()
    };

    // Each prediction's webhooks, as Replicate would send them; then dropped, duplicated and
    // shuffled across all jobs.
    let mut outcomes = std::collections::HashMap::new();
    let mut deliveries: Vec<Delivery> = Vec::new();
    let mut final_delivered = std::collections::HashMap::new();
    for prediction in &predictions {
        let outcome = match rng.gen_range(0..10) {
            0..=6 => Outcome::Succeeds,
            7..=8 => Outcome::Fails,
            _ => Outcome::CanceledByProvider,
        };
        outcomes.insert(job_of(prediction), outcome);
        let mut messages = Vec::new();
        for (status, logs) in [
            ("processing", ""),
            ("processing", " 40%|████      | 4/10"),
            ("processing", " 40%|████      | 4/10\n 80%|████████  | 8/10"),
            (outcome.replicate_status(), " 100%|██████████| 10/10"),
        ] {
            fake.set(&prediction.id, status, logs);
            messages.push(fake.snapshot(&prediction.id));
        }
        for (i, message) in messages.into_iter().enumerate() {
            let is_final = i == 3;
            let copies = match rng.gen_range(0..10) {
                0..=2 => 0,
                3..=6 => 1,
                _ => 2,
            };
            if is_final {
                final_delivered.insert(job_of(prediction), copies > 0);
            }
            deliveries.extend(std::iter::repeat_n(message, copies));
        }
    }
    deliveries.shuffle(&mut rng);

    // Sent eight at a time, so reports about one job race each other.
    let mut answers: std::collections::HashMap<String, Vec<u16>> = Default::default();
    for batch in deliveries.chunks(8) {
        let sent = futures::future::join_all(batch.iter().map(|d| fake.deliver(d))).await;
        for (delivery, status) in batch.iter().zip(sent) {
            answers
                .entry(delivery.msg_id.clone())
                .or_default()
                .push(status);
        }
    }
    for (msg_id, statuses) in &answers {
        let accepted = statuses.iter().filter(|s| **s == 200).count();
        assert_eq!(
            accepted, 1,
            "{msg_id}: one copy accepted, the rest replays: {statuses:?}"
        );
    }

    // Lost final webhooks: the reconciler asks, with the clock moved instead of sleeping.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let mut unfinished = 0;
        for id in &job_ids {
            let status = job(&app, &user, id).await["status"]
                .as_str()
                .unwrap()
                .to_string();
            if !["completed", "failed", "cancelled"].contains(&status.as_str()) {
                unfinished += 1;
            }
        }
        if unfinished == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{unfinished} jobs never finished"
        );
        app.clock.advance(Duration::from_secs(301));
        server::jobs::reconciler::check_due_jobs(app.state())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut calls_by_path = std::collections::BTreeMap::<String, Vec<i64>>::new();
    for id in &job_ids {
        let job = job(&app, &user, id).await;
        let outcome = outcomes[id];
        assert_eq!(
            job["status"],
            outcome.job_status(),
            "job {id} ({outcome:?}): {job}"
        );
        assert_eq!(
            job["result_photo_id"].is_null(),
            outcome != Outcome::Succeeds,
            "{job}"
        );
        let path = if final_delivered[id] {
            "final webhook delivered"
        } else {
            "final webhook lost"
        };
        calls_by_path
            .entry(format!("{outcome:?}, {path}"))
            .or_default()
            .push(job["provider_calls"].as_i64().unwrap());
        if final_delivered[id] {
            let expected = if outcome == Outcome::Succeeds { 2 } else { 1 };
            assert_eq!(
                job["provider_calls"], expected,
                "submit (+ download), no status check: {job}"
            );
        }
    }
    let (restored,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM photos WHERE kind = 'restored' AND source_photo_id = $1",
    )
    .bind(photo_id)
    .fetch_one(&app.state().db.pool)
    .await
    .unwrap();
    let succeeded = outcomes
        .values()
        .filter(|o| **o == Outcome::Succeeds)
        .count();
    assert_eq!(
        restored as usize, succeeded,
        "exactly one result per completed job"
    );
    let (distinct,): (i64,) = sqlx::query_as(
        "SELECT COUNT(DISTINCT result_photo_id) FROM jobs WHERE result_photo_id IS NOT NULL",
    )
    .fetch_one(&app.state().db.pool)
    .await
    .unwrap();
    assert_eq!(distinct as usize, succeeded);
    println!(
        "seed {seed:#x}: {} deliveries for {JOBS} jobs; provider calls per job: {calls_by_path:?}",
        deliveries.len()
    );
    app.stop().await;
}
