//! The task state file: one per task and checkpoint, laid out so that a restoring subtask
//! reads only the bytes of its own key groups, and `_metadata` says where they are.
//!
//! ```text
//! header                         FLRSTASK and the format version
//! for each operator of the task, in chain order:
//!   operator list state          the postcard encoding of its items; absent when it has none
//!   keyed state                  one block per key group with entries, ascending, back to back:
//!                                  for each of the operator's states (in _metadata's order):
//!                                  its length as a u64, little-endian, then the state's
//!                                  entries of this key group (postcard)
//! ```
//!
//! The keyed state is key-group-major (all states of key group g together) rather than
//! state-major: a subtask owns a contiguous range of key groups, so what it needs of an old
//! subtask's file is one contiguous run of blocks, read in one request whatever the number of
//! states. State-major it would be one request per state and file. `_metadata` holds, per
//! operator, the byte range of its list state and, for keyed state, the state descriptors
//! (name and value type), where the first block starts and each block's key group and length:
//! O(key groups) per file, not O(states × key groups).

use std::collections::BTreeSet;

use flinkrs_core::KeyGroupRange;
use serde::{Deserialize, Serialize};

use super::CheckpointLocation;
use super::format::{FileKind, with_header};
use crate::error::{Error, Result};
use crate::snapshot::{KeyedStateSnapshot, StateSnapshot};

/// A run of bytes of a file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRange {
    pub offset: u64,
    pub length: u64,
}

impl FileRange {
    /// The offset just past the range.
    pub fn end(&self) -> u64 {
        self.offset + self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    fn from_positions(start: usize, end: usize) -> Self {
        FileRange {
            offset: start as u64,
            length: (end - start) as u64,
        }
    }
}

/// Where one operator's state is in its task's state file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorStateIndex {
    pub operator_id: String,
    /// Its operator list state; empty when it has no items.
    pub operator_state: FileRange,
    /// Its keyed state, for a keyed operator.
    pub keyed: Option<KeyedStateIndex>,
}

/// A state as a snapshot describes it: a restore into a state of another value type fails
/// with both named.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDescriptor {
    pub name: String,
    /// The Rust type of its per-key value, or an operator's own name for its layout; empty:
    /// unchecked.
    pub value_type: String,
}

/// One key group's block of keyed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGroupBlock {
    pub key_group: usize,
    pub length: u64,
}

/// Where an operator's keyed state is in its task's state file, key group by key group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedStateIndex {
    pub max_parallelism: usize,
    /// The operator's states, in the order each block holds them.
    pub states: Vec<StateDescriptor>,
    /// Where the first block starts; the others follow it back to back.
    pub offset: u64,
    /// Every key group with entries, ascending, and the length of its block.
    pub key_groups: Vec<KeyGroupBlock>,
}

impl KeyedStateIndex {
    /// The blocks of the key groups in `range`, and the one run of bytes they fill (empty
    /// when the file has none of them).
    pub fn blocks_in(&self, range: KeyGroupRange) -> (FileRange, &[KeyGroupBlock]) {
        let first = self
            .key_groups
            .partition_point(|block| block.key_group < range.start);
        let end = self
            .key_groups
            .partition_point(|block| block.key_group <= range.end)
            .max(first);
        let skipped: u64 = self.key_groups[..first]
            .iter()
            .map(|block| block.length)
            .sum();
        let blocks = &self.key_groups[first..end];
        let range = FileRange {
            offset: self.offset + skipped,
            length: blocks.iter().map(|block| block.length).sum(),
        };
        (range, blocks)
    }

    /// The states of `blocks`, whose bytes are `bytes` (read from `location`): each state with
    /// the entries of those key groups, every state of the index present.
    pub(super) fn decode(
        &self,
        bytes: &[u8],
        blocks: &[KeyGroupBlock],
        location: &CheckpointLocation,
    ) -> Result<Vec<StateSnapshot>> {
        let mut states: Vec<StateSnapshot> = self
            .states
            .iter()
            .map(|descriptor| StateSnapshot {
                name: descriptor.name.clone(),
                value_type: descriptor.value_type.clone(),
                key_groups: Default::default(),
            })
            .collect();
        let mut rest = bytes;
        for block in blocks {
            let corrupt = |what: String| Error::CorruptCheckpoint {
                location: location.clone(),
                message: format!(
                    "the block of key group {} is corrupt: {what}; the checkpoint is damaged, \
                     restore from another one",
                    block.key_group
                ),
            };
            let Some((mut block_bytes, after)) = usize::try_from(block.length)
                .ok()
                .and_then(|length| (length <= rest.len()).then(|| rest.split_at(length)))
            else {
                return Err(corrupt(format!(
                    "_metadata says {} bytes, {} were read",
                    block.length,
                    rest.len()
                )));
            };
            rest = after;
            for state in &mut states {
                let Some((length, after)) = block_bytes.split_first_chunk::<8>() else {
                    return Err(corrupt(format!(
                        "it ends before the length of state '{}'",
                        state.name
                    )));
                };
                let length = u64::from_le_bytes(*length);
                let Some((entries, after)) = usize::try_from(length)
                    .ok()
                    .and_then(|length| after.split_at_checked(length))
                else {
                    return Err(corrupt(format!(
                        "state '{}' has {length} bytes, the block {} after its length",
                        state.name,
                        after.len()
                    )));
                };
                if !entries.is_empty() {
                    state.key_groups.insert(block.key_group, entries.to_vec());
                }
                block_bytes = after;
            }
            if !block_bytes.is_empty() {
                return Err(corrupt(format!(
                    "{} bytes are left after its {} states",
                    block_bytes.len(),
                    states.len()
                )));
            }
        }
        Ok(states)
    }
}

