//! Temporary files under `<data dir>/tmp/` that remove themselves.
//!
//! Uploads are streamed to one of these before they are checked and stored. Removal happens
//! on drop, so it also covers errors, panics and clients that disconnect (axum drops the
//! handler's future).

use anyhow::Context;
use std::path::{Path, PathBuf};

/// A file that is deleted when this value is dropped.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Creates an empty file with a fresh name in `dir` (created when missing), opened for
    /// writing.
    pub async fn create(dir: &Path) -> anyhow::Result<(TempFile, tokio::fs::File)> {
        tokio::fs::create_dir_all(dir)
            .await
            .with_context(|| format!("Failed to create the folder {}", dir.display()))?;
        let path = dir.join(format!("{}.partial", uuid::Uuid::new_v4()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .with_context(|| format!("Failed to create {}", path.display()))?;

        Ok((TempFile { path }, file))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                tracing::warn!(path = %self.path.display(), error = %err, "could not remove a temporary file");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_temporary_file_is_removed_when_dropped() {
        let dir = std::env::temp_dir().join(format!("rekindle-temp-{}", uuid::Uuid::new_v4()));
        let (temp, mut file) = TempFile::create(&dir).await.unwrap();
        file.write_all(b"bytes").await.unwrap();
        file.flush().await.unwrap();
        let path = temp.path().to_path_buf();
        assert!(path.exists());

        drop(temp);
        assert!(!path.exists());
        std::fs::remove_dir(&dir).unwrap();
    }
}
