//! The rank operator's state in a checkpoint: each partition's kept rows, by key group.
//!
//! One keyed state, `ranked-rows`. Each key group's bytes are an Arrow IPC stream of one
//! batch, a row per kept row: the binary partition key (the bytes the stream is keyed by),
//! the row's sort key and the row, both in Arrow's row format. The schema's metadata names
//! the column types and `N`, so that a checkpoint of another query is a clear error.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, BinaryArray, RecordBatch};
use arrow_schema::{DataType, Field};
use flinkrs_core::Result;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_state::{FrozenState, KeyedStateSnapshot, StateSnapshot};

use super::keyed_state::{self, StateKind};
use super::rank::Ranked;

const STATE_NAME: &str = "ranked-rows";
const VALUE_TYPE: &str = "flinkrs sql rank rows v1 (arrow ipc)";
const LAYOUT: &str = "flinkrs.rank-layout";

const KIND: StateKind = StateKind {
    name: STATE_NAME,
    value_type: VALUE_TYPE,
    owner: "this Top-N's",
};

/// A kept row and the partition key it is kept under.
pub(crate) type PartitionRow = (Box<[u8]>, Ranked);

/// A subtask's kept rows, saved at a checkpoint's synchronous phase.
pub(crate) struct FrozenRanks {
    pub max_parallelism: usize,
    pub range: KeyGroupRange,
    pub operator: String,
    pub layout: String,
    pub rows: Vec<PartitionRow>,
}

impl FrozenRanks {
    pub(crate) fn into_snapshot(self) -> KeyedStateSnapshot {
        KeyedStateSnapshot::with_frozen(self.max_parallelism, Vec::new(), vec![Arc::new(self)])
    }

    fn encode_key_group(&self, rows: &[&PartitionRow]) -> std::result::Result<RecordBatch, String> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(BinaryArray::from_iter_values(
                rows.iter().map(|(key, _)| &key[..]),
            )),
            Arc::new(BinaryArray::from_iter_values(
                rows.iter().map(|(_, ranked)| &ranked.sort[..]),
            )),
            Arc::new(BinaryArray::from_iter_values(
                rows.iter().map(|(_, ranked)| &ranked.row[..]),
            )),
        ];
        let fields = ["$key", "sort", "row"]
            .map(|name| Field::new(name, DataType::Binary, false))
            .to_vec();
        let metadata = [(LAYOUT.to_owned(), self.layout.clone())].into();
        keyed_state::batch(fields, metadata, columns)
    }
}

impl FrozenState for FrozenRanks {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        keyed_state::encode_by_key_group(
            KIND,
            &self.operator,
            self.max_parallelism,
            self.range,
            &self.rows,
            |row| &row.0,
            |rows| self.encode_key_group(rows),
        )
    }
}

/// Hands `restore(partition, row)` each kept row of this subtask's key groups.
pub(crate) fn restore(
    snapshot: &KeyedStateSnapshot,
    range: KeyGroupRange,
    max_parallelism: usize,
    operator: &str,
    layout: &str,
    mut restore: impl FnMut(&[u8], Ranked),
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
                    "it holds {}, this query keeps {layout}; the checkpoint is of another \
                     query",
                    written.as_deref().unwrap_or("an unknown layout")
                ));
            }
            let columns = batch.columns();
            let (Some(keys), Some(sorts), Some(rows)) = (
                columns.first().and_then(|c| c.as_binary_opt::<i32>()),
                columns.get(1).and_then(|c| c.as_binary_opt::<i32>()),
                columns.get(2).and_then(|c| c.as_binary_opt::<i32>()),
            ) else {
                return Err("its columns are not the Top-N's state layout".into());
            };
            for index in 0..batch.num_rows() {
                restore(
                    keys.value(index),
                    Ranked {
                        sort: sorts.value(index).into(),
                        row: rows.value(index).into(),
                    },
                );
            }
            Ok(())
        },
    )
}
