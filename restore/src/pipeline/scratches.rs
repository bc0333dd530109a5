//! Scratch and dust removal: find thin bright/dark defects, then inpaint them.
//!
//! Detection compares each pixel's brightness with the median of its neighbourhood. A median
//! window wider than a scratch erases the scratch but keeps edges, so the residual
//! `brightness - median` is large on thin lines and specks and small elsewhere. A pixel is a
//! defect when the residual stands out three ways (all thresholds adapt to the image):
//! above the image's own noise, above the residual activity of its neighbourhood (so
//! grass, hair and fabric, where every pixel has a residual, are left alone), and above the
//! local variation of the median image (so fine edges are left alone). The mask then grows
//! into neighbours with a weaker residual of the same sign (the soft rim of the damage), and
//! is filled from undamaged neighbours by [`super::inpaint`]. On a noisy print a second,
//! looser search adds the specks that the noise-scaled thresholds miss.

use rayon::prelude::*;

use super::canvas::Canvas;
use super::{filters, inpaint};

/// Residuals must exceed this many noise σ to count as damage.
const NOISE_FACTOR: f32 = 11.0;
/// The smallest brightness jump that counts as damage, whatever the noise level, in levels
/// of a full 0–255 range: a faded photo's own (narrower) range scales it down.
const MIN_CONTRAST: f32 = 40.0;
/// The contrast floor shrinks with a faded photo's range, but only down to this share of it:
/// below, the fine detail of a faded but undamaged photo would start to count as damage.
const FLOOR_RANGE: f32 = 0.9;
/// How much larger than the local variation of the median image a residual must be.
const EDGE_FACTOR: f32 = 1.2;
/// How much larger than the mean absolute residual around it a residual must be.
const ACTIVITY_FACTOR: f32 = 7.5;
/// Radius of the neighbourhood whose residual activity is measured.
const ACTIVITY_RADIUS: usize = 7;
/// Largest spread (0–255) between a pixel's channels for it to count as damage: dust and
/// scratches are colourless (grey, white or black), while small bright details of a scene
/// (a red light, a glint on a coloured cup) usually are not. On a noisy print, specks may
/// instead be this much more colourful than their surroundings.
const MAX_CHROMA: f32 = 35.0;
/// On a noisy print (residual σ at least this, 0–255) specks are also looked for with
/// looser thresholds: the strict ones scale with the noise and miss them. Clean photos
/// (σ about 1–2.5) are left to the strict tier, whose few false alarms cost detail.
const SPECK_MIN_NOISE: f32 = 2.7;
/// Specks on a noisy print need only this many noise σ...
const SPECK_NOISE_FACTOR: f32 = 6.0;
/// ...and to be only this much larger than the residual activity around them.
const SPECK_ACTIVITY_FACTOR: f32 = 4.0;
/// A neighbour joins the mask when its residual is this fraction of the threshold.
const RIM_FRACTION: f32 = 0.35;

/// Removes scratches and specks in place; returns how many pixels were repaired.
pub(crate) fn clean_scratches(canvas: &mut Canvas) -> usize {
    let mask = detect(canvas);
    let repaired = mask.iter().filter(|&&m| m).count();
    inpaint::fill(canvas, &mask);
    tracing::debug!(repaired, "cleaned scratches");
    repaired
}

/// Marks thin bright or dark defects.
pub(crate) fn detect(canvas: &Canvas) -> Vec<bool> {
    let damage = find(canvas, Tier::Damage).expect("the damage tier applies to every photo");
    match find(canvas, Tier::Specks) {
        Some(specks) => damage.iter().zip(specks).map(|(a, b)| *a || b).collect(),
        None => damage,
    }
}

/// Which defects [`find`] looks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tier {
    /// Scratches and specks: strict, and colourless in absolute terms.
    Damage,
    /// Specks on a noisy print: looser, and colourless relative to their surroundings (so
    /// specks on a tinted, sepia print count too); skipped on clean photos.
    Specks,
}

/// The mask of `tier`'s defects, or `None` when the tier does not apply to this photo.
fn find(canvas: &Canvas, tier: Tier) -> Option<Vec<bool>> {
    let (w, h) = (canvas.width, canvas.height);
    let radius = if w.max(h) > 2000 { 3 } else { 2 };
    let lum = canvas.luminance();
    let median = filters::median(&lum, w, h, radius);

    let residual: Vec<f32> = lum.par_iter().zip(&median).map(|(l, m)| l - m).collect();
    let floor = MIN_CONTRAST * (tonal_range(&lum) / 255.0).max(FLOOR_RANGE);
    let (noise_factor, activity_factor) = match tier {
        Tier::Damage => (NOISE_FACTOR, ACTIVITY_FACTOR),
        Tier::Specks => (SPECK_NOISE_FACTOR, SPECK_ACTIVITY_FACTOR),
    };
    let sigma = filters::robust_sigma(&residual);
    if tier == Tier::Specks && sigma < SPECK_MIN_NOISE {
        return None;
    }
    let threshold = (noise_factor * sigma).max(floor);
    let magnitude: Vec<f32> = residual.iter().map(|r| r.abs()).collect();
    let activity = background_activity(&magnitude, threshold, w, h);
    let (lo, hi) = filters::min_max(&median, w, h, 1);
    let chroma: Vec<f32> = canvas.px.par_iter().map(|&p| chroma(p)).collect();
    let allowed_chroma = match tier {
        Tier::Damage => vec![MAX_CHROMA; chroma.len()],
        Tier::Specks => filters::median(&chroma, w, h, radius)
            .into_iter()
            .map(|c| c + MAX_CHROMA)
            .collect(),
    };

    let strong: Vec<bool> = (0..residual.len())
        .into_par_iter()
        .map(|i| {
            let r = magnitude[i];
            chroma[i] < allowed_chroma[i]
                && r > threshold
                && r > activity_factor * activity[i]
                && r > EDGE_FACTOR * (hi[i] - lo[i])
        })
        .collect();
    Some(grow_rim(&strong, &residual, threshold * RIM_FRACTION, w, h))
}

