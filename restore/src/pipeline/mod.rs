//! The restoration pipeline: named, optional stages run in a fixed order.
//!
//! Order matters: damage is removed before denoising (so scratches are not smeared into
//! their surroundings), colours are fixed on the clean image, sharpening comes after
//! denoising (so grain is not sharpened), and upscaling is last.

mod canvas;
mod colour;
mod denoise;
mod filters;
mod inpaint;
mod levels;
mod scratches;
mod sharpen;
mod upscale;

use image::DynamicImage;
use serde::{Deserialize, Serialize};

use canvas::Canvas;

/// Which restoration stages to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Remove scratches, cracks and dust specks.
    pub clean_scratches: bool,
    /// Reduce film grain and scan noise, keeping edges.
    pub reduce_noise: bool,
    /// Fix faded contrast and colour casts.
    pub fix_colours: bool,
    /// Sharpen detail without halos.
    pub sharpen: bool,
    /// Double the width and height.
    pub upscale_2x: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clean_scratches: true,
            reduce_noise: true,
            fix_colours: true,
            sharpen: true,
            upscale_2x: false,
        }
    }
}

/// A step of the pipeline, as reported to the progress callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// Scratch and dust removal.
    CleanScratches,
    /// Noise reduction.
    ReduceNoise,
    /// Levels and colour-cast correction.
    FixColours,
    /// Sharpening.
    Sharpen,
    /// 2× upscaling.
    Upscale,
}

impl Stage {
    /// A short lower-case name for people, such as "clean scratches".
    pub fn name(self) -> &'static str {
        match self {
            Self::CleanScratches => "clean scratches",
            Self::ReduceNoise => "reduce noise",
            Self::FixColours => "fix colours",
            Self::Sharpen => "sharpen",
            Self::Upscale => "upscale",
        }
    }

    /// Relative cost, used to turn stages into an overall percentage.
    fn weight(self) -> u32 {
        match self {
            Self::CleanScratches => 35,
            Self::ReduceNoise => 35,
            Self::FixColours => 5,
            Self::Sharpen => 10,
            Self::Upscale => 15,
        }
    }

    /// The stages `options` enables, in pipeline order.
    fn enabled(options: &Options) -> Vec<Stage> {
        [
            (options.clean_scratches, Self::CleanScratches),
            (options.reduce_noise, Self::ReduceNoise),
            (options.fix_colours, Self::FixColours),
            (options.sharpen, Self::Sharpen),
            (options.upscale_2x, Self::Upscale),
        ]
        .into_iter()
        .filter_map(|(on, stage)| on.then_some(stage))
        .collect()
    }
}

/// Restores a photo with the stages `options` enables.
///
/// The result has the input's size (exactly twice it with `upscale_2x`) and keeps its alpha
/// channel. `progress` is called with each enabled stage as it starts, with the overall
/// percentage done so far, and once more with the last stage and 100 at the end (it is not
/// called when no stage is enabled).
pub fn restore(
    image: &DynamicImage,
    options: &Options,
    progress: &mut dyn FnMut(Stage, u8),
) -> DynamicImage {
    let stages = Stage::enabled(options);
    let total: u32 = stages.iter().map(|s| s.weight()).sum();
    let (mut canvas, alpha) = Canvas::from_image(image);
    let mut done = 0;
    let mut upscale = false;
    // Measured before noise reduction: on a noisy scan the extreme pixels are noise, not
    // the photo's black and white, so levels may clip a little.
    let noisy = options.fix_colours && denoise::estimate_noise(&canvas) >= denoise::MIN_NOISE;

    for &stage in &stages {
        progress(stage, (done * 100 / total) as u8);
        done += stage.weight();
        let started = std::time::Instant::now();
        match stage {
            Stage::CleanScratches => drop(scratches::clean_scratches(&mut canvas)),
            Stage::ReduceNoise => drop(denoise::reduce_noise(&mut canvas)),
            Stage::FixColours => fix_colours(&mut canvas, noisy),
            Stage::Sharpen => sharpen::sharpen(&mut canvas),
            Stage::Upscale => upscale = true,
        }
        tracing::debug!(stage = stage.name(), elapsed = ?started.elapsed(), "stage done");
    }

    let mut restored = canvas.into_image(alpha);
    if upscale {
        restored = upscale::upscale_2x(&restored);
    }
    if let Some(&last) = stages.last() {
        progress(last, 100);
    }
    restored
}

/// Colour cast first (on the original range), then levels on the balanced image.
fn fix_colours(canvas: &mut Canvas, noisy: bool) {
    colour::correct_cast(canvas);
    levels::auto_levels(canvas, noisy);
}
