//! Part files in S3, written as Flink's S3 recoverable writer writes them: each part file is a
//! multipart upload to its final key. The data goes up in parts of at least 5 MiB as it comes;
//! at a checkpoint the rest goes up as the last part, and the upload becomes a pending file.
//! Completing the upload, when the checkpoint completes, is the commit: the object appears
//! whole and at once. An upload never completed leaves no object, so readers of the prefix
//! never see a record that a completed checkpoint does not hold.

use std::fmt::Display;
use std::io::Write;

use flinkrs_core::{Error, Result};
use flinkrs_state::storage::S3Location;
use flinkrs_state::storage::s3::{MIN_PART_BYTES, S3Store, UploadedPart};

use super::commit::{PendingFile, PendingUpload};
use super::part::{Counting, OutputFileConfig};

/// The object of part `part_name` in the folder `folder` (and `bucket`, a subfolder of it).
pub(super) fn part_location(folder: &S3Location, bucket: &str, part_name: &str) -> S3Location {
    let key = [folder.key.as_str(), bucket, part_name]
        .into_iter()
        .filter(|segment| !segment.is_empty())
        .collect::<Vec<_>>()
        .join("/");
    S3Location {
        bucket: folder.bucket.clone(),
        key,
    }
}

/// An in-progress part file: a multipart upload, started when its first part goes up.
#[derive(Debug)]
pub(super) struct S3Part {
    store: S3Store,
    location: S3Location,
    upload_id: Option<String>,
    /// What is written and not uploaded yet.
    buffer: Vec<u8>,
    parts: Vec<UploadedPart>,
}

impl S3Part {
    pub fn new(store: S3Store, location: S3Location) -> Self {
        S3Part {
            store,
            location,
            upload_id: None,
            buffer: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// Writes the record's `Display` and a line break into the buffer, and uploads the buffer
    /// as a part once it holds the smallest part S3 takes.
    pub fn write_line(&mut self, record: &(impl Display + ?Sized), size: &mut u64) -> Result<()> {
        let mut counting = Counting {
            inner: &mut self.buffer,
            written: size,
        };
        writeln!(counting, "{record}").map_err(|error| {
            Error::InvalidJob(format!(
                "cannot format a record for the part file '{}': {error}",
                self.location
            ))
        })?;
        if self.buffer.len() >= MIN_PART_BYTES {
            self.upload_buffer()?;
        }
        Ok(())
    }

    fn upload_buffer(&mut self) -> Result<()> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let id = self.store.start_upload(&self.location)?;
                self.upload_id.insert(id).clone()
            }
        };
        let number = i32::try_from(self.parts.len() + 1).unwrap_or(i32::MAX);
        // The next part is as large as this one: keep the capacity rather than regrow it.
        let next = Vec::with_capacity(self.buffer.capacity());
        let bytes = std::mem::replace(&mut self.buffer, next);
        let part = self
            .store
            .upload_part(&self.location, &upload_id, number, bytes)?;
        self.parts.push(part);
        Ok(())
    }

    /// Uploads what is left as the last part: the upload is ready to be completed.
    pub fn close_for_commit(mut self) -> Result<PendingUpload> {
        if !self.buffer.is_empty() || self.parts.is_empty() {
            self.upload_buffer()?;
        }
        let upload_id = self.upload_id.take().unwrap_or_default();
        Ok(PendingUpload {
            upload_id,
            parts: self
                .parts
                .into_iter()
                .map(|part| (part.number, part.e_tag))
                .collect(),
        })
    }

    /// Aborts the upload, if one was started: what it holds was never part of a checkpoint.
    pub fn discard(self) -> Result<()> {
        match &self.upload_id {
            Some(upload_id) => Ok(self.store.abort_upload(&self.location, upload_id)?),
            None => Ok(()),
        }
    }
}

/// Commits a pending file: completes its upload. Idempotent, as a restored job commits again
/// what its checkpoint names: when the upload is gone but the object is there, it was
/// committed before.
pub(super) fn commit(store: &S3Store, folder: &S3Location, file: &PendingFile) -> Result<()> {
    let location = part_location(folder, &file.bucket, &file.part_name);
    let Some(upload) = &file.upload else {
        return Err(Error::InvalidJob(format!(
            "the file sink cannot commit '{location}': the checkpoint names a local part file, \
             but the output path is in S3; restore with the output path the checkpoint was \
             taken with"
        )));
    };
    let parts: Vec<UploadedPart> = upload
        .parts
        .iter()
        .map(|(number, e_tag)| UploadedPart {
            number: *number,
            e_tag: e_tag.clone(),
        })
        .collect();
    match store.complete_upload(&location, &upload.upload_id, &parts) {
        Ok(()) => Ok(()),
        Err(error) => {
            if store.object_exists(&location)? {
                return Ok(());
            }
            Err(Error::InvalidJob(format!(
                "the file sink cannot commit the pending part file '{location}': its upload \
                 cannot be completed and no such object exists ({error}). The upload was \
                 aborted or expired (check the bucket's lifecycle rules for incomplete \
                 uploads); restore from a later checkpoint"
            )))
        }
    }
}

/// Aborts a pending file's upload: no checkpoint holds it.
pub(super) fn discard(store: &S3Store, folder: &S3Location, file: &PendingFile) -> Result<()> {
    match &file.upload {
        Some(upload) => Ok(store.abort_upload(
            &part_location(folder, &file.bucket, &file.part_name),
            &upload.upload_id,
        )?),
        None => Ok(()),
    }
}

/// Aborts the uploads that earlier runs of subtasks `j` with `j % parallelism == subtask` left
/// under `folder`: no checkpoint completes them, since every pending file of the restored
/// checkpoint has been committed. Uploads of this run (`unique_id`) stay. A store that does
/// not list uploads keeps them (they hold no visible object; a lifecycle rule for incomplete
/// uploads removes them). Returns how many were aborted.
pub(super) fn remove_leftovers(
    store: &S3Store,
    folder: &S3Location,
    config: &OutputFileConfig,
    subtask: usize,
    parallelism: usize,
    unique_id: &str,
) -> Result<usize> {
    let Some(uploads) = store.open_uploads(folder)? else {
        tracing::debug!(
            folder = %folder,
            "the S3 store does not list multipart uploads; earlier runs' unfinished part \
             files are left to the bucket's lifecycle rules"
        );
        return Ok(0);
    };
    let prefix = folder.folder_prefix();
    let mut aborted = 0;
    for upload in uploads {
        let Some(name) = upload.key.strip_prefix(&prefix) else {
            continue;
        };
        // A bucket's part: `<bucket folders>/<part name>`.
        let name = name.rsplit('/').next().unwrap_or(name);
        let Some((owner, owner_subtask)) = config.parse_part_name(name) else {
            continue;
        };
        if owner != unique_id && owner_subtask % parallelism.max(1) == subtask {
            let location = S3Location {
                bucket: folder.bucket.clone(),
                key: upload.key.clone(),
            };
            store.abort_upload(&location, &upload.upload_id)?;
            aborted += 1;
        }
    }
    Ok(aborted)
}
