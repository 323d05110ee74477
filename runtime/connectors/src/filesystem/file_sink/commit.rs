//! Committables: the pending part files a checkpoint holds, and how they are encoded in the
//! sink's checkpointed state.

use flinkrs_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// The first byte of the sink's state: the version of its layout. Version 1 had no uploads.
const STATE_VERSION: u8 = 2;

/// A pending part file: closed, hidden, and committed by giving it its name `part_name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    /// The bucket's folder under the sink's base path; empty for the base path itself.
    pub bucket: String,
    /// The name the file gets when committed.
    pub part_name: String,
    /// In S3, the multipart upload that completing makes the object; `None` for a local file,
    /// which a rename commits.
    pub upload: Option<PendingUpload>,
}

/// A multipart upload with all its parts uploaded, waiting to be completed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingUpload {
    pub upload_id: String,
    /// The parts' numbers (from 1) and ETags, in order.
    pub parts: Vec<(i32, String)>,
}

/// Layout version 1: local files only.
#[derive(Deserialize)]
struct PendingFileV1 {
    bucket: String,
    part_name: String,
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

/// Decodes what [`encode_state`] wrote, in this layout or the one before; `sink` names the
/// sink in the error.
pub(super) fn decode_state(state: &[u8], sink: &str) -> Result<Vec<PendingFile>> {
    let undecodable = |error: postcard::Error| {
        Error::state(format!(
            "{sink}: the checkpointed list of pending part files cannot be decoded: {error}"
        ))
    };
    match state.split_first() {
        Some((&STATE_VERSION, encoded)) => postcard::from_bytes(encoded).map_err(undecodable),
        Some((1, encoded)) => {
            let files: Vec<PendingFileV1> = postcard::from_bytes(encoded).map_err(undecodable)?;
            Ok(files
                .into_iter()
                .map(|file| PendingFile {
                    bucket: file.bucket,
                    part_name: file.part_name,
                    upload: None,
                })
                .collect())
        }
        Some((version, _)) => Err(Error::state(format!(
            "{sink}: the checkpointed state has layout version {version}; this file sink reads \
             versions 1 to {STATE_VERSION}"
        ))),
        None => Err(Error::state(format!(
            "{sink}: the checkpointed state is empty; expected the list of pending part files"
        ))),
    }
}
