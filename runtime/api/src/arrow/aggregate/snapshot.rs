//! The aggregate operator's state in a checkpoint: its groups, by key group, so that a
//! restore at another parallelism takes exactly the groups of its own key groups.
//!
//! One state, `groups`. Each key group's bytes are a postcard-encoded `Vec<SnapshotWindow>`:
//! the key group's groups window by window, each window's groups in creation order, each with
//! the step from the previous one's position in its window. A restore puts the groups back in
//! the order they had at the checkpoint, even when they come from several subtasks' key groups.
//!
//! The synchronous phase ([`take`]) freezes the group table and the accumulator columns in
//! O(open windows + chunks); the asynchronous phase ([`FrozenAggregate::encode`]) lists the
//! groups window by window in creation order, sorts them into key groups and encodes each key
//! group straight from the frozen chunks, off the task thread.

use std::sync::Arc;

use flinkrs_core::key_group::{KeyGroupRange, key_group_for_hash};
use flinkrs_core::key_hash::{key_hash, key_hash_i64, key_hash_str};
use flinkrs_core::{Error, Result};
use flinkrs_dataflow::TaskInfo;
use flinkrs_state::{FrozenState, KeyedStateSnapshot, StateSnapshot};
use serde::ser::{Error as _, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};

use super::accumulators::{AccumulatorColumn, FrozenColumn};
use super::plan::KeyType;
use super::table::{FrozenGroups, GroupKey, GroupTable, RestoredKey};

const STATE_NAME: &str = "groups";

/// The descriptor of the group table's layout in snapshots: v2 stores each key group's groups
/// per window, with their positions in the window.
const VALUE_TYPE: &str = "flinkrs arrow aggregate groups v2";

/// The layout before v2, a window per group and no positions: still restored, in the order it
/// was written.
const VALUE_TYPE_V1: &str = "flinkrs arrow aggregate groups v1";

/// A group's key as stored: the value itself, not an interned id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SnapshotKey {
    Null,
    Int(i64),
    Str(String),
}

/// The groups of one key group in one window, in creation order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SnapshotWindow {
    /// The window's start (0 for a group aggregate without windows).
    pub window: i64,
    pub groups: Vec<WindowGroup>,
}

/// One group of a [`SnapshotWindow`]: its position among the groups of its window (in the
/// order they were created) as the step from the previous group's position (from 0 for the
/// first), its key and its aggregates' values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct WindowGroup {
    pub step: u32,
    pub key: SnapshotKey,
    pub values: Vec<Option<i64>>,
}

/// A restored group: its window's start, its position in the window, its key and its
/// aggregates' values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SnapshotGroup {
    pub window: i64,
    pub position: u32,
    pub key: SnapshotKey,
    pub values: Vec<Option<i64>>,
}

/// One group as v1 stored it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SnapshotGroupV1 {
    pub window: i64,
    pub key: SnapshotKey,
    pub values: Vec<Option<i64>>,
}

/// A group's key borrowed from the frozen table: serialized, the same bytes as a
/// [`SnapshotKey`].
#[derive(Clone, Copy, Debug, Serialize)]
enum EncodedKey<'a> {
    Null,
    Int(i64),
    Str(&'a str),
}

impl EncodedKey<'_> {
    /// The stable key hash, the same the partitioner computed for the row
    /// ([`ArrowKeyHash`](flinkrs_dataflow::batch::ArrowKeyHash)).
    fn hash(self) -> i32 {
        match self {
            EncodedKey::Null => key_hash(&None::<()>),
            EncodedKey::Int(value) => key_hash_i64(value),
            EncodedKey::Str(value) => key_hash_str(value),
        }
    }
}

