//! [`PartTarget`]: where a file sink's part files go, a local folder or an S3 prefix, and the
//! steps of a part file's life in each.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use flinkrs_core::{Configuration, Error, Result};
use flinkrs_state::storage::S3Location;
use flinkrs_state::storage::s3::{S3Settings, S3Store};

use super::commit::PendingFile;
use super::part::{InProgressPart, OutputFileConfig, PartBody, in_progress_name};
use super::{local, s3};

/// The folder of a file sink: a local path, `file:///PATH`, or `s3://BUCKET/PREFIX` (`s3a://`
/// too, as Flink accepts).
#[derive(Debug)]
pub(super) enum PartTarget {
    Local(PathBuf),
    S3 {
        folder: S3Location,
        /// Connected by the first subtask that opens, with the job's `s3.*` keys.
        store: OnceLock<S3Store>,
    },
}

impl PartTarget {
    /// The target `base_path` names; an unknown scheme or a bucket-less S3 URI is an error
    /// naming it.
    pub fn parse(base_path: &Path) -> Result<Self> {
        let Some(text) = base_path.to_str() else {
            return Ok(PartTarget::Local(base_path.to_owned()));
        };
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(PartTarget::Local(base_path.to_owned()));
        };
        let invalid = |why: &str| {
            Error::InvalidJob(format!(
                "the file sink's output path '{text}' {why}; use a local folder, file:///PATH \
                 or s3://BUCKET/PREFIX"
            ))
        };
        match scheme.to_ascii_lowercase().as_str() {
            "file" => Ok(PartTarget::Local(PathBuf::from(rest))),
            "s3" | "s3a" => {
                let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(invalid("names no bucket"));
                }
                Ok(PartTarget::S3 {
                    folder: S3Location {
                        bucket: bucket.to_owned(),
                        key: key.trim_matches('/').to_owned(),
                    },
                    store: OnceLock::new(),
                })
            }
            _ => Err(invalid(&format!("has the unsupported scheme '{scheme}'"))),
        }
    }

    /// Makes the target ready for a subtask: creates the local folder, or connects to S3 (once
    /// for all subtasks) and checks that the bucket is there.
    pub fn open(&self, config: &Configuration) -> Result<()> {
        match self {
            PartTarget::Local(path) => local::prepare_folder(path),
            PartTarget::S3 { folder, store } => {
                if store.get().is_none() {
                    let connected = S3Store::connect(&S3Settings::from_config(config)?)?;
                    connected.check_bucket(folder)?;
                    // Another subtask may have connected meanwhile; either client does.
                    let _ = store.set(connected);
                }
                Ok(())
            }
        }
    }

    fn store(&self) -> Result<(&S3Location, &S3Store)> {
        match self {
            PartTarget::S3 { folder, store } => store.get().map(|store| (folder, store)),
            PartTarget::Local(_) => None,
        }
        .ok_or_else(|| Error::InvalidJob(format!("the file sink for '{self}' was not opened")))
    }

    /// A new in-progress part file of `bucket` (a folder under the base path, or empty), named
    /// `part_name` once committed.
    pub fn create(&self, bucket: &str, part_name: String, now: i64) -> Result<InProgressPart> {
        let body = match self {
            PartTarget::Local(path) => {
                let directory = path.join(bucket);
                if !bucket.is_empty() {
                    std::fs::create_dir_all(&directory).map_err(|source| {
                        Error::io("create the file sink's bucket folder", &directory, source)
                    })?;
                }
                PartBody::Local(local::LocalPart::create(&directory, &part_name)?)
            }
            PartTarget::S3 { .. } => {
                let (folder, store) = self.store()?;
                PartBody::S3(s3::S3Part::new(
                    store.clone(),
                    s3::part_location(folder, bucket, &part_name),
                ))
            }
        };
        Ok(InProgressPart::new(bucket.to_owned(), part_name, body, now))
    }

    /// Makes a pending file visible under its name. Idempotent.
    pub fn commit(&self, file: &PendingFile) -> Result<()> {
        match self {
            PartTarget::Local(path) => local::commit(path, file),
            PartTarget::S3 { .. } => {
                let (folder, store) = self.store()?;
                s3::commit(store, folder, file)
            }
        }
    }

    /// Drops a pending file no checkpoint holds.
    pub fn discard(&self, file: &PendingFile) -> Result<()> {
        match self {
            PartTarget::Local(path) => local::remove_if_present(
                &path
                    .join(&file.bucket)
                    .join(in_progress_name(&file.part_name)),
            ),
            PartTarget::S3 { .. } => {
                let (folder, store) = self.store()?;
                s3::discard(store, folder, file)
            }
        }
    }

    /// Drops what earlier runs of this subtask's share left unfinished (see
    /// `local::remove_leftovers` and `s3::remove_leftovers`).
    pub fn remove_leftovers(
        &self,
        config: &OutputFileConfig,
        subtask: usize,
        parallelism: usize,
        unique_id: &str,
    ) -> Result<usize> {
        match self {
            PartTarget::Local(path) => {
                local::remove_leftovers(path, config, subtask, parallelism, unique_id)
            }
            PartTarget::S3 { .. } => {
                let (folder, store) = self.store()?;
                s3::remove_leftovers(store, folder, config, subtask, parallelism, unique_id)
            }
        }
    }
}

impl fmt::Display for PartTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartTarget::Local(path) => write!(f, "{}", path.display()),
            PartTarget::S3 { folder, .. } => write!(f, "{folder}"),
        }
    }
}
