//! The SQL join's state in a checkpoint: both sides' rows, by key group, so that a restore
//! at another parallelism takes exactly the rows of its own key groups.
//!
//! One keyed state, `join-rows`. Each key group's bytes are an Arrow IPC stream of one
//! batch, a row per distinct stored row: the binary join key (the bytes the stream is keyed
//! by), the side (0 left, 1 right), the row in Arrow's row format for its side, how many
//! times it is held, with how many rows of the other side it joins, and (for an interval
//! join) its time. The schema's
//! metadata names the column types of both sides, so that a checkpoint of another query is
//! a clear error rather than rows decoded as the wrong types.
//!
//! The synchronous phase copies the rows (O(rows), as the aggregate's state does); the
//! asynchronous phase ([`FrozenJoinRows::encode`]) builds the columns and the IPC bytes off
//! the task thread.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int64Type, UInt32Type};
use arrow_array::{ArrayRef, BinaryArray, Int8Array, Int64Array, RecordBatch, UInt32Array};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::{Error, Result};
use flinkrs_state::{FrozenState, KeyedStateSnapshot, StateSnapshot};

use super::aggregate_state::key_group_of;
use super::join::{JoinSpec, LEFT, RIGHT, StoredRow};

pub(crate) const STATE_NAME: &str = "join-rows";

/// The descriptor of the layout above.
pub(crate) const VALUE_TYPE: &str = "flinkrs sql join rows v1 (arrow ipc)";

/// Schema metadata: the column types of both sides.
const LAYOUT: &str = "flinkrs.join-layout";

/// The column types of both sides of `spec`, as the checkpoint records them.
pub(crate) fn layout(spec: &JoinSpec) -> String {
    let side = |side: usize| {
        spec.sides[side]
            .fields()
            .iter()
            .map(|field| field.data_type().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("left: [{}]; right: [{}]", side(LEFT), side(RIGHT))
}

/// One stored row as the synchronous phase saved it.
pub(crate) struct SavedJoinRow {
    pub key: Box<[u8]>,
    pub side: i8,
    pub row: StoredRow,
}

/// A subtask's join rows, saved at a checkpoint's synchronous phase, encoded when the
/// snapshot is materialized.
pub(crate) struct FrozenJoinRows {
    pub max_parallelism: usize,
    pub range: KeyGroupRange,
    pub operator: String,
    pub layout: String,
    pub rows: Vec<SavedJoinRow>,
}

impl FrozenJoinRows {
    pub(crate) fn into_snapshot(self) -> KeyedStateSnapshot {
        KeyedStateSnapshot::with_frozen(self.max_parallelism, Vec::new(), vec![Arc::new(self)])
    }

    fn encode_key_group(&self, rows: &[&SavedJoinRow]) -> std::result::Result<Vec<u8>, String> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(BinaryArray::from_iter_values(
                rows.iter().map(|row| &row.key[..]),
            )),
            Arc::new(Int8Array::from_iter_values(rows.iter().map(|row| row.side))),
            Arc::new(BinaryArray::from_iter_values(
                rows.iter().map(|row| &row.row.row[..]),
            )),
            Arc::new(UInt32Array::from_iter_values(
                rows.iter().map(|row| row.row.count),
            )),
            Arc::new(UInt32Array::from_iter_values(
                rows.iter().map(|row| row.row.associations),
            )),
            Arc::new(Int64Array::from_iter_values(
                rows.iter().map(|row| row.row.time),
            )),
        ];
        let metadata = [(LAYOUT.to_owned(), self.layout.clone())].into();
        let schema = Arc::new(Schema::new_with_metadata(state_fields(), metadata));
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| e.to_string())?;
        let mut writer = StreamWriter::try_new(Vec::new(), &schema).map_err(|e| e.to_string())?;
        writer.write(&batch).map_err(|e| e.to_string())?;
        writer.into_inner().map_err(|e| e.to_string())
    }
}

fn state_fields() -> Vec<Field> {
    vec![
        Field::new("$key", DataType::Binary, false),
        Field::new("side", DataType::Int8, false),
        Field::new("row", DataType::Binary, false),
        Field::new("count", DataType::UInt32, false),
        Field::new("associations", DataType::UInt32, false),
        Field::new("time", DataType::Int64, false),
    ]
}

