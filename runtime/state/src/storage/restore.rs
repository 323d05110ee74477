//! Reading a checkpoint back for a restore: each subtask asks for one operator's state with
//! its key-group range, and only those byte ranges are read, adjacent ones of a file in one
//! request.

use flinkrs_core::KeyGroupRange;

use super::format::{FileKind, HEADER_LEN, check_header_of};
use super::task_state::{FileRange, decode_operator_state};
use super::{CheckpointLocation, StoredCheckpoint, TaskStateHandle};
use crate::error::{Error, Result};
use crate::snapshot::KeyedStateSnapshot;

/// What one restoring subtask takes of one operator's state.
#[derive(Clone, Copy, Debug)]
pub struct OperatorStateRequest<'a> {
    pub operator_id: &'a str,
    /// The job's max parallelism. A snapshot of another one is handed back without key
    /// groups, for the operator to refuse with both numbers named.
    pub max_parallelism: usize,
    /// The key groups the subtask owns.
    pub key_groups: KeyGroupRange,
    /// The old subtask whose operator list state it takes back whole (a restore at the same
    /// parallelism), if any.
    pub operator_state_of: Option<usize>,
}

/// One operator's state as read back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoredOperatorState {
    /// Operator list state.
    pub operator_state: Vec<Vec<u8>>,
    /// Keyed state of the key groups asked for: the merge of every old subtask's.
    pub keyed: Option<KeyedStateSnapshot>,
}

/// The bytes of some ranges of one file.
struct ReadRanges {
    pieces: Vec<(FileRange, Vec<u8>)>,
}

impl ReadRanges {
    /// The bytes of `range`, which lies within one of the ranges read.
    fn get(&self, range: FileRange) -> &[u8] {
        self.pieces
            .iter()
            .find(|(piece, _)| piece.offset <= range.offset && range.end() <= piece.end())
            .map_or(&[][..], |(piece, bytes)| {
                let start = (range.offset - piece.offset) as usize;
                &bytes[start..start + range.length as usize]
            })
    }
}

impl StoredCheckpoint {
    /// The state of `request.operator_id` that a subtask owning `request.key_groups` restores:
    /// of each old subtask's file, only the blocks of those key groups (and the list state
    /// asked for), adjacent ranges in one request.
    pub fn read_operator_state(
        &self,
        request: &OperatorStateRequest<'_>,
    ) -> Result<RestoredOperatorState> {
        let mut restored = RestoredOperatorState::default();
        let mut keyed_parts = Vec::new();
        for handle in &self.metadata.tasks {
            let Some(index) = handle
                .operators
                .iter()
                .find(|operator| operator.operator_id == request.operator_id)
            else {
                continue;
            };
            let location = self.location.join(&handle.file);
            let take_list_state = request.operator_state_of == Some(handle.subtask)
                && !index.operator_state.is_empty();
            let keyed = index.keyed.as_ref().map(|keyed| {
                let (range, blocks) = if keyed.max_parallelism == request.max_parallelism {
                    keyed.blocks_in(request.key_groups)
                } else {
                    (FileRange::default(), &[][..])
                };
                (keyed, range, blocks)
            });
            let mut wanted = Vec::with_capacity(2);
            if take_list_state {
                wanted.push(index.operator_state);
            }
            if let Some((_, range, _)) = &keyed {
                wanted.push(*range);
            }
            let read = self.read_ranges(handle, &location, &wanted)?;
            if take_list_state {
                restored.operator_state = decode_operator_state(
                    read.get(index.operator_state),
                    request.operator_id,
                    &location,
                )?;
            }
            if let Some((keyed, range, blocks)) = keyed {
                let states = keyed.decode(read.get(range), blocks, &location)?;
                keyed_parts.push(KeyedStateSnapshot::new(keyed.max_parallelism, states));
            }
        }
        if !keyed_parts.is_empty() {
            restored.keyed = Some(KeyedStateSnapshot::merge(keyed_parts)?);
        }
        Ok(restored)
    }

