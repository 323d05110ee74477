//! The rank operator's state in a checkpoint: each partition's kept rows, by key group.
//!
//! One keyed state, `ranked-rows`. Each key group's bytes are an Arrow IPC stream of one
//! batch, a row per kept row: the binary partition key (the bytes the stream is keyed by),
//! the row's sort key and the row, both in Arrow's row format. The schema's metadata names
//! the column types and `N`, so that a checkpoint of another query is a clear error.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, BinaryArray, RecordBatch};
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Field, Schema};
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::{Error, Result};
use flinkrs_state::{FrozenState, KeyedStateSnapshot, StateSnapshot};

use super::aggregate_state::key_group_of;
use super::rank::Ranked;

const STATE_NAME: &str = "ranked-rows";
const VALUE_TYPE: &str = "flinkrs sql rank rows v1 (arrow ipc)";
const LAYOUT: &str = "flinkrs.rank-layout";

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

    fn encode_key_group(&self, rows: &[&PartitionRow]) -> std::result::Result<Vec<u8>, String> {
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
        let schema = Arc::new(Schema::new_with_metadata(fields, metadata));
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| e.to_string())?;
        let mut writer = StreamWriter::try_new(Vec::new(), &schema).map_err(|e| e.to_string())?;
        writer.write(&batch).map_err(|e| e.to_string())?;
        writer.into_inner().map_err(|e| e.to_string())
    }
}

impl FrozenState for FrozenRanks {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        let mut by_key_group: BTreeMap<usize, Vec<&PartitionRow>> = BTreeMap::new();
        for row in &self.rows {
            let key_group = key_group_of(&row.0, self.max_parallelism);
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

/// Hands `restore(partition, row)` each kept row of this subtask's key groups.
pub(crate) fn restore(
    snapshot: &KeyedStateSnapshot,
    range: KeyGroupRange,
    max_parallelism: usize,
    operator: &str,
    layout: &str,
    mut restore: impl FnMut(&[u8], Ranked),
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
                "{operator}: the checkpoint holds state '{}' of type '{}', not this Top-N's \
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
                        "it holds {}, this query keeps {layout}; the checkpoint is of another \
                         query",
                        written.as_deref().unwrap_or("an unknown layout")
                    )));
                }
                let columns = batch.columns();
                let (Some(keys), Some(sorts), Some(rows)) = (
                    columns.first().and_then(|c| c.as_binary_opt::<i32>()),
                    columns.get(1).and_then(|c| c.as_binary_opt::<i32>()),
                    columns.get(2).and_then(|c| c.as_binary_opt::<i32>()),
                ) else {
                    return Err(damaged(
                        "its columns are not the Top-N's state layout".into(),
                    ));
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
            }
        }
    }
    Ok(())
}
