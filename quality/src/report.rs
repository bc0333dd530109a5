//! The benchmark's findings and their Markdown and JSON forms.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::damage::Defect;

/// PSNR values are capped at this for averaging (an identical image scores infinity).
pub const PSNR_CAP: f64 = 99.0;

/// Quality of one image, or a mean over several.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Score {
    /// PSNR over RGB, dB (capped at [`PSNR_CAP`]).
    pub psnr: f64,
    /// SSIM over luminance.
    pub ssim: f64,
}

impl Score {
    /// The mean of `scores` (zero for none).
    pub fn mean(scores: impl IntoIterator<Item = Score>) -> Score {
        let (mut sum, mut n) = (Score::default(), 0.0);
        for s in scores {
            sum.psnr += s.psnr.min(PSNR_CAP);
            sum.ssim += s.ssim;
            n += 1.0;
        }
        if n == 0.0 {
            return sum;
        }
        Score {
            psnr: sum.psnr / n,
            ssim: sum.ssim / n,
        }
    }

    /// How much better `self` is than `before`.
    pub fn gain_over(self, before: Score) -> Score {
        Score {
            psnr: self.psnr - before.psnr,
            ssim: self.ssim - before.ssim,
        }
    }
}

/// The scores of one damaged image.
#[derive(Clone, Debug, Serialize)]
pub struct ImageScores {
    pub image: String,
    pub defect: Defect,
    pub damaged: Score,
    pub pipeline: Score,
    pub baseline: Option<Score>,
}

/// Mean scores of one defect type (or of all, for the overall row).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The defect's name, or "overall".
    pub defect: String,
    pub damaged: Score,
    pub pipeline: Score,
    pub pipeline_gain: Score,
    pub baseline: Option<Score>,
    pub baseline_gain: Option<Score>,
    /// "pipeline", "baseline", "split" (each wins one metric) or "—" (no baseline).
    pub winner: String,
}

impl Row {
    /// Averages `scores` into a row called `defect`.
    pub fn from_scores(defect: &str, scores: &[&ImageScores]) -> Row {
        let damaged = Score::mean(scores.iter().map(|s| s.damaged));
        let pipeline = Score::mean(scores.iter().map(|s| s.pipeline));
        let baseline = scores
            .iter()
            .map(|s| s.baseline)
            .collect::<Option<Vec<_>>>()
            .map(Score::mean);
        let pipeline_gain = pipeline.gain_over(damaged);
        let baseline_gain = baseline.map(|b| b.gain_over(damaged));
        let winner = match baseline_gain {
            None => "—",
            Some(b) if pipeline_gain.psnr > b.psnr && pipeline_gain.ssim > b.ssim => "pipeline",
            Some(b) if pipeline_gain.psnr < b.psnr && pipeline_gain.ssim < b.ssim => "baseline",
            Some(_) => "split",
        };
        Row {
            defect: defect.to_owned(),
            damaged,
            pipeline,
            pipeline_gain,
            baseline,
            baseline_gain,
            winner: winner.to_owned(),
        }
    }
}

/// Throughput of one contender.
#[derive(Clone, Debug, Serialize)]
pub struct Speed {
    pub megapixels: f64,
    pub seconds: f64,
    pub cores: usize,
    pub megapixels_per_second_per_core: f64,
}

impl Speed {
    pub fn new(megapixels: f64, seconds: f64, cores: usize) -> Speed {
        let per_core = megapixels / seconds.max(1e-9) / cores.max(1) as f64;
        Speed {
            megapixels,
            seconds,
            cores,
            megapixels_per_second_per_core: per_core,
        }
    }
}

/// Everything one run found.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub command: String,
    pub machine: String,
    pub seed: u64,
    pub clean_images: Vec<String>,
    pub rows: Vec<Row>,
    pub overall: Row,
    pub pipeline_speed: Speed,
    pub baseline_speed: Option<Speed>,
    /// Tool versions and, per defect, the recipe used; absent with `--skip-baseline`.
    pub baseline: Option<BaselineInfo>,
    pub per_image: Vec<ImageScores>,
    /// The before/after sheet of the real old photos, next to the report.
    pub contact_sheet: Option<ContactSheet>,
}

/// What the baseline was.
#[derive(Clone, Debug, Serialize)]
pub struct BaselineInfo {
    pub versions: crate::baseline::Versions,
    pub recipes: Vec<(Defect, String)>,
}

/// The contact sheet's file and the photos on it, top to bottom.
#[derive(Clone, Debug, Serialize)]
pub struct ContactSheet {
    pub file: String,
    pub photos: Vec<String>,
    pub restore_seconds: f64,
}

