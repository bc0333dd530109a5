//! EXIF orientation end to end: JPEGs carrying each of the eight orientation values come
//! out upright, and `probe` reports the upright dimensions.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};
use restore::{decode, probe, Limits};

const RED: [u8; 3] = [220, 30, 30];
const GREEN: [u8; 3] = [30, 200, 30];
const BLUE: [u8; 3] = [30, 30, 220];
const WHITE: [u8; 3] = [240, 240, 240];

/// A 32×16 image with four coloured quadrants (aligned to JPEG blocks).
fn quadrants() -> RgbImage {
    RgbImage::from_fn(32, 16, |x, y| {
        Rgb(match (x < 16, y < 8) {
            (true, true) => RED,
            (false, true) => GREEN,
            (true, false) => BLUE,
            (false, false) => WHITE,
        })
    })
}

/// A JPEG of `image` with an EXIF APP1 segment holding only the orientation tag.
fn jpeg_with_orientation(image: &RgbImage, orientation: u8) -> Vec<u8> {
    let mut plain = Vec::new();
    JpegEncoder::new_with_quality(&mut plain, 95)
        .encode_image(image)
        .expect("encodes");

    let mut exif = b"Exif\0\0MM\0\x2A\0\0\0\x08\0\x01".to_vec();
    exif.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0, orientation, 0, 0]);
    exif.extend_from_slice(&[0, 0, 0, 0]);
    let length = u16::try_from(exif.len() + 2).expect("tiny segment");

    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xFF, 0xE1]);
    jpeg.extend_from_slice(&length.to_be_bytes());
    jpeg.extend_from_slice(&exif);
    jpeg.extend_from_slice(&plain[2..]);
    jpeg
}

/// Where the stored quadrant centred at (x, y) is displayed, per the EXIF specification.
fn displayed_at(orientation: u8, x: u32, y: u32) -> (u32, u32) {
    let (w, h) = (32, 16);
    match orientation {
        1 => (x, y),
        2 => (w - 1 - x, y),
        3 => (w - 1 - x, h - 1 - y),
        4 => (x, h - 1 - y),
        5 => (y, x),
        6 => (h - 1 - y, x),
        7 => (h - 1 - y, w - 1 - x),
        _ => (y, w - 1 - x),
    }
}

#[test]
fn every_orientation_value_is_shown_upright() {
    let stored = quadrants();
    for orientation in 1..=8u8 {
        let jpeg = jpeg_with_orientation(&stored, orientation);
        let probed = probe(&jpeg, &Limits::default()).expect("probes");
        let upright = if orientation >= 5 { (16, 32) } else { (32, 16) };
        assert_eq!(probed.orientation, orientation);
        assert_eq!(
            (probed.width, probed.height),
            upright,
            "orientation {orientation}"
        );

        let shown = decode(&jpeg, &Limits::default())
            .expect("decodes")
            .image
            .to_rgb8();
        assert_eq!(shown.dimensions(), upright, "orientation {orientation}");
        for (x, y, colour) in [(8, 4, RED), (24, 4, GREEN), (8, 12, BLUE), (24, 12, WHITE)] {
            let (dx, dy) = displayed_at(orientation, x, y);
            let got = shown.get_pixel(dx, dy).0;
            let close = got.iter().zip(colour).all(|(a, b)| a.abs_diff(b) < 30);
            assert!(
                close,
                "orientation {orientation}: ({x},{y}) shows {got:?}, not {colour:?}"
            );
        }
    }
}
