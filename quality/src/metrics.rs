//! Full-reference image quality: PSNR over RGB and SSIM over luminance.
//!
//! * **PSNR** is computed over all three 8-bit channels together, with a peak of 255.
//!   Identical images score `f64::INFINITY`.
//! * **SSIM** follows Wang, Bovik, Sheikh and Simoncelli (2004): luminance only (Rec. 601
//!   weights), statistics under an 11×11 Gaussian window with σ = 1.5, constants
//!   K1 = 0.01 and K2 = 0.03 with L = 255, averaged over every window that lies wholly
//!   inside the image (no padding). Images smaller than the window use one window over the
//!   whole image.

use image::RgbImage;

/// Side of the SSIM window, in pixels.
const WINDOW: usize = 11;
/// Standard deviation of the SSIM window's Gaussian weights, in pixels.
const WINDOW_SIGMA: f64 = 1.5;
const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);

/// Peak signal-to-noise ratio in dB between two images of the same size.
///
/// # Panics
/// When the sizes differ: comparing different pictures is a bug in the caller.
pub fn psnr(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(
        a.dimensions(),
        b.dimensions(),
        "PSNR needs images of one size"
    );
    let squared: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)).pow(2))
        .sum();
    if squared == 0 {
        return f64::INFINITY;
    }
    let mse = squared as f64 / a.as_raw().len() as f64;

    10.0 * (255.0 * 255.0 / mse).log10()
}

/// Mean structural similarity of the two images' luminance, in -1.0..=1.0.
///
/// # Panics
/// When the sizes differ.
pub fn ssim(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(
        a.dimensions(),
        b.dimensions(),
        "SSIM needs images of one size"
    );
    let (w, h) = (a.width() as usize, a.height() as usize);
    let (x, y) = (luminance(a), luminance(b));
    if w < WINDOW || h < WINDOW {
        return global_ssim(&x, &y);
    }

    let kernel = gaussian_kernel();
    let products = |f: fn(f64, f64) -> f64| -> Vec<f64> {
        let plane: Vec<f64> = x.iter().zip(&y).map(|(&p, &q)| f(p, q)).collect();
        filter_valid(&plane, w, h, &kernel)
    };
    let mu_x = products(|p, _| p);
    let mu_y = products(|_, q| q);
    let xx = products(|p, _| p * p);
    let yy = products(|_, q| q * q);
    let xy = products(|p, q| p * q);

    let map = (0..mu_x.len()).map(|i| {
        let (mx, my) = (mu_x[i], mu_y[i]);
        let (vx, vy, cov) = (xx[i] - mx * mx, yy[i] - my * my, xy[i] - mx * my);
        index(mx, my, vx, vy, cov)
    });

    map.sum::<f64>() / mu_x.len() as f64
}

/// Rec. 601 luma of each pixel, 0.0..=255.0.
pub fn luminance(image: &RgbImage) -> Vec<f64> {
    image
        .pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect()
}

/// The SSIM formula for one window's means, variances and covariance.
fn index(mx: f64, my: f64, vx: f64, vy: f64, cov: f64) -> f64 {
    ((2.0 * mx * my + C1) * (2.0 * cov + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2))
}

/// SSIM with one uniformly weighted window covering the whole (tiny) image.
fn global_ssim(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().max(1) as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let var = |v: &[f64], m: f64| v.iter().map(|a| (a - m).powi(2)).sum::<f64>() / n;
    let cov = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - mx) * (b - my))
        .sum::<f64>()
        / n;

    index(mx, my, var(x, mx), var(y, my), cov)
}

/// Normalised 1-D Gaussian weights of the SSIM window.
fn gaussian_kernel() -> Vec<f64> {
    let centre = (WINDOW / 2) as f64;
    let raw: Vec<f64> = (0..WINDOW)
        .map(|i| (-(i as f64 - centre).powi(2) / (2.0 * WINDOW_SIGMA * WINDOW_SIGMA)).exp())
        .collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|k| k / total).collect()
}

/// Separable filtering keeping only positions where the window fits ("valid" convolution):
/// the result is `(w - WINDOW + 1) × (h - WINDOW + 1)`.
fn filter_valid(plane: &[f64], w: usize, h: usize, kernel: &[f64]) -> Vec<f64> {
    let (ow, oh) = (w - WINDOW + 1, h - WINDOW + 1);
    let mut across = vec![0.0; ow * h];
    for y in 0..h {
        let row = &plane[y * w..(y + 1) * w];
        for x in 0..ow {
            across[y * ow + x] = row[x..x + WINDOW]
                .iter()
                .zip(kernel)
                .map(|(v, k)| v * k)
                .sum();
        }
    }
    let mut out = vec![0.0; ow * oh];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = (0..WINDOW)
                .map(|k| across[(y + k) * ow + x] * kernel[k])
                .sum();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn textured(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = ((x * 37 + y * 91) % 200 + (x * y) % 50) as u8;
            Rgb([v, v.wrapping_add(20), v / 2])
        })
    }

    #[test]
    fn identical_images_have_infinite_psnr_and_ssim_one() {
        let image = textured(40, 30);
        assert_eq!(psnr(&image, &image), f64::INFINITY);
        assert!((ssim(&image, &image) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn psnr_of_a_uniform_error_of_ten_is_28_13_db() {
        let a = RgbImage::from_pixel(8, 8, Rgb([100, 100, 100]));
        let b = RgbImage::from_pixel(8, 8, Rgb([110, 90, 110]));
        // MSE = 100, so PSNR = 10·log10(255² / 100).
        assert!((psnr(&a, &b) - 28.1308).abs() < 1e-3, "{}", psnr(&a, &b));
    }

    #[test]
    fn ssim_of_two_flat_images_is_the_luminance_term() {
        let a = RgbImage::from_pixel(16, 16, Rgb([100, 100, 100]));
        let b = RgbImage::from_pixel(16, 16, Rgb([110, 110, 110]));
        let expected = (2.0 * 100.0 * 110.0 + C1) / (100.0f64.powi(2) + 110.0f64.powi(2) + C1);
        assert!((ssim(&a, &b) - expected).abs() < 1e-9, "{}", ssim(&a, &b));
    }

    #[test]
    fn ssim_is_symmetric_and_falls_with_damage() {
        let clean = textured(48, 40);
        let mut light = clean.clone();
        let mut heavy = clean.clone();
        for (i, p) in light.pixels_mut().enumerate() {
            p.0 = p.0.map(|v| v.saturating_add((i % 7) as u8));
        }
        for (i, p) in heavy.pixels_mut().enumerate() {
            p.0 = p.0.map(|v| v.saturating_add((i * 31 % 60) as u8));
        }
        let (s_light, s_heavy) = (ssim(&clean, &light), ssim(&clean, &heavy));
        assert!((ssim(&light, &clean) - s_light).abs() < 1e-12);
        assert!(1.0 > s_light && s_light > s_heavy, "{s_light} vs {s_heavy}");
    }

    #[test]
    fn an_inverted_image_has_negative_ssim() {
        let clean = textured(32, 32);
        let mut inverted = clean.clone();
        inverted
            .pixels_mut()
            .for_each(|p| p.0 = p.0.map(|v| 255 - v));
        assert!(ssim(&clean, &inverted) < 0.0);
    }

    #[test]
    fn tiny_images_use_one_global_window() {
        let a = textured(5, 4);
        assert!((ssim(&a, &a) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn the_window_weights_sum_to_one() {
        let k = gaussian_kernel();
        assert_eq!(k.len(), WINDOW);
        assert!((k.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(k[5] > k[4] && (k[4] - k[6]).abs() < 1e-15);
    }
}