/// One operator's part of a task's snapshot, to write.
#[derive(Clone, Copy, Debug)]
pub struct OperatorStateParts<'a> {
    pub operator_id: &'a str,
    /// Operator list state: independent items, each encoded by the operator.
    pub operator_state: &'a [Vec<u8>],
    /// Keyed state, materialized.
    pub keyed: Option<&'a KeyedStateSnapshot>,
}

/// A task's state file, encoded: its bytes and where each operator's state is in them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskStateFile {
    pub(super) bytes: Vec<u8>,
    pub(super) operators: Vec<OperatorStateIndex>,
}

impl TaskStateFile {
    /// Lays out the state of a task's operators (see the module docs).
    pub fn encode<'a>(operators: impl IntoIterator<Item = OperatorStateParts<'a>>) -> Result<Self> {
        let mut bytes = with_header(FileKind::TaskState);
        let mut index = Vec::new();
        for operator in operators {
            let start = bytes.len();
            if !operator.operator_state.is_empty() {
                postcard::to_io(operator.operator_state, &mut bytes).map_err(|source| {
                    Error::Encode {
                        name: format!("operator list state of operator {}", operator.operator_id),
                        source,
                    }
                })?;
            }
            let operator_state = FileRange::from_positions(start, bytes.len());
            let keyed = match operator.keyed {
                Some(keyed) => Some(encode_keyed(keyed, operator.operator_id, &mut bytes)?),
                None => None,
            };
            index.push(OperatorStateIndex {
                operator_id: operator.operator_id.to_owned(),
                operator_state,
                keyed,
            });
        }
        Ok(TaskStateFile {
            bytes,
            operators: index,
        })
    }

    /// The file's length in bytes.
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Where each operator's state is.
    pub fn operators(&self) -> &[OperatorStateIndex] {
        &self.operators
    }
}

/// Appends `snapshot`'s blocks, key group by key group, to `bytes`.
fn encode_keyed(
    snapshot: &KeyedStateSnapshot,
    operator_id: &str,
    bytes: &mut Vec<u8>,
) -> Result<KeyedStateIndex> {
    if !snapshot.is_materialized() {
        return Err(Error::NotMaterialized {
            operator_id: operator_id.to_owned(),
        });
    }
    let key_groups: BTreeSet<usize> = snapshot
        .states
        .iter()
        .flat_map(|state| state.key_groups.keys().copied())
        .collect();
    let offset = bytes.len() as u64;
    let mut blocks = Vec::with_capacity(key_groups.len());
    for key_group in key_groups {
        let start = bytes.len();
        for state in &snapshot.states {
            let entries = state
                .key_groups
                .get(&key_group)
                .map_or(&[][..], Vec::as_slice);
            bytes.extend_from_slice(&(entries.len() as u64).to_le_bytes());
            bytes.extend_from_slice(entries);
        }
        blocks.push(KeyGroupBlock {
            key_group,
            length: (bytes.len() - start) as u64,
        });
    }
    Ok(KeyedStateIndex {
        max_parallelism: snapshot.max_parallelism,
        states: snapshot
            .states
            .iter()
            .map(|state| StateDescriptor {
                name: state.name.clone(),
                value_type: state.value_type.clone(),
            })
            .collect(),
        offset,
        key_groups: blocks,
    })
}

/// Decodes operator list state read from `location`.
pub(super) fn decode_operator_state(
    bytes: &[u8],
    operator_id: &str,
    location: &CheckpointLocation,
) -> Result<Vec<Vec<u8>>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    postcard::from_bytes(bytes).map_err(|error| Error::CorruptCheckpoint {
        location: location.clone(),
        message: format!(
            "the operator list state of operator {operator_id} cannot be decoded ({error}); \
             the checkpoint is damaged, restore from another one"
        ),
    })
}