/// Spread between a pixel's largest and smallest channel: 0 for grey.
fn chroma(p: [f32; 3]) -> f32 {
    p.iter().fold(0.0f32, |a, &v| a.max(v)) - p.iter().fold(255.0f32, |a, &v| a.min(v))
}

/// Mean residual magnitude around each pixel, each residual clipped at `threshold`: texture,
/// where many pixels stand out, stays active, while a thin scratch (a small share of the
/// window) raises it little, however bright it is.
fn background_activity(magnitude: &[f32], threshold: f32, w: usize, h: usize) -> Vec<f32> {
    let clipped: Vec<f32> = magnitude.iter().map(|&m| m.min(threshold)).collect();
    filters::box_mean(&clipped, w, h, ACTIVITY_RADIUS)
}

/// Distance between the 1st and 99th brightness percentiles (sampled on large images).
fn tonal_range(lum: &[f32]) -> f32 {
    let step = (lum.len() / 100_000).max(1);
    let mut sample: Vec<f32> = lum.iter().step_by(step).copied().collect();
    if sample.is_empty() {
        return 255.0;
    }
    sample.sort_unstable_by(f32::total_cmp);
    let at = |f: f32| sample[((sample.len() - 1) as f32 * f) as usize];
    at(0.99) - at(0.01)
}

/// Adds 8-connected neighbours of the mask whose residual has the same sign and exceeds
/// `weak`: the blurred edge of a scratch that the strict test misses.
fn grow_rim(
    strong: &[bool],
    residual: &[f32],
    weak: f32,
    width: usize,
    height: usize,
) -> Vec<bool> {
    let mut out = strong.to_vec();
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        for (x, value) in row.iter_mut().enumerate() {
            let i = y * width + x;
            if *value || residual[i].abs() <= weak {
                continue;
            }
            *value = filters::clamped_range(y, 1, height).any(|ny| {
                filters::clamped_range(x, 1, width).any(|nx| {
                    let j = ny * width + nx;
                    strong[j] && residual[j].signum() == residual[i].signum()
                })
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth diagonal gradient, the kind of background a scratch crosses.
    fn gradient(w: usize, h: usize) -> Canvas {
        let px = (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                let v = 40.0 + 150.0 * (x + y) / (w + h) as f32;
                [v, v * 0.9, v * 0.8]
            })
            .collect();
        Canvas {
            width: w,
            height: h,
            px,
        }
    }

    #[test]
    fn a_scratch_on_a_gradient_is_removed() {
        let (w, h) = (64, 48);
        let clean = gradient(w, h);
        let mut damaged = clean.clone();
        let scratch: Vec<usize> = (0..h).map(|y| y * w + 10 + y / 3).collect();
        for &i in &scratch {
            damaged.px[i] = [245.0, 245.0, 240.0];
        }
        let max_error = |c: &Canvas| {
            let mut worst = 0.0f32;
            for &i in &scratch {
                for k in 0..3 {
                    worst = worst.max((c.px[i][k] - clean.px[i][k]).abs());
                }
            }
            worst
        };
        let before = max_error(&damaged);

        clean_scratches(&mut damaged);

        let after = max_error(&damaged);
        assert!(before > 150.0, "the scratch should be visible: {before}");
        assert!(after < 6.0, "scratch error went from {before} to {after}");
    }

    #[test]
    fn dark_dust_specks_are_found_and_smooth_areas_are_not() {
        let (w, h) = (40, 40);
        let mut canvas = gradient(w, h);
        canvas.px[10 * w + 10] = [5.0, 5.0, 5.0];
        canvas.px[30 * w + 25] = [8.0, 8.0, 8.0];
        let mask = detect(&canvas);
        assert!(mask[10 * w + 10] && mask[30 * w + 25]);
        assert_eq!(mask.iter().filter(|&&m| m).count(), 2);
    }

    #[test]
    fn a_hard_edge_is_not_damage() {
        let (w, h) = (30, 30);
        let px = (0..w * h)
            .map(|i| if i % w < 15 { [30.0; 3] } else { [220.0; 3] })
            .collect();
        let canvas = Canvas {
            width: w,
            height: h,
            px,
        };
        assert!(detect(&canvas).iter().all(|&m| !m));
    }
}
