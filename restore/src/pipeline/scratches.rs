//! Scratch and dust removal: find thin bright/dark defects, then inpaint them.
//!
//! Detection compares each pixel's brightness with the median of its neighbourhood: a median
//! window wider than a scratch erases the scratch but keeps edges, so the residual
//! `brightness - median` is large on thin lines and specks. Outlying pixels (above the
//! image's own noise and a contrast floor) are grouped into connected shapes, and a shape is
//! damage only when its form says so:
//!
//! * a **speck** is a small compact blob that stands far out from the ring of pixels around
//!   it (many times the ring's own spread, so texture is left alone) and is colourless
//!   compared with that ring (dust hides the colour it covers; a glint on a cup does not);
//! * a **scratch** is a long, thin shape (a fifth of the photo's longer side at least) with a
//!   strong mean contrast; thin pieces lying on its line join it.
//!
//! The mask then grows into neighbours with a weaker residual of the same sign (the soft rim
//! of the damage) and is filled from undamaged neighbours by [`super::inpaint`]. On a speckled
//! print (fine roughness well above its white-noise level) a looser per-pixel search adds the
//! specks that the noise-scaled thresholds miss; film grain is left to the denoiser.

use rayon::prelude::*;

use super::canvas::Canvas;
use super::{denoise, filters, inpaint};

