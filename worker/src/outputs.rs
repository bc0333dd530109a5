//! Result files, kept in a private temporary directory until they expire.

use std::path::PathBuf;
use std::sync::Mutex;

use uuid::Uuid;

/// Where finished PNGs live. The directory is created on first use and removed, with
/// everything in it, when the worker's state is dropped.
#[derive(Debug, Default)]
pub(crate) struct OutputStore {
    dir: Mutex<Option<tempfile::TempDir>>,
}

impl OutputStore {
    /// Saves a job's PNG under `<job id>-<file name>`.
    pub async fn save(&self, id: Uuid, file_name: &str, png: Vec<u8>) -> std::io::Result<()> {
        let path = self.path(id, file_name)?;
        tokio::fs::write(path, png).await
    }

    /// Reads a saved PNG, if it is still there.
    pub async fn read(&self, id: Uuid, file_name: &str) -> Option<Vec<u8>> {
        let path = self.path(id, file_name).ok()?;
        tokio::fs::read(path).await.ok()
    }

    /// Deletes a saved PNG (it is fine if it is already gone).
    pub async fn remove(&self, id: Uuid, file_name: &str) {
        if let Ok(path) = self.path(id, file_name) {
            if let Err(error) = tokio::fs::remove_file(path).await {
                tracing::debug!(%error, "output file already gone");
            }
        }
    }

    fn path(&self, id: Uuid, file_name: &str) -> std::io::Result<PathBuf> {
        let mut dir = self
            .dir
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if dir.is_none() {
            *dir = Some(
                tempfile::Builder::new()
                    .prefix("rekindle-worker-")
                    .tempdir()?,
            );
        }
        let dir = dir.as_ref().expect("the directory was created just above");
        Ok(dir.path().join(format!("{id}-{file_name}")))
    }
}
