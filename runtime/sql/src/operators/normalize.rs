//! [`SqlChangelogNormalizeOperator`]: Flink's `ChangelogNormalize`, which turns an upsert
//! stream (an `upsert-kafka` table's records: `+U` of a key's new row, `-D` of its key) into
//! a full changelog by keeping each key's last row:
//! - a key's first row is `+I`;
//! - a new row for a key is `-U` of the kept row and `+U` of the new one; a row equal to the
//!   kept one changes nothing (Flink drops it when state TTL is off, its default);
//! - a deletion is `-D` of the kept row, whose columns the tombstone lacks; a deletion of a
//!   key without a row changes nothing.
//!
//! Its input batches hold the table's columns, then the binary key (the PRIMARY KEY's columns
//! in Arrow's row format; the stream is keyed by it), then the row kind. In batch mode each
//! key's last row is emitted once, as an insert, at the end of input.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int8Type;
use arrow_array::{ArrayRef, Int8Array, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use datafusion_common::arrow::row::{RowConverter, Rows, SortField};
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::{CheckpointId, Error, Result, RuntimeMode};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, StreamBatch, TaskInfo};

use super::keyed_state::{self, BinaryRowsState, FrozenBinaryRows, StateKind};
use crate::render::RowKind;

/// The state in a checkpoint: each key's last row, by key group, a row per key with the
/// binary key (the bytes the stream is keyed by) and the row in Arrow's row format; the
/// layout names the column types.
const STATE: BinaryRowsState = BinaryRowsState {
    kind: StateKind {
        name: "normalized-rows",
        value_type: "flinkrs sql changelog normalize rows v1 (arrow ipc)",
        owner: "this ChangelogNormalize's",
    },
    layout_key: "flinkrs.normalize-layout",
    columns: &["$key", "row"],
};

/// What the operator normalizes, fixed when the job is built.
#[derive(Debug)]
pub(crate) struct NormalizeSpec {
    /// The table's columns (without the key and the row kind the input adds).
    pub columns: SchemaRef,
    /// The columns, then the row kind in streaming mode.
    pub output: SchemaRef,
}

impl NormalizeSpec {
    /// The column types, as the checkpoint records them.
    pub(crate) fn layout(&self) -> String {
        let types: Vec<String> = self
            .columns
            .fields()
            .iter()
            .map(|field| field.data_type().to_string())
            .collect();
        format!("last row of [{}]", types.join(", "))
    }
}

pub(crate) struct SqlChangelogNormalizeOperator {
    spec: Arc<NormalizeSpec>,
    name: String,
    streaming: bool,
    converter: RowConverter,
    /// Each key's last row, in Arrow's row format.
    rows: HashMap<Box<[u8]>, Box<[u8]>>,
    /// The output being gathered: rows and their kinds.
    gathered: Rows,
    kinds: Vec<i8>,
    max_parallelism: usize,
    key_groups: KeyGroupRange,
}

impl SqlChangelogNormalizeOperator {
    pub(crate) fn new(spec: Arc<NormalizeSpec>, info: &TaskInfo) -> Result<Self> {
        let fields = spec
            .columns
            .fields()
            .iter()
            .map(|field| SortField::new(field.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields)
            .map_err(|e| Error::function(format!("ChangelogNormalize: {e}")))?;
        Ok(SqlChangelogNormalizeOperator {
            name: format!("{} ({})", info.operator_name, info.subtask_label()),
            streaming: info.config.runtime_mode() == RuntimeMode::Streaming,
            gathered: converter.empty_rows(0, 0),
            converter,
            spec,
            rows: HashMap::new(),
            kinds: Vec::new(),
            max_parallelism: info.max_parallelism,
            key_groups: KeyGroupRange::for_operator(
                info.max_parallelism,
                info.parallelism,
                info.subtask_index,
            ),
        })
    }

    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::function(format!("{}: {message}", self.name))
    }

