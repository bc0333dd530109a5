//! Rekindle's image core: safe decoding of untrusted uploads and classical restoration.
//!
//! * [`probe`] and [`decode`] turn untrusted bytes into an upright 8-bit sRGB image, refusing
//!   anything unsupported, oversized or damaged with an [`InputError`] a person can read;
//!   [`probe_file`] and [`decode_file`] do the same from a file with bounded memory.
//! * [`restore`] runs the restoration pipeline (scratches, noise, colours, sharpening,
//!   upscaling) selected by [`Options`], reporting progress per [`Stage`].
//! * [`thumbnail`], [`encode_png`] and [`encode_jpeg`] produce the files that are served.

mod container;
mod decode;
mod encode;
mod error;
mod file;
mod format;
mod limits;
mod orientation;
mod pipeline;

pub use decode::{decode, probe, Decoded, Probe};
pub use encode::{encode_jpeg, encode_png, thumbnail};
pub use error::{EncodeError, InputError};
pub use file::{decode_file, probe_file, FileError};
pub use format::Format;
pub use image::DynamicImage;
pub use limits::Limits;
pub use pipeline::{restore, Options, Stage};
