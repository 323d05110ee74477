//! Checkpoint storage on a filesystem, laid out as Flink lays it out:
//!
//! ```text
//! <root>/<job-id>/chk-<n>/task-<vertex>-<subtask>   one file per task's state
//! <root>/<job-id>/chk-<n>/_metadata                 written last: the checkpoint exists once it is there
//! ```
//!
//! `_metadata` names each task's state file relative to its own folder, so a checkpoint folder
//! can be moved or copied (as a savepoint) and still be read. It is written to a temporary
//! name and renamed, so a reader never sees half of it.
//!
//! ## File format
//!
//! Every file starts with an 8-byte magic (`FLRSMETA` for `_metadata`, `FLRSTASK` for task
//! state) and a `u16` format version, little-endian. Then:
//! - `_metadata`: the postcard encoding of [`CheckpointMetadata`];
//! - task state: the payload's length as a `u64`, then the payload (the task's encoded
//!   operator snapshots), so a truncated file is told apart from a short payload.
//!
//! A reader checks all of it and names the file and what is wrong: a missing or truncated
//! `_metadata`, another magic or version, a truncated state file.

mod format;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use format::{FileKind, read_file, with_header};

/// The name of the file that makes a checkpoint folder a complete checkpoint.
pub const METADATA_FILE: &str = "_metadata";

/// Where one task's state of a checkpoint is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStateHandle {
    /// The JobGraph vertex and the subtask index.
    pub vertex: usize,
    pub subtask: usize,
    /// The state file, relative to the checkpoint's folder.
    pub file: String,
    /// The payload's length in bytes.
    pub length: u64,
}

/// What `_metadata` holds: which checkpoint of which job, and where every task's state is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    pub job_id: String,
    pub checkpoint: u64,
    pub tasks: Vec<TaskStateHandle>,
}

/// Checkpoints of jobs under one root folder (`execution.checkpointing.dir`).
#[derive(Clone, Debug)]
pub struct FileCheckpointStorage {
    root: PathBuf,
}

impl FileCheckpointStorage {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FileCheckpointStorage { root: root.into() }
    }

    /// `<root>/<job-id>/chk-<n>`.
    pub fn checkpoint_dir(&self, job_id: &str, checkpoint: u64) -> PathBuf {
        self.root.join(job_id).join(format!("chk-{checkpoint}"))
    }

    /// Writes one task's state for a checkpoint; returns its handle for `_metadata`.
    pub fn write_task_state(
        &self,
        job_id: &str,
        checkpoint: u64,
        vertex: usize,
        subtask: usize,
        payload: &[u8],
    ) -> Result<TaskStateHandle> {
        let dir = self.checkpoint_dir(job_id, checkpoint);
        create_dir(&dir)?;
        let file = format!("task-{vertex}-{subtask}");
        let mut bytes = with_header(FileKind::TaskState);
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(payload);
        write(&dir.join(&file), &bytes)?;
        Ok(TaskStateHandle {
            vertex,
            subtask,
            file,
            length: payload.len() as u64,
        })
    }

    /// Writes `_metadata`, last: from then on the checkpoint exists. Returns its folder.
    pub fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<PathBuf> {
        let dir = self.checkpoint_dir(&metadata.job_id, metadata.checkpoint);
        create_dir(&dir)?;
        let mut bytes = with_header(FileKind::Metadata);
        postcard::to_io(metadata, &mut bytes).map_err(|source| Error::Encode {
            name: METADATA_FILE.to_owned(),
            source,
        })?;
        let temporary = dir.join(format!("{METADATA_FILE}.inprogress"));
        write(&temporary, &bytes)?;
        let path = dir.join(METADATA_FILE);
        fs::rename(&temporary, &path).map_err(|source| Error::Storage {
            action: "cannot publish checkpoint metadata",
            path: path.clone(),
            source,
        })?;
        Ok(dir)
    }

    /// Deletes a checkpoint's folder, complete or not.
    pub fn discard(&self, job_id: &str, checkpoint: u64) -> Result<()> {
        let dir = self.checkpoint_dir(job_id, checkpoint);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Storage {
                action: "cannot delete checkpoint",
                path: dir,
                source,
            }),
        }
    }
}

/// A checkpoint read back: its folder and its metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub dir: PathBuf,
    pub metadata: CheckpointMetadata,
}

impl StoredCheckpoint {
    /// Reads the checkpoint at `path`: a `chk-<n>` or savepoint folder, or its `_metadata`
    /// file, as `flinkrs run -s PATH` accepts.
    pub fn open(path: &Path) -> Result<Self> {
        let (dir, metadata_path) = if path.is_dir() {
            (path.to_path_buf(), path.join(METADATA_FILE))
        } else {
            let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
            (dir, path.to_path_buf())
        };
        if !metadata_path.exists() {
            return Err(Error::CorruptCheckpoint {
                path: metadata_path,
                message: "no such file: a checkpoint is complete only once its _metadata is \
                          written; pass a chk-<n> or savepoint folder that has one"
                    .into(),
            });
        }
        let payload = read_file(&metadata_path, FileKind::Metadata)?;
        let metadata: CheckpointMetadata =
            postcard::from_bytes(&payload).map_err(|error| Error::CorruptCheckpoint {
                path: metadata_path.clone(),
                message: format!(
                    "the metadata cannot be decoded ({error}); it is truncated or corrupt"
                ),
            })?;
        Ok(StoredCheckpoint { dir, metadata })
    }

    /// Reads one task's state payload.
    pub fn read_task_state(&self, handle: &TaskStateHandle) -> Result<Vec<u8>> {
        let path = self.dir.join(&handle.file);
        let body = read_file(&path, FileKind::TaskState)?;
        let (length, payload) =
            body.as_slice()
                .split_first_chunk::<8>()
                .ok_or_else(|| Error::CorruptCheckpoint {
                    path: path.clone(),
                    message: "truncated: the payload length is missing".into(),
                })?;
        let length = u64::from_le_bytes(*length);
        if payload.len() as u64 != length || length != handle.length {
            return Err(Error::CorruptCheckpoint {
                path,
                message: format!(
                    "truncated or corrupt: _metadata says {} payload bytes, the file header \
                     says {length}, the file holds {}",
                    handle.length,
                    payload.len()
                ),
            });
        }
        Ok(payload.to_vec())
    }
}

fn create_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|source| Error::Storage {
        action: "cannot create checkpoint folder",
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes `bytes` to `path` and syncs it, so a completed checkpoint survives a crash.
fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let failed = |source| Error::Storage {
        action: "cannot write checkpoint file",
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::create(path).map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)
}
