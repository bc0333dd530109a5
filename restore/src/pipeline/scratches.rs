//! Scratch and dust removal: find thin bright/dark defects, then inpaint them.
//!
//! Detection compares each pixel's brightness with the median of its neighbourhood. A median
//! window wider than a scratch erases the scratch but keeps edges, so the residual
//! `brightness - median` is large on thin lines and specks and small elsewhere. A pixel is a
//! defect when the residual stands out three ways (all thresholds adapt to the image):
//! above the image's own noise, above the residual activity of its neighbourhood (so
//! grass, hair and fabric, where every pixel has a residual, are left alone), and above the
//! local variation of the median image (so fine edges are left alone). The mask then grows
//! into neighbours with a weaker residual of the same sign (the soft rim of the damage) and
//! by one more pixel, and is filled from undamaged neighbours by [`super::inpaint`].

use rayon::prelude::*;

use super::canvas::Canvas;
use super::{filters, inpaint};

/// Residuals must exceed this many noise σ to count as damage.
const NOISE_FACTOR: f32 = 4.5;
/// The smallest brightness jump (0–255) that counts as damage, whatever the noise level.
const MIN_CONTRAST: f32 = 14.0;
/// How much larger than the local variation of the median image a residual must be.
const EDGE_FACTOR: f32 = 1.2;
/// How much larger than the mean absolute residual around it a residual must be.
const ACTIVITY_FACTOR: f32 = 4.0;
/// Radius of the neighbourhood whose residual activity is measured.
const ACTIVITY_RADIUS: usize = 7;
/// A neighbour joins the mask when its residual is this fraction of the threshold.
const RIM_FRACTION: f32 = 0.35;

/// Removes scratches and specks in place; returns how many pixels were repaired.
pub(crate) fn clean_scratches(canvas: &mut Canvas) -> usize {
    let mask = detect(canvas);
    let mask = dilate(&mask, canvas.width, canvas.height);
    let repaired = mask.iter().filter(|&&m| m).count();
    inpaint::fill(canvas, &mask);
    tracing::debug!(repaired, "cleaned scratches");
    repaired
}

/// Marks thin bright or dark defects.
pub(crate) fn detect(canvas: &Canvas) -> Vec<bool> {
    let (w, h) = (canvas.width, canvas.height);
    let radius = if w.max(h) > 2000 { 3 } else { 2 };
    let lum = canvas.luminance();
    let median = filters::median(&lum, w, h, radius);

    let residual: Vec<f32> = lum.par_iter().zip(&median).map(|(l, m)| l - m).collect();
    let threshold = (NOISE_FACTOR * filters::robust_sigma(&residual)).max(MIN_CONTRAST);
    let magnitude: Vec<f32> = residual.iter().map(|r| r.abs()).collect();
    let activity = filters::box_mean(&magnitude, w, h, ACTIVITY_RADIUS);
    let (lo, hi) = filters::min_max(&median, w, h, 1);

    let strong: Vec<bool> = (0..residual.len())
        .into_par_iter()
        .map(|i| {
            let r = magnitude[i];
            r > threshold && r > ACTIVITY_FACTOR * activity[i] && r > EDGE_FACTOR * (hi[i] - lo[i])
        })
        .collect();
    grow_rim(&strong, &residual, threshold * RIM_FRACTION, w, h)
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

/// Grows the mask by one pixel in every direction (3×3).
fn dilate(mask: &[bool], width: usize, height: usize) -> Vec<bool> {
    let mut out = vec![false; mask.len()];
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        for (x, value) in row.iter_mut().enumerate() {
            *value = filters::clamped_range(y, 1, height)
                .any(|ny| filters::clamped_range(x, 1, width).any(|nx| mask[ny * width + nx]));
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
