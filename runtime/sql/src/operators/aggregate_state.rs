//! The SQL aggregate's state in a checkpoint: its groups, by key group, so that a restore at
//! another parallelism takes exactly the groups of its own key groups.
//!
//! One keyed state, `groups`. Each key group's bytes are an Arrow IPC stream of one batch, a
//! row per group: the binary group key (the bytes the stream is keyed by), the group
//! columns, for a streaming group aggregate whether and what it last emitted, then each
//! aggregate's accumulator state as DataFusion's `Accumulator::state` gives it. A restore
//! makes fresh accumulators and hands them that state with `merge_batch`, as DataFusion's
//! two-phase aggregation does.
//!
//! The synchronous phase ([`SavedGroup`]s, taken by the operator) asks every accumulator for
//! its state: O(groups), since DataFusion's accumulators cannot be frozen copy-on-write. The
//! asynchronous phase ([`FrozenGroups::encode`]) builds the Arrow columns and the IPC bytes,
//! off the task thread.
//!
//! A second keyed state, `watermark`, holds the subtask's watermark in each of its key groups
//! (eight bytes each), so that whichever subtask takes a key group back after a rescale knows
//! which windows fired: a restored window aggregate keeps dropping the rows of windows that
//! fired before the checkpoint, as the uninterrupted run does.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, BooleanArray, RecordBatch};
use arrow_schema::Field;
use datafusion_common::ScalarValue;
use flinkrs_core::key_group::{KeyGroupRange, key_group_for_hash};
use flinkrs_core::key_hash::key_hash_bytes;
use flinkrs_core::{Error, Result};
use flinkrs_dataflow::{OperatorSnapshot, TaskInfo};
use flinkrs_state::{FrozenState, KeyedStateSnapshot, StateSnapshot};

use super::keyed_state::{self, StateKind};

pub(crate) const STATE_NAME: &str = "groups";

const WATERMARK_STATE: &str = "watermark";
const WATERMARK_TYPE: &str = "i64 le";

/// The descriptor of the layout above.
pub(crate) const VALUE_TYPE: &str = "flinkrs sql aggregate groups v1 (arrow ipc)";

const KIND: StateKind = StateKind {
    name: STATE_NAME,
    value_type: VALUE_TYPE,
    owner: "this SQL aggregate's",
};

/// Schema metadata: the number of state columns of each aggregate, comma-separated.
const STATE_WIDTHS: &str = "flinkrs.state-widths";

/// One group as the synchronous phase saved it.
pub(crate) struct SavedGroup {
    pub key: Box<[u8]>,
    pub values: Vec<ScalarValue>,
    /// For a streaming group aggregate: whether it has emitted, and the values it emitted
    /// (or placeholders of the right types when it has not).
    pub emitted: Option<(bool, Vec<ScalarValue>)>,
    /// Per aggregate, its accumulator's state.
    pub states: Vec<Vec<ScalarValue>>,
}

/// A subtask of a SQL aggregate, as its checkpoints know it: its operator's name (for
/// errors) and the key groups whose groups it holds.
pub(crate) struct GroupsScope {
    pub name: String,
    pub max_parallelism: usize,
    pub key_groups: KeyGroupRange,
}

impl GroupsScope {
    pub(crate) fn of(info: &TaskInfo) -> GroupsScope {
        GroupsScope {
            name: format!("{} ({})", info.operator_name, info.subtask_label()),
            max_parallelism: info.max_parallelism,
            key_groups: KeyGroupRange::for_operator(
                info.max_parallelism,
                info.parallelism,
                info.subtask_index,
            ),
        }
    }

    /// The subtask's snapshot: its groups, saved now and encoded off the task thread, and its
    /// watermark.
    pub(crate) fn snapshot(&self, groups: Vec<SavedGroup>, watermark: i64) -> OperatorSnapshot {
        let frozen = FrozenGroups {
            max_parallelism: self.max_parallelism,
            range: self.key_groups,
            operator: self.name.clone(),
            groups,
            watermark,
        };
        OperatorSnapshot {
            keyed: Some(frozen.into_snapshot()),
            operator_state: Vec::new(),
        }
    }

    /// What the subtask takes back of `state` (nothing on a fresh start), checked against
    /// `group_count` group columns and `aggregates` aggregates.
    pub(crate) fn restore(
        &self,
        state: Option<OperatorSnapshot>,
        group_count: usize,
        aggregates: usize,
    ) -> Result<Option<Restored>> {
        let Some(keyed) = state.and_then(|state| state.keyed) else {
            return Ok(None);
        };
        restore(
            &keyed,
            self.key_groups,
            self.max_parallelism,
            &self.name,
            group_count,
            aggregates,
        )
        .map(Some)
    }
}

