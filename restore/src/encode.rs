//! Thumbnails and the PNG/JPEG files that are served to people.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

use crate::EncodeError;

/// A copy scaled so its longest side is at most `max_side`, keeping the aspect ratio.
///
/// Smaller images are returned unchanged (never enlarged).
pub fn thumbnail(image: &DynamicImage, max_side: u32) -> DynamicImage {
    let max_side = max_side.max(1);
    if image.width() <= max_side && image.height() <= max_side {
        return image.clone();
    }
    image.resize(max_side, max_side, FilterType::Triangle)
}

/// Encodes an image as PNG.
pub fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, EncodeError> {
    let mut bytes = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
        .map_err(|source| EncodeError {
            format: "PNG",
            source,
        })?;

    Ok(bytes)
}

/// Encodes an image as JPEG at `quality` (1..=100); transparency is flattened onto white.
pub fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, EncodeError> {
    let rgb = flatten_on_white(image);
    let mut bytes = Vec::new();
    JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100))
        .encode_image(&rgb)
        .map_err(|source| EncodeError {
            format: "JPEG",
            source,
        })?;

    Ok(bytes)
}

/// Composites an image over white, dropping alpha.
fn flatten_on_white(image: &DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.to_rgb8();
    }
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over_white = |c: u8| {
            let (c, a) = (u32::from(c), u32::from(a));
            ((c * a + 255 * (255 - a) + 127) / 255) as u8
        };
        Rgb([over_white(r), over_white(g), over_white(b)])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgba, RgbaImage};

    #[test]
    fn thumbnail_keeps_the_aspect_ratio() {
        let image = DynamicImage::ImageRgb8(RgbImage::new(400, 100));
        let thumb = thumbnail(&image, 200);
        assert_eq!((thumb.width(), thumb.height()), (200, 50));
        assert_eq!(thumbnail(&image, 1000).width(), 400);
    }

    #[test]
    fn jpeg_flattens_transparency_onto_white() {
        let image = DynamicImage::ImageRgba8(RgbaImage::from_pixel(8, 8, Rgba([0, 0, 0, 0])));
        let jpeg = encode_jpeg(&image, 90).expect("encoding a small image works");
        let back = image::load_from_memory(&jpeg)
            .expect("our own JPEG decodes")
            .to_rgb8();
        assert!(back.pixels().all(|p| p.0.iter().all(|&c| c > 245)));
    }

    #[test]
    fn png_round_trips_exactly() {
        let image = DynamicImage::ImageRgba8(RgbaImage::from_fn(5, 3, |x, y| {
            Rgba([x as u8 * 40, y as u8 * 80, 7, 200])
        }));
        let png = encode_png(&image).expect("encoding a small image works");
        assert_eq!(
            image::load_from_memory(&png).expect("our own PNG decodes"),
            image
        );
    }
}