/// Residuals must exceed this many noise σ to count as damage.
const NOISE_FACTOR: f32 = 11.0;
/// The smallest brightness jump that counts as damage, whatever the noise level, in levels
/// of a full 0–255 range: a faded photo's own (narrower) range scales it down.
const MIN_CONTRAST: f32 = 40.0;
/// The contrast floor shrinks with a faded photo's range, but only down to this share of it.
const FLOOR_RANGE: f32 = 0.9;
/// Largest spread (0–255) between a pixel's channels for it to count as damage: dust and
/// scratches are colourless (grey, white or black), while small bright details of a scene
/// (a red light, a glint on a coloured cup) usually are not.
const MAX_CHROMA: f32 = 35.0;
/// Pixels whose residual exceeds this fraction of the threshold make up candidate shapes;
/// a shape counts only if its strongest pixel exceeds the full threshold.
const SHAPE_FRACTION: f32 = 0.5;
/// A speck is at most this many pixels...
const SPECK_MAX_PIXELS: usize = 30;
/// ...and at most this long (pixels, along its main axis).
const SPECK_MAX_LENGTH: f32 = 7.0;
/// Width (pixels) of the ring around a speck whose brightness it is compared with.
const RING: usize = 3;
/// A speck must differ from its ring's median by this many times the ring's own spread
/// (so a bright point among other bright points, such as texture, is not a speck).
const SPECK_ISOLATION: f32 = 10.0;
/// A speck's most neutral pixel may keep at most this share of the colour (channel spread)
/// around it, plus [`SPECK_CHROMA_SLACK`]: dust hides the colour it covers, while a bright
/// detail of the scene (a glint on coffee) keeps much of the colour of its surroundings.
const SPECK_CHROMA_SHARE: f32 = 0.4;
/// See [`SPECK_CHROMA_SHARE`] (0–255).
const SPECK_CHROMA_SLACK: f32 = 3.0;
/// A scratch is at least this share of the photo's longer side long (along its main axis)...
const SCRATCH_MIN_LENGTH: f32 = 0.2;
/// ...and at least this many pixels long...
const SCRATCH_MIN_PIXELS: f32 = 24.0;
/// ...and at most this wide on average (pixels ÷ length).
const SCRATCH_MAX_WIDTH: f32 = 3.5;
/// Speckled prints: when the residual σ is at least this (0–255) and at least
/// [`SPECKLE_RATIO`] times the white-noise (grain) estimate, the roughness is specks rather
/// than grain, and specks are also looked for with looser thresholds (the strict ones scale
/// with σ). Film grain, whose residual σ about equals its white-noise σ, is left to the
/// denoiser: a loose search there repairs real detail.
const SPECK_MIN_NOISE: f32 = 2.7;
/// See [`SPECK_MIN_NOISE`].
const SPECKLE_RATIO: f32 = 1.5;
/// Loose specks need only this many residual σ...
const SPECK_NOISE_FACTOR: f32 = 6.0;
/// ...and to be this much larger than the mean residual around them.
const SPECK_ACTIVITY_FACTOR: f32 = 4.0;
/// Radius of the neighbourhood whose residual activity is measured.
const ACTIVITY_RADIUS: usize = 7;
/// How much larger than the local variation of the median image a loose speck must be.
const EDGE_FACTOR: f32 = 1.2;
/// ...and its pixels' mean residual is at least this (0–255): real thin lines of a scene
/// (a tripod leg, a helmet's rim) are mostly fainter than a scratch's bright or dark streak.
const SCRATCH_MIN_CONTRAST: f32 = 60.0;
/// Thin shapes at least this long that lie along an accepted scratch join it (the pieces
/// of a scratch that a faint stretch broke up)...
const FRAGMENT_MIN_LENGTH: f32 = 10.0;
/// ...if their centre lies within this many of the scratch's lengths of its centre along
/// its line...
const FRAGMENT_REACH: f32 = 1.5;
/// ...within this many pixels of its line...
const FRAGMENT_OFFSET: f32 = 4.0;
/// ...and they run the same way (cosine of the angle between them at least this).
const FRAGMENT_COS: f32 = 0.97;
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
    let (w, h) = (canvas.width, canvas.height);
    let radius = if w.max(h) > 2000 { 3 } else { 2 };
    let lum = canvas.luminance();
    let median = filters::median(&lum, w, h, radius);
    let residual: Vec<f32> = lum.par_iter().zip(&median).map(|(l, m)| l - m).collect();
    let floor = MIN_CONTRAST * (tonal_range(&lum) / 255.0).max(FLOOR_RANGE);
    let sigma = filters::robust_sigma(&residual);
    let threshold = (NOISE_FACTOR * sigma).max(floor);
    let low = threshold * SHAPE_FRACTION;
    let chroma: Vec<f32> = canvas.px.par_iter().map(|&p| chroma(p)).collect();

    let candidate: Vec<i8> = (0..residual.len())
        .into_par_iter()
        .map(|i| {
            let r = residual[i];
            if chroma[i] >= MAX_CHROMA || r.abs() <= low {
                0
            } else if r > 0.0 {
                1
            } else {
                -1
            }
        })
        .collect();
    let min_length = (SCRATCH_MIN_LENGTH * w.max(h) as f32).max(SCRATCH_MIN_PIXELS);
    let shapes = components(&candidate, w, h);
    let mut strong = vec![false; residual.len()];
    let mut stats = [0usize; 3];
    let mut lines: Vec<Line> = Vec::new();
    let mut fragments: Vec<(&Vec<usize>, Line)> = Vec::new();
    for shape in &shapes {
        let peak = shape.iter().map(|&i| residual[i].abs()).fold(0.0, f32::max);
        if peak <= threshold {
            continue;
        }
        let n = shape.len();
        let line = Line::fit(shape, w);
        let width = n as f32 / line.length;
        let mean = shape.iter().map(|&i| residual[i].abs()).sum::<f32>() / n as f32;
        let accept = if n <= SPECK_MAX_PIXELS && line.length <= SPECK_MAX_LENGTH {
            stats[0] += 1;
            isolated(shape, &lum, &chroma, &candidate, w, h)
        } else if width <= SCRATCH_MAX_WIDTH {
            if line.length >= min_length && mean >= SCRATCH_MIN_CONTRAST {
                stats[1] += 1;
                lines.push(line);
                true
            } else {
                if line.length >= FRAGMENT_MIN_LENGTH {
                    fragments.push((shape, line));
                }
                false
            }
        } else {
            stats[2] += 1;
            false
        };
        if accept {
            for &i in shape {
                strong[i] = true;
            }
        }
    }
    // Pieces of a scratch that a faint stretch broke up: short thin shapes lying along an
    // accepted scratch's line.
    for (shape, piece) in fragments {
        if lines.iter().any(|l| l.continues(&piece)) {
            for &i in shape {
                strong[i] = true;
            }
        }
    }
    tracing::debug!(sigma, threshold, ?stats, "scratch shapes");
    let mut mask = grow_rim(&strong, &residual, threshold * RIM_FRACTION, w, h);
    let grain = denoise::estimate_noise(canvas);
    tracing::debug!(sigma, grain, "roughness");
    if sigma >= SPECK_MIN_NOISE && sigma >= SPECKLE_RATIO * grain {
        let specks = loose_specks(canvas, &residual, &median, &chroma, sigma, floor, radius);
        mask.iter_mut().zip(specks).for_each(|(m, s)| *m |= s);
    }
    mask
}

