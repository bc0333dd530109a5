//! Uploads: accepted formats, clear refusals, and nothing left behind by a refusal.

mod common;

use common::{spawn_app, spawn_app_with, testdata};
use serde_json::Value;

async fn storage_used(app: &common::TestApp, user: &common::TestUser) -> u64 {
    let me: Value = app.get(Some(user), "/api/me").await.json().await.unwrap();
    me["storage_used_bytes"].as_u64().unwrap()
}

#[tokio::test]
async fn each_edge_case_file_is_accepted_or_refused_with_a_clear_code() {
    let app = spawn_app().await;
    let user = app.register().await;
    // (file, expected status, expected code for refusals)
    let cases = [
        ("hopper.jpg", 201, ""),
        ("hopper_orientation_6.jpg", 201, ""),
        ("hopper_bad_exif.jpg", 201, ""),
        ("pil_sample_cmyk.jpg", 201, ""),
        ("tiff_16bit_RGB_target.png", 201, ""),
        ("hopper.webp", 201, ""),
        ("hopper.gif", 201, ""),
        ("hopper.tif", 201, ""),
        ("decompression_bomb.gif", 422, "image_too_large"),
        ("broken.png", 422, "corrupt_image"),
        ("truncated_end_chunk.png", 422, "corrupt_image"),
    ];
    for (name, status, code) in cases {
        let before = storage_used(&app, &user).await;
        let bytes = std::fs::read(testdata(&format!("edge/{name}"))).unwrap();
        let response = app.upload(&user, name, bytes).await;
        assert_eq!(response.status().as_u16(), status, "{name}");
        let body: Value = response.json().await.unwrap();
        if status == 201 {
            assert_eq!(body["file_name"], name, "{name}");
        } else {
            assert_eq!(body["code"], code, "{name}: {body}");
            assert!(
                body["message"].as_str().is_some_and(|m| m.len() > 10),
                "{name}: {body}"
            );
            assert_eq!(storage_used(&app, &user).await, before, "{name} used quota");
        }
    }
    let photos: Vec<Value> = app
        .get(Some(&user), "/api/photos")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(photos.len(), 8, "only the accepted files are listed");
    app.stop().await;
}

