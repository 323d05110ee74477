//! What the SQL operators' checkpointed state has in common: a keyed state whose key groups
//! each hold an Arrow IPC stream of one batch, a row per stored item, the item's binary key
//! (the bytes the stream is keyed by) in the first column.
//!
//! [`encode_by_key_group`] groups an operator's saved items by the key group of their key and
//! writes each group's batch; [`read_key_groups`] checks a checkpoint against the restoring
//! operator (its max parallelism, the state's name and type) and hands over the batches of the
//! key groups in the subtask's range. Errors name the operator, so that a restore of the wrong
//! checkpoint says which operator refused it and why.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_ipc::reader::StreamReader;
use arrow_ipc::writer::StreamWriter;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::{Error, Result};
use flinkrs_state::{KeyedStateSnapshot, StateSnapshot};

use super::aggregate_state::key_group_of;

/// A keyed state of a SQL operator: its name, the descriptor of its layout, and what the
/// operator is called in an error ("this SQL join's").
#[derive(Clone, Copy, Debug)]
pub(crate) struct StateKind {
    pub name: &'static str,
    pub value_type: &'static str,
    pub owner: &'static str,
}

impl StateKind {
    fn matches(&self, state: &StateSnapshot) -> bool {
        state.name == self.name && state.value_type == self.value_type
    }
}

/// The Arrow IPC bytes of one batch.
pub(crate) fn ipc_bytes(batch: &RecordBatch) -> std::result::Result<Vec<u8>, String> {
    let mut writer =
        StreamWriter::try_new(Vec::new(), &batch.schema()).map_err(|e| e.to_string())?;
    writer.write(batch).map_err(|e| e.to_string())?;
    writer.into_inner().map_err(|e| e.to_string())
}

/// The state `kind` of `items`: each item goes to the key group of `key(item)`, and each key
/// group's items become one batch, `encode(items)`, stored as Arrow IPC bytes. An item of a
/// key group outside `range` is an error: the snapshot would overlap another subtask's.
pub(crate) fn encode_by_key_group<'a, T>(
    kind: StateKind,
    operator: &str,
    max_parallelism: usize,
    range: KeyGroupRange,
    items: impl IntoIterator<Item = &'a T>,
    key: impl Fn(&T) -> &[u8],
    encode: impl Fn(&[&T]) -> std::result::Result<RecordBatch, String>,
) -> flinkrs_state::Result<StateSnapshot>
where
    T: 'a,
{
    let mut by_key_group: BTreeMap<usize, Vec<&T>> = BTreeMap::new();
    for item in items {
        let key_group = key_group_of(key(item), max_parallelism);
        if !range.contains(key_group) {
            return Err(flinkrs_state::Error::KeyGroupOutOfRange {
                name: kind.name.to_owned(),
                key_group,
                range,
            });
        }
        by_key_group.entry(key_group).or_default().push(item);
    }
    let mut key_groups = BTreeMap::new();
    for (key_group, items) in by_key_group {
        let bytes = encode(&items)
            .and_then(|batch| ipc_bytes(&batch))
            .map_err(|problem| flinkrs_state::Error::FrozenStateInconsistent {
                name: kind.name.to_owned(),
                problem: format!("{operator}: {problem}"),
            })?;
        key_groups.insert(key_group, bytes);
    }
    Ok(StateSnapshot {
        name: kind.name.to_owned(),
        value_type: kind.value_type.to_owned(),
        key_groups,
    })
}

/// Checks that `snapshot` was written with the job's max parallelism.
pub(crate) fn check_max_parallelism(
    snapshot: &KeyedStateSnapshot,
    max_parallelism: usize,
    operator: &str,
) -> Result<()> {
    if snapshot.max_parallelism != max_parallelism {
        return Err(Error::state(format!(
            "{operator}: its state was written with max parallelism {}, but the job runs with \
             {max_parallelism}; the max parallelism cannot change across a restore",
            snapshot.max_parallelism
        )));
    }
    Ok(())
}

/// The error of a key group whose bytes cannot be restored.
pub(crate) fn damaged(operator: &str, key_group: usize, problem: impl std::fmt::Display) -> Error {
    Error::state(format!(
        "{operator}: key group {key_group} of its state cannot be restored: {problem}"
    ))
}

/// Hands `each(key_group, batch)` every batch of the states `kinds` in this subtask's key
/// groups (`range`) of `snapshot`, after checking its max parallelism. A state named in
/// `also` is left to the caller; any other state is a checkpoint of another job or query.
/// An `Err` of `each` is reported as the key group's damage.
pub(crate) fn read_key_groups(
    snapshot: &KeyedStateSnapshot,
    range: KeyGroupRange,
    max_parallelism: usize,
    operator: &str,
    kinds: &[StateKind],
    also: &[&str],
    mut each: impl FnMut(StateKind, usize, RecordBatch) -> std::result::Result<(), String>,
) -> Result<()> {
    check_max_parallelism(snapshot, max_parallelism, operator)?;
    for state in &snapshot.states {
        if also.contains(&state.name.as_str()) {
            continue;
        }
        let Some(&kind) = kinds.iter().find(|kind| kind.matches(state)) else {
            let Some(first) = kinds.first() else {
                continue;
            };
            return Err(Error::state(format!(
                "{operator}: the checkpoint holds state '{}' of type '{}', not {} '{}' ({}); \
                 the checkpoint is of another job or query",
                state.name, state.value_type, first.owner, first.name, first.value_type
            )));
        };
        for (&key_group, bytes) in &state.key_groups {
            if !range.contains(key_group) {
                continue;
            }
            let reader = StreamReader::try_new(Cursor::new(bytes), None)
                .map_err(|e| damaged(operator, key_group, e))?;
            for batch in reader {
                let batch = batch.map_err(|e| damaged(operator, key_group, e))?;
                each(kind, key_group, batch).map_err(|e| damaged(operator, key_group, e))?;
            }
        }
    }
    Ok(())
}

