//! Turning untrusted bytes into an upright 8-bit sRGB image, or a clear refusal.
//!
//! Every path checks, in this order and before any pixel buffer exists: emptiness, file size,
//! magic bytes, the declared dimensions against [`Limits`], and the decoder's allocation.
//!
//! **Truncation rule:** an image whose pixel data is incomplete is refused with
//! [`InputError::CorruptImage`]; a half-decoded image is never returned. The PNG, GIF, WebP
//! and TIFF decoders fail on missing data themselves; the PNG decoder is strict even about a
//! missing trailing `IEND` chunk, so every truncated PNG is refused (`truncated_end_chunk.png`
//! is cut inside its last `IDAT` chunk). The JPEG decoder is lenient (it pads missing scan
//! data with grey), so a JPEG must also carry its end-of-image marker after its last scan.

use std::io::{BufRead, Cursor, Seek};

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader};

use crate::container::{gif_first_frame_extent, gif_is_animated, webp_is_animated, ByteSource};
use crate::format::{sniff, Format, Sniffed};
use crate::{orientation, InputError, Limits};

/// Warning attached to animated GIF and WebP files.
const ANIMATED_WARNING: &str = "Only the first frame of an animated image is used.";

/// Warning attached when the EXIF orientation could not be read.
const BAD_ORIENTATION_WARNING: &str =
    "The photo's rotation information is damaged, so it is shown as stored.";

/// What an image's header says, read without decoding any pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Probe {
    /// The format, from magic bytes.
    pub format: Format,
    /// Width of the upright image (after EXIF orientation).
    pub width: u32,
    /// Height of the upright image (after EXIF orientation).
    pub height: u32,
    /// EXIF orientation, 1..=8 (1 when absent or unreadable).
    pub orientation: u8,
}

/// A decoded image, upright and in 8-bit sRGB (`Rgb8`, or `Rgba8` when it has alpha).
#[derive(Clone, Debug)]
pub struct Decoded {
    /// The pixels, already turned upright.
    pub image: DynamicImage,
    /// The format, from magic bytes.
    pub format: Format,
    /// Things the uploader may want to know (first frame only, damaged metadata).
    pub warnings: Vec<String>,
}

/// Reads the header of an untrusted image and checks it against `limits`.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<Probe, InputError> {
    let format = check_file(bytes.len() as u64, bytes, limits)?;
    if format == Format::Gif {
        check_gif_frame(bytes, limits)?;
    }
    let decoder = open_decoder(Cursor::new(bytes), format, limits)?;

    Ok(probe_decoder(decoder, format))
}

/// Decodes an untrusted image into an upright 8-bit sRGB image within `limits`.
///
/// Only the first frame of an animation is decoded.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded, InputError> {
    let format = check_file(bytes.len() as u64, bytes, limits)?;
    if format == Format::Gif {
        check_gif_frame(bytes, limits)?;
    }
    let decoder = open_decoder(Cursor::new(bytes), format, limits)?;
    check_plausible(format, bytes.len() as u64, decoder.total_bytes())?;
    if format == Format::Jpeg && !jpeg_has_end_marker(bytes) {
        return Err(InputError::CorruptImage);
    }
    let animated = match format {
        Format::Gif => gif_is_animated(bytes),
        Format::Webp => webp_is_animated(bytes),
        _ => false,
    };

    decode_pixels(decoder, format, animated, limits)
}

/// The upright dimensions and orientation an opened decoder reports.
pub(crate) fn probe_decoder(mut decoder: impl ImageDecoder, format: Format) -> Probe {
    let orientation =
        orientation::read(&mut decoder).unwrap_or(image::metadata::Orientation::NoTransforms);
    let (width, height) = decoder.dimensions();
    let (width, height) = orientation::upright_dimensions(orientation, width, height);

    Probe {
        format,
        width,
        height,
        orientation: orientation::exif_value(orientation),
    }
}

/// Decodes the pixels of an opened, already checked image and turns them upright.
pub(crate) fn decode_pixels(
    mut decoder: impl ImageDecoder,
    format: Format,
    animated: bool,
    limits: &Limits,
) -> Result<Decoded, InputError> {
    let mut warnings = Vec::new();
    let orientation = orientation::read(&mut decoder).unwrap_or_else(|| {
        warnings.push(BAD_ORIENTATION_WARNING.to_owned());
        image::metadata::Orientation::NoTransforms
    });
    if animated {
        warnings.push(ANIMATED_WARNING.to_owned());
    }

    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| from_image_error(e, limits))?;
    image.apply_orientation(orientation);
    let image = to_8bit_srgb(image);
    tracing::debug!(
        ?format,
        width = image.width(),
        height = image.height(),
        "decoded image"
    );

    Ok(Decoded {
        image,
        format,
        warnings,
    })
}

/// Checks a file's size and its format from its first bytes (`head`, at least 16 of them
/// when the file has that many).
pub(crate) fn check_file(size: u64, head: &[u8], limits: &Limits) -> Result<Format, InputError> {
    if size == 0 {
        return Err(InputError::EmptyFile);
    }
    if size > limits.max_bytes {
        return Err(InputError::FileTooLarge {
            size,
            limit: limits.max_bytes,
        });
    }
    match sniff(head) {
        Sniffed::Supported(format) => Ok(format),
        Sniffed::Unsupported(name) => Err(InputError::UnsupportedFormat {
            detected: Some(name),
        }),
        Sniffed::Unknown => Err(InputError::UnsupportedFormat { detected: None }),
    }
}

