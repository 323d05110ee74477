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

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int64Type, UInt32Type};
use arrow_array::{ArrayRef, BinaryArray, Int8Array, Int64Array, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field};
use flinkrs_core::Result;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_state::{FrozenState, KeyedStateSnapshot, StateSnapshot};

use super::join::{JoinSpec, LEFT, RIGHT, StoredRow};
use super::keyed_state::{self, StateKind};

pub(crate) const STATE_NAME: &str = "join-rows";

/// The descriptor of the layout above.
pub(crate) const VALUE_TYPE: &str = "flinkrs sql join rows v1 (arrow ipc)";

const KIND: StateKind = StateKind {
    name: STATE_NAME,
    value_type: VALUE_TYPE,
    owner: "this SQL join's",
};

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

    fn encode_key_group(&self, rows: &[&SavedJoinRow]) -> std::result::Result<RecordBatch, String> {
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
        keyed_state::batch(state_fields(), metadata, columns)
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
        keyed_state::encode_by_key_group(
            KIND,
            &self.operator,
            self.max_parallelism,
            self.range,
            &self.rows,
            |row| &row.key,
            |rows| self.encode_key_group(rows),
        )
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
    keyed_state::read_key_groups(
        snapshot,
        range,
        max_parallelism,
        operator,
        &[KIND],
        &[],
        |_, _, batch| {
            let written = batch.schema().metadata().get(LAYOUT).cloned();
            if written.as_deref() != Some(layout) {
                return Err(format!(
                    "it holds rows of {}, this query joins {layout}; the checkpoint is of \
                     another query",
                    written.as_deref().unwrap_or("an unknown layout")
                ));
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
                return Err("its columns are not the join's state layout".into());
            };
            for index in 0..batch.num_rows() {
                let side = match sides.value(index) {
                    0 => LEFT,
                    1 => RIGHT,
                    other => return Err(format!("a row has side {other}")),
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
            Ok(())
        },
    )
}