impl Report {
    /// Writes `report.md` and `report.json` into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self).context("Failed to serialise the report")?;
        std::fs::write(dir.join("report.json"), json).context("Failed to write report.json")?;
        std::fs::write(dir.join("report.md"), self.markdown()).context("Failed to write report.md")
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Restoration quality\n");
        let _ = writeln!(md, "Command: `{}`  ", self.command);
        let _ = writeln!(md, "Machine: {}  ", self.machine);
        let _ = writeln!(
            md,
            "Clean images: {} (seed {})\n",
            self.clean_images.join(", "),
            self.seed
        );
        md.push_str(&self.table());
        md.push('\n');
        md.push_str(&self.speed_lines());
        if let Some(baseline) = &self.baseline {
            let _ = writeln!(
                md,
                "\nBaseline: {}; OpenCV {}.\n",
                baseline.versions.imagemagick, baseline.versions.opencv
            );
            for (defect, recipe) in &baseline.recipes {
                let _ = writeln!(md, "* {}: `{recipe}`", defect.name());
            }
        }
        if let Some(sheet) = &self.contact_sheet {
            let _ = writeln!(
                md,
                "\nReal old photos, before (left) and after (right), top to bottom: {} — \
                 ![contact sheet]({})",
                sheet.photos.join(", "),
                sheet.file
            );
        }
        md.push_str("\n## Per image\n\n| image | defect | damaged | pipeline | baseline |\n");
        md.push_str("| --- | --- | --- | --- | --- |\n");
        for s in &self.per_image {
            let baseline = s.baseline.map(cell).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {baseline} |",
                s.image,
                s.defect.name(),
                cell(s.damaged),
                cell(s.pipeline)
            );
        }
        md
    }

    /// The main table: one row per defect and an overall row.
    pub fn table(&self) -> String {
        let mut md = String::from(
            "| defect | damaged PSNR / SSIM | pipeline PSNR / SSIM | pipeline gain | \
             baseline PSNR / SSIM | baseline gain | winner |\n\
             | --- | --- | --- | --- | --- | --- | --- |\n",
        );
        for row in self.rows.iter().chain([&self.overall]) {
            let none = || "—".to_owned();
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} |",
                row.defect,
                cell(row.damaged),
                cell(row.pipeline),
                gain(row.pipeline_gain),
                row.baseline.map(cell).unwrap_or_else(none),
                row.baseline_gain.map(gain).unwrap_or_else(none),
                row.winner
            );
        }
        md
    }

    fn speed_lines(&self) -> String {
        let line = |who: &str, s: &Speed| {
            format!(
                "* {who}: {:.3} MP/s per core ({:.2} MP in {:.2} s on {} core(s))\n",
                s.megapixels_per_second_per_core, s.megapixels, s.seconds, s.cores
            )
        };
        let mut out = String::from("Speed (wall time ÷ cores used):\n\n");
        out.push_str(&line("pipeline", &self.pipeline_speed));
        if let Some(b) = &self.baseline_speed {
            out.push_str(&line("baseline (incl. process start-up and PNG I/O)", b));
        }
        out
    }
}

fn cell(s: Score) -> String {
    format!("{:.2} dB / {:.4}", s.psnr, s.ssim)
}

fn gain(s: Score) -> String {
    format!("{:+.2} dB / {:+.4}", s.psnr, s.ssim)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scores(damaged: f64, pipeline: f64, baseline: f64) -> ImageScores {
        let s = |v: f64| Score {
            psnr: v,
            ssim: v / 100.0,
        };
        ImageScores {
            image: "x".into(),
            defect: Defect::Dust,
            damaged: s(damaged),
            pipeline: s(pipeline),
            baseline: Some(s(baseline)),
        }
    }

    #[test]
    fn the_larger_gain_in_both_metrics_wins() {
        let row = Row::from_scores("dust", &[&scores(20.0, 30.0, 25.0)]);
        assert_eq!(row.winner, "pipeline");
        assert!((row.pipeline_gain.psnr - 10.0).abs() < 1e-9);
        let row = Row::from_scores("dust", &[&scores(20.0, 22.0, 25.0)]);
        assert_eq!(row.winner, "baseline");
    }

    #[test]
    fn infinite_psnr_is_capped_when_averaging() {
        let mean = Score::mean([
            Score {
                psnr: f64::INFINITY,
                ssim: 1.0,
            },
            Score {
                psnr: 21.0,
                ssim: 0.5,
            },
        ]);
        assert!((mean.psnr - (PSNR_CAP + 21.0) / 2.0).abs() < 1e-9);
    }
}
