//! The header every checkpoint file starts with: an 8-byte magic and a format version. The
//! bytes are the same in every store, so a checkpoint copied from S3 to a folder (or back)
//! reads the same.

use super::CheckpointLocation;
use crate::error::{Error, Result};

/// The format version this build writes and reads. A change of any file's layout gets a new
/// version. Version 2: each state's snapshot names the type of its values. Version 3: task
/// state files are laid out by key group, and `_metadata` holds the state descriptors and the
/// byte range of every key group, so a restore reads only its own key groups.
pub(super) const FORMAT_VERSION: u16 = 3;

/// The magic and the version.
pub(super) const HEADER_LEN: usize = 10;

/// The kinds of checkpoint file, told apart by their magic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FileKind {
    Metadata,
    TaskState,
}

impl FileKind {
    fn magic(self) -> &'static [u8; 8] {
        match self {
            FileKind::Metadata => b"FLRSMETA",
            FileKind::TaskState => b"FLRSTASK",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            FileKind::Metadata => "checkpoint metadata",
            FileKind::TaskState => "task state",
        }
    }
}

/// A buffer holding the header of a file of `kind`, to append the body to.
pub(super) fn with_header(kind: FileKind) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(kind.magic());
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes
}

/// Checks the header of `bytes`, read from `location`, against `kind`; returns the body.
pub(super) fn check_header(
    mut bytes: Vec<u8>,
    location: &CheckpointLocation,
    kind: FileKind,
) -> Result<Vec<u8>> {
    check_header_of(&bytes, location, kind)?;
    bytes.drain(..HEADER_LEN);
    Ok(bytes)
}

/// Checks that `bytes`, the start of the file `location`, is the header of a file of `kind`
/// in this build's format version.
pub(super) fn check_header_of(
    bytes: &[u8],
    location: &CheckpointLocation,
    kind: FileKind,
) -> Result<()> {
    let corrupt = |message: String| Error::CorruptCheckpoint {
        location: location.clone(),
        message,
    };
    let truncated = || {
        corrupt(format!(
            "truncated: {} bytes, shorter than the {HEADER_LEN}-byte header",
            bytes.len()
        ))
    };
    let Some((magic, rest)) = bytes.split_first_chunk::<8>() else {
        return Err(truncated());
    };
    if magic != kind.magic() {
        return Err(corrupt(format!(
            "not a flinkrs {} file: it starts with {:?}, not {:?}",
            kind.describe(),
            String::from_utf8_lossy(magic),
            String::from_utf8_lossy(kind.magic())
        )));
    }
    let Some((version, _)) = rest.split_first_chunk::<2>() else {
        return Err(truncated());
    };
    let version = u16::from_le_bytes(*version);
    if version != FORMAT_VERSION {
        let writer = if version < FORMAT_VERSION {
            "an older"
        } else {
            "a newer"
        };
        return Err(corrupt(format!(
            "format version {version}; this build reads version {FORMAT_VERSION} only. The \
             file was written by {writer} flinkrs: restore it with the version that wrote it, \
             or start the job without it"
        )));
    }
    Ok(())
}