/// The key group of a binary group key: the same the partitioner computed for its rows.
pub(crate) fn key_group_of(key: &[u8], max_parallelism: usize) -> usize {
    key_group_for_hash(key_hash_bytes(key), max_parallelism)
}

/// A subtask's groups, saved at a checkpoint's synchronous phase, encoded when the snapshot
/// is materialized.
pub(crate) struct FrozenGroups {
    pub max_parallelism: usize,
    pub range: KeyGroupRange,
    pub operator: String,
    pub groups: Vec<SavedGroup>,
    pub watermark: i64,
}

impl FrozenGroups {
    pub(crate) fn into_snapshot(self) -> KeyedStateSnapshot {
        let watermark = StateSnapshot {
            name: WATERMARK_STATE.to_owned(),
            value_type: WATERMARK_TYPE.to_owned(),
            key_groups: (self.range.start..=self.range.end)
                .map(|key_group| (key_group, self.watermark.to_le_bytes().to_vec()))
                .collect(),
        };
        KeyedStateSnapshot::with_frozen(self.max_parallelism, vec![watermark], vec![Arc::new(self)])
    }

    fn encode_key_group(&self, groups: &[&SavedGroup]) -> std::result::Result<RecordBatch, String> {
        let Some(first) = groups.first() else {
            return Err("a key group without groups".into());
        };
        let mut fields = Vec::new();
        let mut columns: Vec<ArrayRef> = Vec::new();
        let mut push = |name: String, array: ArrayRef| {
            fields.push(Field::new(name, array.data_type().clone(), true));
            columns.push(array);
        };
        push(
            "$key".into(),
            Arc::new(BinaryArray::from_iter_values(
                groups.iter().map(|group| &group.key[..]),
            )),
        );
        let scalars = |column: &dyn Fn(&SavedGroup) -> &ScalarValue| {
            ScalarValue::iter_to_array(groups.iter().map(|group| column(group).clone()))
                .map_err(|e| e.to_string())
        };
        for index in 0..first.values.len() {
            push(format!("group{index}"), scalars(&|g| &g.values[index])?);
        }
        if let Some((_, emitted)) = &first.emitted {
            let flags = groups
                .iter()
                .map(|group| group.emitted.as_ref().map(|(flag, _)| *flag))
                .collect::<Option<Vec<bool>>>()
                .ok_or("groups differ in whether they track emitted values")?;
            push("$emitted".into(), Arc::new(BooleanArray::from(flags)));
            for index in 0..emitted.len() {
                let values = groups
                    .iter()
                    .map(|group| {
                        group
                            .emitted
                            .as_ref()
                            .and_then(|(_, values)| values.get(index).cloned())
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or("groups differ in their emitted values' count")?;
                let array = ScalarValue::iter_to_array(values).map_err(|e| e.to_string())?;
                push(format!("emitted{index}"), array);
            }
        }
        let mut widths = Vec::with_capacity(first.states.len());
        for (aggregate, state) in first.states.iter().enumerate() {
            widths.push(state.len().to_string());
            for index in 0..state.len() {
                let values = groups
                    .iter()
                    .map(|group| {
                        group
                            .states
                            .get(aggregate)
                            .and_then(|state| state.get(index).cloned())
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or("groups differ in their accumulators' state")?;
                let array = ScalarValue::iter_to_array(values).map_err(|e| e.to_string())?;
                push(format!("state{aggregate}_{index}"), array);
            }
        }
        let metadata = [(STATE_WIDTHS.to_owned(), widths.join(","))].into();
        keyed_state::batch(fields, metadata, columns)
    }
}

impl FrozenState for FrozenGroups {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        keyed_state::encode_by_key_group(
            KIND,
            &self.operator,
            self.max_parallelism,
            self.range,
            &self.groups,
            |group| &group.key,
            |groups| self.encode_key_group(groups),
        )
    }
}

/// What a subtask restores: its key groups' groups, and the lowest watermark among them.
pub(crate) struct Restored {
    pub groups: Vec<RestoredGroups>,
    pub watermark: Option<i64>,
}

/// A restored key group's groups: one batch laid out as above, and each aggregate's state
/// columns.
pub(crate) struct RestoredGroups {
    pub batch: RecordBatch,
    /// Where the emitted columns start (after `$emitted`), for a group aggregate that tracks
    /// them.
    pub emitted: Option<usize>,
    /// Per aggregate, the range of its state columns.
    pub states: Vec<std::ops::Range<usize>>,
}

/// The groups of this subtask's key groups in `snapshot`. `operator` names the operator in
/// errors; `group_count` and `aggregates` are what the restoring operator computes, checked
/// against what the checkpoint holds.
pub(crate) fn restore(
    snapshot: &KeyedStateSnapshot,
    range: KeyGroupRange,
    max_parallelism: usize,
    operator: &str,
    group_count: usize,
    aggregates: usize,
) -> Result<Restored> {
    let mut restored = Vec::new();
    keyed_state::read_key_groups(
        snapshot,
        range,
        max_parallelism,
        operator,
        &[KIND],
        &[WATERMARK_STATE],
        |_, _, batch| {
            restored.push(layout(batch, group_count, aggregates)?);
            Ok(())
        },
    )?;
    let mut watermark = None::<i64>;
    for state in &snapshot.states {
        if state.name != WATERMARK_STATE {
            continue;
        }
        if state.value_type != WATERMARK_TYPE {
            return Err(Error::state(format!(
                "{operator}: the checkpoint holds state '{}' of type '{}', not this SQL \
                 aggregate's '{WATERMARK_STATE}' ({WATERMARK_TYPE}); the checkpoint is of \
                 another job or query",
                state.name, state.value_type
            )));
        }
        for (&key_group, bytes) in &state.key_groups {
            if !range.contains(key_group) {
                continue;
            }
            let bytes: [u8; 8] = bytes.as_slice().try_into().map_err(|_| {
                Error::state(format!(
                    "{operator}: the watermark of key group {key_group} has {} bytes, not \
                     8; the state is damaged",
                    bytes.len()
                ))
            })?;
            let value = i64::from_le_bytes(bytes);
            watermark = Some(watermark.map_or(value, |lowest| lowest.min(value)));
        }
    }
    Ok(Restored {
        groups: restored,
        watermark,
    })
}

/// Checks a restored batch against the operator and finds its columns.
fn layout(
    batch: RecordBatch,
    group_count: usize,
    aggregates: usize,
) -> std::result::Result<RestoredGroups, String> {
    let schema = batch.schema();
    let widths: Vec<usize> = schema
        .metadata()
        .get(STATE_WIDTHS)
        .ok_or("it has no accumulator state layout")?
        .split(',')
        .filter(|width| !width.is_empty())
        .map(|width| width.parse::<usize>().map_err(|e| e.to_string()))
        .collect::<std::result::Result<_, _>>()?;
    if widths.len() != aggregates {
        return Err(format!(
            "it holds {} aggregates, the query computes {aggregates}; the checkpoint is of \
             another query",
            widths.len()
        ));
    }
    let emitted = schema.index_of("$emitted").ok().map(|flag| flag + 1);
    let mut next = 1 + group_count;
    if let Some(start) = emitted {
        if start != next + 1 {
            return Err(format!(
                "it holds {} group columns, the query groups by {group_count}",
                start.saturating_sub(2)
            ));
        }
        next = start + aggregates;
    }
    let mut states = Vec::with_capacity(aggregates);
    for width in widths {
        states.push(next..next + width);
        next += width;
    }
    if next != batch.num_columns() {
        return Err(format!(
            "it holds {} columns, this query's groups {next}; the checkpoint is of another \
             query",
            batch.num_columns()
        ));
    }
    Ok(RestoredGroups {
        batch,
        emitted,
        states,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> KeyedStateSnapshot {
        let range = KeyGroupRange::for_operator(128, 1, 0);
        let mut snapshot = FrozenGroups {
            max_parallelism: 128,
            range,
            operator: "GroupAggregate (1/1)".into(),
            groups: vec![SavedGroup {
                key: b"k".to_vec().into(),
                values: vec![ScalarValue::Int32(Some(7))],
                emitted: Some((true, vec![ScalarValue::Int64(Some(2))])),
                states: vec![vec![ScalarValue::Int64(Some(2))]],
            }],
            watermark: 42,
        }
        .into_snapshot();
        snapshot.materialize().unwrap();
        snapshot
    }

    #[test]
    fn groups_and_watermark_come_back_from_their_key_group() {
        let restored = restore(
            &snapshot(),
            KeyGroupRange::for_operator(128, 1, 0),
            128,
            "GroupAggregate (1/1)",
            1,
            1,
        )
        .unwrap();
        assert_eq!(restored.watermark, Some(42));
        assert_eq!(restored.groups.len(), 1);
        assert_eq!(restored.groups[0].emitted, Some(3));
        assert_eq!(restored.groups[0].states, vec![4..5]);
        assert_eq!(restored.groups[0].batch.num_rows(), 1);
    }

    #[test]
    fn a_checkpoint_of_another_query_or_max_parallelism_is_a_clear_error() {
        let range = KeyGroupRange::for_operator(128, 1, 0);
        let error = restore(&snapshot(), range, 128, "GroupAggregate (1/1)", 1, 2)
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "state: GroupAggregate (1/1): key group 16 of its state cannot be restored: it \
             holds 1 aggregates, the query computes 2; the checkpoint is of another query"
        );
        let error = restore(&snapshot(), range, 256, "GroupAggregate (1/1)", 1, 1)
            .err()
            .unwrap();
        assert!(
            error
                .to_string()
                .contains("the max parallelism cannot change across a restore"),
            "{error}"
        );
    }
}
