//! The restore loop end to end on a real server: upload, restore through the built-in worker
//! over HTTP, live updates on the WebSocket, and the result through the gatekeeper.

mod common;

use common::{spawn_app, testdata};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn a_photo_is_restored_and_every_change_arrives_live_in_order() {
    let app = spawn_app().await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    assert_eq!(
        (photo["width"].as_u64(), photo["height"].as_u64()),
        (Some(256), Some(256))
    );
    let mut stream = app.connect_stream(&user, None).await;
    let hello = stream
        .next_frame(Duration::from_secs(5))
        .await
        .expect("hello frame");
    assert_eq!(hello["type"], "hello");

    let job = app.restore(&user, photo["id"].as_str().unwrap()).await;
    assert_eq!(
        job["status"], "queued",
        "the job is returned before any work happens"
    );
    let frames = stream.frames_until_final(job["id"].as_str().unwrap()).await;

    let seqs: Vec<i64> = frames.iter().map(|f| f["seq"].as_i64().unwrap()).collect();
    let first = seqs[0];
    assert_eq!(
        seqs,
        (first..first + seqs.len() as i64).collect::<Vec<_>>(),
        "gap-free, in order"
    );
    let statuses: Vec<&str> = frames
        .iter()
        .map(|f| f["job"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.first(), Some(&"queued"));
    assert!(
        statuses.contains(&"running"),
        "progress was reported live: {statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&"completed"), "{statuses:?}");
    let progress: Vec<u64> = frames
        .iter()
        .map(|f| f["job"]["progress"].as_u64().unwrap())
        .collect();
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {progress:?}"
    );

    let result_id = frames.last().unwrap()["job"]["result_photo_id"]
        .as_str()
        .unwrap()
        .to_string();
    let access: Value = app
        .get(
            Some(&user),
            &format!("/api/photos/{result_id}/access?variant=download"),
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
    assert_eq!(download.status(), 200);
    let disposition = download.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("scratched-b-restored.png"),
        "{disposition}"
    );
    let bytes = download.bytes().await.unwrap();
    let restored = restore::probe(&bytes, &restore::Limits::default()).expect("a valid image");
    assert_eq!((restored.width, restored.height), (256, 256));
    let original = std::fs::read(testdata("photos/scratched-b.png")).unwrap();
    assert_ne!(
        bytes.as_ref(),
        original.as_slice(),
        "the result differs from the original"
    );

    let counts = sqlx::query_as::<_, (i64, i64)>(
        "SELECT provider_calls, webhooks_received FROM jobs WHERE id = $1",
    )
    .bind(job["id"].as_str().unwrap())
    .fetch_one(&app.state().db.pool)
    .await
    .unwrap();
    assert_eq!(
        counts.0, 2,
        "one submit and one result download, no status polls"
    );
    assert!(
        counts.1 >= 2,
        "progress and completion came by webhook: {counts:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn every_photo_in_the_testdata_restores_to_the_same_size() {
    let app = spawn_app().await;
    let user = app.register().await;
    for name in [
        "old-a.png",
        "old-b.png",
        "old-c.png",
        "old-d.png",
        "scratched-a.png",
        "scratched-b.png",
    ] {
        let photo = app.upload_testdata(&user, &format!("photos/{name}")).await;
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
        assert_eq!(
            (&result["width"], &result["height"]),
            (&photo["width"], &photo["height"]),
            "{name}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn enlarging_doubles_both_sides() {
    let app = spawn_app().await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    let body = serde_json::json!({ "photo_id": photo["id"], "options": { "upscale_2x": true } });
    let job: Value = app
        .post_json(Some(&user), "/api/jobs/restore", body)
        .await
        .json()
        .await
        .unwrap();
    let done = app.wait_for_final(&user, job["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    let result: Value = app
        .get(
            Some(&user),
            &format!("/api/photos/{}", done["result_photo_id"].as_str().unwrap()),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (result["width"].as_u64(), result["height"].as_u64()),
        (Some(512), Some(512))
    );
    app.stop().await;
}

#[tokio::test]
async fn a_new_tab_resuming_from_a_sequence_gets_only_what_it_missed() {
    let app = spawn_app().await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    let job = app.restore(&user, photo["id"].as_str().unwrap()).await;
    app.wait_for_final(&user, job["id"].as_str().unwrap()).await;

    let mut fresh = app.connect_stream(&user, Some(0)).await;
    let hello = fresh.next_frame(Duration::from_secs(5)).await.unwrap();
    let newest = hello["seq"].as_i64().unwrap();
    let mut replayed = Vec::new();
    while replayed.len() < newest as usize {
        let frame = fresh
            .next_frame(Duration::from_secs(5))
            .await
            .expect("replayed frame");
        replayed.push(frame["seq"].as_i64().unwrap());
    }
    assert_eq!(replayed, (1..=newest).collect::<Vec<_>>());

    let mut resumed = app.connect_stream(&user, Some(newest - 1)).await;
    resumed.next_frame(Duration::from_secs(5)).await.unwrap();
    let last = resumed.next_frame(Duration::from_secs(5)).await.unwrap();
    assert_eq!(last["seq"].as_i64(), Some(newest));
    assert!(
        resumed
            .next_frame(Duration::from_millis(300))
            .await
            .is_none(),
        "nothing sent twice"
    );

    let mut ahead = app.connect_stream(&user, Some(newest + 100)).await;
    ahead.next_frame(Duration::from_secs(5)).await.unwrap();
    let reset = ahead.next_frame(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        reset["type"], "reset",
        "an impossible position is answered with a reset"
    );
    app.stop().await;
}
