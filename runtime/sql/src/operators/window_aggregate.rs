//! [`WindowAggregateOperator`]: the tumbling-window aggregate, vectorized with DataFusion's
//! `GroupsAccumulator`s.
//!
//! Its input is laid out as the group aggregate's ([`super::aggregate`]): the group columns
//! (among them `window_end`), the aggregates' arguments, then the binary group key. Each
//! open window has its own groups: a hash table from group key to group index, the group
//! columns of each group, and one `GroupsAccumulator` per aggregate holding every group's
//! state in columns. A batch costs one hash probe per row and one `update_batch` per
//! aggregate and window over all the window's rows, as DataFusion's own hash aggregate does:
//! nothing is allocated per row or per group update. Aggregates without a vectorized
//! accumulator (`COUNT(DISTINCT …)`, Flink's integer `AVG`) run behind DataFusion's
//! `GroupsAccumulatorAdapter`, one row accumulator per group.
//!
//! A window fires, insert-only, when the watermark passes its end (or, over a
//! processing-time attribute, when the processing time reaches it), and its groups are
//! dropped; rows of a window that has fired are dropped, as Flink does without allowed
//! lateness. In batch mode every window fires at the end of input.
//!
//! A checkpoint holds the groups in the group aggregate's layout
//! ([`super::aggregate_state`]), so a restore at any parallelism takes back its key groups'
//! groups.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt32Array};
use arrow_schema::SchemaRef;
use datafusion_common::ScalarValue;
use datafusion_common::arrow::compute::{cast, concat, take};
use datafusion_expr::{EmitTo, GroupsAccumulator};
use datafusion_physical_expr::GroupsAccumulatorAdapter;
use flinkrs_core::{CheckpointId, Error, Result, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, StreamBatch, TaskInfo};
use foldhash::fast::FixedState;
use hashbrown::HashMap;

use super::aggregate::{AggregateCall, AggregateSpec};
use super::aggregate_state::{GroupsScope, RestoredGroups, SavedGroup};

/// The groups of one window.
struct WindowGroups {
    /// Group key → group index.
    index: HashMap<Box<[u8]>, usize, FixedState>,
    /// Per group index, its key.
    keys: Vec<Box<[u8]>>,
    /// The group columns of the groups, in group index order, in chunks as they came.
    values: Vec<Vec<ArrayRef>>,
    accumulators: Vec<Box<dyn GroupsAccumulator>>,
}

pub(crate) struct WindowAggregateOperator {
    spec: Arc<AggregateSpec>,
    /// The subtask, as checkpoints and errors name it.
    scope: GroupsScope,
    /// The window end column.
    window_end: usize,
    /// The open windows by their end (epoch milliseconds).
    windows: BTreeMap<i64, WindowGroups>,
    watermark: i64,
    late_rows_dropped: u64,
    /// Scratch, reused from batch to batch: per window of the batch, its rows.
    rows_by_window: Vec<(i64, Vec<u32>)>,
    /// Scratch: the group index of each row of one window.
    group_indices: Vec<usize>,
    /// Scratch: the rows that start a new group.
    new_group_rows: Vec<u32>,
}

/// Whether `spec` is a window aggregate this operator computes: one over an insert-only
/// input (a window aggregate's input is one).
pub(crate) fn computes(spec: &AggregateSpec) -> bool {
    spec.window_end.is_some() && spec.row_kind.is_none()
}

/// A fresh vectorized accumulator of `call`, or DataFusion's adapter over its row
/// accumulators where the function has none.
fn groups_accumulator(
    call: &AggregateCall,
    input: &SchemaRef,
) -> Result<Box<dyn GroupsAccumulator>> {
    let vectorized = call.with_arguments(input, |arguments| {
        call.function
            .groups_accumulator_supported(arguments.clone())
            .then(|| call.function.create_groups_accumulator(arguments))
    });
    if let Some(accumulator) = vectorized {
        return accumulator.map_err(|e| Error::function(format!("aggregate {}: {e}", call.name)));
    }
    // Checks that a row accumulator can be made before the adapter makes one per group.
    call.new_accumulator(input)?;
    let (call, input) = (call.clone(), Arc::clone(input));
    Ok(Box::new(GroupsAccumulatorAdapter::new(move || {
        call.new_accumulator(&input)
            .map_err(|e| datafusion_common::DataFusionError::Execution(e.to_string()))
    })))
}