/// The state's batches share one schema: a shorthand for building it.
pub(crate) fn batch(
    fields: Vec<arrow_schema::Field>,
    metadata: std::collections::HashMap<String, String>,
    columns: Vec<arrow_array::ArrayRef>,
) -> std::result::Result<RecordBatch, String> {
    let schema = Arc::new(arrow_schema::Schema::new_with_metadata(fields, metadata));
    RecordBatch::try_new(schema, columns).map_err(|e| e.to_string())
}

/// A keyed state whose rows are binary columns, the first the key a row is kept under, and
/// whose schema metadata holds the operator's layout (its column types), so that a restore
/// of another query's checkpoint is refused: the Top-N's kept rows, the changelog
/// normalizer's last rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BinaryRowsState {
    pub kind: StateKind,
    /// The metadata key of the layout.
    pub layout_key: &'static str,
    /// The columns' names, the key's first.
    pub columns: &'static [&'static str],
}

/// A subtask's rows of a [`BinaryRowsState`], saved at a checkpoint's synchronous phase;
/// each row holds one value per column.
pub(crate) struct FrozenBinaryRows {
    pub state: BinaryRowsState,
    pub max_parallelism: usize,
    pub range: KeyGroupRange,
    pub operator: String,
    pub layout: String,
    pub rows: Vec<Vec<Box<[u8]>>>,
}

impl FrozenBinaryRows {
    pub(crate) fn into_operator_snapshot(self) -> flinkrs_dataflow::OperatorSnapshot {
        flinkrs_dataflow::OperatorSnapshot {
            keyed: Some(KeyedStateSnapshot::with_frozen(
                self.max_parallelism,
                Vec::new(),
                vec![Arc::new(self)],
            )),
            operator_state: Vec::new(),
        }
    }

    fn encode_key_group(
        &self,
        rows: &[&Vec<Box<[u8]>>],
    ) -> std::result::Result<RecordBatch, String> {
        let columns: Vec<arrow_array::ArrayRef> = (0..self.state.columns.len())
            .map(|column| {
                Arc::new(arrow_array::BinaryArray::from_iter_values(
                    rows.iter().map(|row| &row[column][..]),
                )) as arrow_array::ArrayRef
            })
            .collect();
        let fields = self
            .state
            .columns
            .iter()
            .map(|name| arrow_schema::Field::new(*name, arrow_schema::DataType::Binary, false))
            .collect();
        let metadata = [(self.state.layout_key.to_owned(), self.layout.clone())].into();
        batch(fields, metadata, columns)
    }
}

impl flinkrs_state::FrozenState for FrozenBinaryRows {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        encode_by_key_group(
            self.state.kind,
            &self.operator,
            self.max_parallelism,
            self.range,
            &self.rows,
            |row| &row[0],
            |rows| self.encode_key_group(rows),
        )
    }
}

/// Hands `restore` the values of each row of `state` in this subtask's key groups (`range`)
/// of `snapshot`, one per column, after checking the layout against `layout`.
pub(crate) fn restore_binary_rows(
    snapshot: &KeyedStateSnapshot,
    range: KeyGroupRange,
    max_parallelism: usize,
    operator: &str,
    state: BinaryRowsState,
    layout: &str,
    mut restore: impl FnMut(&[&[u8]]),
) -> Result<()> {
    read_key_groups(
        snapshot,
        range,
        max_parallelism,
        operator,
        &[state.kind],
        &[],
        |_, _, batch| {
            let written = batch.schema().metadata().get(state.layout_key).cloned();
            if written.as_deref() != Some(layout) {
                return Err(format!(
                    "it holds {}, this query keeps {layout}; the checkpoint is of another \
                     query",
                    written.as_deref().unwrap_or("an unknown layout")
                ));
            }
            use arrow_array::cast::AsArray;
            let columns: Option<Vec<&arrow_array::BinaryArray>> = (0..state.columns.len())
                .map(|column| batch.columns().get(column)?.as_binary_opt::<i32>())
                .collect();
            let Some(columns) = columns else {
                return Err(format!(
                    "its columns are not {} state layout",
                    state.kind.owner
                ));
            };
            let mut values: Vec<&[u8]> = Vec::with_capacity(columns.len());
            for row in 0..batch.num_rows() {
                values.clear();
                values.extend(columns.iter().map(|column| column.value(row)));
                restore(&values);
            }
            Ok(())
        },
    )
}