impl FrozenState for FrozenJoinRows {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        let mut by_key_group: BTreeMap<usize, Vec<&SavedJoinRow>> = BTreeMap::new();
        for row in &self.rows {
            let key_group = key_group_of(&row.key, self.max_parallelism);
            // A row of another subtask's key group would make this snapshot overlap that
            // subtask's: fail here, where the cause is.
            if !self.range.contains(key_group) {
                return Err(flinkrs_state::Error::KeyGroupOutOfRange {
                    name: STATE_NAME.to_owned(),
                    key_group,
                    range: self.range,
                });
            }
            by_key_group.entry(key_group).or_default().push(row);
        }
        let mut key_groups = BTreeMap::new();
        for (key_group, rows) in by_key_group {
            let bytes = self.encode_key_group(&rows).map_err(|problem| {
                flinkrs_state::Error::FrozenStateInconsistent {
                    name: STATE_NAME.to_owned(),
                    problem: format!("{}: {problem}", self.operator),
                }
            })?;
            key_groups.insert(key_group, bytes);
        }
        Ok(StateSnapshot {
            name: STATE_NAME.to_owned(),
            value_type: VALUE_TYPE.to_owned(),
            key_groups,
        })
    }
}

/// Hands `restore(key, side, row)` each stored row of this subtask's key groups in
/// `snapshot`. `operator` names the operator in errors; `layout` is the restoring query's
/// ([`layout`]), checked against the checkpoint's.
pub(crate) fn restore(
    snapshot: &KeyedStateSnapshot,
    range: KeyGroupRange,
    max_parallelism: usize,
    operator: &str,
    layout: &str,
    mut restore: impl FnMut(&[u8], usize, StoredRow),
) -> Result<()> {
    if snapshot.max_parallelism != max_parallelism {
        return Err(Error::state(format!(
            "{operator}: its state was written with max parallelism {}, but the job runs with \
             {max_parallelism}; the max parallelism cannot change across a restore",
            snapshot.max_parallelism
        )));
    }
    for state in &snapshot.states {
        if state.name != STATE_NAME || state.value_type != VALUE_TYPE {
            return Err(Error::state(format!(
                "{operator}: the checkpoint holds state '{}' of type '{}', not this SQL join's \
                 '{STATE_NAME}' ({VALUE_TYPE}); the checkpoint is of another job or query",
                state.name, state.value_type
            )));
        }
        for (&key_group, bytes) in &state.key_groups {
            if !range.contains(key_group) {
                continue;
            }
            let damaged = |problem: String| {
                Error::state(format!(
                    "{operator}: key group {key_group} of its state cannot be restored: \
                     {problem}"
                ))
            };
            let reader = StreamReader::try_new(Cursor::new(bytes), None)
                .map_err(|e| damaged(e.to_string()))?;
            for batch in reader {
                let batch = batch.map_err(|e| damaged(e.to_string()))?;
                let written = batch.schema().metadata().get(LAYOUT).cloned();
                if written.as_deref() != Some(layout) {
                    return Err(damaged(format!(
                        "it holds rows of {}, this query joins {layout}; the checkpoint is of \
                         another query",
                        written.as_deref().unwrap_or("an unknown layout")
                    )));
                }
                let columns = batch.columns();
                let (
                    Some(keys),
                    Some(sides),
                    Some(rows),
                    Some(counts),
                    Some(associations),
                    Some(times),
                ) = (
                    columns.first().and_then(|c| c.as_binary_opt::<i32>()),
                    columns
                        .get(1)
                        .and_then(|c| c.as_primitive_opt::<Int8Type>()),
                    columns.get(2).and_then(|c| c.as_binary_opt::<i32>()),
                    columns
                        .get(3)
                        .and_then(|c| c.as_primitive_opt::<UInt32Type>()),
                    columns
                        .get(4)
                        .and_then(|c| c.as_primitive_opt::<UInt32Type>()),
                    columns
                        .get(5)
                        .and_then(|c| c.as_primitive_opt::<Int64Type>()),
                )
                else {
                    return Err(damaged(
                        "its columns are not the join's state layout".into(),
                    ));
                };
                for index in 0..batch.num_rows() {
                    let side = match sides.value(index) {
                        0 => LEFT,
                        1 => RIGHT,
                        other => return Err(damaged(format!("a row has side {other}"))),
                    };
                    restore(
                        keys.value(index),
                        side,
                        StoredRow {
                            row: rows.value(index).into(),
                            count: counts.value(index),
                            associations: associations.value(index),
                            time: times.value(index),
                        },
                    );
                }
            }
        }
    }
    Ok(())
}
