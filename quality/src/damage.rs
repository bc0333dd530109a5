//! Reproducible synthetic damage: the defects old prints suffer, drawn from a seed.
//!
//! Every generator is deterministic for a given image and seed (the RNG is `StdRng`, whose
//! stream is fixed within rand 0.8), so two runs damage a photo identically and their
//! scores can be compared. Amounts scale with the image area, so a larger photo gets more
//! scratches and specks, not denser ones.

use image::RgbImage;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// A kind of damage the benchmark applies and scores separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Defect {
    /// Thin bright and dark lines, mostly along the film, some across it, gently curved.
    Scratches,
    /// Small bright and dark specks of dust and emulsion loss.
    Dust,
    /// Film grain: strong luminance noise with a little chroma noise.
    Grain,
    /// Fading: contrast squeezed into the middle of the range.
    Fading,
    /// A yellow or sepia cast (per-channel gains).
    Cast,
    /// All of the above, in the order a print would suffer them.
    Combined,
}

impl Defect {
    /// Every defect, in report order.
    pub const ALL: [Defect; 6] = [
        Self::Scratches,
        Self::Dust,
        Self::Grain,
        Self::Fading,
        Self::Cast,
        Self::Combined,
    ];

    /// The short name used in file names and JSON, such as "scratches".
    pub fn name(self) -> &'static str {
        match self {
            Self::Scratches => "scratches",
            Self::Dust => "dust",
            Self::Grain => "grain",
            Self::Fading => "fading",
            Self::Cast => "cast",
            Self::Combined => "combined",
        }
    }
}

/// Standard deviation (0–255) of the luminance grain.
const GRAIN_SIGMA: f32 = 9.0;
/// Standard deviation of the independent per-channel (chroma) grain.
const CHROMA_SIGMA: f32 = 3.0;
/// Fading keeps this fraction of the contrast...
const FADE_CONTRAST: f32 = 0.6;
/// ...and lifts black to this level.
const FADE_LIFT: f32 = 55.0;
/// Pixels of area per scratch.
const AREA_PER_SCRATCH: f32 = 45_000.0;
/// Pixels of area per dust speck.
const AREA_PER_SPECK: f32 = 1_500.0;

/// `image` with `defect` applied, drawn from `seed`.
pub fn damage(image: &RgbImage, defect: Defect, seed: u64) -> RgbImage {
    let mut plane = Plane::from_image(image);
    let mut rng = StdRng::seed_from_u64(seed);
    match defect {
        Defect::Scratches => scratches(&mut plane, &mut rng),
        Defect::Dust => dust(&mut plane, &mut rng),
        Defect::Grain => grain(&mut plane, &mut rng),
        Defect::Fading => fade(&mut plane),
        Defect::Cast => cast(&mut plane, &mut rng),
        Defect::Combined => {
            fade(&mut plane);
            cast(&mut plane, &mut rng);
            grain(&mut plane, &mut rng);
            scratches(&mut plane, &mut rng);
            dust(&mut plane, &mut rng);
        }
    }
    plane.into_image()
}

/// Working pixels as `f32` so that damage layers do not round at every step.
struct Plane {
    width: usize,
    height: usize,
    px: Vec<[f32; 3]>,
}

impl Plane {
    fn from_image(image: &RgbImage) -> Self {
        Self {
            width: image.width() as usize,
            height: image.height() as usize,
            px: image.pixels().map(|p| p.0.map(f32::from)).collect(),
        }
    }

    fn into_image(self) -> RgbImage {
        let raw = self
            .px
            .iter()
            .flat_map(|p| p.map(|v| v.round().clamp(0.0, 255.0) as u8))
            .collect();
        RgbImage::from_raw(self.width as u32, self.height as u32, raw)
            .expect("the plane holds width × height pixels")
    }

    fn area(&self) -> f32 {
        (self.width * self.height) as f32
    }

    /// Blends the pixel at (x, y), if inside, towards `target` by `amount` (0..=1).
    fn blend(&mut self, x: isize, y: isize, target: [f32; 3], amount: f32) {
        if x < 0 || y < 0 || x as usize >= self.width || y as usize >= self.height {
            return;
        }
        let p = &mut self.px[y as usize * self.width + x as usize];
        *p = [0, 1, 2].map(|c| p[c] + amount * (target[c] - p[c]));
    }
}

/// A bright (dust on the negative, emulsion loss) or dark (dirt on the print) colour.
fn defect_colour(rng: &mut StdRng) -> [f32; 3] {
    if rng.gen_bool(0.5) {
        [rng.gen_range(225.0..250.0); 3]
    } else {
        [rng.gen_range(8.0..35.0); 3]
    }
}

fn scratches(plane: &mut Plane, rng: &mut StdRng) {
    let count = (plane.area() / AREA_PER_SCRATCH).round().max(3.0) as usize;
    let (w, h) = (plane.width as f32, plane.height as f32);
    for _ in 0..count {
        // Most scratches run along the film (vertically), a few at any angle.
        let angle: f32 = if rng.gen_bool(0.7) {
            std::f32::consts::FRAC_PI_2 + rng.gen_range(-0.12..0.12)
        } else {
            rng.gen_range(0.0..std::f32::consts::PI)
        };
        let length = rng.gen_range(0.3..1.0) * w.max(h);
        let start = [rng.gen_range(0.0..w), rng.gen_range(0.0..h)];
        let half_width = rng.gen_range(0.4..1.1);
        let wobble = rng.gen_range(0.0..3.0);
        let phase = rng.gen_range(0.0..std::f32::consts::TAU);
        let colour = defect_colour(rng);
        let opacity = rng.gen_range(0.7..1.0);

        let (dir, normal) = ([angle.cos(), angle.sin()], [-angle.sin(), angle.cos()]);
        let steps = (length * 2.0) as usize;
        let mut coverage = std::collections::HashMap::new();
        for s in 0..steps {
            let t = s as f32 / 2.0;
            let bend = wobble * (t / 60.0 + phase).sin();
            let cx = start[0] + dir[0] * t + normal[0] * bend;
            let cy = start[1] + dir[1] * t + normal[1] * bend;
            stamp(&mut coverage, cx, cy, half_width);
        }
        for ((x, y), c) in coverage {
            plane.blend(x, y, colour, opacity * c);
        }
    }
}