impl WindowGroups {
    fn new(spec: &AggregateSpec) -> Result<WindowGroups> {
        Ok(WindowGroups {
            index: HashMap::default(),
            keys: Vec::new(),
            values: Vec::new(),
            accumulators: spec
                .aggregates
                .iter()
                .map(|call| groups_accumulator(call, &spec.input))
                .collect::<Result<_>>()?,
        })
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    /// The group columns of every group, as one array each.
    fn group_columns(&mut self, group_count: usize) -> Result<Vec<ArrayRef>> {
        if self.values.len() > 1 {
            let chunks = std::mem::take(&mut self.values);
            let joined = (0..group_count)
                .map(|column| {
                    let parts: Vec<&dyn Array> =
                        chunks.iter().map(|chunk| chunk[column].as_ref()).collect();
                    concat(&parts)
                })
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::function(format!("window aggregate: {e}")))?;
            self.values.push(joined);
        }
        Ok(self.values.first().cloned().unwrap_or_default())
    }
}

impl WindowAggregateOperator {
    pub(crate) fn new(spec: Arc<AggregateSpec>, info: &TaskInfo) -> Result<Self> {
        let window_end = spec
            .window_end
            .ok_or_else(|| Error::function("window aggregate: no window_end column"))?;
        Ok(WindowAggregateOperator {
            scope: GroupsScope::of(info),
            spec,
            window_end,
            windows: BTreeMap::new(),
            watermark: i64::MIN,
            late_rows_dropped: 0,
            rows_by_window: Vec::new(),
            group_indices: Vec::new(),
            new_group_rows: Vec::new(),
        })
    }

    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::function(format!("{}: {message}", self.scope.name))
    }

    /// Sorts the rows of `batch` by window, leaving out those of windows that fired.
    fn split_by_window(&mut self, batch: &RecordBatch) {
        for (_, rows) in &mut self.rows_by_window {
            rows.clear();
        }
        let ends = batch
            .column(self.window_end)
            .as_primitive::<TimestampMillisecondType>();
        let mut last: Option<(i64, usize)> = None;
        for row in 0..batch.num_rows() {
            let end = ends.value(row);
            if !self.spec.processing_time && end.saturating_sub(1) <= self.watermark {
                self.late_rows_dropped += 1;
                continue;
            }
            let slot = match last {
                Some((last_end, slot)) if last_end == end => slot,
                _ => {
                    let slot = match self.rows_by_window.iter().position(|(e, _)| *e == end) {
                        Some(slot) => slot,
                        None => match self.rows_by_window.iter().position(|(_, r)| r.is_empty()) {
                            Some(slot) => {
                                self.rows_by_window[slot].0 = end;
                                slot
                            }
                            None => {
                                self.rows_by_window.push((end, Vec::new()));
                                self.rows_by_window.len() - 1
                            }
                        },
                    };
                    last = Some((end, slot));
                    slot
                }
            };
            self.rows_by_window[slot].1.push(row as u32);
        }
    }

    /// Adds `rows` of `batch` (all of window `end`) to their groups.
    fn accumulate(&mut self, batch: &RecordBatch, end: i64, rows: &[u32]) -> Result<()> {
        let spec = Arc::clone(&self.spec);
        let window = match self.windows.entry(end) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                entry.insert(WindowGroups::new(&spec)?)
            }
        };
        // The whole batch, or the window's rows of it.
        let taken;
        let rows_batch = if rows.len() == batch.num_rows() {
            batch
        } else {
            let indices = UInt32Array::from(rows.to_vec());
            let columns = batch
                .columns()
                .iter()
                .map(|column| take(column, &indices, None))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::function(format!("window aggregate: {e}")))?;
            taken = RecordBatch::try_new(batch.schema(), columns)
                .map_err(|e| Error::function(format!("window aggregate: {e}")))?;
            &taken
        };
        let keys = rows_batch.column(spec.key_column).as_binary::<i32>();
        self.group_indices.clear();
        self.new_group_rows.clear();
        for row in 0..rows_batch.num_rows() {
            let key = keys.value(row);
            let group = match window.index.get(key) {
                Some(&group) => group,
                None => {
                    let group = window.keys.len();
                    window.keys.push(key.into());
                    window.index.insert(key.into(), group);
                    self.new_group_rows.push(row as u32);
                    group
                }
            };
            self.group_indices.push(group);
        }
        if !self.new_group_rows.is_empty() {
            let indices = UInt32Array::from(self.new_group_rows.clone());
            let values = (0..spec.group_count)
                .map(|column| take(rows_batch.column(column), &indices, None))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::function(format!("window aggregate: {e}")))?;
            window.values.push(values);
        }
        let groups = window.len();
        for (call, accumulator) in spec.aggregates.iter().zip(&mut window.accumulators) {
            let arguments: Vec<ArrayRef> = call
                .arguments
                .iter()
                .map(|&column| Arc::clone(rows_batch.column(column)))
                .collect();
            let filter = call
                .filter
                .map(|column| rows_batch.column(column).as_boolean().clone());
            accumulator
                .update_batch(
                    &arguments,
                    &self.group_indices,
                    filter.as_ref().map(|f: &BooleanArray| f as &BooleanArray),
                    groups,
                )
                .map_err(|e| Error::function(format!("aggregate {}: {e}", call.name)))?;
        }
        Ok(())
    }

    /// The output batch of a window's groups: the group columns, then each aggregate.
    fn window_output(&self, window: &mut WindowGroups) -> Result<ArrowBatch> {
        let schema = &self.spec.output;
        let mut columns = window.group_columns(self.spec.group_count)?;
        for accumulator in &mut window.accumulators {
            let values = accumulator
                .evaluate(EmitTo::All)
                .map_err(|e| self.error(e))?;
            columns.push(values);
        }
        for (index, column) in columns.iter_mut().enumerate() {
            let wanted = schema.field(index).data_type();
            if column.data_type() != wanted {
                *column = cast(column, wanted).map_err(|e| self.error(e))?;
            }
        }
        RecordBatch::try_new(Arc::clone(schema), columns)
            .map(ArrowBatch::new)
            .map_err(|e| self.error(e))
    }

    /// Emits the windows that end at or before `time + 1`, oldest first, and forgets them.
    fn fire_windows(&mut self, time: i64, out: &mut Output<ArrowBatch>) -> Result<()> {
        while let Some(entry) = self.windows.first_entry() {
            if entry.key().saturating_sub(1) > time {
                break;
            }
            let mut window = entry.remove();
            if window.len() == 0 {
                continue;
            }
            let mut batch = self.window_output(&mut window)?;
            out.push_batch(&mut batch)?;
        }
        Ok(())
    }
}

