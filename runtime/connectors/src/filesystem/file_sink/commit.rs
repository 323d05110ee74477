//! Committables: the pending part files a checkpoint holds, how they are encoded in the sink's
//! checkpointed state, and how they are committed (made visible) and cleaned up.

use std::path::Path;

use flinkrs_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::part::{OutputFileConfig, in_progress_name, remove_if_present};

/// The first byte of the sink's state: the version of its layout.
const STATE_VERSION: u8 = 1;

/// A pending part file: closed, hidden, and committed by renaming it to `part_name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    /// The bucket's folder under the sink's base path; empty for the base path itself.
    pub bucket: String,
    /// The name the file gets when committed.
    pub part_name: String,
}

/// Encodes the sink's state: the pending files not committed yet, after a version byte. It is
/// never empty, so a restored sink always knows it is restored.
pub(super) fn encode_state(pending: &[&PendingFile]) -> Result<Vec<u8>> {
    let mut state = vec![STATE_VERSION];
    let encoded = postcard::to_allocvec(pending)
        .map_err(|error| Error::Codec(format!("the file sink's state: {error}")))?;
    state.extend_from_slice(&encoded);
    Ok(state)
}

/// Decodes what [`encode_state`] wrote; `sink` names the sink in the error.
pub(super) fn decode_state(state: &[u8], sink: &str) -> Result<Vec<PendingFile>> {
    match state.split_first() {
        Some((&STATE_VERSION, encoded)) => postcard::from_bytes(encoded).map_err(|error| {
            Error::state(format!(
                "{sink}: the checkpointed list of pending part files cannot be decoded: {error}"
            ))
        }),
        Some((version, _)) => Err(Error::state(format!(
            "{sink}: the checkpointed state has layout version {version}; this file sink reads \
             version {STATE_VERSION}"
        ))),
        None => Err(Error::state(format!(
            "{sink}: the checkpointed state is empty; expected the list of pending part files"
        ))),
    }
}

/// Commits a pending file: renames `.<part>.inprogress` to `<part>`. Idempotent, as a restored
/// job commits again what its checkpoint names: a file already committed is fine.
pub(super) fn commit(base_path: &Path, file: &PendingFile) -> Result<()> {
    let directory = base_path.join(&file.bucket);
    let pending = directory.join(in_progress_name(&file.part_name));
    let finished = directory.join(&file.part_name);
    let pending_exists = pending.try_exists().unwrap_or(false);
    let finished_exists = finished.try_exists().unwrap_or(false);
    match (pending_exists, finished_exists) {
        (true, false) => std::fs::rename(&pending, &finished)
            .map_err(|source| Error::io("commit the part file", &pending, source)),
        // Committed before the job stopped: nothing to do.
        (false, true) => Ok(()),
        (true, true) => Err(Error::InvalidJob(format!(
            "the file sink cannot commit '{}': '{}' exists already, and committing would \
             replace it; was the output folder written by another job?",
            pending.display(),
            finished.display()
        ))),
        (false, false) => Err(Error::InvalidJob(format!(
            "the file sink cannot commit the pending part file '{}': neither it nor '{}' \
             exists. Files the checkpoint names were removed from the output folder; restore \
             from a later checkpoint, or restore the files",
            pending.display(),
            finished.display()
        ))),
    }
}

/// Removes the in-progress and pending files that earlier runs of subtasks `j` with
/// `j % parallelism == subtask` left in `directory`: files no checkpoint commits, since every
/// pending file of the restored checkpoint has been committed. Files of this run (`unique_id`)
/// stay. Returns how many were removed.
pub(super) fn remove_leftovers(
    directory: &Path,
    config: &OutputFileConfig,
    subtask: usize,
    parallelism: usize,
    unique_id: &str,
) -> Result<usize> {
    let entries = std::fs::read_dir(directory)
        .map_err(|source| Error::io("list the output folder", directory, source))?;
    let mut removed = 0;
    for entry in entries {
        let entry =
            entry.map_err(|source| Error::io("list the output folder", directory, source))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        let Some((owner, owner_subtask)) = config.parse_in_progress(name) else {
            continue;
        };
        if owner != unique_id && owner_subtask % parallelism.max(1) == subtask {
            remove_if_present(&entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}
