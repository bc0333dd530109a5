//! One benchmark run: damage, restore, score, compare and write the report.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use image::{DynamicImage, RgbImage};
use restore::{Limits, Options};

use crate::baseline::{self, Baseline, Versions};
use crate::contact::contact_sheet;
use crate::damage::{damage, Defect};
use crate::metrics::{psnr, ssim};
use crate::report::{BaselineInfo, ContactSheet, ImageScores, Report, Row, Score, Speed};

/// The clean image `--small` uses (the smallest of the set).
const SMALL_CLEAN: &str = "chelsea.png";
/// The real photo `--small` puts on the contact sheet.
const SMALL_PHOTO: &str = "scratched-b.png";

/// What to run and where.
pub struct Settings {
    /// Folder holding `clean/` and `photos/`.
    pub testdata: PathBuf,
    /// Folder the report, contact sheet and intermediate images are written to.
    pub out: PathBuf,
    /// One small image instead of all (for CI).
    pub small: bool,
    /// Seed of the synthetic damage.
    pub seed: u64,
    /// The classical baseline, unless skipped.
    pub baseline: Option<(Baseline, Versions)>,
    /// The command line, for the report.
    pub command: String,
}

/// Runs the benchmark and writes `report.md`, `report.json` and `contact-sheet.png`.
pub fn run(settings: &Settings) -> Result<Report> {
    let clean = load_clean(&settings.testdata.join("clean"), settings.small)?;
    let work = settings.out.join("images");
    let mut per_image = Vec::new();
    let (mut pipeline_time, mut baseline_time) = (Duration::ZERO, Duration::ZERO);

    for defect in Defect::ALL {
        let dir = work.join(defect.name());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("Failed to create {}", dir.display()))?;
        let mut damaged_files = Vec::new();
        let mut scores = Vec::new();
        for (name, original) in &clean {
            let damaged = damage(original, defect, image_seed(settings.seed, name, defect));
            let started = Instant::now();
            let restored = restore::restore(
                &DynamicImage::ImageRgb8(damaged.clone()),
                &Options::default(),
                &mut |_, _| {},
            )
            .to_rgb8();
            pipeline_time += started.elapsed();

            let file = dir.join(format!("{name}.png"));
            save(&damaged, &file)?;
            save(&restored, &dir.join(format!("{name}-pipeline.png")))?;
            damaged_files.push(file);
            scores.push(ImageScores {
                image: name.clone(),
                defect,
                damaged: score(original, &damaged),
                pipeline: score(original, &restored),
                baseline: None,
            });
        }

        if let Some((baseline, _)) = &settings.baseline {
            let (results, elapsed) = baseline
                .run(defect, &damaged_files, &dir.join("baseline"))
                .with_context(|| format!("The baseline failed on {}", defect.name()))?;
            baseline_time += elapsed;
            for ((s, (_, original)), result) in scores.iter_mut().zip(&clean).zip(&results) {
                s.baseline = Some(score(original, result));
            }
        }
        let row = Row::from_scores(defect.name(), &scores.iter().collect::<Vec<_>>());
        tracing::info!(defect = defect.name(), pipeline = ?row.pipeline_gain, baseline = ?row.baseline_gain, "scored");
        per_image.extend(scores);
    }

    let rows: Vec<Row> = Defect::ALL
        .iter()
        .map(|d| {
            let of_defect: Vec<&ImageScores> =
                per_image.iter().filter(|s| s.defect == *d).collect();
            Row::from_scores(d.name(), &of_defect)
        })
        .collect();
    let overall = Row::from_scores("overall", &per_image.iter().collect::<Vec<_>>());

    let megapixels = Defect::ALL.len() as f64
        * clean
            .iter()
            .map(|(_, i)| f64::from(i.width() * i.height()))
            .sum::<f64>()
        / 1e6;
    let contact_sheet = make_contact_sheet(settings)?;
    let report = Report {
        command: settings.command.clone(),
        machine: machine(),
        seed: settings.seed,
        clean_images: clean.iter().map(|(name, _)| name.clone()).collect(),
        rows,
        overall,
        pipeline_speed: Speed::new(
            megapixels,
            pipeline_time.as_secs_f64(),
            rayon::current_num_threads(),
        ),
        baseline_speed: settings
            .baseline
            .as_ref()
            .map(|_| Speed::new(megapixels, baseline_time.as_secs_f64(), 1)),
        baseline: settings
            .baseline
            .as_ref()
            .map(|(_, versions)| BaselineInfo {
                versions: versions.clone(),
                recipes: Defect::ALL
                    .iter()
                    .map(|&d| (d, baseline::describe(baseline::recipe(d))))
                    .collect(),
            }),
        per_image,
        contact_sheet,
    };
    report.write(&settings.out)?;

    Ok(report)
}

