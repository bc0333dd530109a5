//! Probing and decoding an untrusted image straight from a file, with bounded memory.
//!
//! Uploads are streamed to disk before they are checked, so a large file never has to sit in
//! memory. The decoders read the file through a buffer; only JPEG is read into memory, because
//! the `image` crate decodes it from one buffer — and then only up to the end of its last
//! scan, never what is appended after it. The checks and refusals are those of
//! [`decode`](crate::decode).

use image::ImageDecoder;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek};
use std::path::Path;

use crate::container::{gif_is_animated, webp_is_animated, Seeking};
use crate::decode::{
    check_file, check_gif_frame, decode_pixels, open_decoder, probe_decoder, Decoded, Probe,
};
use crate::{Format, InputError, Limits};

/// Bytes read at a time while scanning a JPEG for its end.
const SCAN_BUFFER: usize = 64 * 1024;

/// Why a file could not be turned into an image.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file's content was refused; tell the uploader.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The file could not be read: a fault on the server's side, not the uploader's.
    #[error("Failed to read the image file: {0}")]
    Io(#[from] io::Error),
}

/// [`probe`](crate::probe) for a file on disk.
pub fn probe_file(path: &Path, limits: &Limits) -> Result<Probe, FileError> {
    let (format, mut file) = open_checked(path, limits)?;
    if format == Format::Jpeg {
        let bytes = read_jpeg(&mut file)?.unwrap_or_default();
        return Ok(crate::probe(&bytes, limits)?);
    }
    let decoder = open_decoder(BufReader::new(file), format, limits)?;

    Ok(probe_decoder(decoder, format))
}

/// [`decode`](crate::decode) for a file on disk.
pub fn decode_file(path: &Path, limits: &Limits) -> Result<Decoded, FileError> {
    let (format, mut file) = open_checked(path, limits)?;
    if format == Format::Jpeg {
        // Without an end after its last scan, the JPEG is truncated.
        let bytes = read_jpeg(&mut file)?.ok_or(InputError::CorruptImage)?;
        return Ok(crate::decode(&bytes, limits)?);
    }
    let animated = match format {
        Format::Gif => gif_is_animated(Seeking::new(BufReader::new(&mut file))),
        Format::Webp => webp_is_animated(Seeking::new(BufReader::new(&mut file))),
        _ => false,
    };
    file.rewind()?;
    let size = file.metadata()?.len();
    let decoder = open_decoder(BufReader::new(file), format, limits)?;
    crate::decode::check_plausible(format, size, decoder.total_bytes())?;

    Ok(decode_pixels(decoder, format, animated, limits)?)
}

/// Opens a file and checks its size and format; for GIF, also its first frame's extent.
fn open_checked(path: &Path, limits: &Limits) -> Result<(Format, File), FileError> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let mut head = Vec::with_capacity(16);
    (&mut file).take(16).read_to_end(&mut head)?;
    let format = check_file(size, &head, limits)?;
    file.rewind()?;
    if format == Format::Gif {
        check_gif_frame(Seeking::new(BufReader::new(&mut file)), limits)?;
        file.rewind()?;
    }

    Ok((format, file))
}

/// Reads a JPEG up to the end marker that follows its last scan, or `None` when there is no
/// such marker (the same rule as the in-memory check; see the `decode` module).
fn read_jpeg(file: &mut File) -> io::Result<Option<Vec<u8>>> {
    let Some(end) = jpeg_end(BufReader::with_capacity(SCAN_BUFFER, &mut *file))? else {
        return Ok(None);
    };
    file.rewind()?;
    let mut bytes = Vec::with_capacity(usize::try_from(end).unwrap_or(0));
    file.take(end).read_to_end(&mut bytes)?;

    Ok(Some(bytes))
}

/// The offset just past the first `FF D9` after the last `FF DA`, read as a stream.
fn jpeg_end(mut reader: impl Read) -> io::Result<Option<u64>> {
    let mut buffer = vec![0; SCAN_BUFFER];
    let (mut offset, mut previous) = (0u64, 0u8);
    let (mut last_scan, mut end) = (None, None);
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) => return Ok(last_scan.and(end)),
            Ok(read) => read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(err),
        };
        for &byte in &buffer[..read] {
            offset += 1;
            match (previous, byte) {
                (0xFF, 0xDA) => (last_scan, end) = (Some(offset - 2), None),
                (0xFF, 0xD9) if last_scan.is_some() && end.is_none() => end = Some(offset),
                _ => {}
            }
            previous = byte;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jpeg_ends_after_the_marker_that_follows_its_last_scan() {
        let cases: [(&[u8], Option<u64>); 5] = [
            (b"\xFF\xD8\xFF\xDA\x01\x02\xFF\x00\xFF\xD9", Some(10)),
            (b"\xFF\xD8\xFF\xDA\x01\xFF\xD9 appended bytes", Some(7)),
            (b"\xFF\xD8\xFF\xD9\xFF\xDA\x01\x02\xFF\x00", None),
            (b"\xFF\xD8\xFF\xDA\x01\x02", None),
            (b"\xFF\xDA\xFF\xD9\xFF\xDA\x00\xFF\xD9\xFF\xD9", Some(9)),
        ];
        for (bytes, expected) in cases {
            assert_eq!(jpeg_end(bytes).unwrap(), expected, "case {bytes:?}");
        }
    }
}
