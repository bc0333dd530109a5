//! A 100 MB upload's peak server memory: the body is streamed to disk, so memory follows the
//! image's pixel count (decoding for the thumbnail), never the file's size; an upload over
//! the size limit is cut off while streaming.

use crate::report::{Section, Verdict};
use crate::rig::Rig;
use crate::Ctx;
use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::ImageEncoder;
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Growth allowed while streaming a body that is refused for its size.
const STREAMING_BOUND_MIB: f64 = 32.0;

pub async fn run(ctx: &Ctx, rig: &Rig) -> anyhow::Result<Section> {
    let target_bytes = ctx.scale.upload_bytes;
    let mut section = Section::new(
        "upload",
        "Upload memory",
        &format!(
            "a {} MB upload keeps server memory bounded",
            target_bytes / 1_000_000
        ),
    );
    let account = rig.accounts(1).await?.remove(0);
    let side = ((target_bytes as f64 / 3.0).sqrt()) as u32;
    let photo = tokio::task::spawn_blocking(move || noise_png(side)).await??;
    let over = vec![0x89u8; rig_limit(ctx) as usize + 16 * 1024 * 1024];

    let (accepted, photo_peak) = peak_during(rig, async {
        rig.api
            .upload_photo(&account.token, "big.png", photo.clone())
            .await
    })
    .await;
    let accepted = accepted.is_ok();
    let (refused, over_peak) = peak_during(rig, async {
        rig.api
            .upload_photo(&account.token, "too-big.png", over.clone())
            .await
    })
    .await;

    let mib = |kib: u64| kib as f64 / 1024.0;
    section.row(
        "photo upload",
        format!(
            "{:.1} MB PNG of {side}×{side} pixels ({:.1} MP): {}",
            photo.len() as f64 / 1e6,
            (side as f64).powi(2) / 1e6,
            if accepted { "accepted" } else { "REFUSED" }
        ),
    );
    section.row(
        "peak server memory growth during it",
        format!(
            "{:.1} MiB (decoded pixels alone: {:.1} MiB)",
            mib(photo_peak),
            (side as f64).powi(2) * 3.0 / 1048576.0
        ),
    );
    section.row(
        "over-limit upload",
        format!(
            "{:.1} MB against a {:.0} MB limit: {}",
            over.len() as f64 / 1e6,
            rig_limit(ctx) as f64 / 1e6,
            match &refused {
                Err(e) if e.to_string().contains("413") =>
                    "refused with 413 while streaming".to_string(),
                Err(e) => format!("refused: {e}"),
                Ok(_) => "ACCEPTED".into(),
            }
        ),
    );
    section.row(
        "peak server memory growth during it",
        format!("{:.1} MiB", mib(over_peak)),
    );
    let bounded = mib(over_peak) <= STREAMING_BOUND_MIB
        && mib(photo_peak) <= 4.0 * (side as f64).powi(2) * 3.0 / 1048576.0 + STREAMING_BOUND_MIB;
    section.verdict = Verdict::from_check(accepted && refused.is_err() && bounded);
    section.note(format!("Bounded means: streaming a refused body costs at most {STREAMING_BOUND_MIB} MiB, and an accepted photo at most four copies of its decoded pixels plus that (the pixel limit, 100 MP by default, caps the decode). Peak = highest of VmRSS sampled every 10 ms and VmHWM."));
    section.data = json!({
        "photo_bytes": photo.len(), "photo_pixels": side as u64 * side as u64, "photo_peak_growth_kib": photo_peak,
        "over_bytes": over.len(), "over_peak_growth_kib": over_peak, "accepted": accepted, "refused": refused.is_err(),
    });

    Ok(section)
}

/// The upload limit the rig was started with.
pub fn rig_limit(ctx: &Ctx) -> u64 {
    ctx.scale.upload_bytes + ctx.scale.upload_bytes / 4
}

/// Runs `work` while sampling the server's memory; returns its result and the peak growth in KiB.
async fn peak_during<T>(rig: &Rig, work: impl std::future::Future<Output = T>) -> (T, u64) {
    let pid = rig.instance.pid();
    let before = rig.instance.memory().map(|m| m.rss_kib).unwrap_or(0);
    let hwm_before = rig.instance.memory().map(|m| m.peak_kib).unwrap_or(0);
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if let Ok(m) = crate::instance::process_memory(pid) {
                    peak.fetch_max(m.rss_kib, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let result = work.await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let hwm_after = rig.instance.memory().map(|m| m.peak_kib).unwrap_or(0);
    let mut highest = peak.load(Ordering::Relaxed);
    if hwm_after > hwm_before {
        highest = highest.max(hwm_after);
    }

    (result, highest.saturating_sub(before))
}

/// An incompressible PNG of `side`×`side` pixels (its file is about 3 bytes per pixel).
fn noise_png(side: u32) -> anyhow::Result<Vec<u8>> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let pixels: Vec<u8> = (0..side as usize * side as usize * 3)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let mut out = Vec::with_capacity(pixels.len() + 1024);
    PngEncoder::new_with_quality(&mut out, CompressionType::Fast, FilterType::NoFilter)
        .write_image(&pixels, side, side, image::ExtendedColorType::Rgb8)?;
    Ok(out)
}
