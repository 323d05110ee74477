//! The aggregate operator's state in a checkpoint: its groups, by key group, so that a
//! restore at another parallelism takes exactly the groups of its own key groups.
//!
//! One state, `groups`. Each key group's bytes are a postcard-encoded `Vec<SnapshotGroup>`.

use std::collections::BTreeMap;

use flinkrs_core::key_group::{KeyGroupRange, key_group_for_hash};
use flinkrs_core::key_hash::{key_hash, key_hash_i64, key_hash_str};
use flinkrs_core::{Error, Result};
use flinkrs_dataflow::TaskInfo;
use flinkrs_state::{KeyedStateSnapshot, StateSnapshot};
use serde::{Deserialize, Serialize};

use super::accumulators::AccumulatorColumn;
use super::table::{GroupKey, GroupTable, RestoredKey};

const STATE_NAME: &str = "groups";

/// A group's key as stored: the value itself, not an interned id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SnapshotKey {
    Null,
    Int(i64),
    Str(String),
}

/// One group: its window's start, its key and its aggregates' values.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SnapshotGroup {
    pub window: i64,
    pub key: SnapshotKey,
    pub values: Vec<Option<i64>>,
}

impl SnapshotKey {
    /// The stable key hash, the same the partitioner computed for the row
    /// ([`ArrowKeyHash`](flinkrs_dataflow::batch::ArrowKeyHash)).
    fn hash(&self) -> i32 {
        match self {
            SnapshotKey::Null => key_hash(&None::<()>),
            SnapshotKey::Int(value) => key_hash_i64(*value),
            SnapshotKey::Str(value) => key_hash_str(value),
        }
    }
}

/// Every group of `table`, by key group.
pub(crate) fn take(
    table: &GroupTable,
    accumulators: &[AccumulatorColumn],
    info: &TaskInfo,
) -> Result<KeyedStateSnapshot> {
    let mut by_key_group: BTreeMap<usize, Vec<SnapshotGroup>> = BTreeMap::new();
    for slot in table.live_slots() {
        let GroupKey { window, key, null } = table.key(slot);
        let key = match (null, table.string_key(slot)) {
            (true, _) => SnapshotKey::Null,
            (false, Some(string)) => SnapshotKey::Str(string.to_owned()),
            (false, None) => SnapshotKey::Int(key),
        };
        let key_group = key_group_for_hash(key.hash(), info.max_parallelism);
        by_key_group
            .entry(key_group)
            .or_default()
            .push(SnapshotGroup {
                window,
                key,
                values: accumulators.iter().map(|a| a.get(slot)).collect(),
            });
    }
    let mut key_groups = BTreeMap::new();
    for (key_group, groups) in by_key_group {
        let bytes = postcard::to_allocvec(&groups)
            .map_err(|e| Error::state(format!("aggregate state: cannot encode: {e}")))?;
        key_groups.insert(key_group, bytes);
    }
    Ok(KeyedStateSnapshot::new(
        info.max_parallelism,
        vec![StateSnapshot {
            name: STATE_NAME.to_owned(),
            value_type: VALUE_TYPE.to_owned(),
            key_groups,
        }],
    ))
}

/// The descriptor of the group table's layout in snapshots.
const VALUE_TYPE: &str = "flinkrs arrow aggregate groups v1";

/// The groups of this subtask's key groups in `snapshot`.
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
        if state.value_type != VALUE_TYPE {
            return Err(Error::state(format!(
                "aggregate state '{STATE_NAME}' holds values of type {}, not this operator's \
                 group table ({VALUE_TYPE}); the checkpoint is of another operator: give this \
                 one a new uid",
                state.value_type
            )));
        }
        for (&key_group, bytes) in &state.key_groups {
            if !range.contains(key_group) {
                continue;
            }
            let decoded: Vec<SnapshotGroup> = postcard::from_bytes(bytes).map_err(|e| {
                Error::state(format!(
                    "aggregate state: key group {key_group} cannot be decoded: {e}"
                ))
            })?;
            groups.extend(decoded);
        }
    }
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
