//! The few things checkpoints need from where they are kept, and the two stores that do them:
//! a local filesystem ([`LocalFileStore`]) and S3 ([`S3Store`](super::s3::S3Store)).
//!
//! Stores move bytes only. The layout (`<root>/<job-id>/chk-<n>/…`), the file format and the
//! rule that `_metadata` comes last live once, in [`storage`](super), above them.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use super::CheckpointLocation;
use super::s3::{S3Settings, S3Store};
use crate::error::{Error, Result};

/// Checkpoint storage's operations on bytes. Each method is given locations of the store's
/// own kind (local paths for the filesystem, `s3://` for S3) and returns in bounded time.
pub trait CheckpointStore: Send + Sync + fmt::Debug {
    /// Writes `bytes` as the file `location`, creating its folder if needed.
    fn write(&self, location: &CheckpointLocation, bytes: Vec<u8>) -> Result<()>;

    /// Writes `bytes` as `location` so that a reader sees all of them or nothing: how
    /// `_metadata` is published.
    fn publish(&self, location: &CheckpointLocation, bytes: Vec<u8>) -> Result<()>;

    /// Reads the whole file `location`; `None` if there is none.
    fn read(&self, location: &CheckpointLocation) -> Result<Option<Vec<u8>>>;

    /// Reads `length` bytes of the file `location` from `offset` on; `None` if there is no
    /// such file. Fewer bytes come back when the file ends before: none at all when it ends
    /// at `offset` or before. `length` is not 0.
    fn read_range(
        &self,
        location: &CheckpointLocation,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>>;

    /// Deletes the folder `location` and everything in it; `_metadata` first, so a folder
    /// half deleted is no complete checkpoint. A folder already gone is fine.
    fn delete_folder(&self, location: &CheckpointLocation) -> Result<()>;

    /// The error for a file that is not there, with `hint` saying what to do.
    fn missing(&self, location: &CheckpointLocation, hint: &str) -> Error;
}

/// The store that serves `location`: the filesystem, or S3 as `s3` configures it.
pub fn store_for(
    location: &CheckpointLocation,
    s3: &S3Settings,
) -> Result<Arc<dyn CheckpointStore>> {
    Ok(match location {
        CheckpointLocation::Local(_) => Arc::new(LocalFileStore::default()),
        CheckpointLocation::S3(_) => Arc::new(S3Store::connect(s3)?),
    })
}

/// Checkpoints in a local (or mounted) filesystem.
#[derive(Clone, Debug, Default)]
pub struct LocalFileStore {
    /// Counts what is read, when asked to.
    reads: Option<Arc<ReadCounter>>,
}

/// What a store read of each file: the requests and the bytes they returned. It shows what a
/// restore reads, in tests and benchmarks.
#[derive(Debug, Default)]
pub struct ReadCounter {
    by_file: Mutex<BTreeMap<CheckpointLocation, FileReads>>,
}

/// The reads of one file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileReads {
    pub requests: u64,
    pub bytes: u64,
}

impl ReadCounter {
    /// The reads of every file read since the last call, which starts the count over.
    pub fn take(&self) -> BTreeMap<CheckpointLocation, FileReads> {
        std::mem::take(&mut *self.by_file.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn count(&self, location: &CheckpointLocation, bytes: usize) {
        let mut by_file = self.by_file.lock().unwrap_or_else(PoisonError::into_inner);
        let reads = by_file.entry(location.clone()).or_default();
        reads.requests += 1;
        reads.bytes += bytes as u64;
    }
}

impl LocalFileStore {
    /// A store that counts what it reads, and the counter.
    pub fn counting_reads() -> (Self, Arc<ReadCounter>) {
        let reads = Arc::new(ReadCounter::default());
        let store = LocalFileStore {
            reads: Some(Arc::clone(&reads)),
        };
        (store, reads)
    }

    fn count(&self, location: &CheckpointLocation, bytes: usize) {
        if let Some(reads) = &self.reads {
            reads.count(location, bytes);
        }
    }

    fn path(location: &CheckpointLocation) -> Result<&Path> {
        match location {
            CheckpointLocation::Local(path) => Ok(path),
            CheckpointLocation::S3(_) => Err(Error::StoreMismatch {
                store: "local filesystem",
                location: location.to_string(),
            }),
        }
    }
}

impl CheckpointStore for LocalFileStore {
    fn write(&self, location: &CheckpointLocation, bytes: Vec<u8>) -> Result<()> {
        let path = Self::path(location)?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|source| Error::Storage {
                action: "cannot create checkpoint folder",
                path: dir.to_path_buf(),
                source,
            })?;
        }
        write_synced(path, &bytes)
    }

    /// Writes a temporary file and renames it: a rename within a folder is atomic.
    fn publish(&self, location: &CheckpointLocation, bytes: Vec<u8>) -> Result<()> {
        let path = Self::path(location)?;
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".inprogress");
        let temporary = CheckpointLocation::local(temporary);
        self.write(&temporary, bytes)?;
        fs::rename(Self::path(&temporary)?, path).map_err(|source| Error::Storage {
            action: "cannot publish checkpoint metadata",
            path: path.to_path_buf(),
            source,
        })
    }

    fn read(&self, location: &CheckpointLocation) -> Result<Option<Vec<u8>>> {
        let path = Self::path(location)?;
        match fs::read(path) {
            Ok(bytes) => {
                self.count(location, bytes.len());
                Ok(Some(bytes))
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Storage {
                action: "cannot read checkpoint file",
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// A seek and a read of the range: bytes before and after it are not read.
    fn read_range(
        &self,
        location: &CheckpointLocation,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>> {
        let path = Self::path(location)?;
        let failed = |source| Error::Storage {
            action: "cannot read checkpoint file",
            path: path.to_path_buf(),
            source,
        };
        let mut file = match fs::File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(failed(source)),
        };
        file.seek(SeekFrom::Start(offset)).map_err(failed)?;
        // The capacity is what the reader expects; a file that ends early gives less.
        let mut bytes = Vec::with_capacity(usize::try_from(length).unwrap_or(0).min(1 << 30));
        file.take(length).read_to_end(&mut bytes).map_err(failed)?;
        self.count(location, bytes.len());
        Ok(Some(bytes))
    }

    fn delete_folder(&self, location: &CheckpointLocation) -> Result<()> {
        let dir = Self::path(location)?;
        let failed = |source| Error::Storage {
            action: "cannot delete checkpoint",
            path: dir.to_path_buf(),
            source,
        };
        match fs::remove_file(dir.join(super::METADATA_FILE)) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(failed(source)),
        }
        match fs::remove_dir_all(dir) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(failed(source)),
        }
    }

    fn missing(&self, location: &CheckpointLocation, hint: &str) -> Error {
        Error::CorruptCheckpoint {
            location: location.clone(),
            message: format!("no such file: {hint}"),
        }
    }
}

/// Writes `bytes` to `path` and syncs it, so a completed checkpoint survives a crash.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let failed = |source| Error::Storage {
        action: "cannot write checkpoint file",
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::create(path).map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)
}
