//! Image formats recognised by their magic bytes (never by file name or declared type).

/// A supported image format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG (JFIF/EXIF).
    Jpeg,
    /// PNG, 8 or 16 bits per channel.
    Png,
    /// WebP, lossy or lossless (first frame when animated).
    Webp,
    /// GIF (first frame).
    Gif,
    /// TIFF, little- or big-endian.
    Tiff,
}

impl Format {
    /// The MIME type, such as `image/png`.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
            Self::Tiff => "image/tiff",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
            Self::Tiff => "tif",
        }
    }

    pub(crate) fn to_image_format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Webp => image::ImageFormat::WebP,
            Self::Gif => image::ImageFormat::Gif,
            Self::Tiff => image::ImageFormat::Tiff,
        }
    }
}

/// What the first bytes of a file say it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sniffed {
    /// A format we decode.
    Supported(Format),
    /// A recognised format we do not decode, named for the person uploading it.
    Unsupported(&'static str),
    /// Nothing recognisable.
    Unknown,
}

/// Decides the format from magic bytes alone.
pub(crate) fn sniff(bytes: &[u8]) -> Sniffed {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(&[0xFF, 0xD8, 0xFF]) {
        Sniffed::Supported(Format::Jpeg)
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        Sniffed::Supported(Format::Png)
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Sniffed::Supported(Format::Gif)
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Sniffed::Supported(Format::Webp)
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Sniffed::Supported(Format::Tiff)
    } else if let Some(name) = sniff_unsupported(bytes) {
        Sniffed::Unsupported(name)
    } else {
        Sniffed::Unknown
    }
}

/// Names common formats we refuse, so the message can say what the file is.
fn sniff_unsupported(bytes: &[u8]) -> Option<&'static str> {
    if bytes.get(4..8) == Some(b"ftyp") {
        let brand = bytes.get(8..12)?;
        return match brand {
            b"avif" | b"avis" => Some("AVIF"),
            b"heic" | b"heix" | b"hevc" | b"heim" | b"heis" | b"mif1" | b"msf1" => Some("HEIC"),
            _ => None,
        };
    }
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"BM") {
        Some("BMP")
    } else if starts(b"8BPS") {
        Some("Photoshop")
    } else if starts(b"%PDF") {
        Some("PDF")
    } else if starts(&[0x00, 0x00, 0x00, 0x0C, b'j', b'X', b'L', b' ']) || starts(&[0xFF, 0x0A]) {
        Some("JPEG XL")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide_the_format() {
        let cases: [(&[u8], Sniffed); 8] = [
            (b"\xFF\xD8\xFF\xE0rest", Sniffed::Supported(Format::Jpeg)),
            (b"\x89PNG\r\n\x1a\nrest", Sniffed::Supported(Format::Png)),
            (b"GIF89a..", Sniffed::Supported(Format::Gif)),
            (b"RIFF\0\0\0\0WEBPVP8 ", Sniffed::Supported(Format::Webp)),
            (b"MM\0*\0\0\0\x08", Sniffed::Supported(Format::Tiff)),
            (b"\0\0\0\x18ftypheic\0\0", Sniffed::Unsupported("HEIC")),
            (b"\0\0\0\x1cftypavif\0\0", Sniffed::Unsupported("AVIF")),
            (b"hello world", Sniffed::Unknown),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                sniff(bytes),
                expected,
                "case {:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }
}
