//! Size limits applied to every untrusted image before any pixel buffer is allocated.

/// Limits on an input file and the image it declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Largest accepted image area, in pixels (after orientation, which does not change it).
    pub max_pixels: u64,
    /// Longest accepted side, in pixels.
    pub max_side: u32,
    /// Most memory the decoder may allocate at once, in bytes.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 50 * 1024 * 1024,
            max_pixels: 100_000_000,
            max_side: 30_000,
            max_alloc: 1024 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// The same limits expressed for the `image` crate's decoders.
    pub(crate) fn to_image_limits(self) -> image::Limits {
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(self.max_side);
        limits.max_image_height = Some(self.max_side);
        limits.max_alloc = Some(self.max_alloc);
        limits
    }
}
