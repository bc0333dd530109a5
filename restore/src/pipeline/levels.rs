//! Automatic levels: stretch the tonal range so a faded photo uses the full 0–255 range.
//!
//! The black and white points are per-channel percentiles, combined so that **no channel
//! loses more than [`CLIP_FRACTION`] of its pixels at either end**, and all channels get the
//! same mapping (levels never shift the colour balance; that is [`super::colour`]'s job).

use rayon::prelude::*;

use super::canvas::Canvas;

/// Largest fraction of any channel's pixels that may be clipped at each end.
pub(crate) const CLIP_FRACTION: f64 = 0.001;
/// The stretch never multiplies contrast by more than this (it would amplify grain).
const MAX_GAIN: f32 = 3.0;
/// Fading lifts the blacks: a photo whose darkest tones are at least this level (0–255) has
/// its black point moved down to 0 along with its white point moved up.
const MIN_LIFT: f32 = 6.0;
/// A photo with real blacks keeps them, and its whites are raised to 255 only when they are
/// already close (at least this level): a print whose highlights have dimmed a little. A
/// photo whose brightest tones are lower is a dark scene (a low-key portrait, a cat in
/// shadow), not damage, and is left alone.
const MIN_DIMMED_WHITE: f32 = 236.0;
/// A white point this close to 255 is already white.
const FULL_WHITE: f32 = 253.0;

/// Stretches levels in place; returns the (black, white) points used, if any.
pub(crate) fn auto_levels(canvas: &mut Canvas) -> Option<(f32, f32)> {
    let histograms = histograms(canvas);
    let total = canvas.px.len() as u64;
    let black = (0..3).map(|c| low_point(&histograms[c], total)).min()?;
    let white = (0..3).map(|c| high_point(&histograms[c], total)).max()?;
    // Bin edges, not centres: pixels that rounded into the boundary bins are not clipped.
    let (black, white) = (f32::from(black) - 0.5, f32::from(white) + 0.5);

    let (black, white) = if black >= MIN_LIFT {
        (black, white)
    } else if (MIN_DIMMED_WHITE..FULL_WHITE).contains(&white) {
        (0.0, white)
    } else {
        return None;
    };
    if white - black < 8.0 {
        return None;
    }
    let (black, white) = limit_gain(black, white);
    let scale = 255.0 / (white - black);
    canvas.px.par_iter_mut().for_each(|p| {
        *p = p.map(|v| ((v - black) * scale).clamp(0.0, 255.0));
    });
    tracing::debug!(black, white, "stretched levels");
    Some((black, white))
}

/// 256-bin histograms of each channel.
fn histograms(canvas: &Canvas) -> [[u64; 256]; 3] {
    canvas
        .px
        .par_iter()
        .fold(
            || [[0u64; 256]; 3],
            |mut h, p| {
                for c in 0..3 {
                    h[c][p[c].round().clamp(0.0, 255.0) as usize] += 1;
                }
                h
            },
        )
        .reduce(
            || [[0u64; 256]; 3],
            |mut a, b| {
                for c in 0..3 {
                    for i in 0..256 {
                        a[c][i] += b[c][i];
                    }
                }
                a
            },
        )
}

/// The lowest level such that the pixels strictly below it are at most the clip fraction.
fn low_point(histogram: &[u64; 256], total: u64) -> u8 {
    let allowed = (total as f64 * CLIP_FRACTION) as u64;
    let mut below = 0;
    for (level, &count) in histogram.iter().enumerate() {
        if below + count > allowed {
            return level as u8;
        }
        below += count;
    }
    255
}

/// The highest level such that the pixels strictly above it are at most the clip fraction.
fn high_point(histogram: &[u64; 256], total: u64) -> u8 {
    let allowed = (total as f64 * CLIP_FRACTION) as u64;
    let mut above = 0;
    for (level, &count) in histogram.iter().enumerate().rev() {
        if above + count > allowed {
            return level as u8;
        }
        above += count;
    }
    0
}

/// Widens a very narrow range around its centre so the gain stays at most [`MAX_GAIN`].
fn limit_gain(black: f32, white: f32) -> (f32, f32) {
    let min_width = 255.0 / MAX_GAIN;
    if white - black >= min_width {
        return (black, white);
    }
    let centre = (black + white) / 2.0;
    let black = (centre - min_width / 2.0).clamp(0.0, 255.0 - min_width);
    (black, black + min_width)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, Rng, SeedableRng};

    #[test]
    fn levels_never_clip_more_than_the_allowed_fraction() {
        let mut rng = StdRng::seed_from_u64(3);
        let px: Vec<[f32; 3]> = (0..100 * 100)
            .map(|_| {
                let v = rng.gen_range(60.0..190.0);
                [v, v + rng.gen_range(-20.0..20.0), v * 0.8]
            })
            .collect();
        let mut canvas = Canvas {
            width: 100,
            height: 100,
            px: px.clone(),
        };
        auto_levels(&mut canvas).expect("a faded image is stretched");

        let limit = (px.len() as f64 * CLIP_FRACTION) as usize;
        for c in 0..3 {
            let clipped = |at: f32| canvas.px.iter().filter(|p| p[c] == at).count();
            assert!(
                clipped(0.0) <= limit + 1,
                "channel {c} clipped {} at black",
                clipped(0.0)
            );
            assert!(
                clipped(255.0) <= limit + 1,
                "channel {c} clipped {} at white",
                clipped(255.0)
            );
        }
    }

    #[test]
    fn a_faded_image_gets_a_wider_range() {
        let px = (0..256)
            .map(|i| [100.0 + 50.0 * (i as f32 / 255.0); 3])
            .collect();
        let mut canvas = Canvas {
            width: 16,
            height: 16,
            px,
        };
        auto_levels(&mut canvas);
        let (lo, hi) = canvas.px.iter().fold((255.0f32, 0.0f32), |(lo, hi), p| {
            (lo.min(p[0]), hi.max(p[0]))
        });
        assert!(hi - lo > 140.0, "range is only {lo}..{hi}");
    }
}
