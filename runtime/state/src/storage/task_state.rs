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
                        "state '{}' says {length} bytes, but only {} follow in the block",
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
                    "{} bytes are left over after the last state",
                    block_bytes.len()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn index(key_groups: &[(usize, u64)]) -> KeyedStateIndex {
        KeyedStateIndex {
            max_parallelism: 128,
            states: vec![StateDescriptor {
                name: "count".into(),
                value_type: "u64".into(),
            }],
            offset: 10,
            key_groups: key_groups
                .iter()
                .map(|&(key_group, length)| KeyGroupBlock { key_group, length })
                .collect(),
        }
    }

    #[test]
    fn blocks_in_a_range_are_one_run_of_bytes_from_the_first_of_them() {
        let index = index(&[(2, 9), (5, 11), (9, 10), (40, 12)]);
        let range = |start, end| {
            let (bytes, blocks) = index.blocks_in(KeyGroupRange { start, end });
            let groups: Vec<usize> = blocks.iter().map(|block| block.key_group).collect();
            (bytes.offset, bytes.length, groups)
        };
        assert_eq!(range(0, 127), (10, 42, vec![2, 5, 9, 40]));
        assert_eq!(range(3, 9), (19, 21, vec![5, 9]));
        assert_eq!(range(10, 39), (40, 0, vec![]));
        assert_eq!(range(41, 127), (52, 0, vec![]));
    }

    #[test]
    fn a_corrupt_block_is_an_error_naming_the_file_key_group_and_state() {
        let location = CheckpointLocation::local("/ck/chk-1/task-0-0");
        let error = |index: &KeyedStateIndex, bytes: &[u8]| {
            let (_, blocks) = index.blocks_in(KeyGroupRange { start: 0, end: 127 });
            index
                .decode(bytes, blocks, &location)
                .unwrap_err()
                .to_string()
        };
        // A length of 200 in a block of 9 bytes.
        let mut block = 200u64.to_le_bytes().to_vec();
        block.push(1);
        assert_eq!(
            error(&index(&[(7, 9)]), &block),
            "checkpoint file '/ck/chk-1/task-0-0': the block of key group 7 is corrupt: state \
             'count' says 200 bytes, but only 1 follow in the block; the checkpoint is damaged, \
             restore from another one"
        );
        // Bytes left over after the one state.
        let mut block = 1u64.to_le_bytes().to_vec();
        block.extend([4, 4]);
        assert!(
            error(&index(&[(7, 10)]), &block)
                .contains("1 bytes are left over after the last state"),
            "{}",
            error(&index(&[(7, 10)]), &block)
        );
        // Fewer bytes read than the blocks take.
        assert!(
            error(&index(&[(7, 10)]), &[0; 4]).contains("_metadata says 10 bytes, 4 were read")
        );
        // A block too short for a state's length.
        assert!(
            error(&index(&[(7, 4)]), &[0; 4])
                .contains("it ends before the length of state 'count'")
        );
    }
}
