//! A before/after contact sheet of real photos, for judging restorations by eye.

use image::imageops::{self, FilterType};
use image::{DynamicImage, Rgb, RgbImage};

/// Height each photo is scaled to on the sheet.
const ROW_HEIGHT: u32 = 360;
/// Space around and between photos.
const GAP: u32 = 12;
const BACKGROUND: Rgb<u8> = Rgb([40, 40, 40]);

/// One row per pair, the original on the left and the restoration on the right.
///
/// Transparent parts are shown on white, as a print would be.
pub fn contact_sheet(pairs: &[(DynamicImage, DynamicImage)]) -> RgbImage {
    let rows: Vec<(RgbImage, RgbImage)> = pairs
        .iter()
        .map(|(before, after)| (fit(before), fit(after)))
        .collect();
    let width = rows
        .iter()
        .map(|(b, a)| b.width() + a.width() + 3 * GAP)
        .max()
        .unwrap_or(2 * GAP);
    let height = rows.len() as u32 * (ROW_HEIGHT + GAP) + GAP;

    let mut sheet = RgbImage::from_pixel(width, height, BACKGROUND);
    for (i, (before, after)) in rows.iter().enumerate() {
        let y = i64::from(GAP + i as u32 * (ROW_HEIGHT + GAP));
        imageops::replace(&mut sheet, before, i64::from(GAP), y);
        imageops::replace(&mut sheet, after, i64::from(2 * GAP + before.width()), y);
    }
    sheet
}

/// The photo flattened onto white and scaled to [`ROW_HEIGHT`].
fn fit(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    let flat = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let p = rgba.get_pixel(x, y);
        let a = u16::from(p[3]);
        Rgb([0, 1, 2].map(|c| ((u16::from(p[c]) * a + 255 * (255 - a)) / 255) as u8))
    });
    let width = (flat.width() * ROW_HEIGHT).div_ceil(flat.height()).max(1);
    imageops::resize(&flat, width, ROW_HEIGHT, FilterType::Triangle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::RgbaImage;

    #[test]
    fn pairs_sit_side_by_side_one_row_each() {
        let photo = DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 200, Rgb([200, 10, 10])));
        let sheet = contact_sheet(&[(photo.clone(), photo.clone()), (photo.clone(), photo)]);
        assert_eq!(sheet.width(), 180 + 180 + 3 * GAP);
        assert_eq!(sheet.height(), 2 * (ROW_HEIGHT + GAP) + GAP);
        assert_eq!(*sheet.get_pixel(GAP + 5, GAP + 5), Rgb([200, 10, 10]));
    }

    #[test]
    fn transparency_is_shown_on_white() {
        let clear = DynamicImage::ImageRgba8(RgbaImage::new(10, 10));
        let sheet = contact_sheet(&[(clear.clone(), clear)]);
        assert_eq!(*sheet.get_pixel(GAP + 1, GAP + 1), Rgb([255, 255, 255]));
    }
}
