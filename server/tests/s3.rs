//! Photos kept in S3, against a real S3-compatible server that checks SigV4 signatures and
//! presigned URLs (s3s-fs, started by `scripts/start-services.sh`). Each test gets a bucket of
//! its own.

mod common;

use common::{s3_env, spawn_app_with, testdata, S3Env, TestApp, TestUser};
use futures::StreamExt;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use server::storage::{signing, Disposition, S3Store};
use std::time::{Duration, Instant, SystemTime};

/// The memory test measures the whole process, so it runs alone: it takes this for writing,
/// every other test for reading.
static MEMORY_TEST: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// A server keeping its photos in a fresh bucket, with extra settings.
async fn spawn_s3_app(s3: &S3Env, extra: &[(&str, &str)]) -> (TestApp, String) {
    let bucket = s3.fresh_bucket().await;
    let vars = s3.app_vars(&bucket);
    let mut vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    vars.extend_from_slice(extra);
    (spawn_app_with(&vars).await, bucket)
}

/// The signed URL the gatekeeper issues for one rendition of a photo.
async fn access_url(app: &TestApp, user: &TestUser, photo_id: &str, variant: &str) -> String {
    let response = app
        .get(
            Some(user),
            &format!("/api/photos/{photo_id}/access?variant={variant}"),
        )
        .await;
    assert_eq!(response.status(), 200, "access to {photo_id}");
    let access: Value = response.json().await.unwrap();
    access["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_presigned_url_works_until_it_expires_and_not_when_tampered_with() {
    let Some(s3) = s3_env() else { return };
    let _shared = MEMORY_TEST.read().await;
    let (app, bucket) = spawn_s3_app(&s3, &[]).await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    let id = photo["id"].as_str().unwrap();
    let original = std::fs::read(testdata("photos/scratched-b.png")).unwrap();

    let url = access_url(&app, &user, id, "download").await;
    assert!(url.starts_with(&s3.endpoint), "served by S3, not by us");
    let download = app.http.get(&url).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "image/png");
    assert_eq!(
        download.bytes().await.unwrap().as_ref(),
        original.as_slice()
    );

    let signature = url.split("X-Amz-Signature=").nth(1).unwrap();
    let signature = signature.split('&').next().unwrap();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    let cases = [
        (
            "signature",
            url.replace(signature, &format!("{flipped}{}", &signature[1..])),
        ),
        ("key", url.replace("/original?", "/thumbnail?")),
        (
            "lifetime",
            url.replace("X-Amz-Expires=900", "X-Amz-Expires=901"),
        ),
        ("disposition", url.replace("attachment", "inline")),
        ("type", url.replace("image%2Fpng", "text%2Fhtml")),
    ];
    for (name, tampered) in cases {
        assert_ne!(tampered, url, "{name}: tampering changed nothing");
        let status = app.http.get(&tampered).send().await.unwrap().status();
        assert_eq!(status, 403, "tampered {name}");
    }

    // The shortest lifetime the configuration allows is a minute; the store itself takes any.
    let store = S3Store::new(&s3.config(&bucket));
    let key = format!("{id}/original");
    let short = store
        .presign_get(
            &key,
            "image/png",
            &Disposition::Inline,
            Duration::from_secs(2),
            SystemTime::now(),
        )
        .await
        .unwrap();
    assert_eq!(app.http.get(&short).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = app.http.get(&short).send().await.unwrap().status();
    assert_eq!(status, 403, "an expired presigned URL is refused");

    let local = app
        .get(None, &format!("/files/{key}?exp=1&ct=x&sig=00"))
        .await;
    assert_eq!(local.status(), 404, "/files serves only the local store");
    let body: Value = local.json().await.unwrap();
    assert_eq!(body["code"], "not_found", "{body}");
    app.stop().await;
}

#[tokio::test]
async fn the_bucket_is_reachable_only_with_the_right_credentials() {
    let Some(s3) = s3_env() else { return };
    let _shared = MEMORY_TEST.read().await;
    let (app, bucket) = spawn_s3_app(&s3, &[]).await;
    assert!(app.state().storage.is_reachable().await);

    let mut wrong = s3.config(&bucket);
    wrong.secret_access_key = server::config::Secret::new("not-the-secret");
    assert!(!S3Store::new(&wrong).is_reachable().await);
    let missing = s3.config(&format!("{bucket}-missing"));
    assert!(!S3Store::new(&missing).is_reachable().await);
    app.stop().await;
}

#[tokio::test]
async fn a_100_mb_upload_streams_to_s3_with_bounded_memory() {
    let Some(s3) = s3_env() else { return };
    let _alone = MEMORY_TEST.write().await;
    const TOTAL: u64 = 100 * 1024 * 1024;
    let limit = (150 * 1024 * 1024).to_string();
    let (app, bucket) = spawn_s3_app(&s3, &[("REKINDLE_MAX_UPLOAD_BYTES", &limit)]).await;
    let user = app.register().await;

    // A real PNG followed by padding after its end chunk: decoders stop at the end chunk, and
    // the file is stored whole. The body is made while it is sent, 1 MiB at a time.
    let png = std::fs::read(testdata("photos/scratched-b.png")).unwrap();
    let padding = TOTAL - png.len() as u64;
    let zeros = bytes::Bytes::from(vec![0u8; 1 << 20]);
    let chunks = (0..padding.div_ceil(1 << 20)).map(move |i| {
        let len = (padding - i * (1 << 20)).min(1 << 20) as usize;
        zeros.slice(..len)
    });
    let body = futures::stream::iter(std::iter::once(bytes::Bytes::from(png)).chain(chunks))
        .map(Ok::<_, std::io::Error>);
    let part =
        Part::stream_with_length(reqwest::Body::wrap_stream(body), TOTAL).file_name("big.png");

    let baseline_kib = reset_peak_rss();
    let started = Instant::now();
    let response = app
        .http
        .post(app.url("/api/photos"))
        .bearer_auth(&user.token)
        .multipart(Form::new().part("photo", part))
        .send()
        .await
        .unwrap();
    let elapsed = started.elapsed();
    let status = response.status();
    let photo: Value = response.json().await.unwrap();
    let growth_mib = (proc_status_kib("VmHWM") - baseline_kib) as f64 / 1024.0;
    eprintln!("100 MB upload: {elapsed:.2?}, peak RSS growth {growth_mib:.1} MiB");
    assert_eq!(status, 201, "{photo}");

    let id = photo["id"].as_str().unwrap();
    let head = s3
        .client()
        .head_object()
        .bucket(&bucket)
        .key(format!("{id}/original"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(TOTAL as i64), "stored whole");
    assert!(
        growth_mib < 40.0,
        "a 100 MB upload grew the process by {growth_mib:.1} MiB"
    );
    let leftovers = std::fs::read_dir(app.data_dir.join("tmp")).unwrap().count();
    assert_eq!(leftovers, 0, "the temporary file is removed");
    app.stop().await;
}

/// Resets the peak resident set size to the current one (Linux `clear_refs` 5), returning it.
fn reset_peak_rss() -> u64 {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak RSS");
    proc_status_kib("VmHWM")
}

/// A `kB` field of `/proc/self/status`.
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with(&format!("{field}:")))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_restore_loop_runs_through_s3_and_deleting_removes_every_object() {
    let Some(s3) = s3_env() else { return };
    let _shared = MEMORY_TEST.read().await;
    let (app, bucket) = spawn_s3_app(&s3, &[]).await;
    let user = app.register().await;
    let photo = app.upload_testdata(&user, "photos/scratched-b.png").await;
    let id = photo["id"].as_str().unwrap();

    // The built-in worker can only read the source through its presigned S3 URL: `/files`
    // serves nothing when S3 is the store.
    let job = app.restore(&user, id).await;
    let done = app.wait_for_final(&user, job["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "completed", "{done}");
    let result_id = done["result_photo_id"].as_str().unwrap();

    let url = access_url(&app, &user, result_id, "download").await;
    assert!(url.starts_with(&s3.endpoint), "served by S3, not by us");
    let download = app.http.get(&url).send().await.unwrap();
    assert_eq!(download.status(), 200);
    let disposition = download.headers()["content-disposition"].to_str().unwrap();
    assert_eq!(
        disposition,
        signing::content_disposition(&Disposition::Attachment("scratched-b-restored.png".into()))
    );
    let bytes = download.bytes().await.unwrap();
    let restored = restore::probe(&bytes, &restore::Limits::default()).expect("a valid image");
    assert_eq!((restored.width, restored.height), (256, 256));
    assert_eq!(
        s3.keys(&bucket).await,
        sorted_keys(&[id, result_id]),
        "original and result, each with a thumbnail"
    );

    let deleted = app
        .http
        .delete(app.url(&format!("/api/photos/{id}")))
        .bearer_auth(&user.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);
    assert_eq!(
        s3.keys(&bucket).await,
        Vec::<String>::new(),
        "no bytes left"
    );
    app.stop().await;
}

fn sorted_keys(ids: &[&str]) -> Vec<String> {
    let mut keys: Vec<String> = ids
        .iter()
        .flat_map(|id| [format!("{id}/original"), format!("{id}/thumbnail")])
        .collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn a_download_name_with_any_characters_survives_s3() {
    let Some(s3) = s3_env() else { return };
    let _shared = MEMORY_TEST.read().await;
    let (app, _bucket) = spawn_s3_app(&s3, &[]).await;
    let user = app.register().await;
    let name = "Oma's \"beste\" foto + wij & jij — 1952 🎞 (1).png";
    let bytes = std::fs::read(testdata("photos/scratched-b.png")).unwrap();
    let response = app.upload(&user, name, bytes).await;
    assert_eq!(response.status(), 201);
    let photo: Value = response.json().await.unwrap();
    assert_eq!(photo["file_name"], name);

    let url = access_url(&app, &user, photo["id"].as_str().unwrap(), "download").await;
    let download = app.http.get(&url).send().await.unwrap();
    assert_eq!(download.status(), 200);
    let header = download.headers()["content-disposition"].to_str().unwrap();
    assert_eq!(
        header,
        signing::content_disposition(&Disposition::Attachment(name.into()))
    );
    let encoded = header.split("filename*=UTF-8''").nth(1).unwrap();
    let decoded = url::form_urlencoded::parse(format!("n={encoded}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    assert_eq!(decoded, name, "the exact name comes back from filename*");
    app.stop().await;
}
