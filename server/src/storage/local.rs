//! The local-folder store: one file per object under the data folder.

use anyhow::Context;
use bytes::Bytes;
use std::path::{Path, PathBuf};

/// Objects as files under `root`.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

impl LocalStore {
    pub fn new(root: PathBuf) -> anyhow::Result<LocalStore> {
        std::fs::create_dir_all(&root)
            .with_context(|| format!("Failed to create the storage folder {}", root.display()))?;
        Ok(LocalStore { root })
    }

    /// The file behind `key`; keys are made by the server, but refuse anything that could
    /// climb out of the root anyway.
    pub fn path_of(&self, key: &str) -> anyhow::Result<PathBuf> {
        let safe = !key.is_empty()
            && key.split('/').all(|part| {
                !part.is_empty() && part != "." && part != ".." && !part.contains('\\')
            });
        anyhow::ensure!(safe, "invalid storage key");
        Ok(self.root.join(key))
    }

    pub async fn put_file(
        &self,
        key: &str,
        source: &Path,
        _content_type: &str,
    ) -> anyhow::Result<()> {
        let target = self.path_of(key)?;
        self.ensure_parent(&target).await?;
        let partial = target.with_extension("partial");
        tokio::fs::copy(source, &partial)
            .await
            .with_context(|| format!("Failed to store object {key}"))?;
        tokio::fs::rename(&partial, &target)
            .await
            .with_context(|| format!("Failed to store object {key}"))?;

        Ok(())
    }

    pub async fn put_bytes(
        &self,
        key: &str,
        bytes: Bytes,
        _content_type: &str,
    ) -> anyhow::Result<()> {
        let target = self.path_of(key)?;
        self.ensure_parent(&target).await?;
        // Write beside the target and rename, so a reader never sees half an object.
        let partial = target.with_extension("partial");
        tokio::fs::write(&partial, &bytes)
            .await
            .with_context(|| format!("Failed to store object {key}"))?;
        tokio::fs::rename(&partial, &target)
            .await
            .with_context(|| format!("Failed to store object {key}"))?;

        Ok(())
    }

    pub async fn get_bytes(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        match tokio::fs::read(self.path_of(key)?).await {
            Ok(bytes) => Ok(Some(Bytes::from(bytes))),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("Failed to read object {key}")),
        }
    }

    /// Opens an object for streaming, with its length.
    pub async fn open(&self, key: &str) -> anyhow::Result<Option<(tokio::fs::File, u64)>> {
        match tokio::fs::File::open(self.path_of(key)?).await {
            Ok(file) => {
                let len = file.metadata().await?.len();
                Ok(Some((file, len)))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(err).with_context(|| format!("Failed to open object {key}")),
        }
    }

    pub async fn delete(&self, key: &str) -> anyhow::Result<()> {
        let path = self.path_of(key)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(err).with_context(|| format!("Failed to delete object {key}")),
        }
        if let Some(parent) = path.parent().filter(|p| *p != self.root) {
            // Drop the photo's folder once it is empty; failure just means it is not empty.
            let _ = tokio::fs::remove_dir(parent).await;
        }

        Ok(())
    }

    pub async fn is_reachable(&self) -> bool {
        tokio::fs::metadata(&self.root)
            .await
            .is_ok_and(|m| m.is_dir())
    }

    async fn ensure_parent(&self, target: &Path) -> anyhow::Result<()> {
        if let Some(parent) = target.parent() {
            tokio::fs::create_dir_all(parent)
                .await
                .with_context(|| format!("Failed to create {}", parent.display()))?;
        }
        Ok(())
    }
}
