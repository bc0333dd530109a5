//! Tiers, quotas, retention and accounts: each tier gets exactly what it pays for.

mod common;

use base64::Engine;
use common::{spawn_app, spawn_app_with, testdata, TestApp, TestUser};
use serde_json::Value;
use server::accounts::{set_tier, SubscriptionStatus};
use std::time::Duration;

const DAY: u64 = 86_400;

async fn me(app: &TestApp, user: &TestUser) -> Value {
    app.get(Some(user), "/api/me").await.json().await.unwrap()
}

async fn access_status(app: &TestApp, user: &TestUser, photo: &Value) -> u16 {
    let path = format!("/api/photos/{}/access", photo["id"].as_str().unwrap());
    app.get(Some(user), &path).await.status().as_u16()
}

fn object_count(app: &TestApp) -> usize {
    walk(&app.data_dir.join("objects"))
}

fn walk(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        walk(&e.path())
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[tokio::test]
async fn expired_free_photos_are_swept_with_their_results_and_paid_photos_stay() {
    let app = spawn_app().await;
    let free = app.register().await;
    let paid = app.register().await;
    assert!(set_tier(
        &app.state().db,
        &paid.email,
        app::model::Tier::Remember,
        SubscriptionStatus::Active,
        0
    )
    .await
    .unwrap());
    let photo = app.upload_testdata(&free, "photos/scratched-b.png").await;
    let job = app.restore(&free, photo["id"].as_str().unwrap()).await;
    app.wait_for_final(&free, job["id"].as_str().unwrap()).await;
    let kept = app.upload_testdata(&paid, "edge/hopper.jpg").await;
    assert_eq!(
        object_count(&app),
        6,
        "original, result and kept photo, each with a thumbnail"
    );

    app.clock.advance(Duration::from_secs(6 * DAY + 23 * 3600));
    let early = server::retention::sweep(app.state()).await.unwrap();
    assert_eq!(
        early.photos_deleted, 0,
        "6 days 23 hours is still within retention"
    );
    assert_eq!(access_status(&app, &free, &photo).await, 200);

    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        access_status(&app, &free, &photo).await,
        403,
        "refused at 7 days"
    );
    let sweep = server::retention::sweep(app.state()).await.unwrap();
    assert_eq!(sweep.photos_deleted, 2, "the original and its restoration");
    assert_eq!(object_count(&app), 2, "only the paid photo's bytes remain");
    assert_eq!(me(&app, &free).await["storage_used_bytes"], 0);
    let listed: Vec<Value> = app
        .get(Some(&free), "/api/photos")
        .await
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());
    assert_eq!(
        access_status(&app, &paid, &kept).await,
        200,
        "paid photos are never touched"
    );

    let again = server::retention::sweep(app.state()).await.unwrap();
    assert_eq!(
        again.photos_deleted, 0,
        "a second sweep finds nothing: idempotent"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_lapsed_subscription_follows_free_rules_from_the_lapse() {
    let app = spawn_app().await;
    let user = app.register().await;
    let db = &app.state().db;
    assert!(set_tier(
        db,
        &user.email,
        app::model::Tier::Cherish,
        SubscriptionStatus::Active,
        0
    )
    .await
    .unwrap());
    let photo = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let account = me(&app, &user).await;
    assert_eq!(
        (account["tier"].as_str(), account["retention_days"].as_u64()),
        (Some("cherish"), None)
    );
    assert_eq!(account["storage_limit_bytes"], 100u64 * 1024 * 1024 * 1024);

    app.clock.advance(Duration::from_secs(20 * DAY));
    assert_eq!(
        access_status(&app, &user, &photo).await,
        200,
        "paid photos do not expire"
    );
    let lapse = app.clock.now_ms();
    assert!(set_tier(
        db,
        &user.email,
        app::model::Tier::Cherish,
        SubscriptionStatus::Lapsed,
        lapse
    )
    .await
    .unwrap());
    assert_eq!(
        me(&app, &user).await["tier"],
        "free",
        "a lapsed tier counts as Free"
    );

    app.clock.advance(Duration::from_secs(6 * DAY + 23 * 3600));
    assert_eq!(
        access_status(&app, &user, &photo).await,
        200,
        "7-day grace from the lapse"
    );
    app.clock.advance(Duration::from_secs(3600));
    assert_eq!(access_status(&app, &user, &photo).await, 403);
    assert_eq!(
        server::retention::sweep(app.state())
            .await
            .unwrap()
            .photos_deleted,
        1
    );
    app.stop().await;
}

#[tokio::test]
async fn two_uploads_racing_for_the_last_space_let_exactly_one_through() {
    let bytes = std::fs::read(testdata("photos/old-b.png")).unwrap();
    // Room for one copy (and its thumbnail), not two.
    let quota = (bytes.len() as f64 * 1.5) as u64;
    let app = spawn_app_with(&[("REKINDLE_FREE_QUOTA_BYTES", &quota.to_string())]).await;
    let user = app.register().await;
    for round in 0..3 {
        let (first, second) = tokio::join!(
            app.upload(&user, "a.png", bytes.clone()),
            app.upload(&user, "b.png", bytes.clone()),
        );
        let mut statuses = [first.status().as_u16(), second.status().as_u16()];
        statuses.sort();
        if round == 0 {
            assert_eq!(statuses, [201, 403], "exactly one fits");
        } else {
            assert_eq!(statuses, [403, 403], "the quota stays full");
        }
        let refused = if first.status() == 403 { first } else { second };
        assert_eq!(
            refused.json::<Value>().await.unwrap()["code"],
            "quota_exceeded"
        );
    }
    let account = me(&app, &user).await;
    assert!(account["storage_used_bytes"].as_u64().unwrap() <= quota);
    assert_eq!(object_count(&app), 2, "refused uploads left no bytes");
    app.stop().await;
}

#[tokio::test]
async fn deleting_an_account_removes_every_photo_and_byte() {
    let app = spawn_app().await;
    let user = app.register().await;
    let other = app.register().await;
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    let job = app.restore(&user, photo["id"].as_str().unwrap()).await;
    app.wait_for_final(&user, job["id"].as_str().unwrap()).await;
    let theirs = app.upload_testdata(&other, "edge/hopper.jpg").await;

    let deleted = app
        .http
        .delete(app.url("/api/me"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        app.get(Some(&user), "/api/me").await.status(),
        401,
        "the session is gone"
    );
    assert_eq!(object_count(&app), 2, "only the other user's photo remains");
    assert_eq!(access_status(&app, &other, &theirs).await, 200);
    let login = app
        .post_json(
            None,
            "/api/auth/login",
            serde_json::json!({ "email": user.email, "password": "correct horse battery" }),
        )
        .await;
    assert_eq!(login.status(), 422, "the account no longer exists");
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_photo_removes_its_results_bytes_and_quota() {
    let app = spawn_app().await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    let job = app.restore(&user, photo["id"].as_str().unwrap()).await;
    let done = app.wait_for_final(&user, job["id"].as_str().unwrap()).await;
    let path = format!("/api/photos/{}", photo["id"].as_str().unwrap());
    let deleted = app
        .http
        .delete(app.url(&path))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(object_count(&app), 0);
    assert_eq!(me(&app, &user).await["storage_used_bytes"], 0);
    let result = format!("/api/photos/{}", done["result_photo_id"].as_str().unwrap());
    assert_eq!(app.get(Some(&user), &result).await.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn too_many_wrong_passwords_are_rate_limited() {
    let app = spawn_app().await;
    let user = app.register().await;
    let wrong = serde_json::json!({ "email": user.email, "password": "not the password" });
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(
            app.post_json(None, "/api/auth/login", wrong.clone())
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(&statuses[..10], &[422; 10]);
    assert_eq!(&statuses[10..], &[429, 429]);
    let right = serde_json::json!({ "email": user.email, "password": "correct horse battery" });
    let limited = app.post_json(None, "/api/auth/login", right.clone()).await;
    assert_eq!(
        limited.status(),
        429,
        "even the right password waits out the window"
    );
    assert_eq!(
        limited.json::<Value>().await.unwrap()["code"],
        "rate_limited"
    );

    app.clock.advance(Duration::from_secs(15 * 60 + 1));
    assert_eq!(
        app.post_json(None, "/api/auth/login", right).await.status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn forged_and_expired_tokens_are_refused() {
    let app = spawn_app().await;
    let user = app.register().await;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = user.token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    let alg_none = format!(
        "{}.{}.",
        b64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    payload["sub"] = serde_json::json!(uuid::Uuid::new_v4());
    let changed = format!(
        "{}.{}.{}",
        parts[0],
        b64.encode(payload.to_string()),
        parts[2]
    );
    let wrong_key = {
        use hmac::Mac;
        let unsigned = format!("{}.{}", parts[0], parts[1]);
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"not the server's key").unwrap();
        mac.update(unsigned.as_bytes());
        format!("{unsigned}.{}", b64.encode(mac.finalize().into_bytes()))
    };
    for (name, token) in [
        ("alg none", alg_none),
        ("changed payload", changed),
        ("wrong key", wrong_key),
    ] {
        let response = app
            .http
            .get(app.url("/api/me"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 401, "{name}");
    }
    assert_eq!(
        app.get(Some(&user), "/api/me").await.status(),
        200,
        "the real token works"
    );
    app.clock.advance(Duration::from_secs(31 * DAY));
    assert_eq!(
        app.get(Some(&user), "/api/me").await.status(),
        401,
        "expired"
    );
    app.stop().await;
}