fn dust(plane: &mut Plane, rng: &mut StdRng) {
    let count = (plane.area() / AREA_PER_SPECK).round() as usize;
    for _ in 0..count {
        let cx = rng.gen_range(0.0..plane.width as f32);
        let cy = rng.gen_range(0.0..plane.height as f32);
        // Mostly tiny specks, a few up to about 5 px across.
        let radius = 0.6 + 1.8 * rng.gen::<f32>().powi(2);
        let colour = defect_colour(rng);
        let opacity = rng.gen_range(0.8..1.0);
        let mut coverage = std::collections::HashMap::new();
        stamp(&mut coverage, cx, cy, radius);
        for ((x, y), c) in coverage {
            plane.blend(x, y, colour, opacity * c);
        }
    }
}

/// Records, for each pixel near (cx, cy), how much a disc of `radius` covers it (keeping the
/// largest coverage seen, so overlapping stamps of one stroke do not add up).
fn stamp(coverage: &mut std::collections::HashMap<(isize, isize), f32>, cx: f32, cy: f32, r: f32) {
    let reach = (r + 1.0).ceil() as isize;
    let (px, py) = (cx.floor() as isize, cy.floor() as isize);
    for y in py - reach..=py + reach {
        for x in px - reach..=px + reach {
            let d = ((x as f32 + 0.5 - cx).powi(2) + (y as f32 + 0.5 - cy).powi(2)).sqrt();
            let c = (r + 0.5 - d).clamp(0.0, 1.0);
            if c > 0.0 {
                let entry = coverage.entry((x, y)).or_insert(0.0f32);
                *entry = entry.max(c);
            }
        }
    }
}

fn grain(plane: &mut Plane, rng: &mut StdRng) {
    for p in &mut plane.px {
        let luma = GRAIN_SIGMA * gaussian(rng);
        *p = p.map(|v| v + luma + CHROMA_SIGMA * gaussian(rng));
    }
}

fn fade(plane: &mut Plane) {
    for p in &mut plane.px {
        *p = p.map(|v| FADE_LIFT + FADE_CONTRAST * v);
    }
}

fn cast(plane: &mut Plane, rng: &mut StdRng) {
    let gains = if rng.gen_bool(0.5) {
        [1.0, 0.95, 0.72] // yellowed
    } else {
        [1.06, 0.9, 0.7] // sepia-toned
    };
    for p in &mut plane.px {
        *p = [0, 1, 2].map(|c| p[c] * gains[c]);
    }
}

/// A standard normal sample (Box–Muller).
fn gaussian(rng: &mut StdRng) -> f32 {
    let u: f32 = rng.gen_range(f32::EPSILON..1.0);
    let v: f32 = rng.gen();
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    fn photo() -> RgbImage {
        RgbImage::from_fn(120, 90, |x, y| Rgb([(x * 2) as u8, (y * 2) as u8, 128]))
    }

    #[test]
    fn the_same_seed_gives_the_same_damage() {
        for defect in Defect::ALL {
            let (a, b) = (damage(&photo(), defect, 42), damage(&photo(), defect, 42));
            assert_eq!(a, b, "{defect:?} is not reproducible");
        }
    }

    #[test]
    fn another_seed_gives_other_damage_where_damage_is_random() {
        for defect in [
            Defect::Scratches,
            Defect::Dust,
            Defect::Grain,
            Defect::Combined,
        ] {
            let (a, b) = (damage(&photo(), defect, 1), damage(&photo(), defect, 2));
            assert_ne!(a, b, "{defect:?} ignores its seed");
        }
    }

    #[test]
    fn every_defect_changes_the_photo_and_keeps_its_size() {
        for defect in Defect::ALL {
            let damaged = damage(&photo(), defect, 7);
            assert_eq!(damaged.dimensions(), photo().dimensions(), "{defect:?}");
            assert_ne!(damaged, photo(), "{defect:?} did nothing");
        }
    }

    #[test]
    fn scratches_and_dust_touch_a_small_part_of_the_photo() {
        for defect in [Defect::Scratches, Defect::Dust] {
            let damaged = damage(&photo(), defect, 3);
            let changed = damaged
                .pixels()
                .zip(photo().pixels())
                .filter(|(a, b)| a != b)
                .count();
            let fraction = changed as f64 / (120.0 * 90.0);
            assert!(
                fraction > 0.002 && fraction < 0.15,
                "{defect:?}: {fraction}"
            );
        }
    }

    #[test]
    fn fading_squeezes_the_range() {
        let black_and_white =
            RgbImage::from_fn(10, 1, |x, _| Rgb([if x < 5 { 0 } else { 255 }; 3]));
        let faded = damage(&black_and_white, Defect::Fading, 0);
        assert_eq!(faded.get_pixel(0, 0).0, [55; 3]);
        assert_eq!(faded.get_pixel(9, 0).0, [208; 3]);
    }

    #[test]
    fn a_cast_makes_grey_warm() {
        let grey = RgbImage::from_pixel(8, 8, Rgb([150, 150, 150]));
        let [r, g, b] = damage(&grey, Defect::Cast, 5).get_pixel(0, 0).0;
        assert!(r > g && g > b, "{r},{g},{b}");
    }
}