/// PSNR and SSIM of `result` against `original`.
pub fn score(original: &RgbImage, result: &RgbImage) -> Score {
    Score {
        psnr: psnr(original, result),
        ssim: ssim(original, result),
    }
}

/// A seed per image and defect, so adding an image leaves the others' damage unchanged.
fn image_seed(seed: u64, name: &str, defect: Defect) -> u64 {
    // FNV-1a over the name, mixed with the defect's position.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in name.bytes().chain([defect as u8]) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash ^ seed
}

/// The clean PNGs of `dir`, by file stem, in name order (only [`SMALL_CLEAN`] when `small`).
fn load_clean(dir: &Path, small: bool) -> Result<Vec<(String, RgbImage)>> {
    let files = png_files(dir)?;
    let files: Vec<PathBuf> = if small {
        files
            .into_iter()
            .filter(|f| f.ends_with(SMALL_CLEAN))
            .collect()
    } else {
        files
    };
    ensure!(
        !files.is_empty(),
        "no clean PNG photos found in {}",
        dir.display()
    );
    files
        .iter()
        .map(|path| {
            let image =
                image::open(path).with_context(|| format!("Failed to read {}", path.display()))?;
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok((name, image.to_rgb8()))
        })
        .collect()
}

fn png_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("Failed to list {} (pass --testdata DIR?)", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "png"))
        .collect();
    files.sort();
    Ok(files)
}

/// Restores the real old photos and writes them side by side to `contact-sheet.png`.
fn make_contact_sheet(settings: &Settings) -> Result<Option<ContactSheet>> {
    let dir = settings.testdata.join("photos");
    if !dir.is_dir() {
        tracing::warn!(dir = %dir.display(), "no real photos; skipping the contact sheet");
        return Ok(None);
    }
    let mut files = png_files(&dir)?;
    if settings.small {
        files.retain(|f| f.ends_with(SMALL_PHOTO));
    }

    let mut pairs = Vec::new();
    let mut elapsed = Duration::ZERO;
    for path in &files {
        let bytes =
            std::fs::read(path).with_context(|| format!("Failed to read {}", path.display()))?;
        let before = restore::decode(&bytes, &Limits::default())
            .with_context(|| format!("Failed to decode {}", path.display()))?
            .image;
        let started = Instant::now();
        let after = restore::restore(&before, &Options::default(), &mut |_, _| {});
        elapsed += started.elapsed();
        pairs.push((before, after));
    }
    let file = "contact-sheet.png";
    save(&contact_sheet(&pairs), &settings.out.join(file))?;

    Ok(Some(ContactSheet {
        file: file.to_owned(),
        photos: files
            .iter()
            .map(|f| {
                f.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        restore_seconds: elapsed.as_secs_f64(),
    }))
}

fn save(image: &RgbImage, path: &Path) -> Result<()> {
    image
        .save(path)
        .with_context(|| format!("Failed to write {}", path.display()))
}

/// Core count and CPU model, for the report.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    format!("{cores} cores, {model}")
}
