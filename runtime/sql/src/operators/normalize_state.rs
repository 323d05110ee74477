//! The changelog normalizer's state in a checkpoint: each key's last row, by key group.
//!
//! One keyed state, `normalized-rows`. Each key group's bytes are an Arrow IPC stream of one
//! batch, a row per key: the binary key (the bytes the stream is keyed by) and the row in
//! Arrow's row format. The schema's metadata names the column types, so that a checkpoint of
//! another query is a clear error.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, BinaryArray, RecordBatch};
use arrow_schema::{DataType, Field};
use flinkrs_core::Result;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_state::{FrozenState, KeyedStateSnapshot, StateSnapshot};

use super::keyed_state::{self, StateKind};

const LAYOUT: &str = "flinkrs.normalize-layout";

const KIND: StateKind = StateKind {
    name: "normalized-rows",
    value_type: "flinkrs sql changelog normalize rows v1 (arrow ipc)",
    owner: "this ChangelogNormalize's",
};

/// A key and its last row.
pub(crate) type KeyRow = (Box<[u8]>, Box<[u8]>);

/// A subtask's rows, saved at a checkpoint's synchronous phase.
pub(crate) struct FrozenRows {
    pub max_parallelism: usize,
    pub range: KeyGroupRange,
    pub operator: String,
    pub layout: String,
    pub rows: Vec<KeyRow>,
}

impl FrozenRows {
    pub(crate) fn into_snapshot(self) -> KeyedStateSnapshot {
        KeyedStateSnapshot::with_frozen(self.max_parallelism, Vec::new(), vec![Arc::new(self)])
    }

    fn encode_key_group(&self, rows: &[&KeyRow]) -> std::result::Result<RecordBatch, String> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(BinaryArray::from_iter_values(
                rows.iter().map(|(key, _)| &key[..]),
            )),
            Arc::new(BinaryArray::from_iter_values(
                rows.iter().map(|(_, row)| &row[..]),
            )),
        ];
        let fields = ["$key", "row"]
            .map(|name| Field::new(name, DataType::Binary, false))
            .to_vec();
        let metadata = [(LAYOUT.to_owned(), self.layout.clone())].into();
        keyed_state::batch(fields, metadata, columns)
    }
}

impl FrozenState for FrozenRows {
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

/// Hands `restore(key, row)` each key's row of this subtask's key groups.
pub(crate) fn restore(
    snapshot: &KeyedStateSnapshot,
    range: KeyGroupRange,
    max_parallelism: usize,
    operator: &str,
    layout: &str,
    mut restore: impl FnMut(&[u8], &[u8]),
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
            let (Some(keys), Some(rows)) = (
                columns.first().and_then(|c| c.as_binary_opt::<i32>()),
                columns.get(1).and_then(|c| c.as_binary_opt::<i32>()),
            ) else {
                return Err("its columns are not the ChangelogNormalize's state layout".into());
            };
            for index in 0..batch.num_rows() {
                restore(keys.value(index), rows.value(index));
            }
            Ok(())
        },
    )
}
