//! `quality`: scores the restoration pipeline against a classical baseline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use quality::baseline::Baseline;
use quality::bench::{self, Settings};

const USAGE: &str = "\
Usage: quality [OPTIONS]
       quality score ORIGINAL RESULT

Damages the clean test photos, restores them with the pipeline and the classical baseline
(ImageMagick + OpenCV), and writes report.md, report.json and contact-sheet.png.
`score` prints the PSNR and SSIM of one result against its original.

Options:
  --testdata DIR    folder with clean/ and photos/   [default: ../shared/testdata from the repo]
  --out DIR         where the report goes            [default: target/quality in the repo]
  --small           one small image only (for CI)
  --skip-baseline   score the pipeline alone
  --seed N          seed of the synthetic damage     [default: 2024]
  --convert PATH    ImageMagick's convert            [default: /usr/bin/convert]
  --python PATH     a Python with OpenCV             [default: quality/.venv/bin/python]
  -h, --help        this text";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "quality=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quality: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("score") {
        return score(&args[1..]);
    }

    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut testdata = crate_dir.join("../../shared/testdata");
    let mut out = crate_dir.join("../target/quality");
    let mut convert = PathBuf::from("/usr/bin/convert");
    let mut python = crate_dir.join(".venv/bin/python");
    let (mut small, mut skip_baseline, mut seed) = (false, false, 2024);

    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let mut value = || {
            rest.next()
                .with_context(|| format!("{arg} needs a value\n\n{USAGE}"))
        };
        match arg.as_str() {
            "--testdata" => testdata = value()?.into(),
            "--out" => out = value()?.into(),
            "--convert" => convert = value()?.into(),
            "--python" => python = value()?.into(),
            "--seed" => seed = value()?.parse().context("--seed needs a number")?,
            "--small" => small = true,
            "--skip-baseline" => skip_baseline = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n\n{USAGE}"),
        }
    }

    let baseline = if skip_baseline {
        None
    } else {
        let script = crate_dir.join("baseline/opencv_inpaint.py");
        Some(Baseline::find(convert, python, script).context("The classical baseline is missing")?)
    };
    std::fs::create_dir_all(&out).with_context(|| format!("Failed to create {}", out.display()))?;
    let settings = Settings {
        testdata,
        out: out.clone(),
        small,
        seed,
        baseline,
        command: std::iter::once("quality".to_owned())
            .chain(args)
            .collect::<Vec<_>>()
            .join(" "),
    };
    let report = bench::run(&settings)?;

    println!("{}", report.table());
    println!("Report written to {}", out.join("report.md").display());
    Ok(())
}

/// `quality score ORIGINAL RESULT`.
fn score(files: &[String]) -> Result<()> {
    let [original, result] = files else {
        bail!("score needs ORIGINAL and RESULT\n\n{USAGE}");
    };
    let open = |path: &String| -> Result<image::RgbImage> {
        Ok(image::open(path)
            .with_context(|| format!("Failed to read {path}"))?
            .to_rgb8())
    };
    let (original, result) = (open(original)?, open(result)?);
    if original.dimensions() != result.dimensions() {
        bail!("the images differ in size");
    }
    let s = bench::score(&original, &result);
    println!("PSNR {:.3} dB  SSIM {:.5}", s.psnr, s.ssim);

    Ok(())
}