/// Checkpoints: the group aggregate's layout, a group per row.
impl WindowAggregateOperator {
    fn save_groups(&mut self) -> Result<Vec<SavedGroup>> {
        let group_count = self.spec.group_count;
        let mut saved = Vec::new();
        for window in self.windows.values_mut() {
            let groups = window.len();
            if groups == 0 {
                continue;
            }
            let values = window.group_columns(group_count)?;
            let all: Vec<usize> = (0..groups).collect();
            let mut states = Vec::with_capacity(window.accumulators.len());
            for accumulator in &mut window.accumulators {
                // `state` hands the groups' state over and resets the accumulator: it takes
                // it straight back.
                let state = accumulator
                    .state(EmitTo::All)
                    .map_err(|e| Error::function(format!("aggregate state: {e}")))?;
                accumulator
                    .merge_batch(&state, &all, groups)
                    .map_err(|e| Error::function(format!("aggregate state: {e}")))?;
                states.push(state);
            }
            let scalar = |array: &ArrayRef, row: usize| {
                ScalarValue::try_from_array(array, row)
                    .map_err(|e| Error::function(format!("aggregate state: {e}")))
            };
            for (group, key) in window.keys.iter().enumerate() {
                saved.push(SavedGroup {
                    key: key.clone(),
                    values: values
                        .iter()
                        .map(|column| scalar(column, group))
                        .collect::<Result<_>>()?,
                    emitted: None,
                    states: states
                        .iter()
                        .map(|state| {
                            state
                                .iter()
                                .map(|column| scalar(column, group))
                                .collect::<Result<_>>()
                        })
                        .collect::<Result<_>>()?,
                });
            }
        }
        Ok(saved)
    }

