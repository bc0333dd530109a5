//! Who may see what: only the owner reaches a photo, its job and its bytes.

mod common;

use common::spawn_app;
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn another_user_gets_not_found_for_every_photo_job_and_access_route() {
    let app = spawn_app().await;
    let owner = app.register().await;
    let stranger = app.register().await;
    let photo = app.upload_testdata(&owner, "photos/scratched-b.png").await;
    let photo_id = photo["id"].as_str().unwrap();
    let job = app.restore(&owner, photo_id).await;
    let job_id = job["id"].as_str().unwrap();
    let done = app.wait_for_final(&owner, job_id).await;
    let result_id = done["result_photo_id"].as_str().unwrap();

    for path in [
        format!("/api/photos/{photo_id}"),
        format!("/api/photos/{photo_id}/access"),
        format!("/api/photos/{result_id}/access?variant=download"),
        format!("/api/photos/{result_id}/access?variant=thumbnail"),
        format!("/api/jobs/{job_id}"),
    ] {
        let response = app.get(Some(&stranger), &path).await;
        assert_eq!(response.status(), 404, "stranger on {path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "not_found", "{path}");
        let anonymous = app.get(None, &path).await;
        assert_eq!(anonymous.status(), 401, "nobody on {path}");
        assert_eq!(
            app.get(Some(&owner), &path).await.status(),
            200,
            "owner on {path}"
        );
    }
    let cancel = app
        .post_json(
            Some(&stranger),
            &format!("/api/jobs/{job_id}/cancel"),
            Value::Null,
        )
        .await;
    assert_eq!(cancel.status(), 404);
    let delete = app
        .http
        .delete(app.url(&format!("/api/photos/{photo_id}")))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), 404);
    let list: Vec<Value> = app
        .get(Some(&stranger), "/api/photos")
        .await
        .json()
        .await
        .unwrap();
    assert!(list.is_empty(), "the stranger's gallery is empty");
    let restore = app
        .post_json(
            Some(&stranger),
            "/api/jobs/restore",
            serde_json::json!({ "photo_id": photo_id }),
        )
        .await;
    assert_eq!(
        restore.status(),
        404,
        "nobody restores someone else's photo"
    );
    app.stop().await;
}

#[tokio::test]
async fn signed_urls_that_are_tampered_with_or_expired_are_refused() {
    let app = spawn_app().await;
    let user = app.register().await;
    let other = app.register().await;
    let photo = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let other_photo = app.upload_testdata(&other, "edge/hopper.webp").await;
    let access: Value = app
        .get(
            Some(&user),
            &format!("/api/photos/{}/access", photo["id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    let url = access["url"].as_str().unwrap().to_string();
    assert_eq!(app.http.get(&url).send().await.unwrap().status(), 200);

    let other_key = format!("{}/original", other_photo["id"].as_str().unwrap());
    let own_key = format!("{}/original", photo["id"].as_str().unwrap());
    let tampered = [
        ("another user's photo", url.replace(&own_key, &other_key)),
        ("thumbnail instead", url.replace("/original", "/thumbnail")),
        ("signature", flip_last_char(&url)),
        ("later expiry", url.replace("exp=", "exp=9")),
        (
            "no signature",
            url.split("&sig=").next().unwrap().to_string(),
        ),
    ];
    for (name, bad) in tampered {
        let response = app.http.get(&bad).send().await.unwrap();
        assert_eq!(response.status(), 403, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "invalid_signature", "{name}");
    }

    app.clock.advance(Duration::from_secs(901));
    let expired = app.http.get(&url).send().await.unwrap();
    assert_eq!(expired.status(), 403);
    assert_eq!(
        expired.json::<Value>().await.unwrap()["code"],
        "url_expired"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_stream_carries_only_its_own_users_jobs() {
    let app = spawn_app().await;
    let alice = app.register().await;
    let bob = app.register().await;
    let mut bobs_stream = app.connect_stream(&bob, None).await;
    bobs_stream
        .next_frame(Duration::from_secs(5))
        .await
        .unwrap();

    let photo = app.upload_testdata(&alice, "photos/scratched-b.png").await;
    let job = app.restore(&alice, photo["id"].as_str().unwrap()).await;
    app.wait_for_final(&alice, job["id"].as_str().unwrap())
        .await;

    assert!(
        bobs_stream
            .next_frame(Duration::from_millis(500))
            .await
            .is_none(),
        "bob saw alice's job"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_stream_refuses_anonymous_and_cross_site_connections() {
    let app = spawn_app().await;
    let user = app.register().await;
    let url = format!("{}/ws/jobs", app.base.replace("http://", "ws://"));
    assert!(
        tokio_tungstenite::connect_async(url.as_str())
            .await
            .is_err(),
        "anonymous socket accepted"
    );

    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", user.cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    assert!(
        tokio_tungstenite::connect_async(request).await.is_err(),
        "cross-site socket accepted"
    );
    app.stop().await;
}

#[tokio::test]
async fn logging_out_ends_the_session_even_for_a_copied_token() {
    let app = spawn_app().await;
    let user = app.register().await;
    assert_eq!(app.get(Some(&user), "/api/me").await.status(), 200);
    let logout = app
        .http
        .post(app.url("/api/auth/logout"))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(app.get(Some(&user), "/api/me").await.status(), 401);

    let login = app
        .post_json(
            None,
            "/api/auth/login",
            serde_json::json!({ "email": user.email, "password": "wrong password" }),
        )
        .await;
    assert_eq!(login.status(), 422);
    assert_eq!(
        login.json::<Value>().await.unwrap()["code"],
        "invalid_credentials"
    );
    app.stop().await;
}

#[tokio::test]
async fn free_photos_are_refused_after_seven_days() {
    let app = spawn_app().await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let path = format!("/api/photos/{}/access", photo["id"].as_str().unwrap());

    app.clock
        .advance(Duration::from_secs(6 * 86_400 + 23 * 3_600));
    assert_eq!(
        app.get(Some(&user), &path).await.status(),
        200,
        "6 days 23 hours"
    );
    app.clock.advance(Duration::from_secs(3_600));
    let refused = app.get(Some(&user), &path).await;
    assert_eq!(refused.status(), 403, "7 days");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "photo_expired");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("7 days on the Free plan"));
    app.stop().await;
}

/// The URL with its last hex digit changed.
fn flip_last_char(url: &str) -> String {
    let (head, last) = url.split_at(url.len() - 1);
    format!("{head}{}", if last == "0" { "1" } else { "0" })
}
