//! Consistent backups (RocksDB checkpoints) and restore into a data directory.
//!
//! A backup is a folder: `store/` (a checkpoint: hard links where the file system allows, so it is
//! cheap) and `sailkg-backup.json`. Restore copies it beside the live store and swaps folders with
//! renames, so an interrupted restore never leaves a half-copied store in place.

use crate::{Result, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const MANIFEST: &str = "sailkg-backup.json";
const FORMAT_VERSION: u32 = 1;

/// What a backup folder holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupManifest {
    /// Layout version of the backup folder.
    pub format_version: u32,
    /// The SAIL-KG version that wrote it.
    pub sailkg_version: String,
    /// Seconds since the Unix epoch when it was taken.
    pub created_unix: u64,
    /// Quads in the store at the time.
    pub quads: u64,
}

impl Store {
    /// Writes a consistent snapshot of the store into `target`, which must not exist yet.
    pub fn backup(&self, target: &Path) -> Result<BackupManifest> {
        if target.exists() {
            return Err(StoreError::Backup(format!(
                "{} already exists; back up into a new folder",
                target.display()
            )));
        }
        std::fs::create_dir_all(target).map_err(|source| StoreError::Io { path: target.into(), source })?;
        let result = self.backup_into(target);
        if result.is_err() {
            let _ = std::fs::remove_dir_all(target);
        }
        result
    }

    fn backup_into(&self, target: &Path) -> Result<BackupManifest> {
        self.inner.backup(target.join("store"))?;
        // Count in the checkpoint, not the live store, so the number matches the snapshot.
        let snapshot = oxigraph::store::Store::open_read_only(target.join("store"))?;
        let manifest = BackupManifest {
            format_version: FORMAT_VERSION,
            sailkg_version: env!("CARGO_PKG_VERSION").into(),
            created_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            quads: snapshot.len()? as u64,
        };
        drop(snapshot);
        let path = target.join(MANIFEST);
        let json = serde_json::to_vec_pretty(&manifest).map_err(|e| StoreError::Backup(e.to_string()))?;
        std::fs::write(&path, json).map_err(|source| StoreError::Io { path, source })?;
        Ok(manifest)
    }
}

/// Replaces the store of `data_dir` by the backup in `source`. The store must not be open
/// anywhere (stop the server first).
pub fn restore(source: &Path, data_dir: &Path) -> Result<BackupManifest> {
    let manifest_path = source.join(MANIFEST);
    let text = std::fs::read(&manifest_path).map_err(|_| {
        StoreError::Backup(format!(
            "{} is not a SAIL-KG backup (no {MANIFEST}); give the folder written by `sailkg backup`",
            source.display()
        ))
    })?;
    let manifest: BackupManifest = serde_json::from_slice(&text)
        .map_err(|e| StoreError::Backup(format!("{}: {e}", manifest_path.display())))?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(StoreError::Backup(format!(
            "backup format {} is not supported by this version (expects {FORMAT_VERSION})",
            manifest.format_version
        )));
    }
    let live = data_dir.join("store");
    if live.join("CURRENT").exists() {
        // Opening takes RocksDB's lock: this fails while a server or another command uses it.
        let probe = oxigraph::store::Store::open(&live).map_err(|e| {
            StoreError::Backup(format!(
                "the store at {} is in use ({e}); stop the server before restoring",
                live.display()
            ))
        })?;
        drop(probe);
    }
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::Io { path: data_dir.into(), source })?;
    let staging = data_dir.join("store.restoring");
    if staging.exists() {
        remove_dir(&staging)?;
    }
    copy_dir(&source.join("store"), &staging)?;
    // Check the copy opens before it replaces anything.
    drop(oxigraph::store::Store::open(&staging)?);
    let previous = data_dir.join("store.before-restore");
    if previous.exists() {
        remove_dir(&previous)?;
    }
    if live.exists() {
        rename(&live, &previous)?;
    }
    rename(&staging, &live)?;
    if previous.exists() {
        remove_dir(&previous)?;
    }
    Ok(manifest)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|source| StoreError::Io { path: to.into(), source })?;
    let entries = std::fs::read_dir(from).map_err(|source| StoreError::Io { path: from.into(), source })?;
    for entry in entries {
        let entry = entry.map_err(|source| StoreError::Io { path: from.into(), source })?;
        let target = to.join(entry.file_name());
        let kind = entry.file_type().map_err(|source| StoreError::Io { path: entry.path(), source })?;
        if kind.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .map_err(|source| StoreError::Io { path: entry.path(), source })?;
        }
    }
    Ok(())
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to).map_err(|source| StoreError::Io { path: PathBuf::from(from), source })
}

fn remove_dir(dir: &Path) -> Result<()> {
    std::fs::remove_dir_all(dir).map_err(|source| StoreError::Io { path: dir.into(), source })
}
