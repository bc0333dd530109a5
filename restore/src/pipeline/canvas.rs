//! The working image of the pipeline: linear arrays of `f32` RGB (0–255) plus untouched alpha.

use image::{DynamicImage, RgbImage, RgbaImage};
use rayon::prelude::*;

/// Rec. 601 luma weights, used wherever the pipeline needs one brightness per pixel.
pub(crate) const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// RGB pixels in row-major order with values in 0.0..=255.0.
#[derive(Clone, Debug)]
pub(crate) struct Canvas {
    pub width: usize,
    pub height: usize,
    pub px: Vec<[f32; 3]>,
}

impl Canvas {
    /// Splits an image into working RGB and its alpha channel (if it has one).
    pub fn from_image(image: &DynamicImage) -> (Self, Option<Vec<u8>>) {
        let (width, height) = (image.width() as usize, image.height() as usize);
        if image.color().has_alpha() {
            let rgba = image.to_rgba8();
            let px = rgba
                .pixels()
                .map(|p| [p[0], p[1], p[2]].map(f32::from))
                .collect();
            let alpha = rgba.pixels().map(|p| p[3]).collect();
            (Self { width, height, px }, Some(alpha))
        } else {
            let rgb = image.to_rgb8();
            let px = rgb.pixels().map(|p| p.0.map(f32::from)).collect();
            (Self { width, height, px }, None)
        }
    }

    /// Rounds back to 8 bits and reattaches alpha.
    pub fn into_image(self, alpha: Option<Vec<u8>>) -> DynamicImage {
        let (w, h) = (self.width as u32, self.height as u32);
        let to_u8 = |v: f32| v.round().clamp(0.0, 255.0) as u8;
        match alpha {
            Some(alpha) => {
                let raw = self
                    .px
                    .iter()
                    .zip(alpha)
                    .flat_map(|(p, a)| [to_u8(p[0]), to_u8(p[1]), to_u8(p[2]), a])
                    .collect();
                let image = RgbaImage::from_raw(w, h, raw).expect("buffer has w*h*4 bytes");
                DynamicImage::ImageRgba8(image)
            }
            None => {
                let raw = self.px.iter().flat_map(|p| p.map(to_u8)).collect();
                let image = RgbImage::from_raw(w, h, raw).expect("buffer has w*h*3 bytes");
                DynamicImage::ImageRgb8(image)
            }
        }
    }

    /// One brightness value per pixel.
    pub fn luminance(&self) -> Vec<f32> {
        self.px.par_iter().map(|&p| luma(p)).collect()
    }
}

/// Brightness of one RGB pixel.
pub(crate) fn luma(p: [f32; 3]) -> f32 {
    LUMA[0] * p[0] + LUMA[1] * p[1] + LUMA[2] * p[2]
}
