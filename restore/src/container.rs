//! Cheap walks over GIF and WebP container structure, reading block headers only.
//!
//! The image decoders report a GIF's logical screen size, but each frame declares its own
//! rectangle, which may be far larger; [`gif_first_frame_extent`] lets that be checked
//! against the limits before decoding.

/// Frames of a GIF, as (left, top, width, height), found by walking its blocks.
///
/// Stops after `max` frames or at the first malformed block.
fn gif_frames(bytes: &[u8], max: usize) -> Vec<(u16, u16, u16, u16)> {
    let mut frames = Vec::new();
    let mut pos = 13;
    let Some(&packed) = bytes.get(10) else {
        return frames;
    };
    if packed & 0x80 != 0 {
        pos += 3 << ((packed & 0x07) + 1);
    }

    while let Some(&block) = bytes.get(pos) {
        match block {
            // Extension: label byte, then data sub-blocks.
            0x21 => pos = skip_sub_blocks(bytes, pos + 2),
            // Image descriptor: 9 bytes, optional local colour table, LZW code size, sub-blocks.
            0x2C => {
                let Some(descriptor) = bytes.get(pos + 1..pos + 10) else {
                    return frames;
                };
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
                pos = skip_sub_blocks(bytes, pos + 1);
            }
            _ => return frames,
        }
    }
    frames
}

/// Whether a GIF holds more than one image.
pub(crate) fn gif_is_animated(bytes: &[u8]) -> bool {
    gif_frames(bytes, 2).len() > 1
}

/// The canvas the first frame of a GIF reaches: (left + width, top + height).
pub(crate) fn gif_first_frame_extent(bytes: &[u8]) -> Option<(u32, u32)> {
    let &(left, top, width, height) = gif_frames(bytes, 1).first()?;
    Some((
        u32::from(left) + u32::from(width),
        u32::from(top) + u32::from(height),
    ))
}

/// Skips GIF data sub-blocks (length-prefixed, ending with a zero length).
fn skip_sub_blocks(bytes: &[u8], mut pos: usize) -> usize {
    while let Some(&len) = bytes.get(pos) {
        pos += 1;
        if len == 0 {
            return pos;
        }
        pos += usize::from(len);
    }
    bytes.len()
}

/// Whether a WebP declares animation in its extended header (VP8X flags).
pub(crate) fn webp_is_animated(bytes: &[u8]) -> bool {
    const ANIMATION_FLAG: u8 = 0x02;
    bytes.get(12..16) == Some(b"VP8X") && bytes.get(20).is_some_and(|f| f & ANIMATION_FLAG != 0)
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
        assert!(!gif_is_animated(&gif_with_frames(1)));
        assert!(gif_is_animated(&gif_with_frames(2)));
    }

    #[test]
    fn the_first_frame_extent_includes_its_offset() {
        let mut bytes = gif_with_frames(1);
        bytes[22..30].copy_from_slice(b"\x05\x00\x07\x00\xFF\xFF\x10\x00");
        assert_eq!(gif_first_frame_extent(&bytes), Some((5 + 65_535, 7 + 16)));
    }

    #[test]
    fn truncated_gif_headers_are_not_animated() {
        let bytes = gif_with_frames(2);
        for len in 0..bytes.len() - 20 {
            assert!(!gif_is_animated(&bytes[..len]), "length {len}");
        }
    }
}
