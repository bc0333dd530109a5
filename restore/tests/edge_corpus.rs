//! Every file in `shared/testdata/edge/` against its documented behaviour.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use image::{DynamicImage, GenericImageView};
use restore::{decode, probe, Format, InputError, Limits};

fn edge(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "shared",
        "testdata",
        "edge",
        name,
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn accepted(name: &str, format: Format, size: (u32, u32)) -> DynamicImage {
    let bytes = edge(name);
    let probed = probe(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        (probed.format, probed.width, probed.height),
        (format, size.0, size.1),
        "{name}"
    );
    let decoded = decode(&bytes, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(decoded.format, format, "{name}");
    assert_eq!(decoded.image.dimensions(), size, "{name}");
    let color = decoded.image.color();
    assert!(
        matches!(color, image::ColorType::Rgb8 | image::ColorType::Rgba8),
        "{name} decoded as {color:?}"
    );
    decoded.image
}

fn refused(name: &str) -> InputError {
    let bytes = edge(name);
    let error = decode(&bytes, &Limits::default()).expect_err(name);
    if let Err(probe_error) = probe(&bytes, &Limits::default()) {
        assert_eq!(
            probe_error.code(),
            error.code(),
            "{name}: probe and decode disagree"
        );
    }
    error
}

fn mean_abs_difference(a: &DynamicImage, b: &DynamicImage) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len() as f64
}

#[test]
fn hopper_jpg_is_accepted() {
    accepted("hopper.jpg", Format::Jpeg, (128, 128));
}

#[test]
fn hopper_orientation_6_comes_out_upright() {
    let bytes = edge("hopper_orientation_6.jpg");
    assert_eq!(
        probe(&bytes, &Limits::default())
            .expect("probes")
            .orientation,
        6
    );
    let rotated = accepted("hopper_orientation_6.jpg", Format::Jpeg, (128, 128));
    let upright = accepted("hopper.jpg", Format::Jpeg, (128, 128));
    let difference = mean_abs_difference(&rotated, &upright);
    assert!(
        difference < 6.0,
        "differs from the upright hopper by {difference}"
    );
}

#[test]
fn hopper_bad_exif_is_accepted_with_its_exif_ignored() {
    accepted("hopper_bad_exif.jpg", Format::Jpeg, (500, 500));
}

#[test]
fn cmyk_jpeg_has_correct_colours() {
    let image = accepted("pil_sample_cmyk.jpg", Format::Jpeg, (100, 100)).to_rgb8();
    // Pillow's own test: the top-left pixel is C=0, M>0.8, Y>0.8, K=0, i.e. red.
    let [r, g, b] = image.get_pixel(0, 0).0;
    assert!(
        r > 200 && g < 80 && b < 80,
        "top-left should be red, got {r},{g},{b}"
    );
    // And the bottom-right pixel has K>0.5, i.e. it is dark.
    let [r, g, b] = image.get_pixel(99, 99).0;
    assert!(
        r < 128 && g < 128 && b < 128,
        "bottom-right should be dark, got {r},{g},{b}"
    );
}

#[test]
fn sixteen_bit_png_is_scaled_to_eight_bits_not_truncated() {
    let bytes = edge("tiff_16bit_RGB_target.png");
    let wide = image::load_from_memory(&bytes)
        .expect("reference decode")
        .to_rgb16();
    let narrow = accepted("tiff_16bit_RGB_target.png", Format::Png, (100, 40)).to_rgb8();
    let mean16 = wide.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / 257.0;
    let mean8 = narrow.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>();
    let n = narrow.as_raw().len() as f64;
    assert!(
        ((mean16 - mean8) / n).abs() < 0.6,
        "means {} vs {}",
        mean16 / n,
        mean8 / n
    );
    assert!(mean8 / n > 5.0, "the image went black");
}

#[test]
fn webp_is_accepted() {
    accepted("hopper.webp", Format::Webp, (128, 128));
}

#[test]
fn gif_is_accepted_as_its_first_frame() {
    let image = accepted("hopper.gif", Format::Gif, (128, 128));
    let reference = accepted("hopper.jpg", Format::Jpeg, (128, 128));
    assert!(mean_abs_difference(&image, &reference) < 12.0);
}

#[test]
fn tiff_is_accepted() {
    let image = accepted("hopper.tif", Format::Tiff, (128, 128));
    let reference = accepted("hopper.jpg", Format::Jpeg, (128, 128));
    assert!(mean_abs_difference(&image, &reference) < 6.0);
}

#[test]
fn decompression_bomb_is_refused_from_its_header_quickly() {
    let started = Instant::now();
    let error = refused("decompression_bomb.gif");
    assert_eq!(error.code(), "image_too_large", "{error}");
    assert!(error.to_string().contains("the limit is"), "{error}");
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[test]
fn broken_png_is_refused_as_corrupt() {
    let error = refused("broken.png");
    assert_eq!(error, InputError::CorruptImage);
    assert!(error.to_string().contains("incomplete or damaged"));
}

#[test]
fn png_truncated_inside_its_image_data_is_refused_as_corrupt() {
    // The file is cut 8 bytes into a 30 kB IDAT chunk: its pixels are incomplete.
    assert_eq!(refused("truncated_end_chunk.png"), InputError::CorruptImage);
}

#[test]
fn the_licence_text_is_not_an_image() {
    assert_eq!(
        refused("LICENSE-pillow-test-images.txt").code(),
        "unsupported_format"
    );
}

#[test]
fn every_edge_file_has_a_test_here() {
    let dir: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "..",
        "shared",
        "testdata",
        "edge",
    ]
    .iter()
    .collect();
    let source = include_str!("edge_corpus.rs");
    for entry in std::fs::read_dir(dir).expect("edge corpus exists") {
        let name = entry.expect("readable entry").file_name();
        let name = name.to_string_lossy();
        assert!(
            source.contains(&format!("\"{name}\"")),
            "no test for {name}"
        );
    }
}
