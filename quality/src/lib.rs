//! Rekindle's restoration-quality benchmark.
//!
//! Clean photos are damaged on purpose ([`damage`]), restored by the pipeline and by a
//! classical baseline ([`baseline`]), and scored against the originals ([`metrics`]); the
//! findings go into a Markdown and JSON [`report`], with a [`contact`] sheet of real photos.

pub mod baseline;
pub mod bench;
pub mod contact;
pub mod damage;
pub mod metrics;
pub mod report;
