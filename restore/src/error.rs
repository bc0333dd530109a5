//! Errors for untrusted input (shown to people) and for encoding (internal).

/// Why an uploaded file was refused.
///
/// [`InputError::code`] is a stable machine-readable string; the `Display` text is written for
/// the person who uploaded the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    /// The file holds no bytes at all.
    #[error("The file is empty.")]
    EmptyFile,

    /// The file is bigger than the byte limit.
    #[error("The file is {}; the limit is {}.", megabytes(*size), megabytes(*limit))]
    FileTooLarge {
        /// Size of the file in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },

    /// The bytes are not an image format Rekindle reads.
    #[error("{}Rekindle works with JPEG, PNG, WebP, GIF (first frame) and TIFF images.", unsupported_lead(*detected))]
    UnsupportedFormat {
        /// A recognised but unsupported format (such as HEIC), if the bytes revealed one.
        detected: Option<&'static str>,
    },

    /// The image declares more pixels, or a longer side, than allowed.
    #[error("The image is {width}×{height} pixels; the limit is {}.", size_limit(*width, *height, *max_pixels, *max_side))]
    ImageTooLarge {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
        /// Pixel-count limit.
        max_pixels: u64,
        /// Side-length limit.
        max_side: u32,
    },

    /// Opening the image would need more memory than allowed (for example an inflating
    /// metadata chunk).
    #[error("The image would need more than {} of memory to open; that is more than Rekindle allows.", megabytes(*limit))]
    NeedsTooMuchMemory {
        /// The allocation limit in bytes.
        limit: u64,
    },

    /// The image data cannot be decoded completely.
    #[error("The file is incomplete or damaged, so the image can't be read. Please try another copy of the photo.")]
    CorruptImage,
}

impl InputError {
    /// A stable code for APIs and logs: `unsupported_format`, `image_too_large`,
    /// `file_too_large`, `corrupt_image` or `empty_file`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyFile => "empty_file",
            Self::FileTooLarge { .. } => "file_too_large",
            Self::UnsupportedFormat { .. } => "unsupported_format",
            Self::ImageTooLarge { .. } | Self::NeedsTooMuchMemory { .. } => "image_too_large",
            Self::CorruptImage => "corrupt_image",
        }
    }
}

/// Encoding a restored image failed (an internal fault, not the uploader's).
#[derive(Debug, thiserror::Error)]
#[error("Failed to encode the image as {format}")]
pub struct EncodeError {
    /// The target format, such as "PNG".
    pub format: &'static str,
    /// What the encoder reported.
    #[source]
    pub source: image::ImageError,
}

fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / 1_000_000.0;
    if mb >= 10.0 || mb.fract() < 0.05 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

fn unsupported_lead(detected: Option<&'static str>) -> String {
    match detected {
        Some(name) => format!("This is a {name} file, which Rekindle can't open yet. "),
        None => "This file isn't an image Rekindle can open. ".to_owned(),
    }
}

fn size_limit(width: u32, height: u32, max_pixels: u64, max_side: u32) -> String {
    let megapixels = max_pixels as f64 / 1_000_000.0;
    if width > max_side || height > max_side {
        format!("{max_side} pixels on the longest side and {megapixels} megapixels in total")
    } else {
        format!("{megapixels} megapixels")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn too_large_message_names_the_size_and_the_limit() {
        let error = InputError::ImageTooLarge {
            width: 12_000,
            height: 10_000,
            max_pixels: 100_000_000,
            max_side: 30_000,
        };
        assert_eq!(error.code(), "image_too_large");
        assert_eq!(
            error.to_string(),
            "The image is 12000×10000 pixels; the limit is 100 megapixels."
        );
    }

    #[test]
    fn unsupported_message_lists_what_works() {
        let error = InputError::UnsupportedFormat {
            detected: Some("HEIC"),
        };
        let text = error.to_string();
        assert!(text.contains("HEIC"), "{text}");
        assert!(
            text.contains("JPEG, PNG, WebP, GIF (first frame) and TIFF"),
            "{text}"
        );
    }

    #[test]
    fn file_size_is_shown_in_megabytes() {
        let error = InputError::FileTooLarge {
            size: 62_300_000,
            limit: 50_000_000,
        };
        assert_eq!(error.to_string(), "The file is 62 MB; the limit is 50 MB.");
    }
}
