//! Colour-cast correction: a gray-world / white-patch hybrid that leaves neutral photos alone.
//!
//! Gray world assumes the average colour of a scene is grey; white patch assumes its
//! brightest parts are white. Each is wrong on its own for some photos, so the per-channel
//! gains of both are combined by geometric mean. A cast smaller than [`MIN_CAST`] is left
//! alone, large corrections are applied at [`STRENGTH`] and capped, and overall brightness
//! is preserved.

use rayon::prelude::*;

use super::canvas::{luma, Canvas};

/// Casts below this (largest |ln gain| over channels, about 16%) are not corrected: a
/// milder warm or cool tone is as likely the scene (lamplight, a wooden room) as damage.
const MIN_CAST: f32 = 0.15;
/// Fraction of the estimated correction that is applied (in log terms).
const STRENGTH: f32 = 1.0;
/// Smallest cosine between the two estimates' log-gains for them to count as one cast.
const AGREEMENT: f32 = 0.8;
/// No channel is scaled by more than this factor or less than its inverse.
const MAX_GAIN: f32 = 1.6;
/// A cast dims a photo (a yellowed or sepia print loses blue and some green), so correcting
/// it brightens the photo; by at most this factor in mean brightness. A larger estimate
/// means the "white" patch was really a coloured highlight (an orange cat's fur), and
/// brightening by it would change the photo's tones, not just its colour.
const MAX_BRIGHTEN: f32 = 1.1;
/// Fraction of the brightest pixels that make up the white patch.
const WHITE_PATCH: f64 = 0.01;

/// Corrects a colour cast in place; returns the gains applied, if any.
pub(crate) fn correct_cast(canvas: &mut Canvas) -> Option<[f32; 3]> {
    let (gray_world, white_patch) = estimate_gains(canvas)?;
    let cast = |g: &[f32; 3]| g.iter().map(|g| g.ln().abs()).fold(0.0, f32::max);
    if cast(&white_patch) < MIN_CAST || !agree(&gray_world, &white_patch) {
        return None;
    }

    // The white patch becomes as bright as its brightest channel: dim channels are lifted,
    // the least faded one is kept, and highlights end up white rather than grey.
    let top = white_patch.iter().fold(f32::MAX, |a, &g| a.min(g));
    let gains = white_patch.map(|g| (g / top).powf(STRENGTH).clamp(1.0 / MAX_GAIN, MAX_GAIN));
    let gains = limit_brightening(gains, channel_means(canvas.px.iter().copied()));
    canvas.px.par_iter_mut().for_each(|p| {
        *p = [0, 1, 2].map(|c| (p[c] * gains[c]).clamp(0.0, 255.0));
    });
    tracing::debug!(?gains, "corrected colour cast");
    Some(gains)
}

/// `gains` (all at least 1) weakened in log terms just enough that the mean brightness of a
/// photo with channel `means` grows by at most [`MAX_BRIGHTEN`]. Weakening towards 1 keeps
/// every gain at least 1, so the correction never darkens a channel.
fn limit_brightening(gains: [f32; 3], means: [f32; 3]) -> [f32; 3] {
    let brighten = |t: f32| {
        let scaled = [0, 1, 2].map(|c| gains[c].powf(t) * means[c]);
        luma(scaled) / luma(means).max(1e-3)
    };
    if brighten(1.0) <= MAX_BRIGHTEN {
        return gains;
    }
    let (mut lo, mut hi) = (0.0f32, 1.0f32);
    for _ in 0..20 {
        let mid = (lo + hi) / 2.0;
        if brighten(mid) > MAX_BRIGHTEN {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    gains.map(|g| g.powf(lo))
}

/// Whether the gray-world and white-patch estimates describe the same cast.
///
/// A photo of colourful things (a red cup, an orange cat) has a tinted average but white
/// highlights; only a real cast tints both. The estimates must point the same way (cosine
/// of their log-gain vectors) and the gray-world cast must be at least half as strong.
fn agree(gray_world: &[f32; 3], white_patch: &[f32; 3]) -> bool {
    let (a, b) = (gray_world.map(f32::ln), white_patch.map(f32::ln));
    let dot: f32 = (0..3).map(|c| a[c] * b[c]).sum();
    let norm = |v: &[f32; 3]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot > AGREEMENT * norm(&a) * norm(&b) && norm(&a) > 0.5 * norm(&b)
}

/// Per-channel gains that would neutralise the cast by gray world and by white patch, or
/// `None` for an image with no usable (unclipped, non-black) pixels.
fn estimate_gains(canvas: &Canvas) -> Option<([f32; 3], [f32; 3])> {
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

    Some((gray_world, white_patch))
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

    #[test]
    fn a_correction_brightens_at_most_the_limit_and_darkens_no_channel() {
        let means = [150.0, 100.0, 60.0];
        let limited = limit_brightening([1.0, 1.4, 1.6], means);
        let brighten = luma([0, 1, 2].map(|c| limited[c] * means[c])) / luma(means);
        assert!(brighten <= MAX_BRIGHTEN + 1e-3, "brightened by {brighten}");
        assert!(limited.iter().all(|&g| g >= 1.0), "darkened: {limited:?}");
        assert_eq!(
            limit_brightening([1.0, 1.05, 1.39], [128.0; 3]),
            [1.0, 1.05, 1.39]
        );
    }
}
