//! Gatekeeper throughput: signed-URL issuance (login, ownership, subscription, retention and
//! quota checks, then signing) beside the server's cheapest JSON endpoint, same server, same run.

use crate::api::small_png;
use crate::report::{Section, Verdict};
use crate::rig::Rig;
use crate::stats::Samples;
use crate::Ctx;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

pub async fn run(ctx: &Ctx, rig: &Rig) -> anyhow::Result<Section> {
    let scale = &ctx.scale;
    let mut section = Section::new(
        &format!("gatekeeper_{}", rig.store.label().to_lowercase()),
        &format!("Gatekeeper, {}", rig.store.label()),
        "signed URLs per second, beside a trivial JSON endpoint",
    );
    let accounts = rig.accounts(16).await?;
    let mut targets = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let photo = rig
            .api
            .upload_photo(&account.token, "g.png", small_png(i as u32))
            .await?;
        targets.push((account.token.clone(), photo));
    }
    let secs = Duration::from_secs_f64(scale.gatekeeper_secs);
    let base = rig.api.base.clone();
    let version_url = format!("{base}/api/version");
    let trivial = closed_loop(
        &rig.api.http,
        scale.gatekeeper_concurrency,
        secs,
        move |_, _| (version_url.clone(), None),
    )
    .await;
    let signed = closed_loop(
        &rig.api.http,
        scale.gatekeeper_concurrency,
        secs,
        move |worker, i| {
            let (token, photo): &(String, Uuid) = &targets[(worker + i) % targets.len()];
            (
                format!("{base}/api/photos/{photo}/access?variant=thumbnail"),
                Some(token.clone()),
            )
        },
    )
    .await;

    section.row("trivial JSON (GET /api/version)", trivial.describe());
    section.row(
        "signed URL (GET /api/photos/{id}/access)",
        signed.describe(),
    );
    section.row(
        "issuance ÷ trivial",
        format!("{:.0}%", 100.0 * signed.rate / trivial.rate),
    );
    section.verdict = if signed.failed == 0 && trivial.failed == 0 {
        Verdict::Reported
    } else {
        Verdict::Missed
    };
    section.note(format!(
        "{} concurrent clients, closed loop, {:.0} s each, keep-alive connections.",
        scale.gatekeeper_concurrency,
        secs.as_secs_f64()
    ));
    section.data = json!({
        "trivial_per_sec": trivial.rate, "signed_per_sec": signed.rate,
        "trivial": trivial.latency.summary(), "signed": signed.latency.summary(),
        "failed": trivial.failed + signed.failed,
    });

    Ok(section)
}

pub struct Throughput {
    pub rate: f64,
    pub failed: usize,
    pub latency: Samples,
}

impl Throughput {
    fn describe(&self) -> String {
        let latency = self
            .latency
            .summary()
            .map(|s| format!(", p50 {:.2} ms, p99 {:.2} ms", s.p50_ms, s.p99_ms))
            .unwrap_or_default();
        format!(
            "{:.0} requests/s{latency}, {} failed",
            self.rate, self.failed
        )
    }
}

/// `workers` clients each sending the next request as soon as the last is answered.
async fn closed_loop(
    http: &reqwest::Client,
    workers: usize,
    duration: Duration,
    request: impl Fn(usize, usize) -> (String, Option<String>) + Send + Sync + 'static,
) -> Throughput {
    let request = Arc::new(request);
    let results = Arc::new(Mutex::new((Samples::default(), 0usize)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (http, request, results) = (http.clone(), request.clone(), results.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0;
            while started.elapsed() < duration {
                let (url, token) = request(worker, i);
                i += 1;
                let mut call = http.get(url);
                if let Some(token) = token {
                    call = call.bearer_auth(token);
                }
                let sent = Instant::now();
                let ok = match call.send().await {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                };
                let mut results = results.lock().unwrap();
                if ok {
                    results.0.push(sent.elapsed())
                } else {
                    results.1 += 1
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let (latency, failed) = std::mem::take(&mut *results.lock().unwrap());

    Throughput {
        rate: latency.len() as f64 / seconds,
        failed,
        latency,
    }
}
