//! Reusable pieces of the UI, one component per file.

pub mod before_after;
pub mod header;
pub mod job_progress;
pub mod photo_card;
pub mod protected_image;
pub mod restore_options;
pub mod retention;
pub mod uploader;