    /// Applies the input's `rows`, keyed by `keys`, with their `kinds`; in streaming mode the
    /// changes are gathered.
    fn apply(&mut self, rows: &Rows, keys: &arrow_array::BinaryArray, kinds: &Int8Array) {
        let parser = self.converter.parser();
        for index in 0..rows.num_rows() {
            let key = keys.value(index);
            let row = rows.row(index);
            match RowKind::from_code(kinds.value(index)) {
                RowKind::Delete => {
                    if let Some(kept) = self.rows.remove(key)
                        && self.streaming
                    {
                        self.gathered.push(parser.parse(&kept));
                        self.kinds.push(RowKind::Delete.code());
                    }
                }
                // An upsert stream has none; a retraction is followed by its new row.
                RowKind::UpdateBefore => {}
                RowKind::Insert | RowKind::UpdateAfter => match self.rows.get_mut(key) {
                    None => {
                        self.rows.insert(key.into(), row.as_ref().into());
                        if self.streaming {
                            self.gathered.push(row);
                            self.kinds.push(RowKind::Insert.code());
                        }
                    }
                    Some(kept) if kept[..] == *row.as_ref() => {}
                    Some(kept) => {
                        if self.streaming {
                            self.gathered.push(parser.parse(kept));
                            self.kinds.push(RowKind::UpdateBefore.code());
                            self.gathered.push(row);
                            self.kinds.push(RowKind::UpdateAfter.code());
                        }
                        *kept = row.as_ref().into();
                    }
                },
            }
        }
    }

    /// Emits the gathered rows as one batch.
    fn flush(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.gathered.num_rows() == 0 {
            return Ok(());
        }
        let rows = self.gathered.num_rows();
        let mut columns: Vec<ArrayRef> = self
            .converter
            .convert_rows(&self.gathered)
            .map_err(|e| self.error(e))?;
        self.gathered.clear();
        let kinds = std::mem::take(&mut self.kinds);
        if self.streaming {
            columns.push(Arc::new(Int8Array::from(kinds)));
        }
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.spec.output),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| self.error(e))?;
        out.push_batch(&mut ArrowBatch::new(batch))
    }
}

impl Operator<ArrowBatch, ArrowBatch> for SqlChangelogNormalizeOperator {
    fn initialize_state(
        &mut self,
        _info: &TaskInfo,
        state: Option<OperatorSnapshot>,
    ) -> Result<()> {
        let Some(keyed) = state.and_then(|state| state.keyed) else {
            return Ok(());
        };
        let layout = self.spec.layout();
        keyed_state::restore_binary_rows(
            &keyed,
            self.key_groups,
            self.max_parallelism,
            &self.name,
            STATE,
            &layout,
            |values| {
                self.rows.insert(values[0].into(), values[1].into());
            },
        )
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        let frozen = FrozenBinaryRows {
            state: STATE,
            max_parallelism: self.max_parallelism,
            range: self.key_groups,
            operator: self.name.clone(),
            layout: self.spec.layout(),
            rows: self
                .rows
                .iter()
                .map(|(key, row)| vec![key.clone(), row.clone()])
                .collect(),
        };
        Ok(frozen.into_operator_snapshot())
    }

    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch = batch.record_batch().clone();
        let width = self.spec.columns.fields().len();
        let columns = batch.columns();
        let (Some(keys), Some(kinds)) = (
            columns.get(width).and_then(|c| c.as_binary_opt::<i32>()),
            columns
                .get(width + 1)
                .and_then(|c| c.as_primitive_opt::<Int8Type>()),
        ) else {
            return Err(self.error("its input lacks the key and row kind columns"));
        };
        let rows = self
            .converter
            .convert_columns(&columns[..width])
            .map_err(|e| self.error(e))?;
        self.apply(&rows, keys, kinds);
        self.flush(out)
    }

    fn end_input(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.streaming {
            return Ok(());
        }
        let rows: Vec<Box<[u8]>> = std::mem::take(&mut self.rows).into_values().collect();
        for chunk in rows.chunks(8192) {
            let parser = self.converter.parser();
            for row in chunk {
                self.gathered.push(parser.parse(row));
            }
            self.flush(out)?;
        }
        Ok(())
    }
}
