//! [`GroupAggregateOperator`]: the keyed aggregation of Arrow batches, per key or per key and
//! tumbling window.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, RecordBatch, TimestampMillisecondArray};
use arrow_schema::DataType;
use flinkrs_core::{CheckpointId, Error, Result, RuntimeMode, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, StreamBatch, TaskInfo};

use super::accumulators::{AccumulatorColumn, CHUNK, SKIP};
use super::plan::AggregatePlan;
use super::snapshot;
use super::table::{GroupTable, KeyColumn};
use crate::arrow::operators::with_rowtime;

pub(crate) struct GroupAggregateOperator {
    plan: Arc<AggregatePlan>,
    info: TaskInfo,
    table: GroupTable,
    accumulators: Vec<AccumulatorColumn>,
    /// Each row's slot, for the batch being processed.
    slots: Vec<u32>,
    /// Slots of the groups the current batch created.
    created: Vec<u32>,
    watermark: i64,
    /// A group aggregate in streaming mode emits the new values of the groups a batch
    /// changed; in batch mode it emits every group once, at the end of input.
    emit_updates: bool,
    /// The groups the current batch changed, in the order it first changed them.
    touched: Vec<u32>,
    touched_in: Vec<u64>,
    /// Raised by each pass that marks `touched_in` or `chunk_listed_in`.
    batch_number: u64,
    /// After a checkpoint, the accumulator chunks the current batch writes, each once, and for
    /// each chunk the last batch that listed it.
    written_chunks: Vec<u32>,
    chunk_listed_in: Vec<u64>,
    /// The slots of a window being fired.
    firing: Vec<u32>,
    late_rows_dropped: u64,
}

impl GroupAggregateOperator {
    pub(crate) fn new(plan: Arc<AggregatePlan>, info: &TaskInfo) -> Self {
        let windowed = plan.window.is_some();
        GroupAggregateOperator {
            table: GroupTable::new(plan.key_type),
            accumulators: plan
                .aggregates
                .iter()
                .map(|&aggregate| AccumulatorColumn::new(aggregate))
                .collect(),
            slots: Vec::new(),
            created: Vec::new(),
            watermark: i64::MIN,
            emit_updates: !windowed && info.config.runtime_mode() == RuntimeMode::Streaming,
            touched: Vec::new(),
            touched_in: Vec::new(),
            batch_number: 0,
            written_chunks: Vec::new(),
            chunk_listed_in: Vec::new(),
            firing: Vec::new(),
            late_rows_dropped: 0,
            info: info.clone(),
            plan,
        }
    }

    /// Rows dropped because their window had fired already.
    #[cfg(test)]
    pub(crate) fn late_rows_dropped(&self) -> u64 {
        self.late_rows_dropped
    }

    /// Every group, window by window in creation order: its window, key and values.
    #[cfg(test)]
    pub(crate) fn groups(&self) -> Vec<(i64, snapshot::SnapshotKey, Vec<Option<i64>>)> {
        self.table
            .live_slots()
            .map(|slot| {
                let group = self.table.key(slot);
                let key = match (group.null, self.table.string_key(slot)) {
                    (true, _) => snapshot::SnapshotKey::Null,
                    (false, Some(string)) => snapshot::SnapshotKey::Str(string.to_owned()),
                    (false, None) => snapshot::SnapshotKey::Int(group.key),
                };
                let values = self.accumulators.iter().map(|a| a.get(slot)).collect();
                (group.window, key, values)
            })
            .collect()
    }

    /// Sets up the accumulators of the groups created since the last call.
    fn init_created(&mut self) {
        if self.created.is_empty() {
            return;
        }
        let capacity = self.table.capacity();
        for accumulator in &mut self.accumulators {
            accumulator.grow(capacity);
            for &slot in &self.created {
                accumulator.reset(slot);
            }
        }
        if self.touched_in.len() < capacity {
            self.touched_in.resize(capacity, 0);
        }
        for &slot in &self.created {
            self.touched_in[slot as usize] = 0;
        }
        self.created.clear();
    }

    /// Maps each row of `batch` to its group's slot in `self.slots`.
    fn assign_slots(&mut self, batch: &RecordBatch) -> Result<()> {
        let rows = batch.num_rows();
        self.slots.clear();
        self.slots.reserve(rows);
        let key_column = batch.column(self.plan.key);
        let keys = KeyColumn::new(key_column, self.plan.key_type);
        let Some((window, rowtime)) = self.plan.window else {
            self.table
                .probe_rows(0, &keys, 0..rows, &mut self.slots, &mut self.created);
            self.init_created();
            return Ok(());
        };
        let times = rowtime_values(batch.column(rowtime))?;
        // Rows of a batch mostly share a window: probe each run of rows of one window at once.
        let mut row = 0;
        while row < rows {
            let start = window.start_of(times[row]);
            let end = start.saturating_add(window.size);
            let run_end = times[row..]
                .iter()
                .position(|&time| time < start || time >= end)
                .map_or(rows, |offset| row + offset);
            if window.max_timestamp(start) <= self.watermark {
                self.late_rows_dropped += (run_end - row) as u64;
                self.slots.resize(self.slots.len() + run_end - row, SKIP);
            } else {
                self.table.probe_rows(
                    start,
                    &keys,
                    row..run_end,
                    &mut self.slots,
                    &mut self.created,
                );
            }
            row = run_end;
        }
        self.init_created();
        Ok(())
    }

