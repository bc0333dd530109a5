//! Automatic levels: stretch the tonal range so a faded photo uses the full 0–255 range.
//!
//! The black and white points are per-channel percentiles, combined so that **no channel
//! loses more than [`CLIP_FRACTION`] of its pixels at either end**, and all channels get the
//! same mapping (levels never shift the colour balance; that is [`super::colour`]'s job).

use rayon::prelude::*;

use super::canvas::Canvas;

/// Largest fraction of any channel's pixels that may be clipped at each end.
pub(crate) const CLIP_FRACTION: f64 = 0.003;
/// Dimmed highlights are judged (and stretched) by the white point that clips this fraction.
const DIMMED_CLIP_FRACTION: f64 = 0.001;
/// The stretch never multiplies contrast by more than this (it would amplify grain).
const MAX_GAIN: f32 = 3.0;
/// Fading lifts the blacks: a photo whose darkest tones are at least this level (0–255) has
/// its black point moved down to 0 along with its white point moved up.
const MIN_LIFT: f32 = 16.0;
/// A photo with real blacks keeps them, and its whites are raised to 255 only when they are
/// already close (at least this level): a print whose highlights have dimmed a little. A
/// photo whose brightest tones are lower is a dark scene (a low-key portrait, a cat in
/// shadow), not damage, and is left alone.
const MIN_DIMMED_WHITE: f32 = 236.0;
/// A white point this close to 255 is already white.
const FULL_WHITE: f32 = 253.0;

/// Stretches levels in place; returns the (black, white) points used, if any.
pub(crate) fn auto_levels(canvas: &mut Canvas, noisy: bool) -> Option<(f32, f32)> {
    if canvas.px.is_empty() {
        return None;
    }
    let fraction = if noisy { CLIP_FRACTION } else { 0.0 };
    let channels: Vec<[f32; 3]> = (0..3)
        .into_par_iter()
        .map(|c| end_points(canvas.px.iter().map(|p| p[c]).collect(), fraction))
        .collect();
    let black = channels.iter().map(|e| e[0]).fold(f32::MAX, f32::min);
    let white = channels.iter().map(|e| e[1]).fold(f32::MIN, f32::max);
    let robust_white = channels.iter().map(|e| e[2]).fold(f32::MIN, f32::max);

    let (black, white) = if black >= MIN_LIFT {
        // Fading lifts the blacks and dims the whites about as much: a faded photo whose
        // brightest tones are darker still had no white to begin with (a cat in shade), so
        // the stretch goes no further than the lift explains.
        (black, white.max(255.0 - black))
    } else if !noisy && (MIN_DIMMED_WHITE..FULL_WHITE).contains(&robust_white) {
        (0.0, robust_white)
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

/// A channel's black and white points: the values with at most [`CLIP_FRACTION`] of the
/// channel strictly below and strictly above them respectively (so only that many pixels
/// are pushed past 0 or 255).
fn end_points(mut values: Vec<f32>, fraction: f64) -> [f32; 3] {
    let last = values.len() - 1;
    let allowed = ((values.len() as f64 * fraction) as usize).min(last);
    let clip = ((values.len() as f64 * DIMMED_CLIP_FRACTION) as usize).min(last);
    let black = *values.select_nth_unstable_by(allowed, f32::total_cmp).1;
    let white = *values
        .select_nth_unstable_by(last - allowed, f32::total_cmp)
        .1;
    let robust_white = *values.select_nth_unstable_by(last - clip, f32::total_cmp).1;
    [black, white, robust_white]
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
        auto_levels(&mut canvas, true).expect("a faded image is stretched");

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
        auto_levels(&mut canvas, false);
        let (lo, hi) = canvas.px.iter().fold((255.0f32, 0.0f32), |(lo, hi), p| {
            (lo.min(p[0]), hi.max(p[0]))
        });
        assert!(hi - lo > 140.0, "range is only {lo}..{hi}");
    }
}
