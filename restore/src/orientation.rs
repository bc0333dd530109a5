//! EXIF orientation: reading it from a decoder and what it does to the image's dimensions.

use image::metadata::Orientation;
use image::ImageDecoder;

/// The orientation a decoder reports, or `None` when its metadata cannot be read.
///
/// Damaged EXIF is not a reason to refuse a photo: the caller shows it as stored and warns.
pub(crate) fn read(decoder: &mut impl ImageDecoder) -> Option<Orientation> {
    match decoder.orientation() {
        Ok(orientation) => Some(orientation),
        Err(error) => {
            tracing::debug!(%error, "ignoring unreadable orientation metadata");
            None
        }
    }
}

/// The EXIF value (1..=8) of an orientation.
pub(crate) fn exif_value(orientation: Orientation) -> u8 {
    orientation.to_exif()
}

/// Whether the orientation swaps width and height (EXIF values 5 to 8).
pub(crate) fn swaps_sides(orientation: Orientation) -> bool {
    matches!(
        orientation,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// Stored dimensions turned into the dimensions the upright image has.
pub(crate) fn upright_dimensions(orientation: Orientation, width: u32, height: u32) -> (u32, u32) {
    if swaps_sides(orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, GrayImage};

    /// Where the stored pixel (x, y) of a `w`×`h` image must land when displayed, written out
    /// from the EXIF specification's table rather than from the `image` crate.
    fn expected_position(exif: u8, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
        match exif {
            1 => (x, y),
            2 => (w - 1 - x, y),
            3 => (w - 1 - x, h - 1 - y),
            4 => (x, h - 1 - y),
            5 => (y, x),
            6 => (h - 1 - y, x),
            7 => (h - 1 - y, w - 1 - x),
            8 => (y, w - 1 - x),
            _ => unreachable!("EXIF orientation is 1..=8"),
        }
    }

    #[test]
    fn every_exif_orientation_turns_the_image_upright() {
        let (w, h) = (3, 2);
        let stored = GrayImage::from_fn(w, h, |x, y| image::Luma([(10 * (y * w + x)) as u8]));
        for exif in 1..=8u8 {
            let orientation = Orientation::from_exif(exif).expect("values 1..=8 are valid");
            let mut shown = DynamicImage::ImageLuma8(stored.clone());
            shown.apply_orientation(orientation);
            let shown = shown.to_luma8();

            let (uw, uh) = upright_dimensions(orientation, w, h);
            assert_eq!(shown.dimensions(), (uw, uh), "orientation {exif}");
            assert_eq!(exif_value(orientation), exif);
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = expected_position(exif, x, y, w, h);
                    assert_eq!(
                        shown.get_pixel(dx, dy),
                        stored.get_pixel(x, y),
                        "orientation {exif}, stored pixel ({x},{y})"
                    );
                }
            }
        }
    }
}