/// The synchronous phase of a checkpoint: freezes `table` and `accumulators` in O(open windows
/// + chunks). The snapshot encodes them when it is materialized.
pub(crate) fn take(
    table: &mut GroupTable,
    accumulators: &mut [AccumulatorColumn],
    info: &TaskInfo,
) -> KeyedStateSnapshot {
    let frozen = FrozenAggregate {
        max_parallelism: info.max_parallelism,
        range: KeyGroupRange::for_operator(
            info.max_parallelism,
            info.parallelism,
            info.subtask_index,
        ),
        groups: table.freeze(),
        columns: accumulators
            .iter_mut()
            .map(AccumulatorColumn::freeze)
            .collect(),
    };
    KeyedStateSnapshot::with_frozen(info.max_parallelism, Vec::new(), vec![Arc::new(frozen)])
}

/// The group table and accumulator columns frozen by a checkpoint's synchronous phase.
pub(crate) struct FrozenAggregate {
    max_parallelism: usize,
    /// This subtask's key groups: a group outside them fails the snapshot.
    range: KeyGroupRange,
    groups: FrozenGroups,
    columns: Vec<FrozenColumn>,
}

/// A group listed for encoding: its window (an index into the frozen windows), its position in
/// the window and its slot.
#[derive(Clone, Copy, Debug)]
struct Listed {
    window: u32,
    position: u32,
    slot: u32,
}

fn inconsistent(problem: String) -> flinkrs_state::Error {
    flinkrs_state::Error::FrozenStateInconsistent {
        name: STATE_NAME.to_owned(),
        problem,
    }
}

impl FrozenAggregate {
    /// The key of the group in `slot`, borrowed from the frozen table.
    fn key(&self, slot: u32) -> Option<EncodedKey<'_>> {
        let GroupKey { key, null, .. } = *self.groups.keys.get(slot as usize)?;
        Some(match (null, self.groups.key_type) {
            (true, _) => EncodedKey::Null,
            (false, KeyType::Int64) => EncodedKey::Int(key),
            (false, KeyType::Utf8) => {
                EncodedKey::Str(self.groups.strings.get(key as usize)?.as_deref()?)
            }
        })
    }

    /// Every group, window by window in creation order, sorted into this subtask's key groups
    /// (index 0 is the range's first key group).
    fn by_key_group(&self) -> flinkrs_state::Result<Vec<Vec<Listed>>> {
        let slots = self.groups.keys.len();
        if let Some(column) = self.columns.iter().find(|column| column.len() < slots) {
            return Err(inconsistent(format!(
                "an accumulator column holds {} slots, the group table {slots}",
                column.len()
            )));
        }
        let key_groups = (self.range.end + 1).saturating_sub(self.range.start);
        let mut listed: Vec<Vec<Listed>> = vec![Vec::new(); key_groups];
        for (window, (_, order)) in self.groups.windows.iter().enumerate() {
            for (position, &slot) in order.iter().enumerate() {
                let key = self.key(slot).ok_or_else(|| {
                    inconsistent(format!("slot {slot} has no group or no interned string"))
                })?;
                let key_group = key_group_for_hash(key.hash(), self.max_parallelism);
                // As for the backend's tables: a group of another subtask's key group would make
                // this snapshot overlap that subtask's, so the snapshot fails here, where the
                // cause is.
                if !self.range.contains(key_group) {
                    return Err(flinkrs_state::Error::KeyGroupOutOfRange {
                        name: STATE_NAME.to_owned(),
                        key_group,
                        range: self.range,
                    });
                }
                listed[key_group - self.range.start].push(Listed {
                    window: window as u32,
                    position: position as u32,
                    slot,
                });
            }
        }
        Ok(listed)
    }
}

impl FrozenState for FrozenAggregate {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        let mut key_groups = std::collections::BTreeMap::new();
        for (offset, groups) in self.by_key_group()?.iter().enumerate() {
            if groups.is_empty() {
                continue;
            }
            let bytes = postcard::to_allocvec(&KeyGroupGroups {
                frozen: self,
                groups,
            })
            .map_err(|source| flinkrs_state::Error::Encode {
                name: STATE_NAME.to_owned(),
                source,
            })?;
            key_groups.insert(self.range.start + offset, bytes);
        }
        Ok(StateSnapshot {
            name: STATE_NAME.to_owned(),
            value_type: VALUE_TYPE.to_owned(),
            key_groups,
        })
    }
}

