//! The classical baseline: ImageMagick and OpenCV's inpainting, run as subprocesses.
//!
//! Each defect has its own recipe, with the settings that scored best on this benchmark
//! (the candidates tried are listed in BENCHMARKS.md). The baseline is told which defect it
//! faces; the pipeline is not, and runs the same default options on everything.
//!
//! Both tools are held to one thread (`MAGICK_THREAD_LIMIT=1`, `cv2.setNumThreads(1)`), so
//! their speed per core is their wall time. That time includes process start-up and PNG
//! encoding and decoding between steps, which a library call would not pay.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use image::RgbImage;

use crate::damage::Defect;

/// One step of a recipe.
#[derive(Clone, Copy, Debug)]
pub enum Step {
    /// `opencv_inpaint.py` with these options (detect scratches and specks, then inpaint).
    Inpaint(&'static [&'static str]),
    /// `convert IN <operators> OUT`.
    Magick(&'static [&'static str]),
}

/// Thin-line detection: a 3×3 top/black-hat, level 70, no dilation.
const SCRATCH_DETECTION: &[&str] = &["--kernel", "3", "--threshold", "70", "--grow", "0"];

/// The best classical recipe found for `defect`.
pub fn recipe(defect: Defect) -> &'static [Step] {
    match defect {
        Defect::Scratches => &[Step::Inpaint(SCRATCH_DETECTION)],
        Defect::Dust => &[Step::Inpaint(&[
            "--kernel",
            "5",
            "--threshold",
            "130",
            "--grow",
            "0",
        ])],
        Defect::Grain => &[Step::Magick(&["-despeckle"])],
        Defect::Fading => &[Step::Magick(&["-auto-level"])],
        Defect::Cast => &[Step::Magick(&["-channel", "RGB", "-auto-level"])],
        Defect::Combined => &[
            Step::Inpaint(SCRATCH_DETECTION),
            Step::Magick(&["-despeckle", "-channel", "RGB", "-auto-level"]),
        ],
    }
}

/// A human-readable form of a recipe, for the report.
pub fn describe(steps: &[Step]) -> String {
    let parts: Vec<String> = steps
        .iter()
        .map(|step| match step {
            Step::Inpaint(args) => format!("opencv_inpaint.py {}", args.join(" ")),
            Step::Magick(args) => format!("convert {}", args.join(" ")),
        })
        .collect();
    parts.join(" → ")
}

/// Where the baseline's tools are.
#[derive(Clone, Debug)]
pub struct Baseline {
    convert: PathBuf,
    python: PathBuf,
    script: PathBuf,
}

/// The baseline's versions, for the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Versions {
    /// First line of `convert -version`.
    pub imagemagick: String,
    /// `cv2.__version__`.
    pub opencv: String,
}

impl Baseline {
    /// Checks that ImageMagick's `convert` and a Python with OpenCV are usable.
    pub fn find(convert: PathBuf, python: PathBuf, script: PathBuf) -> Result<(Self, Versions)> {
        let imagemagick = output_of(Command::new(&convert).arg("-version")).with_context(|| {
            format!(
                "ImageMagick's convert is not usable at {}: install Debian's imagemagick \
                 package (or pass --convert PATH), or run with --skip-baseline",
                convert.display()
            )
        })?;
        let imagemagick = imagemagick.lines().next().unwrap_or_default().to_owned();
        ensure!(
            imagemagick.contains("ImageMagick"),
            "{} is not ImageMagick's convert (it printed {imagemagick:?})",
            convert.display()
        );

        let opencv =
            output_of(Command::new(&python).args(["-c", "import cv2; print(cv2.__version__)"]))
                .with_context(|| {
                    format!(
                        "OpenCV is not importable with {}: run quality/setup-baseline.sh (or pass \
                     --python PATH), or run with --skip-baseline",
                        python.display()
                    )
                })?;
        ensure!(
            script.is_file(),
            "the baseline script {} is missing",
            script.display()
        );
        let versions = Versions {
            imagemagick,
            opencv: opencv.trim().to_owned(),
        };

        Ok((
            Self {
                convert,
                python,
                script,
            },
            versions,
        ))
    }

    /// Runs `defect`'s recipe on the PNG files `inputs`, working in `dir`; returns the
    /// results in input order and the wall time the tools took.
    pub fn run(
        &self,
        defect: Defect,
        inputs: &[PathBuf],
        dir: &Path,
    ) -> Result<(Vec<RgbImage>, Duration)> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("Failed to create {}", dir.display()))?;
        let mut current: Vec<PathBuf> = inputs.to_vec();
        let mut elapsed = Duration::ZERO;

        for (index, step) in recipe(defect).iter().enumerate() {
            let outputs: Vec<PathBuf> = inputs
                .iter()
                .map(|input| dir.join(format!("{}-step{index}.png", stem(input))))
                .collect();
            let started = Instant::now();
            match step {
                Step::Inpaint(args) => self.inpaint(args, &current, &outputs)?,
                Step::Magick(args) => {
                    for (input, output) in current.iter().zip(&outputs) {
                        self.magick(args, input, output)?;
                    }
                }
            }
            elapsed += started.elapsed();
            current = outputs;
        }

        let images = current
            .iter()
            .map(|path| {
                let image = image::open(path)
                    .with_context(|| format!("Failed to read {}", path.display()))?;
                Ok(image.to_rgb8())
            })
            .collect::<Result<_>>()?;
        Ok((images, elapsed))
    }

    fn inpaint(&self, args: &[&str], inputs: &[PathBuf], outputs: &[PathBuf]) -> Result<()> {
        let mut command = Command::new(&self.python);
        command.arg(&self.script).args(args);
        for (input, output) in inputs.iter().zip(outputs) {
            command.arg(input).arg(output);
        }
        output_of(&mut command).context("Failed to run opencv_inpaint.py")?;
        Ok(())
    }

    fn magick(&self, args: &[&str], input: &Path, output: &Path) -> Result<()> {
        let mut command = Command::new(&self.convert);
        // `PNG24:` keeps the output RGB even when the result happens to be grey.
        command
            .env("MAGICK_THREAD_LIMIT", "1")
            .arg(input)
            .args(args)
            .arg(format!("PNG24:{}", output.display()));
        output_of(&mut command).context("Failed to run ImageMagick's convert")?;
        Ok(())
    }
}

/// The file name without its extension.
fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Runs `command` (with OpenCV and OpenMP held to one thread) and returns its stdout, or an
/// error carrying its stderr.
fn output_of(command: &mut Command) -> Result<String> {
    let output = command
        .env("OMP_NUM_THREADS", "1")
        .output()
        .with_context(|| format!("Failed to start {:?}", command.get_program()))?;
    if !output.status.success() {
        bail!(
            "{:?} failed ({}): {}",
            command.get_program(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