#[tokio::test]
async fn a_rotated_jpeg_is_stored_with_upright_dimensions() {
    let app = spawn_app().await;
    let user = app.register().await;
    let plain = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let rotated = app
        .upload_testdata(&user, "edge/hopper_orientation_6.jpg")
        .await;
    assert_eq!(rotated["width"], plain["height"]);
    assert_eq!(rotated["height"], plain["width"]);
    app.stop().await;
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_cut_off_with_413() {
    let app = spawn_app_with(&[("REKINDLE_MAX_UPLOAD_BYTES", "100000")]).await;
    let user = app.register().await;
    let response = app.upload(&user, "big.png", vec![0u8; 300_000]).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "file_too_large"
    );
    assert_eq!(storage_used(&app, &user).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_body_far_over_the_size_limit_is_refused_with_413_too() {
    // Its declared length alone is over the limit: refused before the first field is read.
    let app = spawn_app_with(&[("REKINDLE_MAX_UPLOAD_BYTES", "100000")]).await;
    let user = app.register().await;
    let response = app.upload(&user, "huge.png", vec![0x89u8; 5_000_000]).await;
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.json::<Value>().await.unwrap()["code"],
        "file_too_large"
    );
    assert_eq!(storage_used(&app, &user).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_refused_upload_leaves_no_bytes_behind() {
    let app = spawn_app().await;
    let user = app.register().await;
    let bytes = std::fs::read(testdata("edge/broken.png")).unwrap();
    assert_eq!(app.upload(&user, "broken.png", bytes).await.status(), 422);
    let objects = app.data_dir.join("objects");
    let leftovers = std::fs::read_dir(&objects).map(|d| d.count()).unwrap_or(0);
    assert_eq!(
        leftovers,
        0,
        "refused bytes were kept in {}",
        objects.display()
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_requests_get_the_error_envelope() {
    let app = spawn_app().await;
    let user = app.register().await;
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str)> = vec![
        (
            "malformed json",
            app.http
                .post(app.url("/api/jobs/restore"))
                .bearer_auth(&user.token)
                .header("content-type", "application/json")
                .body("{"),
            400,
            "invalid_json",
        ),
        (
            "missing field",
            app.http
                .post(app.url("/api/jobs/restore"))
                .bearer_auth(&user.token)
                .json(&serde_json::json!({})),
            400,
            "invalid_request",
        ),
        (
            "wrong type",
            app.http
                .post(app.url("/api/jobs/restore"))
                .bearer_auth(&user.token)
                .json(&serde_json::json!({ "photo_id": 7 })),
            400,
            "invalid_request",
        ),
        (
            "bad id",
            app.http
                .get(app.url("/api/photos/not-a-uuid"))
                .bearer_auth(&user.token),
            400,
            "invalid_id",
        ),
        (
            "unknown id",
            app.http
                .get(app.url(&format!("/api/photos/{}", uuid::Uuid::new_v4())))
                .bearer_auth(&user.token),
            404,
            "not_found",
        ),
        (
            "unknown route",
            app.http
                .get(app.url("/api/nothing-here"))
                .bearer_auth(&user.token),
            404,
            "not_found",
        ),
        (
            "no login",
            app.http.get(app.url("/api/photos")),
            401,
            "unauthenticated",
        ),
        (
            "forged token",
            app.http.get(app.url("/api/photos")).bearer_auth("a.b.c"),
            401,
            "unauthenticated",
        ),
        (
            "no file",
            app.http
                .post(app.url("/api/photos"))
                .bearer_auth(&user.token)
                .multipart(reqwest::multipart::Form::new().text("other", "x")),
            400,
            "invalid_upload",
        ),
    ];
    for (name, request, status, code) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{name}");
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|err| panic!("{name}: not JSON: {err}"));
        assert_eq!(body["code"], code, "{name}");
    }
    app.stop().await;
}

#[tokio::test]
async fn file_names_with_any_characters_come_back_unchanged() {
    let app = spawn_app().await;
    let user = app.register().await;
    let long = format!("{}.jpg", "ü".repeat(300));
    for name in [
        "Grandma & me + \"1952\".jpg",
        "../../etc/passwd.jpg",
        "🎞 family 🎞.jpg",
        long.as_str(),
    ] {
        let bytes = std::fs::read(testdata("edge/hopper.jpg")).unwrap();
        let response = app.upload(&user, name, bytes).await;
        assert_eq!(response.status(), 201, "{name}");
        let photo: Value = response.json().await.unwrap();
        assert_eq!(photo["file_name"], name);
        let access: Value = app
            .get(
                Some(&user),
                &format!(
                    "/api/photos/{}/access?variant=download",
                    photo["id"].as_str().unwrap()
                ),
            )
            .await
            .json()
            .await
            .unwrap();
        let download = app
            .http
            .get(access["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(download.status(), 200, "{name}");
        let header = download.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        let encoded = header.split("filename*=UTF-8''").nth(1).unwrap();
        let decoded =
            url::form_urlencoded::parse(format!("x={}", encoded.replace('+', "%2B")).as_bytes())
                .next()
                .unwrap()
                .1
                .to_string();
        assert_eq!(decoded, name, "download name for {name}");
    }
    app.stop().await;
}

#[tokio::test]
async fn every_accepted_edge_file_restores_upright_and_a_failed_job_keeps_the_original() {
    let app = spawn_app().await;
    let user = app.register().await;
    for name in [
        "hopper.jpg",
        "hopper_orientation_6.jpg",
        "hopper_bad_exif.jpg",
        "pil_sample_cmyk.jpg",
        "tiff_16bit_RGB_target.png",
        "hopper.webp",
        "hopper.gif",
        "hopper.tif",
    ] {
        let photo = app.upload_testdata(&user, &format!("edge/{name}")).await;
        let job = app.restore(&user, photo["id"].as_str().unwrap()).await;
        let done = app.wait_for_final(&user, job["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "completed", "{name}: {done}");
        let result: Value = app
            .get(
                Some(&user),
                &format!("/api/photos/{}", done["result_photo_id"].as_str().unwrap()),
            )
            .await
            .json()
            .await
            .unwrap();
        let dims = |v: &Value| (v["width"].as_u64(), v["height"].as_u64());
        assert_eq!(
            dims(&result),
            dims(&photo),
            "{name}: the result keeps the upright size"
        );
    }

    // A job whose provider fails leaves the original exactly as it was.
    let photo = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let path = format!(
        "/api/photos/{}/access?variant=download",
        photo["id"].as_str().unwrap()
    );
    let before = download(&app, &user, &path).await;
    let job = app.restore(&user, photo["id"].as_str().unwrap()).await;
    sqlx::query("UPDATE jobs SET status = 'failed', error = 'GPU fell over' WHERE id = $1")
        .bind(job["id"].as_str().unwrap())
        .execute(&app.state().db.pool)
        .await
        .unwrap();
    assert_eq!(
        download(&app, &user, &path).await,
        before,
        "the original is intact"
    );
    app.stop().await;
}

async fn download(app: &common::TestApp, user: &common::TestUser, access_path: &str) -> Vec<u8> {
    let access: Value = app.get(Some(user), access_path).await.json().await.unwrap();
    let response = app
        .http
        .get(access["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn an_enlargement_past_the_pixel_limit_is_refused_before_queueing() {
    // hopper.jpg is 128×128: 16,384 pixels, 65,536 when enlarged.
    let app = spawn_app_with(&[("REKINDLE_MAX_PIXELS", "40000")]).await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "edge/hopper.jpg").await;
    let body = serde_json::json!({ "photo_id": photo["id"], "options": { "upscale_2x": true } });
    let refused = app.post_json(Some(&user), "/api/jobs/restore", body).await;
    assert_eq!(refused.status(), 422);
    assert_eq!(
        refused.json::<Value>().await.unwrap()["code"],
        "output_too_large"
    );
    let jobs: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM jobs")
        .fetch_one(&app.state().db.pool)
        .await
        .unwrap();
    assert_eq!(jobs.0, 0, "nothing was queued");
    let plain = serde_json::json!({ "photo_id": photo["id"] });
    assert_eq!(
        app.post_json(Some(&user), "/api/jobs/restore", plain)
            .await
            .status(),
        202
    );
    app.stop().await;
}
