//! Sharpening: an unsharp mask on brightness, with a noise threshold and a halo clamp.
//!
//! Detail below [`THRESHOLD`] is left alone so grain is not amplified, and every sharpened
//! value is clamped to the minimum and maximum of its 3×3 neighbourhood in the original, so
//! edges get crisper without the bright and dark rims ("halos") a plain unsharp mask draws.
//! The change is applied equally to R, G and B, which avoids colour fringes.

use rayon::prelude::*;

use super::canvas::Canvas;
use super::filters;

/// Blur radius (σ, pixels) that defines "detail".
const SIGMA: f32 = 1.0;
/// How much of the detail is added back.
const AMOUNT: f32 = 0.8;
/// Images softer than this (see [`softness`]) are sharpened; sharper ones are left alone.
const MIN_SOFTNESS: f32 = 0.72;
/// Detail smaller than this (0–255) is treated as noise.
const THRESHOLD: f32 = 2.0;

/// Sharpens in place.
pub(crate) fn sharpen(canvas: &mut Canvas) {
    let (w, h) = (canvas.width, canvas.height);
    let lum = canvas.luminance();
    let blurred = filters::gaussian(&lum, w, h, SIGMA);
    let softness = softness(&lum, &blurred, w, h);
    tracing::debug!(softness, "measured softness");
    if softness < MIN_SOFTNESS {
        return;
    }
    let (lo, hi) = filters::min_max(&lum, w, h, 1);

    canvas.px.par_iter_mut().enumerate().for_each(|(i, p)| {
        let detail = lum[i] - blurred[i];
        let detail = detail.signum() * (detail.abs() - THRESHOLD).max(0.0);
        let target = (lum[i] + AMOUNT * detail).clamp(lo[i], hi[i]);
        let delta = target - lum[i];
        *p = p.map(|v| (v + delta).clamp(0.0, 255.0));
    });
}

/// How soft the image looks: 1 − (fine detail energy ÷ coarser detail energy).
///
/// `blurred` is the brightness blurred at [`SIGMA`]; the coarser scale is 2·[`SIGMA`]. In a
/// sharp photo much of the detail lives at the finest scale; in a soft one it is mostly gone.
fn softness(lum: &[f32], blurred: &[f32], w: usize, h: usize) -> f32 {
    let coarse = filters::gaussian(lum, w, h, 2.0 * SIGMA);
    let energy = |other: &[f32]| {
        lum.iter()
            .zip(other)
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum::<f64>()
    };
    let (fine, wide) = (energy(blurred), energy(&coarse));
    if wide <= f64::EPSILON {
        return 0.0;
    }
    (1.0 - fine / wide) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_soft_edge_gets_steeper_without_overshoot() {
        let (w, h) = (16, 4);
        let ramp = |x: usize| match x {
            0..=6 => 50.0,
            7 => 100.0,
            8 => 150.0,
            _ => 200.0,
        };
        let px = (0..w * h).map(|i| [ramp(i % w); 3]).collect();
        let mut canvas = Canvas {
            width: w,
            height: h,
            px,
        };
        sharpen(&mut canvas);

        let row: Vec<f32> = (0..w).map(|x| canvas.px[w + x][0]).collect();
        assert!(
            row.iter().all(|&v| (50.0..=200.0).contains(&v)),
            "overshoot: {row:?}"
        );
        assert!(
            row[7] < 100.0 && row[8] > 150.0,
            "edge not steeper: {row:?}"
        );
    }
}
