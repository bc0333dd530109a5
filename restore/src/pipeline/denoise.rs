//! Edge-preserving noise reduction: a joint RGB bilateral filter whose strength follows the
//! measured noise level.
//!
//! Noise is estimated with Immerkær's Laplacian-difference operator, using the median
//! absolute response so edges do not inflate the estimate. A clean image (σ below
//! [`MIN_NOISE`]) is left untouched.

use rayon::prelude::*;

use super::canvas::Canvas;
use super::filters;

/// Below this estimated σ (0–255 scale) the image is considered clean.
const MIN_NOISE: f32 = 1.2;
/// Spatial σ of the bilateral filter, in pixels.
const SPATIAL_SIGMA: f32 = 1.6;
/// Range σ as a multiple of the noise σ.
const RANGE_FACTOR: f32 = 2.5;

/// Reduces noise in place; returns the estimated noise σ before filtering.
pub(crate) fn reduce_noise(canvas: &mut Canvas) -> f32 {
    let sigma = estimate_noise(canvas);
    if sigma < MIN_NOISE {
        tracing::debug!(sigma, "image is clean; no denoising");
        return sigma;
    }
    let range_sigma = (RANGE_FACTOR * sigma).clamp(4.0, 45.0);
    bilateral(canvas, range_sigma);
    tracing::debug!(sigma, range_sigma, "reduced noise");
    sigma
}

/// Noise σ of the brightness channel.
pub(crate) fn estimate_noise(canvas: &Canvas) -> f32 {
    let (w, h) = (canvas.width, canvas.height);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let lum = canvas.luminance();
    let response: Vec<f32> = (1..h - 1)
        .into_par_iter()
        .flat_map_iter(|y| {
            let lum = &lum;
            (1..w - 1).map(move |x| {
                let at = |dx: usize, dy: usize| lum[(y + dy - 1) * w + (x + dx - 1)];
                at(0, 0) - 2.0 * at(1, 0) + at(2, 0) - 2.0 * at(0, 1) + 4.0 * at(1, 1)
                    - 2.0 * at(2, 1)
                    + at(0, 2)
                    - 2.0 * at(1, 2)
                    + at(2, 2)
            })
        })
        .collect();
    // The operator's weights have a root-sum-square of 6.
    filters::robust_sigma(&response) / 6.0
}

/// Joint bilateral filter: neighbours are weighted by distance and by colour similarity.
fn bilateral(canvas: &mut Canvas, range_sigma: f32) {
    let (w, h) = (canvas.width, canvas.height);
    let radius = (2.0 * SPATIAL_SIGMA).ceil() as isize;
    let spatial: Vec<(isize, isize, f32)> = (-radius..=radius)
        .flat_map(|dy| (-radius..=radius).map(move |dx| (dx, dy)))
        .map(|(dx, dy)| {
            let d2 = (dx * dx + dy * dy) as f32;
            (dx, dy, (-d2 / (2.0 * SPATIAL_SIGMA * SPATIAL_SIGMA)).exp())
        })
        .collect();
    // Range weights by mean squared channel difference, tabulated once.
    let range: Vec<f32> = (0..=65_025)
        .map(|d2| (-(d2 as f32) / (2.0 * range_sigma * range_sigma)).exp())
        .collect();

    let source = canvas.px.clone();
    canvas
        .px
        .par_chunks_mut(w)
        .enumerate()
        .for_each(|(y, row)| {
            for (x, out) in row.iter_mut().enumerate() {
                let centre = source[y * w + x];
                let mut sum = [0.0f32; 3];
                let mut total = 0.0f32;
                for &(dx, dy, ws) in &spatial {
                    let nx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                    let ny = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                    let p = source[ny * w + nx];
                    let d2 = ((p[0] - centre[0]).powi(2)
                        + (p[1] - centre[1]).powi(2)
                        + (p[2] - centre[2]).powi(2))
                        / 3.0;
                    let weight = ws * range[(d2 as usize).min(65_025)];
                    for (s, v) in sum.iter_mut().zip(p) {
                        *s += weight * v;
                    }
                    total += weight;
                }
                *out = sum.map(|s| s / total);
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    fn noisy_flat(sigma: f32) -> Canvas {
        let mut rng = StdRng::seed_from_u64(7);
        let px = (0..64 * 64)
            .map(|_| {
                // Sum of uniforms: close enough to Gaussian for a noise test.
                let n: f32 = (0..12).map(|_| rng.gen::<f32>()).sum::<f32>() - 6.0;
                [128.0 + sigma * n; 3]
            })
            .collect();
        Canvas {
            width: 64,
            height: 64,
            px,
        }
    }

    #[test]
    fn noise_estimate_tracks_the_true_noise() {
        let estimate = estimate_noise(&noisy_flat(8.0));
        assert!((estimate - 8.0).abs() < 1.5, "estimated {estimate}");
    }

    #[test]
    fn denoising_lowers_the_noise_and_keeps_the_mean() {
        let mut canvas = noisy_flat(8.0);
        reduce_noise(&mut canvas);
        let after = estimate_noise(&canvas);
        let mean = canvas.px.iter().map(|p| p[0]).sum::<f32>() / canvas.px.len() as f32;
        assert!(after < 4.0, "noise after denoising {after}");
        assert!((mean - 128.0).abs() < 1.0, "mean moved to {mean}");
    }

    #[test]
    fn a_clean_image_is_untouched() {
        let mut canvas = noisy_flat(0.0);
        let before = canvas.px.clone();
        reduce_noise(&mut canvas);
        assert_eq!(canvas.px, before);
    }
}