/// Specks on a speckled print, with thresholds looser than [`detect`]'s: they must stand
/// out from the noise, from the residual activity around them (texture) and from the local
/// variation of the median image (edges), and be colourless relative to their surroundings
/// (so specks on a sepia print count).
fn loose_specks(
    canvas: &Canvas,
    residual: &[f32],
    median: &[f32],
    chroma: &[f32],
    sigma: f32,
    floor: f32,
    radius: usize,
) -> Vec<bool> {
    let (w, h) = (canvas.width, canvas.height);
    let threshold = (SPECK_NOISE_FACTOR * sigma).max(floor);
    let magnitude: Vec<f32> = residual.iter().map(|r| r.abs()).collect();
    let clipped: Vec<f32> = magnitude.iter().map(|&m| m.min(threshold)).collect();
    let activity = filters::box_mean(&clipped, w, h, ACTIVITY_RADIUS);
    let (lo, hi) = filters::min_max(median, w, h, 1);
    let allowed = filters::median(chroma, w, h, radius);
    let strong: Vec<bool> = (0..residual.len())
        .into_par_iter()
        .map(|i| {
            let r = magnitude[i];
            chroma[i] < allowed[i] + MAX_CHROMA
                && r > threshold
                && r > SPECK_ACTIVITY_FACTOR * activity[i]
                && r > EDGE_FACTOR * (hi[i] - lo[i])
        })
        .collect();
    grow_rim(&strong, residual, threshold * RIM_FRACTION, w, h)
}

