//! Doubling the resolution with Catmull-Rom interpolation (sharp, with little ringing).

use image::imageops::FilterType;
use image::DynamicImage;

/// The image at exactly twice its width and height; alpha is resized with the colours.
pub(crate) fn upscale_2x(image: &DynamicImage) -> DynamicImage {
    image.resize_exact(
        image.width() * 2,
        image.height() * 2,
        FilterType::CatmullRom,
    )
}
