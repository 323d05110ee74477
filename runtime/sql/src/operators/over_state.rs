//! The OVER aggregate's state in a checkpoint, by key group (through [`super::keyed_state`]),
//! so that a restore at another parallelism takes exactly the partitions of its key groups.
//!
//! Two keyed states:
//! - `over-rows`: a row per stored row: the binary partition key, the row's sort key and
//!   order value, whether it still waits for the watermark (or is in a bounded frame), and
//!   the row in Arrow's row format;
//! - `over-partitions`: a row per partition: its key, the order value it last emitted, and
//!   (for an unbounded frame) each aggregate's accumulator state as DataFusion's
//!   `Accumulator::state` gives it. A bounded frame's accumulators are rebuilt from its rows.
//!
//! The schemas' metadata name the stored column types, so that a checkpoint of another
//! query is a clear error.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, BinaryArray, BooleanArray, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field};
use datafusion_common::ScalarValue;
use flinkrs_core::Result;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_state::{FrozenState, KeyedStateSnapshot, StateSnapshot};

use super::keyed_state::{self, StateKind};

const ROWS: StateKind = StateKind {
    name: "over-rows",
    value_type: "flinkrs sql over rows v1 (arrow ipc)",
    owner: "this OVER aggregate's",
};

const PARTITIONS: StateKind = StateKind {
    name: "over-partitions",
    value_type: "flinkrs sql over partitions v1 (arrow ipc)",
    owner: "this OVER aggregate's",
};

const LAYOUT: &str = "flinkrs.over-layout";

/// A stored row as the synchronous phase saved it.
pub(crate) struct SavedRow {
    pub key: Box<[u8]>,
    pub sort: Box<[u8]>,
    pub order: i64,
    pub pending: bool,
    pub row: Box<[u8]>,
}

/// A partition as the synchronous phase saved it.
pub(crate) struct SavedPartition {
    pub key: Box<[u8]>,
    pub last_fired: i64,
    /// Per aggregate, its accumulator's state (unbounded frames only, else empty).
    pub states: Vec<Vec<ScalarValue>>,
}

struct Saved {
    max_parallelism: usize,
    range: KeyGroupRange,
    operator: String,
    layout: String,
    rows: Vec<SavedRow>,
    partitions: Vec<SavedPartition>,
}

struct FrozenRows(Arc<Saved>);
struct FrozenPartitions(Arc<Saved>);

/// The snapshot of a subtask's OVER aggregate, encoded when it is materialized.
pub(crate) fn snapshot(
    max_parallelism: usize,
    range: KeyGroupRange,
    operator: String,
    layout: String,
    rows: Vec<SavedRow>,
    partitions: Vec<SavedPartition>,
) -> KeyedStateSnapshot {
    let saved = Arc::new(Saved {
        max_parallelism,
        range,
        operator,
        layout,
        rows,
        partitions,
    });
    KeyedStateSnapshot::with_frozen(
        max_parallelism,
        Vec::new(),
        vec![
            Arc::new(FrozenRows(Arc::clone(&saved))),
            Arc::new(FrozenPartitions(saved)),
        ],
    )
}

impl FrozenState for FrozenRows {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        let saved = &self.0;
        keyed_state::encode_by_key_group(
            ROWS,
            &saved.operator,
            saved.max_parallelism,
            saved.range,
            &saved.rows,
            |row| &row.key,
            |rows| {
                let columns: Vec<ArrayRef> = vec![
                    Arc::new(BinaryArray::from_iter_values(
                        rows.iter().map(|r| &r.key[..]),
                    )),
                    Arc::new(BinaryArray::from_iter_values(
                        rows.iter().map(|r| &r.sort[..]),
                    )),
                    Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.order))),
                    Arc::new(BooleanArray::from(
                        rows.iter().map(|r| r.pending).collect::<Vec<_>>(),
                    )),
                    Arc::new(BinaryArray::from_iter_values(
                        rows.iter().map(|r| &r.row[..]),
                    )),
                ];
                let fields = vec![
                    Field::new("$key", DataType::Binary, false),
                    Field::new("sort", DataType::Binary, false),
                    Field::new("order", DataType::Int64, false),
                    Field::new("pending", DataType::Boolean, false),
                    Field::new("row", DataType::Binary, false),
                ];
                let metadata = [(LAYOUT.to_owned(), saved.layout.clone())].into();
                keyed_state::batch(fields, metadata, columns)
            },
        )
    }
}

