//! Part files in a local folder: written through a buffer into a hidden file, committed by an
//! atomic rename.

use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flinkrs_core::{Error, Result};

use super::commit::PendingFile;
use super::part::{Counting, OutputFileConfig, in_progress_name};

/// Size of the write buffer of an in-progress part file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// Creates the base path, or says why it cannot be the sink's folder.
pub(super) fn prepare_folder(base_path: &Path) -> Result<()> {
    if base_path.exists() && !base_path.is_dir() {
        return Err(Error::InvalidJob(format!(
            "the file sink's output path '{}' is not a directory; give a folder, which is \
             created when missing",
            base_path.display()
        )));
    }
    std::fs::create_dir_all(base_path)
        .map_err(|source| Error::io("create the file sink's output folder", base_path, source))
}

/// An in-progress part file on disk: `.<part>.inprogress`.
#[derive(Debug)]
pub(super) struct LocalPart {
    path: PathBuf,
    writer: BufWriter<File>,
}

impl LocalPart {
    /// Creates the hidden file of part `part_name` in `directory`.
    pub fn create(directory: &Path, part_name: &str) -> Result<Self> {
        let path = directory.join(in_progress_name(part_name));
        let file = File::create_new(&path)
            .map_err(|source| Error::io("create the part file", &path, source))?;
        Ok(LocalPart {
            path,
            writer: BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
        })
    }

    /// Writes the record's `Display` and a line break, straight into the write buffer.
    pub fn write_line(&mut self, record: &(impl Display + ?Sized), size: &mut u64) -> Result<()> {
        let mut counting = Counting {
            inner: &mut self.writer,
            written: size,
        };
        writeln!(counting, "{record}")
            .map_err(|source| Error::io("write to the part file", &self.path, source))
    }

    pub fn flush(&mut self) -> Result<()> {
        self.writer
            .flush()
            .map_err(|source| Error::io("write to the part file", &self.path, source))
    }

    /// Closes the file for commit: everything written is on disk when this returns.
    pub fn close_for_commit(mut self) -> Result<()> {
        self.flush()?;
        self.writer
            .get_ref()
            .sync_all()
            .map_err(|source| Error::io("sync the part file", &self.path, source))
    }

    /// Drops the file: what it holds was never part of a checkpoint.
    pub fn discard(self) -> Result<()> {
        let LocalPart { path, writer } = self;
        // Drops the buffer unwritten.
        drop(writer.into_parts());
        remove_if_present(&path)
    }
}

/// Removes a file; one already gone is fine.
pub(super) fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::io("remove the part file", path, source)),
    }
}

/// Commits a pending file: renames `.<part>.inprogress` to `<part>`. Idempotent, as a restored
/// job commits again what its checkpoint names: a file already committed is fine.
pub(super) fn commit(base_path: &Path, file: &PendingFile) -> Result<()> {
    let directory = base_path.join(&file.bucket);
    let pending = directory.join(in_progress_name(&file.part_name));
    let finished = directory.join(&file.part_name);
    if file.upload.is_some() {
        return Err(Error::InvalidJob(format!(
            "the file sink cannot commit '{}': the checkpoint names an S3 upload for it, but \
             the output path is the local folder '{}'; restore with the output path the \
             checkpoint was taken with",
            finished.display(),
            base_path.display()
        )));
    }
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
/// `j % parallelism == subtask` left in `directory` and its bucket folders: files no checkpoint
/// commits, since every pending file of the restored checkpoint has been committed. Files of
/// this run (`unique_id`) stay. Returns how many were removed.
pub(super) fn remove_leftovers(
    directory: &Path,
    config: &OutputFileConfig,
    subtask: usize,
    parallelism: usize,
    unique_id: &str,
) -> Result<usize> {
    let mut removed = 0;
    let mut folders = vec![directory.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|source| Error::io("list the output folder", &folder, source))?;
        for entry in entries {
            let entry =
                entry.map_err(|source| Error::io("list the output folder", &folder, source))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else {
                continue;
            };
            // Bucket folders (never symbolic links, which the sink does not make).
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                folders.push(entry.path());
                continue;
            }
            let Some((owner, owner_subtask)) = config.parse_in_progress(name) else {
                continue;
            };
            if owner != unique_id && owner_subtask % parallelism.max(1) == subtask {
                remove_if_present(&entry.path())?;
                removed += 1;
            }
        }
    }
    Ok(removed)
}