    /// The operator list state of `operator_id` in every old subtask, in subtask order: what
    /// a restore at another parallelism deals out.
    pub fn read_all_operator_state(&self, operator_id: &str) -> Result<Vec<Vec<u8>>> {
        let mut handles: Vec<(&TaskStateHandle, FileRange)> = self
            .metadata
            .tasks
            .iter()
            .filter_map(|handle| {
                let index = handle
                    .operators
                    .iter()
                    .find(|operator| operator.operator_id == operator_id)?;
                Some((handle, index.operator_state))
            })
            .collect();
        handles.sort_by_key(|(handle, _)| handle.subtask);
        let mut items = Vec::new();
        for (handle, range) in handles {
            if range.is_empty() {
                continue;
            }
            let location = self.location.join(&handle.file);
            let read = self.read_ranges(handle, &location, &[range])?;
            items.extend(decode_operator_state(
                read.get(range),
                operator_id,
                &location,
            )?);
        }
        Ok(items)
    }

    /// Everything in one task's state file, read whole: each operator's list state and all of
    /// its key groups.
    pub fn read_task_state(
        &self,
        handle: &TaskStateHandle,
    ) -> Result<Vec<(String, RestoredOperatorState)>> {
        let location = self.location.join(&handle.file);
        let whole = FileRange {
            offset: 0,
            length: handle.length,
        };
        let read = self.read_ranges(handle, &location, &[whole])?;
        let mut operators = Vec::with_capacity(handle.operators.len());
        for index in &handle.operators {
            let operator_state = decode_operator_state(
                read.get(index.operator_state),
                &index.operator_id,
                &location,
            )?;
            let keyed = match &index.keyed {
                Some(keyed) => {
                    let all = KeyGroupRange {
                        start: 0,
                        end: usize::MAX,
                    };
                    let (range, blocks) = keyed.blocks_in(all);
                    let states = keyed.decode(read.get(range), blocks, &location)?;
                    Some(KeyedStateSnapshot::new(keyed.max_parallelism, states))
                }
                None => None,
            };
            operators.push((
                index.operator_id.clone(),
                RestoredOperatorState {
                    operator_state,
                    keyed,
                },
            ));
        }
        Ok(operators)
    }

    /// Reads `wanted` (in file order) of the task state file `location`: adjacent ranges in
    /// one request; a range that starts right after the file's header takes the header along,
    /// which is then checked. A file shorter than `_metadata` says is an error naming it.
    fn read_ranges(
        &self,
        handle: &TaskStateHandle,
        location: &CheckpointLocation,
        wanted: &[FileRange],
    ) -> Result<ReadRanges> {
        let mut requests: Vec<FileRange> = Vec::new();
        for range in wanted.iter().filter(|range| !range.is_empty()) {
            match requests.last_mut() {
                Some(last) if last.end() == range.offset => last.length += range.length,
                _ => requests.push(*range),
            }
        }
        if let Some(first) = requests.first_mut()
            && first.offset == HEADER_LEN as u64
        {
            *first = FileRange {
                offset: 0,
                length: first.end(),
            };
        }
        let mut pieces = Vec::with_capacity(requests.len());
        for range in requests {
            if range.end() > handle.length {
                return Err(Error::CorruptCheckpoint {
                    location: location.clone(),
                    message: format!(
                        "_metadata places bytes {}..{} in it, past its length of {} bytes; \
                         the metadata is corrupt",
                        range.offset,
                        range.end(),
                        handle.length
                    ),
                });
            }
            let bytes = self
                .store
                .read_range(location, range.offset, range.length)?
                .ok_or_else(|| {
                    self.store.missing(
                        location,
                        "_metadata names this task state file; the checkpoint is incomplete",
                    )
                })?;
            if range.offset == 0 {
                check_header_of(&bytes, location, FileKind::TaskState)?;
            }
            if bytes.len() as u64 != range.length {
                let ends = match bytes.len() {
                    0 => format!("at byte {} or before", range.offset),
                    read => format!("at byte {}", range.offset + read as u64),
                };
                return Err(Error::CorruptCheckpoint {
                    location: location.clone(),
                    message: format!(
                        "truncated: _metadata says the file holds {} bytes, and bytes {}..{} \
                         of it are to be read, but it ends {ends}; the checkpoint is damaged, \
                         restore from another one",
                        handle.length,
                        range.offset,
                        range.end(),
                    ),
                });
            }
            pieces.push((range, bytes));
        }
        Ok(ReadRanges { pieces })
    }
}
