//! The restoration pipeline on real photos and through its public API.

use std::path::PathBuf;
use std::time::Instant;

use image::{DynamicImage, GenericImageView, GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};
use restore::{decode, restore, Limits, Options, Stage};

fn testdata(name: &str) -> DynamicImage {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "shared",
        "testdata",
        name,
    ]
    .iter()
    .collect();
    let bytes =
        std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    decode(&bytes, &Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .image
}

fn quiet(_: Stage, _: u8) {}

/// Pixels that differ from the median of their 3×3 neighbourhood by more than a fifth of
/// the image's tonal range (relative, so stretching contrast does not create "specks").
fn specks(image: &DynamicImage) -> usize {
    let limit = tonal_range(image) / 5;
    let grey = image.to_luma8();
    let (w, h) = grey.dimensions();
    let mut count = 0;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let mut window: Vec<u8> = (0..9)
                .map(|i| grey.get_pixel(x + i % 3 - 1, y + i / 3 - 1)[0])
                .collect();
            window.sort_unstable();
            if grey.get_pixel(x, y)[0].abs_diff(window[4]) > limit {
                count += 1;
            }
        }
    }
    count
}

/// Distance between the 1st and 99th brightness percentiles.
fn tonal_range(image: &DynamicImage) -> u8 {
    let mut values: Vec<u8> = image.to_luma8().into_raw();
    values.sort_unstable();
    let at = |f: f64| values[((values.len() - 1) as f64 * f) as usize];
    at(0.99) - at(0.01)
}

/// Correlation of 32×32 brightness thumbnails: 1.0 means the same picture.
fn similarity(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let small = |i: &DynamicImage| -> Vec<f64> {
        let thumb = i
            .resize_exact(32, 32, image::imageops::FilterType::Triangle)
            .to_luma8();
        thumb.into_raw().into_iter().map(f64::from).collect()
    };
    let (a, b) = (small(a), small(b));
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ma, mb) = (mean(&a), mean(&b));
    let cov: f64 = a.iter().zip(&b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let var = |v: &[f64], m: f64| v.iter().map(|x| (x - m).powi(2)).sum::<f64>();
    cov / (var(&a, ma) * var(&b, mb)).sqrt()
}

#[test]
fn every_photo_keeps_its_content_and_gets_cleaner() {
    let photos = [
        "old-a",
        "old-b",
        "old-c",
        "old-d",
        "scratched-a",
        "scratched-b",
    ];
    for name in photos {
        let before = testdata(&format!("photos/{name}.png"));
        let started = Instant::now();
        let after = restore(&before, &Options::default(), &mut quiet);
        eprintln!(
            "restored {name} ({}×{}) in {:?}",
            before.width(),
            before.height(),
            started.elapsed()
        );

        assert_eq!(after.dimensions(), before.dimensions(), "{name}");
        assert_eq!(after.color(), before.color(), "{name}");
        let kept = similarity(&before, &after);
        assert!(kept > 0.9, "{name}: content changed (correlation {kept})");
        // Specks are counted after the cleaning stages alone: sharpening adds local contrast
        // on purpose, which a speck count cannot tell from damage.
        let cleaning = Options {
            fix_colours: false,
            sharpen: false,
            ..Options::default()
        };
        let cleaned = restore(&before, &cleaning, &mut quiet);
        let (s0, s1) = (specks(&before), specks(&cleaned));
        assert!(s1 * 5 <= s0 * 4, "{name}: specks went from {s0} to {s1}");
        let (r0, r1) = (tonal_range(&before), tonal_range(&after));
        assert!(r1 + 2 >= r0, "{name}: tonal range shrank from {r0} to {r1}");
        eprintln!("  specks {s0} -> {s1}, tonal range {r0} -> {r1}, correlation {kept:.3}");
    }
}

#[test]
fn upscaling_doubles_the_size_and_keeps_alpha() {
    let before = testdata("photos/scratched-b.png");
    let options = Options {
        upscale_2x: true,
        ..Options::default()
    };
    let after = restore(&before, &options, &mut quiet);
    assert_eq!(
        after.dimensions(),
        (before.width() * 2, before.height() * 2)
    );
    assert!(after.color().has_alpha());
}