/// The groups of one key group: serialized, the same bytes as a `Vec<SnapshotWindow>`,
/// written straight from the frozen chunks.
struct KeyGroupGroups<'a> {
    frozen: &'a FrozenAggregate,
    groups: &'a [Listed],
}

/// The groups of one key group in one window: serialized, the same bytes as a
/// [`SnapshotWindow`].
struct EncodedWindow<'a> {
    frozen: &'a FrozenAggregate,
    groups: &'a [Listed],
}

/// One group borrowed from the frozen table: serialized, the same bytes as a [`WindowGroup`].
#[derive(Serialize)]
struct EncodedGroup<'a> {
    step: u32,
    key: EncodedKey<'a>,
    values: EncodedValues<'a>,
}

/// A group's aggregates' values: serialized, the same bytes as a `Vec<Option<i64>>`.
struct EncodedValues<'a> {
    columns: &'a [FrozenColumn],
    slot: u32,
}

/// Listing the groups checked every slot and every column's length, so these errors are not
/// expected; they are errors rather than panics all the same.
const UNLISTED: &str = "a group changed between listing and encoding";

impl KeyGroupGroups<'_> {
    /// The key group's groups, a run per window: listed window by window, so each window's
    /// groups are consecutive.
    fn windows(&self) -> impl Iterator<Item = &[Listed]> {
        self.groups
            .chunk_by(|first, second| first.window == second.window)
    }
}

impl Serialize for KeyGroupGroups<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.windows().count()))?;
        for groups in self.windows() {
            sequence.serialize_element(&EncodedWindow {
                frozen: self.frozen,
                groups,
            })?;
        }
        sequence.end()
    }
}

impl Serialize for EncodedWindow<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let window = self
            .groups
            .first()
            .and_then(|first| self.frozen.groups.windows.get(first.window as usize))
            .map(|(start, _)| *start)
            .ok_or_else(|| S::Error::custom(UNLISTED))?;
        let mut fields = serializer.serialize_struct("SnapshotWindow", 2)?;
        fields.serialize_field("window", &window)?;
        fields.serialize_field(
            "groups",
            &EncodedGroups {
                frozen: self.frozen,
                groups: self.groups,
            },
        )?;
        fields.end()
    }
}

/// A window's groups: serialized, the same bytes as a `Vec<WindowGroup>`.
struct EncodedGroups<'a> {
    frozen: &'a FrozenAggregate,
    groups: &'a [Listed],
}

impl Serialize for EncodedGroups<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.groups.len()))?;
        let mut previous = 0;
        for listed in self.groups {
            sequence.serialize_element(&EncodedGroup {
                step: listed.position - previous,
                key: self
                    .frozen
                    .key(listed.slot)
                    .ok_or_else(|| S::Error::custom(UNLISTED))?,
                values: EncodedValues {
                    columns: &self.frozen.columns,
                    slot: listed.slot,
                },
            })?;
            previous = listed.position;
        }
        sequence.end()
    }
}

impl Serialize for EncodedValues<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(Some(self.columns.len()))?;
        for column in self.columns {
            let value = column
                .get(self.slot)
                .ok_or_else(|| S::Error::custom(UNLISTED))?;
            sequence.serialize_element(&value)?;
        }
        sequence.end()
    }
}

