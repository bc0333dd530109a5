//! Filling masked pixels from their undamaged surroundings ("onion-peel" inpainting).
//!
//! Each pass fills the masked pixels that touch known pixels with a distance-weighted mean of
//! the known pixels in their 5×5 neighbourhood, then treats them as known. Passes repeat
//! inwards until the mask is filled, so wide damage is filled from its rim to its centre and
//! no damaged value ever leaks into the result.

use rayon::prelude::*;

use super::canvas::Canvas;
use super::filters::clamped_range;

/// Upper bound on passes; damage wider than twice this stays as it was.
const MAX_PASSES: usize = 128;

/// Replaces every `mask`ed pixel of `canvas` with values grown in from unmasked pixels.
pub(crate) fn fill(canvas: &mut Canvas, mask: &[bool]) {
    let (w, h) = (canvas.width, canvas.height);
    let mut known: Vec<bool> = mask.iter().map(|&m| !m).collect();
    let mut pending: Vec<usize> = (0..mask.len()).filter(|&i| mask[i]).collect();

    for _ in 0..MAX_PASSES {
        if pending.is_empty() {
            break;
        }
        let filled: Vec<(usize, Option<[f32; 3]>)> = pending
            .par_iter()
            .map(|&i| (i, estimate(canvas, &known, i % w, i / w, w, h)))
            .collect();

        let mut progressed = false;
        for &(i, value) in &filled {
            if let Some(value) = value {
                canvas.px[i] = value;
                known[i] = true;
                progressed = true;
            }
        }
        if !progressed {
            break;
        }
        pending.retain(|&i| !known[i]);
    }
}

/// Weighted mean of the known pixels within two pixels, if the pixel touches any.
fn estimate(
    canvas: &Canvas,
    known: &[bool],
    x: usize,
    y: usize,
    w: usize,
    h: usize,
) -> Option<[f32; 3]> {
    let touches_known =
        clamped_range(y, 1, h).any(|ny| clamped_range(x, 1, w).any(|nx| known[ny * w + nx]));
    if !touches_known {
        return None;
    }

    let mut sum = [0.0f32; 3];
    let mut total = 0.0f32;
    for ny in y.saturating_sub(2)..(y + 3).min(h) {
        for nx in x.saturating_sub(2)..(x + 3).min(w) {
            let i = ny * w + nx;
            if !known[i] {
                continue;
            }
            let d2 = (nx.abs_diff(x).pow(2) + ny.abs_diff(y).pow(2)) as f32;
            let weight = 1.0 / d2;
            for (s, v) in sum.iter_mut().zip(canvas.px[i]) {
                *s += weight * v;
            }
            total += weight;
        }
    }
    Some(sum.map(|s| s / total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_block_takes_the_colour_of_its_surroundings() {
        let (w, h) = (12, 12);
        let mut px = vec![[80.0, 120.0, 160.0]; w * h];
        let mut mask = vec![false; w * h];
        for y in 3..9 {
            for x in 4..8 {
                px[y * w + x] = [255.0, 0.0, 0.0];
                mask[y * w + x] = true;
            }
        }
        let mut canvas = Canvas {
            width: w,
            height: h,
            px,
        };
        fill(&mut canvas, &mask);
        assert!(canvas.px.iter().all(|p| p
            .iter()
            .zip([80.0, 120.0, 160.0])
            .all(|(a, b)| (a - b).abs() < 1e-3)));
    }
}
