//! Checkpoint storage, laid out as Flink lays it out, in a local folder or in S3:
//!
//! ```text
//! <root>/<job-id>/chk-<n>/task-<vertex>-<subtask>   one file per task's state
//! <root>/<job-id>/chk-<n>/_metadata                 written last: the checkpoint exists once it is there
//! ```
//!
//! `<root>` is `execution.checkpointing.dir`: a path, `file:///PATH` or `s3://BUCKET/PREFIX`
//! ([`CheckpointLocation`]). The layout, the file format and the order of writes live here
//! once; a [`CheckpointStore`] only moves bytes: [`LocalFileStore`] on a filesystem,
//! [`S3Store`] through aws-sdk-s3 with Flink's `s3.*` keys ([`S3Settings`]).
//!
//! `_metadata` names each task's state file relative to its own folder, so a checkpoint folder
//! can be moved or copied (as a savepoint), from S3 to a disk or back, and still be read. It is
//! published whole (a temporary name renamed on a filesystem; one PUT in S3), so a reader never
//! sees half of it.
//!
//! ## File format
//!
//! Every file starts with an 8-byte magic (`FLRSMETA` for `_metadata`, `FLRSTASK` for task
//! state) and a `u16` format version, little-endian. Then:
//! - `_metadata`: the postcard encoding of [`CheckpointMetadata`]: for every task its file and
//!   length, and for each of its operators where its list state is and, for keyed state, the
//!   state descriptors and the byte range of every key group ([`OperatorStateIndex`]);
//! - task state: each operator's list state, then its keyed state key group by key group
//!   ([`task_state`] has the layout and why).
//!
//! A restoring subtask reads only the byte ranges of its own key groups (adjacent ranges of a
//! file in one request: at the same parallelism one range per file and operator), never a
//! whole file. A reader checks what it reads and names the file and what is wrong: a missing
//! or truncated `_metadata`, another magic or version, a state file shorter than `_metadata`
//! says.

mod format;
mod location;
mod restore;
pub mod s3;
mod store;
pub mod task_state;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use format::{FileKind, check_header, with_header};
pub use location::{CheckpointLocation, S3Location};
pub use restore::{OperatorStateRequest, RestoredOperatorState};
pub use s3::{S3Settings, S3Store};
pub use store::{CheckpointStore, FileReads, LocalFileStore, ReadCounter, store_for};
pub use task_state::{
    FileRange, KeyGroupBlock, KeyedStateIndex, OperatorStateIndex, OperatorStateParts,
    StateDescriptor, TaskStateFile,
};

/// The name of the file that makes a checkpoint folder a complete checkpoint.
pub const METADATA_FILE: &str = "_metadata";

/// What to do about a checkpoint without `_metadata`.
const NO_METADATA_HINT: &str = "a checkpoint is complete only once its _metadata is written; \
                                pass a chk-<n> or savepoint folder that has one";

/// Where one task's state of a checkpoint is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStateHandle {
    /// The JobGraph vertex and the subtask index.
    pub vertex: usize,
    pub subtask: usize,
    /// The state file, relative to the checkpoint's folder.
    pub file: String,
    /// The file's length in bytes.
    pub length: u64,
    /// Where each of the task's operators has its state in the file.
    pub operators: Vec<OperatorStateIndex>,
}

/// What `_metadata` holds: which checkpoint of which job, and where every task's state is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointMetadata {
    pub job_id: String,
    pub checkpoint: u64,
    pub tasks: Vec<TaskStateHandle>,
}

/// Checkpoints of jobs under one root (`execution.checkpointing.dir`): where the checkpoint
/// coordinator writes them.
#[derive(Clone, Debug)]
pub struct CheckpointStorage {
    root: CheckpointLocation,
    store: Arc<dyn CheckpointStore>,
}

impl CheckpointStorage {
    /// Checkpoints under `root`; an S3 root is reached as `s3` says.
    pub fn new(root: CheckpointLocation, s3: &S3Settings) -> Result<Self> {
        let store = store_for(&root, s3)?;
        Ok(CheckpointStorage { root, store })
    }

    /// Checkpoints under the local folder `root`.
    pub fn local(root: impl Into<std::path::PathBuf>) -> Self {
        CheckpointStorage {
            root: CheckpointLocation::local(root),
            store: Arc::new(LocalFileStore::default()),
        }
    }

    pub fn root(&self) -> &CheckpointLocation {
        &self.root
    }

    /// `<root>/<job-id>/chk-<n>`.
    pub fn checkpoint_location(&self, job_id: &str, checkpoint: u64) -> CheckpointLocation {
        self.root.checkpoint_folder(job_id, checkpoint)
    }

    /// Writes one task's state for a checkpoint; returns its handle for `_metadata`.
    pub fn write_task_state(
        &self,
        job_id: &str,
        checkpoint: u64,
        vertex: usize,
        subtask: usize,
        state: &TaskStateFile,
    ) -> Result<TaskStateHandle> {
        let folder = self.checkpoint_location(job_id, checkpoint);
        self.write_task_state_in(&folder, vertex, subtask, state)
    }