#[test]
fn alpha_values_pass_through_unchanged() {
    let before = DynamicImage::ImageRgba8(RgbaImage::from_fn(40, 30, |x, y| {
        Rgba([(x * 6) as u8, (y * 8) as u8, 90, (x * y % 256) as u8])
    }));
    let after = restore(&before, &Options::default(), &mut quiet).to_rgba8();
    let alpha = |i: &RgbaImage| i.pixels().map(|p| p[3]).collect::<Vec<_>>();
    assert_eq!(alpha(&after), alpha(&before.to_rgba8()));
}

#[test]
fn a_neutral_grey_photo_stays_neutral() {
    let grey = GrayImage::from_fn(64, 64, |x, y| Luma([(60 + x + y) as u8]));
    let before = DynamicImage::ImageRgb8(DynamicImage::ImageLuma8(grey).to_rgb8());
    let options = Options {
        fix_colours: true,
        ..no_stages()
    };
    let after = restore(&before, &options, &mut quiet).to_rgb8();
    for p in after.pixels() {
        let [r, g, b] = p.0;
        assert!(
            r.abs_diff(g) <= 1 && g.abs_diff(b) <= 1,
            "pixel {r},{g},{b} is tinted"
        );
    }
}

#[test]
fn progress_follows_the_enabled_stages_and_ends_at_100() {
    let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(16, 16, Rgb([100, 110, 120])));
    let mut seen = Vec::new();
    let options = Options {
        reduce_noise: false,
        upscale_2x: true,
        ..Options::default()
    };
    restore(&image, &options, &mut |stage, percent| {
        seen.push((stage, percent))
    });

    let stages: Vec<Stage> = seen.iter().map(|(s, _)| *s).collect();
    let expected = [
        Stage::CleanScratches,
        Stage::FixColours,
        Stage::Sharpen,
        Stage::Upscale,
    ];
    assert_eq!(stages[..4], expected);
    assert_eq!(seen.last(), Some(&(Stage::Upscale, 100)));
    assert!(
        seen.windows(2).all(|w| w[0].1 <= w[1].1),
        "percent went backwards: {seen:?}"
    );
    assert_eq!(seen[0].1, 0);
}

#[test]
fn damaged_clean_photo_scores_closer_to_the_original_after_restoring() {
    let original = testdata("clean/camera.png").to_rgb8();
    let mut damaged = original.clone();
    let (w, h) = damaged.dimensions();
    for (i, x0) in [60u32, 200, 330].into_iter().enumerate() {
        for y in 0..h {
            let x = (x0 + y / (3 + i as u32)).min(w - 1);
            damaged.put_pixel(x, y, Rgb([235, 235, 235]));
        }
    }
    for k in 0..300u32 {
        let (x, y) = ((k * 7919) % w, (k * 104_729) % h);
        damaged.put_pixel(x, y, Rgb([10, 10, 10]));
    }
    let options = Options {
        fix_colours: false,
        sharpen: false,
        ..Options::default()
    };
    let restored = restore(
        &DynamicImage::ImageRgb8(damaged.clone()),
        &options,
        &mut quiet,
    );

    let psnr = |img: &RgbImage| {
        let mse = img
            .as_raw()
            .iter()
            .zip(original.as_raw())
            .map(|(a, b)| f64::from(a.abs_diff(*b)).powi(2))
            .sum::<f64>()
            / img.as_raw().len() as f64;
        10.0 * (255.0f64.powi(2) / mse).log10()
    };
    let (before, after) = (psnr(&damaged), psnr(&restored.to_rgb8()));
    eprintln!("camera PSNR {before:.2} dB -> {after:.2} dB");
    assert!(after > before + 2.0, "PSNR {before:.2} -> {after:.2}");
}

fn no_stages() -> Options {
    Options {
        clean_scratches: false,
        reduce_noise: false,
        fix_colours: false,
        sharpen: false,
        upscale_2x: false,
    }
}
