//! The restoration pipeline's speed on the real old photographs, beside ImageMagick doing
//! comparable operations (median for specks, despeckle for noise, auto-level for fading and
//! casts, unsharp mask) on the same files in the same run.

use crate::report::{Section, Verdict};
use crate::Ctx;
use anyhow::{bail, Context};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub async fn run(ctx: &Ctx) -> anyhow::Result<Section> {
    let photos = ctx.photos.clone();
    let convert = ctx.convert.clone();
    let limit = ctx.scale.pipeline_photos;
    tokio::task::spawn_blocking(move || measure(&photos, convert.as_deref(), limit)).await?
}

fn measure(dir: &Path, convert: Option<&Path>, limit: usize) -> anyhow::Result<Section> {
    let mut section = Section::new(
        "pipeline",
        "Restoration pipeline speed",
        "megapixels per second per core, beside ImageMagick",
    );
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("Failed to read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png" || x == "jpg"))
        .collect();
    files.sort();
    files.truncate(limit);
    if files.is_empty() {
        bail!("no photos in {}", dir.display());
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scratch = std::env::temp_dir().join(format!("rekindle-loadgen-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;

    let (mut megapixels, mut ours, mut ours_cpu, mut theirs, mut theirs_cpu) = (
        0.0,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
        Duration::ZERO,
    );
    for file in &files {
        let bytes = std::fs::read(file)?;
        let decoded = restore::decode(&bytes, &restore::Limits::default())
            .map_err(|err| anyhow::anyhow!("{}: {err}", file.display()))?;
        megapixels += (decoded.image.width() * decoded.image.height()) as f64 / 1e6;

        let (cpu, started) = (self_cpu(), Instant::now());
        let restored =
            restore::restore(&decoded.image, &restore::Options::default(), &mut |_, _| {});
        ours += started.elapsed();
        ours_cpu += self_cpu().saturating_sub(cpu);
        drop(restored);

        if let Some(convert) = convert {
            let out = scratch.join("out.png");
            let (cpu, started) = (children_cpu(), Instant::now());
            let status = std::process::Command::new(convert)
                .arg(file)
                .args([
                    "-median",
                    "3",
                    "-despeckle",
                    "-channel",
                    "RGB",
                    "-auto-level",
                    "+channel",
                    "-unsharp",
                    "0x1",
                ])
                .arg(&out)
                .status()?;
            theirs += started.elapsed();
            theirs_cpu += children_cpu().saturating_sub(cpu);
            if !status.success() {
                bail!("ImageMagick failed on {}", file.display());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);

    let per_core = |time: Duration, cpu: Duration| {
        (
            megapixels / time.as_secs_f64(),
            megapixels / cpu.as_secs_f64().max(1e-9),
        )
    };
    let (ours_rate, ours_core) = per_core(ours, ours_cpu);
    section.row(
        "photos",
        format!("{} files, {megapixels:.2} MP, {cores} cores", files.len()),
    );
    section.row(
        "Rekindle pipeline (default options, decoded in memory)",
        format!("{ours_rate:.2} MP/s wall, {ours_core:.2} MP per CPU-second"),
    );
    let mut data = json!({ "megapixels": megapixels, "files": files.len(), "pipeline_mp_per_s": ours_rate, "pipeline_mp_per_cpu_s": ours_core });
    match convert {
        Some(convert) => {
            let (their_rate, their_core) = per_core(theirs, theirs_cpu);
            section.row(
                "ImageMagick (-median 3 -despeckle -auto-level -unsharp 0x1, with file I/O)",
                format!("{their_rate:.2} MP/s wall, {their_core:.2} MP per CPU-second"),
            );
            section.row(
                "pipeline ÷ ImageMagick, per CPU-second",
                format!("{:.2}×", ours_core / their_core),
            );
            section.note(format!("ImageMagick: {}.", convert.display()));
            data["imagemagick_mp_per_s"] = json!(their_rate);
            data["imagemagick_mp_per_cpu_s"] = json!(their_core);
        }
        None => section.note("ImageMagick was not found, so only the pipeline was measured."),
    }
    section.verdict = Verdict::Reported;
    section.note("Per core = megapixels ÷ CPU seconds used (the pipeline's stages spread large images over all cores; ImageMagick uses OpenMP). The pipeline's steps do more than the ImageMagick chain: scratch detection with inpainting, edge-preserving denoise, cast correction.");
    section.data = data;

    Ok(section)
}

fn rusage(who: i32) -> Duration {
    // SAFETY: getrusage with a valid pointer to a zeroed local struct.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut usage);
        usage
    };
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn self_cpu() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

fn children_cpu() -> Duration {
    rusage(libc::RUSAGE_CHILDREN)
}