    /// Writes one task's state into `folder`, a checkpoint's or a savepoint's.
    pub fn write_task_state_in(
        &self,
        folder: &CheckpointLocation,
        vertex: usize,
        subtask: usize,
        state: &TaskStateFile,
    ) -> Result<TaskStateHandle> {
        let file = format!("task-{vertex}-{subtask}");
        self.store.write(&folder.join(&file), state.bytes.clone())?;
        Ok(TaskStateHandle {
            vertex,
            subtask,
            file,
            length: state.len(),
            operators: state.operators.clone(),
        })
    }

    /// Reads the whole state file `handle` names in `folder`, as it was written.
    pub fn read_task_state_bytes(
        &self,
        folder: &CheckpointLocation,
        handle: &TaskStateHandle,
    ) -> Result<Vec<u8>> {
        let location = folder.join(&handle.file);
        self.store.read(&location)?.ok_or_else(|| {
            self.store.missing(
                &location,
                "the checkpoint holding it was deleted while the job ran",
            )
        })
    }

    /// Writes a task's state file read with
    /// [`read_task_state_bytes`](Self::read_task_state_bytes) into `folder`, under the name
    /// and with the index `handle` gives: how a finished task's state goes into the job's
    /// later checkpoints.
    pub fn write_task_state_bytes(
        &self,
        folder: &CheckpointLocation,
        handle: &TaskStateHandle,
        bytes: Vec<u8>,
    ) -> Result<TaskStateHandle> {
        self.store.write(&folder.join(&handle.file), bytes)?;
        Ok(handle.clone())
    }

    /// Publishes `_metadata`, last: from then on the checkpoint exists. Returns its folder.
    pub fn write_metadata(&self, metadata: &CheckpointMetadata) -> Result<CheckpointLocation> {
        let folder = self.checkpoint_location(&metadata.job_id, metadata.checkpoint);
        self.write_metadata_in(&folder, metadata)?;
        Ok(folder)
    }

    /// Publishes `_metadata` into `folder`, last.
    pub fn write_metadata_in(
        &self,
        folder: &CheckpointLocation,
        metadata: &CheckpointMetadata,
    ) -> Result<()> {
        let mut bytes = with_header(FileKind::Metadata);
        postcard::to_io(metadata, &mut bytes).map_err(|source| Error::Encode {
            name: METADATA_FILE.to_owned(),
            source,
        })?;
        self.store.publish(&folder.join(METADATA_FILE), bytes)
    }

    /// Deletes a checkpoint, complete or not.
    pub fn discard(&self, job_id: &str, checkpoint: u64) -> Result<()> {
        self.discard_folder(&self.checkpoint_location(job_id, checkpoint))
    }

    /// Deletes a checkpoint's or savepoint's folder, complete or not.
    pub fn discard_folder(&self, folder: &CheckpointLocation) -> Result<()> {
        self.store.delete_folder(folder)
    }
}

/// A checkpoint read back: where it is, its metadata, and the store it is read from.
#[derive(Clone, Debug)]
pub struct StoredCheckpoint {
    pub location: CheckpointLocation,
    pub metadata: CheckpointMetadata,
    store: Arc<dyn CheckpointStore>,
}

impl StoredCheckpoint {
    /// Reads the checkpoint in the local folder or `_metadata` file `path`.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_at(&CheckpointLocation::local(path), &S3Settings::default())
    }

    /// Reads the checkpoint at `location`: a `chk-<n>` or savepoint folder (an S3 prefix), or
    /// its `_metadata` (any local file), as `flinkrs run -s` accepts. S3 is reached as `s3`
    /// says.
    pub fn open_at(location: &CheckpointLocation, s3: &S3Settings) -> Result<Self> {
        let (folder, metadata_location) = Self::folder_and_metadata(location);
        let store = store_for(&folder, s3)?;
        Self::open_in(folder, metadata_location, store)
    }

    /// Reads the checkpoint in the local folder or `_metadata` file `path` through `store`
    /// (one that counts its reads, say).
    pub fn open_local_with(path: &Path, store: LocalFileStore) -> Result<Self> {
        let (folder, metadata_location) =
            Self::folder_and_metadata(&CheckpointLocation::local(path));
        Self::open_in(folder, metadata_location, Arc::new(store))
    }

    /// The checkpoint's folder and its `_metadata`, for a location that names either.
    fn folder_and_metadata(
        location: &CheckpointLocation,
    ) -> (CheckpointLocation, CheckpointLocation) {
        let names_a_file = match location {
            CheckpointLocation::Local(path) => path.is_file(),
            CheckpointLocation::S3(_) => false,
        };
        if names_a_file || location.file_name() == Some(METADATA_FILE) {
            (location.parent(), location.clone())
        } else {
            (location.clone(), location.join(METADATA_FILE))
        }
    }

    fn open_in(
        folder: CheckpointLocation,
        metadata_location: CheckpointLocation,
        store: Arc<dyn CheckpointStore>,
    ) -> Result<Self> {
        let bytes = store
            .read(&metadata_location)?
            .ok_or_else(|| store.missing(&metadata_location, NO_METADATA_HINT))?;
        let payload = check_header(bytes, &metadata_location, FileKind::Metadata)?;
        let metadata: CheckpointMetadata =
            postcard::from_bytes(&payload).map_err(|error| Error::CorruptCheckpoint {
                location: metadata_location.clone(),
                message: format!(
                    "the metadata cannot be decoded ({error}); it is truncated or corrupt"
                ),
            })?;
        Ok(StoredCheckpoint {
            location: folder,
            metadata,
            store,
        })
    }
}