impl FrozenState for FrozenPartitions {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        let saved = &self.0;
        keyed_state::encode_by_key_group(
            PARTITIONS,
            &saved.operator,
            saved.max_parallelism,
            saved.range,
            &saved.partitions,
            |partition| &partition.key,
            |partitions| {
                let mut fields = vec![
                    Field::new("$key", DataType::Binary, false),
                    Field::new("last_fired", DataType::Int64, false),
                ];
                let mut columns: Vec<ArrayRef> = vec![
                    Arc::new(BinaryArray::from_iter_values(
                        partitions.iter().map(|p| &p.key[..]),
                    )),
                    Arc::new(Int64Array::from_iter_values(
                        partitions.iter().map(|p| p.last_fired),
                    )),
                ];
                let first = partitions.first().ok_or("a key group without partitions")?;
                let mut widths = Vec::new();
                for (aggregate, state) in first.states.iter().enumerate() {
                    widths.push(state.len().to_string());
                    for index in 0..state.len() {
                        let values = partitions
                            .iter()
                            .map(|p| p.states.get(aggregate).and_then(|s| s.get(index)).cloned())
                            .collect::<Option<Vec<_>>>()
                            .ok_or("partitions differ in their accumulators' state")?;
                        let array =
                            ScalarValue::iter_to_array(values).map_err(|e| e.to_string())?;
                        fields.push(Field::new(
                            format!("state{aggregate}_{index}"),
                            array.data_type().clone(),
                            true,
                        ));
                        columns.push(array);
                    }
                }
                let metadata = [
                    (LAYOUT.to_owned(), saved.layout.clone()),
                    ("flinkrs.state-widths".to_owned(), widths.join(",")),
                ]
                .into();
                keyed_state::batch(fields, metadata, columns)
            },
        )
    }
}

/// What a restore hands the operator.
pub(crate) enum Restored<'a> {
    Row(SavedRow),
    /// A partition: its key, last emitted order value, and a batch whose columns from 2 on
    /// are its accumulators' states (`widths` columns each) at row `row`.
    Partition {
        key: &'a [u8],
        last_fired: i64,
        batch: &'a RecordBatch,
        row: usize,
        widths: &'a [usize],
    },
}

/// Hands `restore` each stored row and partition of this subtask's key groups.
pub(crate) fn restore(
    snapshot: &KeyedStateSnapshot,
    range: KeyGroupRange,
    max_parallelism: usize,
    operator: &str,
    layout: &str,
    mut restore: impl FnMut(Restored<'_>) -> std::result::Result<(), String>,
) -> Result<()> {
    keyed_state::read_key_groups(
        snapshot,
        range,
        max_parallelism,
        operator,
        &[ROWS, PARTITIONS],
        &[],
        |kind, _, batch| {
            let metadata = batch.schema().metadata().clone();
            let written = metadata.get(LAYOUT);
            if written.map(String::as_str) != Some(layout) {
                return Err(format!(
                    "it holds rows of {}, this query aggregates {layout}; the checkpoint is of \
                     another query",
                    written.map_or("an unknown layout", String::as_str)
                ));
            }
            let columns = batch.columns();
            let keys = columns
                .first()
                .and_then(|c| c.as_binary_opt::<i32>())
                .ok_or("its first column is not the partition key")?;
            if kind.name == ROWS.name {
                let (Some(sorts), Some(orders), Some(pending), Some(rows)) = (
                    columns.get(1).and_then(|c| c.as_binary_opt::<i32>()),
                    columns
                        .get(2)
                        .and_then(|c| c.as_primitive_opt::<Int64Type>()),
                    columns.get(3).and_then(|c| c.as_boolean_opt()),
                    columns.get(4).and_then(|c| c.as_binary_opt::<i32>()),
                ) else {
                    return Err("its columns are not the OVER aggregate's row layout".into());
                };
                for index in 0..batch.num_rows() {
                    restore(Restored::Row(SavedRow {
                        key: keys.value(index).into(),
                        sort: sorts.value(index).into(),
                        order: orders.value(index),
                        pending: pending.value(index),
                        row: rows.value(index).into(),
                    }))?;
                }
                return Ok(());
            }
            let last_fired = columns
                .get(1)
                .and_then(|c| c.as_primitive_opt::<Int64Type>())
                .ok_or("its columns are not the OVER aggregate's partition layout")?;
            let widths: Vec<usize> = metadata
                .get("flinkrs.state-widths")
                .ok_or("it has no accumulator state layout")?
                .split(',')
                .filter(|width| !width.is_empty())
                .map(|width| width.parse::<usize>().map_err(|e| e.to_string()))
                .collect::<std::result::Result<_, _>>()?;
            if 2 + widths.iter().sum::<usize>() != batch.num_columns() {
                return Err("its accumulator state columns do not add up".into());
            }
            for index in 0..batch.num_rows() {
                restore(Restored::Partition {
                    key: keys.value(index),
                    last_fired: last_fired.value(index),
                    batch: &batch,
                    row: index,
                    widths: &widths,
                })?;
            }
            Ok(())
        },
    )
}
