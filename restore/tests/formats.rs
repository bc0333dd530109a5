//! Format details built in the test: grey and alpha normalisation, animation, truncation.

use std::io::Cursor;

use image::codecs::gif::GifEncoder;
use image::{DynamicImage, Frame, GrayImage, ImageFormat, Luma, Rgba, RgbaImage};
use restore::{decode, probe, Format, InputError, Limits};

fn png(image: &DynamicImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .expect("encodes");
    bytes
}

#[test]
fn grey_becomes_rgb_with_equal_channels() {
    let grey = DynamicImage::ImageLuma8(GrayImage::from_fn(8, 8, |x, _| Luma([x as u8 * 30])));
    let decoded = decode(&png(&grey), &Limits::default())
        .expect("decodes")
        .image;
    let rgb = decoded.as_rgb8().expect("grey is widened to Rgb8");
    assert!(rgb.pixels().all(|p| p[0] == p[1] && p[1] == p[2]));
}

#[test]
fn alpha_is_kept_as_rgba8() {
    let image = DynamicImage::ImageRgba8(RgbaImage::from_pixel(4, 4, Rgba([9, 8, 7, 100])));
    let decoded = decode(&png(&image), &Limits::default())
        .expect("decodes")
        .image;
    assert_eq!(
        decoded.as_rgba8().expect("alpha kept").get_pixel(1, 1).0,
        [9, 8, 7, 100]
    );
}

#[test]
fn animated_gif_gives_its_first_frame_and_a_warning() {
    let mut bytes = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut bytes);
        for shade in [10u8, 240] {
            let frame = RgbaImage::from_pixel(6, 6, Rgba([shade, shade, shade, 255]));
            encoder
                .encode_frame(Frame::new(frame))
                .expect("encodes a frame");
        }
    }
    let decoded = decode(&bytes, &Limits::default()).expect("decodes");
    assert_eq!(decoded.format, Format::Gif);
    assert!(
        decoded.image.to_rgb8().get_pixel(2, 2)[0] < 30,
        "not the first frame"
    );
    assert_eq!(
        decoded.warnings,
        ["Only the first frame of an animated image is used."]
    );
}

#[test]
fn png_missing_only_its_end_chunk_is_refused_too() {
    let image = DynamicImage::ImageRgba8(RgbaImage::from_fn(16, 16, |x, y| {
        Rgba([x as u8 * 16, y as u8 * 16, 50, 255])
    }));
    let bytes = png(&image);
    let without_iend = &bytes[..bytes.len() - 12];
    // The PNG decoder is strict about the stream's end; one rule for all truncation is
    // simpler to explain than "damaged, but only a little".
    assert_eq!(
        decode(without_iend, &Limits::default()).map(|_| ()),
        Err(InputError::CorruptImage)
    );
}

#[test]
fn png_cut_inside_its_pixels_is_refused() {
    let image = DynamicImage::ImageLuma8(GrayImage::from_fn(64, 64, |x, y| Luma([(x ^ y) as u8])));
    let bytes = png(&image);
    let cut = &bytes[..bytes.len() - 40];
    assert_eq!(
        decode(cut, &Limits::default()).map(|_| ()),
        Err(InputError::CorruptImage)
    );
}

#[test]
fn jpeg_without_its_end_is_refused() {
    let image = DynamicImage::ImageLuma8(GrayImage::from_fn(64, 64, |x, y| Luma([(x * y) as u8])));
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Jpeg)
        .expect("encodes");
    let cut = &bytes[..bytes.len() * 2 / 3];
    assert!(
        probe(cut, &Limits::default()).is_ok(),
        "the header is intact"
    );
    assert_eq!(
        decode(cut, &Limits::default()).map(|_| ()),
        Err(InputError::CorruptImage)
    );
}

#[test]
fn limits_are_checked_from_the_header() {
    let image = DynamicImage::ImageLuma8(GrayImage::new(300, 200));
    let bytes = png(&image);
    let limits = Limits {
        max_pixels: 50_000,
        ..Limits::default()
    };
    let error = probe(&bytes, &limits).expect_err("60 000 pixels is over the limit");
    assert_eq!(error.code(), "image_too_large");
    assert_eq!(
        error.to_string(),
        "The image is 300×200 pixels; the limit is 0.05 megapixels."
    );
    let limits = Limits {
        max_side: 250,
        ..Limits::default()
    };
    assert_eq!(
        decode(&bytes, &limits).map(|_| ()).unwrap_err().code(),
        "image_too_large"
    );
}

#[test]
fn heic_is_named_in_the_refusal() {
    let error = probe(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", &Limits::default()).unwrap_err();
    assert_eq!(error.code(), "unsupported_format");
    assert!(
        error.to_string().starts_with("This is a HEIC file"),
        "{error}"
    );
}