/// 8-connected groups of pixels with the same non-zero sign.
fn components(sign: &[i8], w: usize, h: usize) -> Vec<Vec<usize>> {
    let mut seen = vec![false; sign.len()];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..sign.len() {
        if sign[start] == 0 || seen[start] {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        let mut shape = Vec::new();
        while let Some(i) = stack.pop() {
            shape.push(i);
            let (x, y) = (i % w, i / w);
            for ny in y.saturating_sub(1)..(y + 2).min(h) {
                for nx in x.saturating_sub(1)..(x + 2).min(w) {
                    let j = ny * w + nx;
                    if !seen[j] && sign[j] == sign[start] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(shape);
    }
    out
}

/// A straight line fitted to a shape: its centroid, unit direction and length.
#[derive(Clone, Copy, Debug)]
struct Line {
    centre: [f32; 2],
    direction: [f32; 2],
    /// √12 × the standard deviation of the pixels along the main axis (exact for a
    /// straight segment), at least 1.
    length: f32,
}

impl Line {
    fn fit(shape: &[usize], w: usize) -> Line {
        let n = shape.len() as f32;
        let (mut sx, mut sy) = (0.0f32, 0.0f32);
        for &i in shape {
            sx += (i % w) as f32;
            sy += (i / w) as f32;
        }
        let (mx, my) = (sx / n, sy / n);
        let (mut xx, mut yy, mut xy) = (0.0f32, 0.0f32, 0.0f32);
        for &i in shape {
            let (dx, dy) = ((i % w) as f32 - mx, (i / w) as f32 - my);
            xx += dx * dx;
            yy += dy * dy;
            xy += dx * dy;
        }
        let (xx, yy, xy) = (xx / n, yy / n, xy / n);
        let largest = (xx + yy) / 2.0 + (((xx - yy) / 2.0).powi(2) + xy * xy).sqrt();
        let angle = 0.5 * (2.0 * xy).atan2(xx - yy);
        Line {
            centre: [mx, my],
            direction: [angle.cos(), angle.sin()],
            length: (12.0 * largest).sqrt().max(1.0),
        }
    }

    /// Whether `piece` lies on this line's extension and runs the same way.
    fn continues(&self, piece: &Line) -> bool {
        let d = [
            piece.centre[0] - self.centre[0],
            piece.centre[1] - self.centre[1],
        ];
        let along = d[0] * self.direction[0] + d[1] * self.direction[1];
        let across = (d[0] * self.direction[1] - d[1] * self.direction[0]).abs();
        let cos =
            (piece.direction[0] * self.direction[0] + piece.direction[1] * self.direction[1]).abs();
        along.abs() <= self.length * FRAGMENT_REACH
            && across <= FRAGMENT_OFFSET
            && cos >= FRAGMENT_COS
    }
}

/// Whether a small shape stands out from the ring of pixels around it: its extreme
/// brightness differs from the ring's median by several times the ring's spread.
fn isolated(
    shape: &[usize],
    lum: &[f32],
    chroma: &[f32],
    candidate: &[i8],
    w: usize,
    h: usize,
) -> bool {
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for &i in shape {
        let (x, y) = (i % w, i / w);
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let mut ring = Vec::new();
    let mut ring_chroma = Vec::new();
    let near = |v: usize, lo: usize, hi: usize| v + 1 >= lo && v <= hi + 1;
    for y in y0.saturating_sub(RING + 1)..(y1 + RING + 2).min(h) {
        for x in x0.saturating_sub(RING + 1)..(x1 + RING + 2).min(w) {
            let i = y * w + x;
            if candidate[i] == 0 && !(near(x, x0, x1) && near(y, y0, y1)) {
                ring.push(lum[i]);
                ring_chroma.push(chroma[i]);
            }
        }
    }
    if ring.len() < 8 {
        return false;
    }
    let at = |values: &mut Vec<f32>, f: f32| {
        let k = ((values.len() - 1) as f32 * f).round() as usize;
        *values.select_nth_unstable_by(k, f32::total_cmp).1
    };
    let centre = at(&mut ring, 0.5);
    let spread = at(&mut ring, 0.9) - at(&mut ring, 0.1);
    let bright = candidate[shape[0]] > 0;
    let peak =
        shape
            .iter()
            .map(|&i| lum[i])
            .fold(if bright { f32::MIN } else { f32::MAX }, |a, v| {
                if bright {
                    a.max(v)
                } else {
                    a.min(v)
                }
            });
    // Dust is colourless: on a coloured surface it hides the colour it covers.
    let mid = ring_chroma.len() / 2;
    let ring_colour = *ring_chroma.select_nth_unstable_by(mid, f32::total_cmp).1;
    let own_colour = shape.iter().map(|&i| chroma[i]).fold(f32::MAX, f32::min);
    let colourless = own_colour <= SPECK_CHROMA_SHARE * ring_colour + SPECK_CHROMA_SLACK;
    colourless && (peak - centre).abs() > SPECK_ISOLATION * spread
}

/// Spread between a pixel's largest and smallest channel: 0 for grey.
fn chroma(p: [f32; 3]) -> f32 {
    p.iter().fold(0.0f32, |a, &v| a.max(v)) - p.iter().fold(255.0f32, |a, &v| a.min(v))
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
        // A photo-sized gradient (150 levels over 240 pixels): a speck must stand out from
        // the brightness spread of the ring around it by [`SPECK_ISOLATION`] times, and a
        // much steeper gradient is as uneven within a ring as texture is.
        let (w, h) = (120, 120);
        let mut canvas = gradient(w, h);
        canvas.px[30 * w + 30] = [5.0, 5.0, 5.0];
        canvas.px[90 * w + 75] = [8.0, 8.0, 8.0];
        let mask = detect(&canvas);
        assert!(mask[30 * w + 30] && mask[90 * w + 75]);
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
