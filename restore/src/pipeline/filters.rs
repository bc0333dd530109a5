//! Neighbourhood filters on single-channel planes, parallel over rows.
//!
//! Borders are handled by clamping coordinates (edge pixels repeat).

use rayon::prelude::*;

/// Median over a `(2r+1)²` window.
pub(crate) fn median(plane: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    let mut out = vec![0.0; plane.len()];
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let mut window = Vec::with_capacity((2 * radius + 1).pow(2));
        for (x, value) in row.iter_mut().enumerate() {
            window.clear();
            for ny in clamped_range(y, radius, height) {
                for nx in clamped_range(x, radius, width) {
                    window.push(plane[ny * width + nx]);
                }
            }
            let mid = window.len() / 2;
            *value = *window.select_nth_unstable_by(mid, f32::total_cmp).1;
        }
    });
    out
}

/// Local minimum and maximum over a `(2r+1)²` window.
pub(crate) fn min_max(
    plane: &[f32],
    width: usize,
    height: usize,
    radius: usize,
) -> (Vec<f32>, Vec<f32>) {
    let rows: Vec<(Vec<f32>, Vec<f32>)> = (0..height)
        .into_par_iter()
        .map(|y| {
            let mut lo = vec![f32::MAX; width];
            let mut hi = vec![f32::MIN; width];
            for x in 0..width {
                for ny in clamped_range(y, radius, height) {
                    for nx in clamped_range(x, radius, width) {
                        let v = plane[ny * width + nx];
                        lo[x] = lo[x].min(v);
                        hi[x] = hi[x].max(v);
                    }
                }
            }
            (lo, hi)
        })
        .collect();
    let (lo, hi): (Vec<_>, Vec<_>) = rows.into_iter().unzip();
    (lo.concat(), hi.concat())
}

/// Mean over a `(2r+1)²` window (shrunk at the borders), via a summed-area table.
pub(crate) fn box_mean(plane: &[f32], width: usize, height: usize, radius: usize) -> Vec<f32> {
    let stride = width + 1;
    let mut table = vec![0.0f64; stride * (height + 1)];
    for y in 0..height {
        let mut row_sum = 0.0;
        for x in 0..width {
            row_sum += f64::from(plane[y * width + x]);
            table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + row_sum;
        }
    }
    let mut out = vec![0.0; plane.len()];
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        let (y0, y1) = (y.saturating_sub(radius), (y + radius + 1).min(height));
        for (x, value) in row.iter_mut().enumerate() {
            let (x0, x1) = (x.saturating_sub(radius), (x + radius + 1).min(width));
            let sum = table[y1 * stride + x1] - table[y0 * stride + x1] - table[y1 * stride + x0]
                + table[y0 * stride + x0];
            *value = (sum / ((y1 - y0) * (x1 - x0)) as f64) as f32;
        }
    });
    out
}

/// Separable Gaussian blur with standard deviation `sigma` pixels.
pub(crate) fn gaussian(plane: &[f32], width: usize, height: usize, sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil() as usize;
    let kernel: Vec<f32> = (0..=2 * radius)
        .map(|i| (-((i as f32 - radius as f32).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / total).collect();

    let mut across = vec![0.0; plane.len()];
    across
        .par_chunks_mut(width)
        .enumerate()
        .for_each(|(y, row)| {
            for (x, value) in row.iter_mut().enumerate() {
                *value = clamped_range(x, radius, width)
                    .map(|nx| plane[y * width + nx])
                    .zip(&kernel)
                    .map(|(v, k)| v * k)
                    .sum();
            }
        });
    let mut out = vec![0.0; plane.len()];
    out.par_chunks_mut(width).enumerate().for_each(|(y, row)| {
        for (x, value) in row.iter_mut().enumerate() {
            *value = clamped_range(y, radius, height)
                .zip(&kernel)
                .map(|(ny, k)| across[ny * width + x] * k)
                .sum();
        }
    });
    out
}

/// A robust noise scale: 1.4826 × the median absolute value (σ for Gaussian data).
///
/// Large inputs are subsampled; the estimate does not need every value.
pub(crate) fn robust_sigma(values: &[f32]) -> f32 {
    let step = (values.len() / 200_000).max(1);
    let mut sample: Vec<f32> = values.iter().step_by(step).map(|v| v.abs()).collect();
    if sample.is_empty() {
        return 0.0;
    }
    let mid = sample.len() / 2;
    1.4826 * *sample.select_nth_unstable_by(mid, f32::total_cmp).1
}

/// Window indices around `centre`, clamped into `0..len`, one per kernel tap.
pub(crate) fn clamped_range(
    centre: usize,
    radius: usize,
    len: usize,
) -> impl Iterator<Item = usize> {
    (0..=2 * radius).map(move |i| (centre + i).saturating_sub(radius).min(len - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_removes_a_one_pixel_line() {
        let (w, h) = (9, 9);
        let mut plane = vec![100.0; w * h];
        for x in 0..w {
            plane[4 * w + x] = 250.0;
        }
        let filtered = median(&plane, w, h, 2);
        assert!(filtered.iter().all(|&v| v == 100.0));
    }

    #[test]
    fn box_mean_averages_its_window() {
        let plane: Vec<f32> = (0..25).map(|i| i as f32).collect();
        let mean = box_mean(&plane, 5, 5, 1);
        assert!((mean[12] - 12.0).abs() < 1e-4);
        assert!((mean[0] - (0.0 + 1.0 + 5.0 + 6.0) / 4.0).abs() < 1e-4);
    }

    #[test]
    fn gaussian_keeps_a_flat_plane_flat() {
        let plane = vec![42.0; 20 * 10];
        let blurred = gaussian(&plane, 20, 10, 1.5);
        assert!(blurred.iter().all(|v| (v - 42.0).abs() < 1e-3));
    }

    #[test]
    fn robust_sigma_ignores_a_few_outliers() {
        let mut values: Vec<f32> = (0..1000)
            .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        values[0] = 1000.0;
        assert!((robust_sigma(&values) - 1.4826).abs() < 1e-3);
    }
}