/// The groups of this subtask's key groups in `snapshot`, in the order the restore creates
/// them: window by window, each in the order its groups were created.
pub(crate) fn restore(
    snapshot: &KeyedStateSnapshot,
    info: &TaskInfo,
) -> Result<Vec<SnapshotGroup>> {
    if snapshot.max_parallelism != info.max_parallelism {
        return Err(Error::state(format!(
            "aggregate state was written with max parallelism {}, but the job runs with {}; \
             the max parallelism cannot change across a restore",
            snapshot.max_parallelism, info.max_parallelism
        )));
    }
    let range =
        KeyGroupRange::for_operator(info.max_parallelism, info.parallelism, info.subtask_index);
    let mut groups = Vec::new();
    for state in &snapshot.states {
        if state.name != STATE_NAME {
            return Err(Error::state(format!(
                "aggregate state: unknown state '{}' in the snapshot; it holds only '{STATE_NAME}'",
                state.name
            )));
        }
        let with_positions = match state.value_type.as_str() {
            VALUE_TYPE => true,
            VALUE_TYPE_V1 => false,
            other => {
                return Err(Error::state(format!(
                    "aggregate state '{STATE_NAME}' holds values of type {other}, not this \
                     operator's group table ({VALUE_TYPE}); the checkpoint is of another \
                     operator: give this one a new uid"
                )));
            }
        };
        for (&key_group, bytes) in &state.key_groups {
            if !range.contains(key_group) {
                continue;
            }
            let cannot_decode = |e: postcard::Error| {
                Error::state(format!(
                    "aggregate state: key group {key_group} cannot be decoded: {e}"
                ))
            };
            if with_positions {
                let decoded: Vec<SnapshotWindow> =
                    postcard::from_bytes(bytes).map_err(cannot_decode)?;
                for SnapshotWindow {
                    window,
                    groups: window_groups,
                } in decoded
                {
                    let mut position = 0u32;
                    for group in window_groups {
                        position = position.checked_add(group.step).ok_or_else(|| {
                            Error::state(format!(
                                "aggregate state: key group {key_group} holds a group past \
                                 position {} of window {window}; the state is damaged",
                                u32::MAX
                            ))
                        })?;
                        groups.push(SnapshotGroup {
                            window,
                            position,
                            key: group.key,
                            values: group.values,
                        });
                    }
                }
            } else {
                let decoded: Vec<SnapshotGroupV1> =
                    postcard::from_bytes(bytes).map_err(cannot_decode)?;
                // Without positions, the groups keep the order they were written in.
                groups.extend(decoded.into_iter().map(|group| SnapshotGroup {
                    window: group.window,
                    position: 0,
                    key: group.key,
                    values: group.values,
                }));
            }
        }
    }
    // Stable: groups of the same position (from different subtasks, or v1) keep their order.
    groups.sort_by_key(|group| (group.window, group.position));
    Ok(groups)
}

impl SnapshotGroup {
    /// The group's key, as the group table takes it back.
    pub(crate) fn restored_key(&self) -> RestoredKey<'_> {
        match &self.key {
            SnapshotKey::Null => RestoredKey::Null,
            SnapshotKey::Int(value) => RestoredKey::Int(*value),
            SnapshotKey::Str(value) => RestoredKey::Str(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arrow::aggregate::AggregateKind;
    use crate::arrow::aggregate::plan::BoundAggregate;

    #[test]
    fn a_frozen_table_with_a_column_shorter_than_its_slots_fails_to_encode_naming_the_state() {
        let mut table = GroupTable::new(KeyType::Int64);
        let mut created = Vec::new();
        table.probe_restored(0, RestoredKey::Int(1), &mut created);
        table.probe_restored(0, RestoredKey::Int(2), &mut created);
        let mut column = AccumulatorColumn::new(BoundAggregate {
            kind: AggregateKind::Count,
            column: None,
        });
        column.grow(1);
        let frozen = FrozenAggregate {
            max_parallelism: 128,
            range: KeyGroupRange::for_operator(128, 1, 0),
            groups: table.freeze(),
            columns: vec![column.freeze()],
        };
        assert_eq!(
            frozen.encode().unwrap_err().to_string(),
            "internal error: cannot encode state 'groups': an accumulator column holds 1 slots, \
             the group table 2"
        );
    }
}