    /// The output rows of the groups in `slots`, in order, all of the window starting at
    /// `start` (0 for a group aggregate, which has no window columns).
    fn output(&self, slots: &[u32], start: i64) -> Result<ArrowBatch> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.plan.output.fields().len());
        columns.push(self.table.key_array(slots));
        if let Some((window, _)) = self.plan.window {
            let rows = slots.len();
            for time in [
                start,
                start.saturating_add(window.size),
                window.max_timestamp(start),
            ] {
                columns.push(Arc::new(TimestampMillisecondArray::from_value(time, rows)));
            }
        }
        for accumulator in &self.accumulators {
            columns.push(accumulator.array(slots));
        }
        let batch = RecordBatch::try_new(Arc::clone(&self.plan.output), columns)
            .map_err(|e| Error::function(format!("{}: {e}", self.info.operator_name)))?;
        with_rowtime(batch, self.plan.output_rowtime)
    }

    /// Takes back, once per batch, the accumulator chunks a checkpoint shares and the batch's
    /// rows write, so that the update loops find every chunk they write owned. Nothing to do
    /// while no chunk is shared.
    fn own_written_chunks(&mut self) {
        if !self
            .accumulators
            .iter()
            .any(AccumulatorColumn::has_shared_chunks)
        {
            return;
        }
        self.batch_number += 1;
        let chunks = self.table.capacity().div_ceil(CHUNK);
        if self.chunk_listed_in.len() < chunks {
            self.chunk_listed_in.resize(chunks, 0);
        }
        self.written_chunks.clear();
        for &slot in &self.slots {
            if slot == SKIP {
                continue;
            }
            let chunk = slot as usize / CHUNK;
            let mark = &mut self.chunk_listed_in[chunk];
            if *mark != self.batch_number {
                *mark = self.batch_number;
                self.written_chunks.push(chunk as u32);
            }
        }
        for accumulator in &mut self.accumulators {
            accumulator.own_chunks(&self.written_chunks);
        }
    }

    fn emit_touched(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        self.batch_number += 1;
        self.touched.clear();
        for &slot in &self.slots {
            let mark = &mut self.touched_in[slot as usize];
            if *mark != self.batch_number {
                *mark = self.batch_number;
                self.touched.push(slot);
            }
        }
        if self.touched.is_empty() {
            return Ok(());
        }
        let mut batch = self.output(&self.touched, 0)?;
        out.push_batch(&mut batch)
    }

    /// Emits and drops every window whose last timestamp the watermark has reached.
    fn fire_windows(&mut self, watermark: i64, out: &mut Output<ArrowBatch>) -> Result<()> {
        let Some((window, _)) = self.plan.window else {
            return Ok(());
        };
        while let Some(start) = self.table.first_window() {
            if window.max_timestamp(start) > watermark {
                break;
            }
            self.firing.clear();
            self.table.window_slots(start, &mut self.firing);
            let mut batch = self.output(&self.firing, start)?;
            self.table.remove_window(start);
            out.push_batch(&mut batch)?;
        }
        Ok(())
    }
}

/// The epoch milliseconds of a rowtime column.
fn rowtime_values(column: &ArrayRef) -> Result<&[i64]> {
    match column.data_type() {
        DataType::Int64 => Ok(column.as_primitive::<Int64Type>().values()),
        DataType::Timestamp(_, _) if column.as_any().is::<TimestampMillisecondArray>() => {
            Ok(column.as_primitive::<TimestampMillisecondType>().values())
        }
        other => Err(Error::function(format!(
            "window aggregate: the rowtime column has type {other}, not Int64 or \
             Timestamp(Millisecond)"
        ))),
    }
}

impl Operator<ArrowBatch, ArrowBatch> for GroupAggregateOperator {
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        let Some(mut keyed) = state.and_then(|state| state.keyed) else {
            return Ok(());
        };
        // A snapshot taken in this process may still hold its frozen groups.
        keyed.materialize()?;
        for group in snapshot::restore(&keyed, info)? {
            let slot =
                self.table
                    .probe_restored(group.window, group.restored_key(), &mut self.created);
            self.init_created();
            for (accumulator, value) in self.accumulators.iter_mut().zip(&group.values) {
                accumulator.set(slot, *value);
            }
        }
        Ok(())
    }

    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let record_batch = batch.record_batch();
        self.assign_slots(record_batch)?;
        self.own_written_chunks();
        for accumulator in &mut self.accumulators {
            accumulator.update(record_batch, &self.slots);
        }
        if self.emit_updates {
            self.emit_touched(out)?;
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        self.fire_windows(watermark.0, out)?;
        self.watermark = self.watermark.max(watermark.0);
        out.emit_watermark(watermark)
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        Ok(OperatorSnapshot {
            keyed: Some(snapshot::take(
                &mut self.table,
                &mut self.accumulators,
                &self.info,
            )),
            operator_state: Vec::new(),
        })
    }

    fn end_input(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.plan.window.is_some() || self.emit_updates {
            return Ok(());
        }
        let slots: Vec<u32> = self.table.live_slots().collect();
        if slots.is_empty() {
            return Ok(());
        }
        let mut batch = self.output(&slots, 0)?;
        out.push_batch(&mut batch)
    }

    fn close(&mut self) -> Result<()> {
        if self.late_rows_dropped > 0 {
            tracing::info!(
                operator = %self.info.operator_name,
                subtask = %self.info.subtask_label(),
                dropped = self.late_rows_dropped,
                "late rows dropped: their window had fired"
            );
        }
        Ok(())
    }
}