    /// Takes back the groups of one restored batch, window by window.
    fn restore_groups(&mut self, restored: &RestoredGroups) -> Result<()> {
        let batch = &restored.batch;
        let keys = batch.column(0).as_binary_opt::<i32>().ok_or_else(|| {
            self.error("the restored state's first column is not the binary group key")
        })?;
        // The restored batch's group columns start at 1, after the key.
        let ends = batch
            .column(1 + self.window_end)
            .as_primitive_opt::<TimestampMillisecondType>()
            .ok_or_else(|| self.error("the restored state's window_end is not a timestamp"))?;
        let mut by_window: BTreeMap<i64, Vec<u32>> = BTreeMap::new();
        for row in 0..batch.num_rows() {
            by_window
                .entry(ends.value(row))
                .or_default()
                .push(row as u32);
        }
        let spec = Arc::clone(&self.spec);
        for (end, rows) in by_window {
            let window = match self.windows.entry(end) {
                std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
                std::collections::btree_map::Entry::Vacant(entry) => {
                    entry.insert(WindowGroups::new(&spec)?)
                }
            };
            let first = window.len();
            for &row in &rows {
                let key: Box<[u8]> = keys.value(row as usize).into();
                if window.index.contains_key(&key) {
                    return Err(Error::function(format!(
                        "{}: the checkpoint holds the same group twice; the state is damaged",
                        self.scope.name
                    )));
                }
                window.index.insert(key.clone(), window.keys.len());
                window.keys.push(key);
            }
            let indices = UInt32Array::from(rows);
            let taken = |column: usize| {
                take(batch.column(column), &indices, None)
                    .map_err(|e| Error::function(format!("window aggregate restore: {e}")))
            };
            window.values.push(
                (1..=spec.group_count)
                    .map(taken)
                    .collect::<Result<Vec<_>>>()?,
            );
            let groups: Vec<usize> = (first..window.len()).collect();
            for ((call, accumulator), columns) in spec
                .aggregates
                .iter()
                .zip(&mut window.accumulators)
                .zip(&restored.states)
            {
                let state = columns.clone().map(taken).collect::<Result<Vec<_>>>()?;
                accumulator
                    .merge_batch(&state, &groups, window.keys.len())
                    .map_err(|e| {
                        Error::function(format!("aggregate {} restore: {e}", call.name))
                    })?;
            }
        }
        Ok(())
    }
}

impl Operator<ArrowBatch, ArrowBatch> for WindowAggregateOperator {
    fn initialize_state(
        &mut self,
        _info: &TaskInfo,
        state: Option<OperatorSnapshot>,
    ) -> Result<()> {
        let restored =
            self.scope
                .restore(state, self.spec.group_count, self.spec.aggregates.len())?;
        let Some(restored) = restored else {
            return Ok(());
        };
        if let Some(watermark) = restored.watermark {
            self.watermark = watermark;
        }
        for groups in &restored.groups {
            self.restore_groups(groups)?;
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        let groups = self.save_groups()?;
        Ok(self.scope.snapshot(groups, self.watermark))
    }

    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        _out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch = batch.record_batch().clone();
        self.split_by_window(&batch);
        let mut by_window = std::mem::take(&mut self.rows_by_window);
        let result = by_window
            .iter()
            .filter(|(_, rows)| !rows.is_empty())
            .try_for_each(|(end, rows)| self.accumulate(&batch, *end, rows));
        // Keeps the scratch vectors' capacity, but not a long tail of windows.
        by_window.truncate(4);
        self.rows_by_window = by_window;
        result
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        self.watermark = self.watermark.max(watermark.0);
        if !self.spec.processing_time {
            self.fire_windows(self.watermark, out)?;
        }
        out.emit_watermark(watermark)
    }

    fn on_processing_time(&mut self, now_millis: i64, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.spec.processing_time {
            // A window [start, end) fires once the processing time reaches its last
            // millisecond, as Flink's processing-time trigger does.
            self.fire_windows(now_millis, out)?;
        }
        Ok(())
    }

    fn end_input(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.spec.processing_time {
            // Flink does not fire processing-time timers at the end of input: the windows
            // still open are not emitted.
            return Ok(());
        }
        self.fire_windows(i64::MAX, out)
    }

    fn close(&mut self) -> Result<()> {
        if self.late_rows_dropped > 0 {
            tracing::debug!(
                operator = %self.scope.name,
                rows = self.late_rows_dropped,
                "dropped late rows of windows that had fired"
            );
        }
        Ok(())
    }
}