/// A GIF frame may declare a far larger rectangle than the GIF's screen.
pub(crate) fn check_gif_frame(source: impl ByteSource, limits: &Limits) -> Result<(), InputError> {
    match gif_first_frame_extent(source) {
        Some(extent) => check_dimensions(extent, limits),
        None => Ok(()),
    }
}

/// Builds a decoder whose header fits `limits`.
pub(crate) fn open_decoder<'a, R: BufRead + Seek + 'a>(
    reader: R,
    format: Format,
    limits: &Limits,
) -> Result<impl ImageDecoder + 'a, InputError> {
    // The side limit is applied by hand below so the refusal can name the declared size;
    // the allocation cap is active while the header is parsed.
    let mut header_limits = limits.to_image_limits();
    header_limits.max_image_width = None;
    header_limits.max_image_height = None;
    let mut reader = ImageReader::with_format(reader, format.to_image_format());
    reader.limits(header_limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| from_image_error(e, limits))?;

    check_dimensions(decoder.dimensions(), limits)?;
    if decoder.total_bytes() > limits.max_alloc {
        return Err(InputError::NeedsTooMuchMemory {
            limit: limits.max_alloc,
        });
    }
    decoder
        .set_limits(limits.to_image_limits())
        .map_err(|e| from_image_error(e, limits))?;

    Ok(decoder)
}

/// Refuses a file that claims far more pixels than its compression could ever hold, before a
/// pixel buffer of the claimed size exists. Deflate (PNG) expands at most about 1032:1, and a
/// 1-bit PNG decodes to at most 32 bytes per stored bit-pixel (RGBA8); GIF's LZW expands a few
/// thousand to one before palette expansion (×4). So a 1 KB PNG cannot hold a 90-megapixel
/// image. JPEG, WebP and TIFF have no useful bound and rely on the pixel limit alone.
pub(crate) fn check_plausible(
    format: Format,
    file_size: u64,
    decoded_bytes: u64,
) -> Result<(), InputError> {
    let max_ratio: u64 = match format {
        Format::Png => 1_032 * 32 + 1_000,
        Format::Gif => 16_000,
        Format::Jpeg | Format::Webp | Format::Tiff => return Ok(()),
    };
    if decoded_bytes > file_size.saturating_mul(max_ratio) {
        return Err(InputError::CorruptImage);
    }

    Ok(())
}

/// Refuses declared dimensions beyond the side or pixel-count limit.
fn check_dimensions((width, height): (u32, u32), limits: &Limits) -> Result<(), InputError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(InputError::ImageTooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
            max_side: limits.max_side,
        });
    }
    if pixels == 0 {
        return Err(InputError::CorruptImage);
    }

    Ok(())
}

/// Maps a decoder failure onto what the uploader is told.
fn from_image_error(error: ImageError, limits: &Limits) -> InputError {
    tracing::debug!(%error, "image refused by decoder");
    match error {
        ImageError::Limits(_) => InputError::NeedsTooMuchMemory {
            limit: limits.max_alloc,
        },
        ImageError::Unsupported(_) => InputError::UnsupportedFormat { detected: None },
        ImageError::Decoding(_)
        | ImageError::Parameter(_)
        | ImageError::IoError(_)
        | ImageError::Encoding(_) => InputError::CorruptImage,
    }
}

/// Whether a JPEG's last scan is followed by an end-of-image marker.
///
/// Inside entropy-coded data a 0xFF byte is always stuffed (`FF 00`), so `FF D9` after the
/// last start-of-scan marker can only be the real end of the image.
fn jpeg_has_end_marker(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_scan {
        Some(start) => bytes[start..].windows(2).any(|w| w == [0xFF, 0xD9]),
        None => false,
    }
}

/// Converts any colour type to `Rgb8`, or `Rgba8` when the image has alpha.
///
/// 16-bit and float samples are scaled to the 8-bit range (not truncated), and grey becomes
/// RGB with equal channels.
fn to_8bit_srgb(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => image,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.into_rgba8()),
        other => DynamicImage::ImageRgb8(other.into_rgb8()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_end_marker_must_follow_the_last_scan() {
        assert!(jpeg_has_end_marker(
            b"\xFF\xD8\xFF\xDA\x01\x02\xFF\x00\xFF\xD9"
        ));
        assert!(!jpeg_has_end_marker(
            b"\xFF\xD8\xFF\xD9\xFF\xDA\x01\x02\xFF\x00"
        ));
        assert!(!jpeg_has_end_marker(b"\xFF\xD8\xFF\xDA\x01\x02"));
    }

    #[test]
    fn empty_and_oversized_files_are_refused_before_sniffing() {
        let limits = Limits {
            max_bytes: 4,
            ..Limits::default()
        };
        assert_eq!(probe(b"", &limits), Err(InputError::EmptyFile));
        assert_eq!(
            probe(b"12345", &limits),
            Err(InputError::FileTooLarge { size: 5, limit: 4 })
        );
    }
}
