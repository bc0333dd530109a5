//! Cheap walks over GIF and WebP container structure, reading block headers only.
//!
//! The image decoders report a GIF's logical screen size, but each frame declares its own
//! rectangle, which may be far larger; [`gif_first_frame_extent`] lets that be checked
//! against the limits before decoding.

/// Bytes readable at any offset: a slice in memory or a seekable file.
pub(crate) trait ByteSource {
    /// Fills `buf` with the bytes at `pos`; false when the source ends first.
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> bool;
}

impl ByteSource for &[u8] {
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> bool {
        let slice = usize::try_from(pos)
            .ok()
            .and_then(|start| self.get(start..start.checked_add(buf.len())?));
        match slice {
            Some(slice) => {
                buf.copy_from_slice(slice);
                true
            }
            None => false,
        }
    }
}

/// A buffered reader read at offsets; short forward jumps stay inside its buffer.
pub(crate) struct Seeking<R> {
    reader: std::io::BufReader<R>,
    pos: u64,
}

impl<R: std::io::Read + std::io::Seek> Seeking<R> {
    /// Wraps `reader`, which must be at offset 0.
    pub(crate) fn new(reader: std::io::BufReader<R>) -> Self {
        Seeking { reader, pos: 0 }
    }
}

impl<R: std::io::Read + std::io::Seek> ByteSource for Seeking<R> {
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> bool {
        use std::io::Read;
        let Ok(delta) = i64::try_from(i128::from(pos) - i128::from(self.pos)) else {
            return false;
        };
        if self.reader.seek_relative(delta).is_err() {
            return false;
        }
        self.pos = pos;
        if self.reader.read_exact(buf).is_err() {
            // The position is unknown after a failed read; start over from the file's start.
            self.pos = match std::io::Seek::rewind(&mut self.reader) {
                Ok(()) => 0,
                Err(_) => u64::MAX,
            };
            return false;
        }
        self.pos += buf.len() as u64;
        true
    }
}

fn byte_at(source: &mut impl ByteSource, pos: u64) -> Option<u8> {
    let mut byte = [0];
    source.read_at(pos, &mut byte).then_some(byte[0])
}

/// Frames of a GIF, as (left, top, width, height), found by walking its blocks.
///
/// Stops after `max` frames or at the first malformed block.
fn gif_frames(source: &mut impl ByteSource, max: usize) -> Vec<(u16, u16, u16, u16)> {
    let mut frames = Vec::new();
    let mut pos: u64 = 13;
    let Some(packed) = byte_at(source, 10) else {
        return frames;
    };
    if packed & 0x80 != 0 {
        pos += 3 << ((packed & 0x07) + 1);
    }

    while let Some(block) = byte_at(source, pos) {
        match block {
            // Extension: label byte, then data sub-blocks.
            0x21 => pos = skip_sub_blocks(source, pos.saturating_add(2)),
            // Image descriptor: 9 bytes, optional local colour table, LZW code size, sub-blocks.
            0x2C => {
                let mut descriptor = [0; 9];
                if !source.read_at(pos + 1, &mut descriptor) {
                    return frames;
                }
                let word = |i: usize| u16::from_le_bytes([descriptor[i], descriptor[i + 1]]);
                frames.push((word(0), word(2), word(4), word(6)));
                if frames.len() >= max {
                    return frames;
                }
                let local = descriptor[8];
                pos += 10;
                if local & 0x80 != 0 {
                    pos += 3 << ((local & 0x07) + 1);
                }
                pos = skip_sub_blocks(source, pos + 1);
            }
            _ => return frames,
        }
    }
    frames
}

/// Whether a GIF holds more than one image.
pub(crate) fn gif_is_animated(mut source: impl ByteSource) -> bool {
    gif_frames(&mut source, 2).len() > 1
}

/// The canvas the first frame of a GIF reaches: (left + width, top + height).
pub(crate) fn gif_first_frame_extent(mut source: impl ByteSource) -> Option<(u32, u32)> {
    let &(left, top, width, height) = gif_frames(&mut source, 1).first()?;
    Some((
        u32::from(left) + u32::from(width),
        u32::from(top) + u32::from(height),
    ))
}

/// Skips GIF data sub-blocks (length-prefixed, ending with a zero length); `u64::MAX` when
/// the data ends first.
fn skip_sub_blocks(source: &mut impl ByteSource, mut pos: u64) -> u64 {
    while let Some(len) = byte_at(source, pos) {
        pos += 1;
        if len == 0 {
            return pos;
        }
        pos += u64::from(len);
    }
    u64::MAX
}

/// Whether a WebP declares animation in its extended header (VP8X flags).
pub(crate) fn webp_is_animated(mut source: impl ByteSource) -> bool {
    const ANIMATION_FLAG: u8 = 0x02;
    let mut header = [0; 9];
    source.read_at(12, &mut header) && &header[..4] == b"VP8X" && header[8] & ANIMATION_FLAG != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal GIF: header, 1×1 screen, no global table, `frames` one-pixel images.
    fn gif_with_frames(frames: usize) -> Vec<u8> {
        let mut bytes = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
        for _ in 0..frames {
            bytes.extend_from_slice(b"\x21\xF9\x04\x00\x0A\x00\x00\x00");
            bytes.extend_from_slice(b"\x2C\x00\x00\x00\x00\x01\x00\x01\x00\x00");
            bytes.extend_from_slice(b"\x02\x02\x44\x01\x00");
        }
        bytes.push(0x3B);
        bytes
    }

    #[test]
    fn a_gif_with_two_images_is_animated() {
        assert!(!gif_is_animated(&gif_with_frames(1)[..]));
        assert!(gif_is_animated(&gif_with_frames(2)[..]));
    }

    #[test]
    fn the_first_frame_extent_includes_its_offset() {
        let mut bytes = gif_with_frames(1);
        bytes[22..30].copy_from_slice(b"\x05\x00\x07\x00\xFF\xFF\x10\x00");
        assert_eq!(
            gif_first_frame_extent(&bytes[..]),
            Some((5 + 65_535, 7 + 16))
        );
    }

    #[test]
    fn truncated_gif_headers_are_not_animated() {
        let bytes = gif_with_frames(2);
        for len in 0..bytes.len() - 20 {
            assert!(!gif_is_animated(&bytes[..len]), "length {len}");
        }
    }
}
