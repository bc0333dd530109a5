//! Colour-cast correction: a gray-world / white-patch hybrid that leaves neutral photos alone.
//!
//! Gray world assumes the average colour of a scene is grey; white patch assumes its
//! brightest parts are white. Each is wrong on its own for some photos, so the per-channel
//! gains of both are combined by geometric mean. A cast smaller than [`MIN_CAST`] is left
//! alone, large corrections are applied at [`STRENGTH`] and capped, and overall brightness
//! is preserved.

use rayon::prelude::*;

use super::canvas::{luma, Canvas};

/// Casts below this (largest |ln gain| over channels, about 4%) are not corrected.
const MIN_CAST: f32 = 0.04;
/// Fraction of the estimated correction that is applied.
const STRENGTH: f32 = 0.85;
/// No channel is scaled by more than this factor or less than its inverse.
const MAX_GAIN: f32 = 1.6;
/// Fraction of the brightest pixels that make up the white patch.
const WHITE_PATCH: f64 = 0.01;

/// Corrects a colour cast in place; returns the gains applied, if any.
pub(crate) fn correct_cast(canvas: &mut Canvas) -> Option<[f32; 3]> {
    let gains = estimate_gains(canvas)?;
    let cast = gains.iter().map(|g| g.ln().abs()).fold(0.0, f32::max);
    if cast < MIN_CAST {
        return None;
    }

    let gains = gains.map(|g| g.powf(STRENGTH).clamp(1.0 / MAX_GAIN, MAX_GAIN));
    let means = channel_means(canvas.px.iter().copied());
    let corrected = luma([0, 1, 2].map(|c| gains[c] * means[c]));
    let keep_brightness = luma(means) / corrected.max(1e-3);
    let gains = gains.map(|g| g * keep_brightness);
    canvas.px.par_iter_mut().for_each(|p| {
        *p = [0, 1, 2].map(|c| (p[c] * gains[c]).clamp(0.0, 255.0));
    });
    tracing::debug!(?gains, "corrected colour cast");
    Some(gains)
}

/// Per-channel gains that would neutralise the cast, or `None` for an image with no
/// usable (unclipped, non-black) pixels.
fn estimate_gains(canvas: &Canvas) -> Option<[f32; 3]> {
    let usable: Vec<[f32; 3]> = canvas
        .px
        .par_iter()
        .copied()
        .filter(|p| p.iter().all(|&v| v > 4.0 && v < 251.0))
        .collect();
    if usable.len() < 16 {
        return None;
    }
    let means = channel_means(usable.iter().copied());
    let gray = luma(means);
    let gray_world = means.map(|m| gray / m);

    let mut by_brightness: Vec<&[f32; 3]> = usable.iter().collect();
    let top = ((usable.len() as f64 * WHITE_PATCH).ceil() as usize).max(1);
    by_brightness.select_nth_unstable_by(top - 1, |a, b| luma(**b).total_cmp(&luma(**a)));
    let white = channel_means(by_brightness[..top].iter().map(|p| **p));
    let white_luma = luma(white);
    let white_patch = white.map(|m| white_luma / m);

    Some([0, 1, 2].map(|c| (gray_world[c] * white_patch[c]).sqrt()))
}

/// Mean of each channel.
fn channel_means(pixels: impl IntoIterator<Item = [f32; 3]>) -> [f32; 3] {
    let (sum, count) = pixels
        .into_iter()
        .fold(([0.0f64; 3], 0u64), |(mut s, n), p| {
            for c in 0..3 {
                s[c] += f64::from(p[c]);
            }
            (s, n + 1)
        });
    sum.map(|s| (s / count.max(1) as f64) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(tint: [f32; 3]) -> Canvas {
        let px = (0..64 * 64)
            .map(|i| tint.map(|t| t * (20.0 + (i % 200) as f32)))
            .collect();
        Canvas {
            width: 64,
            height: 64,
            px,
        }
    }

    #[test]
    fn a_neutral_image_stays_neutral() {
        let mut canvas = ramp([1.0, 1.0, 1.0]);
        let before = canvas.px.clone();
        assert_eq!(correct_cast(&mut canvas), None);
        assert_eq!(canvas.px, before);
    }

    #[test]
    fn a_sepia_cast_is_reduced() {
        let mut canvas = ramp([1.1, 0.95, 0.7]);
        let spread = |c: &Canvas| {
            let m = channel_means(c.px.iter().copied());
            m.iter().fold(0.0f32, |a, &v| a.max(v)) - m.iter().fold(255.0f32, |a, &v| a.min(v))
        };
        let before = spread(&canvas);
        correct_cast(&mut canvas).expect("a strong cast is corrected");
        let after = spread(&canvas);
        assert!(
            after < before * 0.4,
            "channel spread went from {before} to {after}"
        );
    }
}
