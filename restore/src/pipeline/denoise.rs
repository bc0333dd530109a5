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
pub(crate) const MIN_NOISE: f32 = 2.5;
/// Half-size of the window searched for similar patches.
const SEARCH_RADIUS: usize = 4;
/// Half-size of the compared patches.
const PATCH_RADIUS: usize = 2;
/// Filtering strength as a multiple of the noise σ.
const H_FACTOR: f32 = 0.9;

/// Reduces noise in place; returns the estimated noise σ before filtering.
pub(crate) fn reduce_noise(canvas: &mut Canvas) -> f32 {
    let sigma = estimate_noise(canvas);
    if sigma < MIN_NOISE {
        tracing::debug!(sigma, "image is clean; no denoising");
    } else {
        non_local_means(canvas, sigma);
        tracing::debug!(sigma, "reduced noise");
    }
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

/// Non-local means: each pixel becomes a weighted mean of the pixels in its search window
/// whose surrounding patches look like its own (patch distance measured on brightness).
///
/// Distances are computed one offset at a time over the whole image with a summed-area
/// table, so the cost is O(pixels × offsets) whatever the patch size.
fn non_local_means(canvas: &mut Canvas, sigma: f32) {
    let (w, h) = (canvas.width, canvas.height);
    let lum = canvas.luminance();
    let search = SEARCH_RADIUS as isize;
    let patch = PATCH_RADIUS;
    let filtering = (H_FACTOR * sigma).powi(2);
    let floor = 2.0 * sigma * sigma;

    let mut sums = vec![[0.0f32; 4]; w * h];
    for dy in -search..=search {
        for dx in -search..=search {
            let shifted = |x: usize, y: usize| {
                let sx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                let sy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                sy * w + sx
            };
            let diff: Vec<f32> = (0..w * h)
                .into_par_iter()
                .map(|i| (lum[i] - lum[shifted(i % w, i / w)]).powi(2))
                .collect();
            let distance = filters::box_mean(&diff, w, h, patch);
            let source = &canvas.px;
            sums.par_chunks_mut(w).enumerate().for_each(|(y, row)| {
                for (x, acc) in row.iter_mut().enumerate() {
                    let d2 = distance[y * w + x];
                    let weight = (-(d2 - floor).max(0.0) / filtering).exp();
                    let p = source[shifted(x, y)];
                    acc[0] += weight * p[0];
                    acc[1] += weight * p[1];
                    acc[2] += weight * p[2];
                    acc[3] += weight;
                }
            });
        }
    }
    canvas
        .px
        .par_iter_mut()
        .zip(&sums)
        .for_each(|(p, acc)| *p = [acc[0], acc[1], acc[2]].map(|v| v / acc[3]));
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
