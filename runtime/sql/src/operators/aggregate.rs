//! [`SqlAggregateOperator`]: SQL's group aggregate and tumbling-window aggregate over Arrow
//! batches, with DataFusion's `Accumulator`s.
//!
//! Its input batches hold the group columns first, then the aggregates' arguments, then the
//! group key encoded as one binary column (the stream is keyed by it). A batch is processed in
//! two passes: rows are mapped to their groups (one hash probe per row), then each touched
//! group's accumulators are updated with the group's rows at once.
//!
//! - A group aggregate in streaming mode emits a changelog, as Flink's `GroupAggFunction`: a
//!   new group is `+I`, a changed one `-U` (the old values) then `+U`; a group whose values
//!   did not change emits nothing. By default every input row emits its change, as Flink
//!   does; with `table.exec.mini-batch.enabled` the rows of a batch are folded first, as
//!   Flink's mini-batch aggregation does: the same final result with fewer updates.
//! - In batch mode it emits every group once, at the end of input (`+I`).
//! - A window aggregate (the group columns include `window_end`) emits a window's groups when
//!   the watermark passes the window's end, insert-only, and drops rows of windows that have
//!   fired, as Flink does without allowed lateness.
//!
//! Its groups are keyed state: a checkpoint holds them by key group, and a restore, at any
//! parallelism, takes back those of its own key groups ([`super::aggregate_state`]).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, Int8Array, RecordBatch, UInt32Array};
use arrow_schema::{FieldRef, SchemaRef};
use datafusion_common::ScalarValue;
use datafusion_common::arrow::compute::{cast, filter, take};
use datafusion_expr::function::AccumulatorArgs;
use datafusion_expr::{Accumulator, AggregateUDF};
use datafusion_physical_expr::PhysicalExpr;
use datafusion_physical_expr::expressions::Column;
use flinkrs_core::{CheckpointId, Error, Result, RuntimeMode, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, StreamBatch, TaskInfo};

use super::aggregate_state::{GroupsScope, RestoredGroups, SavedGroup};

use crate::render::RowKind;

/// One aggregate call, bound to the operator's input columns.
#[derive(Clone, Debug)]
pub(crate) struct AggregateCall {
    pub function: Arc<AggregateUDF>,
    /// The input columns of its arguments.
    pub arguments: Vec<usize>,
    pub argument_fields: Vec<FieldRef>,
    pub return_field: FieldRef,
    pub distinct: bool,
    /// The input column of its `FILTER (WHERE …)` condition: rows where it is not true are
    /// left out of this call.
    pub filter: Option<usize>,
    pub name: String,
}

/// Builds an output batch of `spec` from rows of (kind, group values, aggregate values);
/// `operator` names the operator in errors.
pub(crate) fn output_batch(
    spec: &AggregateSpec,
    updating: bool,
    operator: &str,
    rows: Vec<(RowKind, Vec<ScalarValue>)>,
) -> Result<ArrowBatch> {
    let error = |e: &dyn std::fmt::Display| Error::function(format!("{operator}: {e}"));
    let schema = &spec.output;
    let width = spec.group_count + spec.shown_aggregates();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for column in 0..width {
        let values = rows.iter().map(|(_, values)| values[column].clone());
        let array = ScalarValue::iter_to_array(values).map_err(|e| error(&e))?;
        let wanted = schema.field(column).data_type();
        let array = if array.data_type() == wanted {
            array
        } else {
            cast(&array, wanted).map_err(|e| error(&e))?
        };
        columns.push(array);
    }
    if updating {
        let kinds = Int8Array::from_iter_values(rows.iter().map(|(kind, _)| kind.code()));
        columns.push(Arc::new(kinds));
    }
    RecordBatch::try_new(Arc::clone(schema), columns)
        .map(ArrowBatch::new)
        .map_err(|e| error(&e))
}

/// Hands fresh `accumulators` the state of row `row` of a restored batch.
pub(crate) fn restore_accumulators(
    spec: &AggregateSpec,
    accumulators: &mut [Box<dyn Accumulator>],
    restored: &RestoredGroups,
    row: usize,
) -> Result<()> {
    for ((call, accumulator), columns) in spec
        .aggregates
        .iter()
        .zip(accumulators)
        .zip(&restored.states)
    {
        let states: Vec<ArrayRef> = columns
            .clone()
            .map(|column| restored.batch.column(column).slice(row, 1))
            .collect();
        accumulator
            .merge_batch(&states)
            .map_err(|e| Error::function(format!("aggregate {} restore: {e}", call.name)))?;
    }
    Ok(())
}

impl AggregateCall {
    /// Whether `row` of `batch` takes part in this call: its FILTER holds, or it has none.
    pub(crate) fn takes_row(&self, batch: &RecordBatch, row: usize) -> bool {
        self.filter.is_none_or(|column| {
            let condition = batch.column(column).as_boolean();
            condition.is_valid(row) && condition.value(row)
        })
    }

    /// The call's arguments at the rows `indices` of `batch`, less the rows its FILTER leaves
    /// out.
    pub(crate) fn arguments_at(
        &self,
        batch: &RecordBatch,
        indices: &UInt32Array,
    ) -> std::result::Result<Vec<ArrayRef>, arrow_schema::ArrowError> {
        let condition = self
            .filter
            .map(|column| take(batch.column(column), indices, None))
            .transpose()?;
        self.arguments
            .iter()
            .map(|&column| {
                let taken = take(batch.column(column), indices, None)?;
                match &condition {
                    Some(condition) => filter(&taken, condition.as_boolean()),
                    None => Ok(taken),
                }
            })
            .collect()
    }

    /// A fresh accumulator of this call over `input`.
    pub(crate) fn new_accumulator(&self, input: &SchemaRef) -> Result<Box<dyn Accumulator>> {
        self.accumulator(input)
    }

    fn accumulator(&self, input: &SchemaRef) -> Result<Box<dyn Accumulator>> {
        self.make_accumulator(input, false)
    }

    /// A fresh accumulator of this call over `input` that can retract rows, where the
    /// function has one (DataFusion's sliding accumulators of window frames).
    pub(crate) fn new_sliding_accumulator(
        &self,
        input: &SchemaRef,
    ) -> Result<Box<dyn Accumulator>> {
        self.make_accumulator(input, true)
    }

    fn make_accumulator(&self, input: &SchemaRef, sliding: bool) -> Result<Box<dyn Accumulator>> {
        let accumulator = self.with_arguments(input, |arguments| {
            if sliding {
                self.function.create_sliding_accumulator(arguments)
            } else {
                self.function.accumulator(arguments)
            }
        });
        accumulator.map_err(|error| Error::function(format!("aggregate {}: {error}", self.name)))
    }

    /// Calls `make` with DataFusion's description of this call over `input`.
    pub(crate) fn with_arguments<T>(
        &self,
        input: &SchemaRef,
        make: impl FnOnce(AccumulatorArgs) -> T,
    ) -> T {
        let expressions: Vec<Arc<dyn PhysicalExpr>> = self
            .arguments
            .iter()
            .zip(&self.argument_fields)
            .map(|(&index, field)| Arc::new(Column::new(field.name(), index)) as _)
            .collect();
        let arguments = AccumulatorArgs {
            return_field: Arc::clone(&self.return_field),
            schema: input,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: &self.name,
            is_distinct: self.distinct,
            exprs: &expressions,
            expr_fields: &self.argument_fields,
        };
        make(arguments)
    }
}

/// What the operator computes, fixed when the job is built.
#[derive(Clone, Debug)]
pub(crate) struct AggregateSpec {
    /// The input's schema.
    pub input: SchemaRef,
    /// The group columns are the input's first `group_count` columns.
    pub group_count: usize,
    /// The binary group key column.
    pub key_column: usize,
    pub aggregates: Vec<AggregateCall>,
    /// The group columns, then one column per aggregate, then the row kind when `updating`.
    pub output: SchemaRef,
    /// For a window aggregate: which group column is `window_end`.
    pub window_end: Option<usize>,
    /// `GROUP BY` nothing: one group, which batch mode emits even for empty input.
    pub global: bool,
    /// `table.exec.mini-batch.enabled`: fold a batch's rows before emitting changes.
    pub mini_batch: bool,
    /// Over an updating input (a changelog, in streaming mode): the input column of each
    /// row's kind. Retractions (`-U`, `-D`) are retracted from the accumulators, and the last
    /// aggregate is a hidden `COUNT` of the group's rows: a group whose count reaches zero is
    /// deleted (`-D`), as Flink's `GroupAggFunction` does with its record counter.
    pub row_kind: Option<usize>,
    /// A window aggregate over a window TVF of a processing-time attribute (`PROCTIME()`):
    /// its windows fire as the task's processing time reaches their end, never on a
    /// watermark, and, as in Flink, not at the end of input.
    pub processing_time: bool,
}

impl AggregateSpec {
    /// How many aggregates the output shows: all but the hidden row count of a retracting
    /// aggregate.
    pub(crate) fn shown_aggregates(&self) -> usize {
        self.aggregates.len() - usize::from(self.row_kind.is_some())
    }

    /// A fresh accumulator of `call`; one that can retract rows over an updating input.
    pub(crate) fn accumulator(&self, call: &AggregateCall) -> Result<Box<dyn Accumulator>> {
        if self.row_kind.is_none() {
            return call.accumulator(&self.input);
        }
        let name = call.function.name();
        if name == "min" || name == "max" {
            let data_type = call
                .argument_fields
                .first()
                .map(|field| field.data_type().clone())
                .ok_or_else(|| Error::function(format!("aggregate {}: no argument", call.name)))?;
            let extremum = super::extremum::RetractableExtremum::new(name == "max", data_type)
                .map_err(|e| Error::function(format!("aggregate {}: {e}", call.name)))?;
            return Ok(Box::new(extremum));
        }
        call.new_sliding_accumulator(&self.input)
    }

    /// Whether the output carries a row kind column: a group aggregate in streaming mode.
    pub(crate) fn updating(&self, mode: RuntimeMode) -> bool {
        self.window_end.is_none() && mode == RuntimeMode::Streaming
    }
}

struct Group {
    key: Box<[u8]>,
    values: Vec<ScalarValue>,
    accumulators: Vec<Box<dyn Accumulator>>,
    /// The aggregate values last emitted (streaming group aggregate).
    emitted: Option<Vec<ScalarValue>>,
    /// The window's end (window aggregate), in epoch milliseconds.
    window_end: i64,
}

pub(crate) struct SqlAggregateOperator {
    spec: Arc<AggregateSpec>,
    /// The subtask, as checkpoints and errors name it.
    scope: GroupsScope,
    updating: bool,
    groups: HashMap<Box<[u8]>, usize>,
    slots: Vec<Option<Group>>,
    free: Vec<usize>,
    /// Per slot, the rows of the current batch that belong to it.
    rows: Vec<Vec<u32>>,
    touched: Vec<usize>,
    watermark: i64,
    late_rows_dropped: u64,
}

impl SqlAggregateOperator {
    pub(crate) fn new(spec: Arc<AggregateSpec>, info: &TaskInfo) -> Self {
        let updating = spec.updating(info.config.runtime_mode());
        SqlAggregateOperator {
            scope: GroupsScope::of(info),
            spec,
            updating,
            groups: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            rows: Vec::new(),
            touched: Vec::new(),
            watermark: i64::MIN,
            late_rows_dropped: 0,
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::function(format!("{}: {message}", self.scope.name))
    }

    fn new_group(&mut self, key: &[u8], batch: &RecordBatch, row: usize) -> Result<usize> {
        let values = (0..self.spec.group_count)
            .map(|column| ScalarValue::try_from_array(batch.column(column), row))
            .collect::<datafusion_common::Result<Vec<_>>>()
            .map_err(|e| self.error(e))?;
        self.add_group(key, values)
    }

    /// Adds a group of fresh accumulators.
    fn add_group(&mut self, key: &[u8], values: Vec<ScalarValue>) -> Result<usize> {
        let window_end = match self.spec.window_end {
            Some(column) => match &values[column] {
                ScalarValue::TimestampMillisecond(Some(end), _) => *end,
                other => return Err(self.error(format!("window_end is {other:?}"))),
            },
            None => 0,
        };
        let accumulators = self
            .spec
            .aggregates
            .iter()
            .map(|call| self.spec.accumulator(call))
            .collect::<Result<Vec<_>>>()?;
        let group = Group {
            key: key.into(),
            values,
            accumulators,
            emitted: None,
            window_end,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot] = Some(group);
                slot
            }
            None => {
                self.slots.push(Some(group));
                self.rows.push(Vec::new());
                self.slots.len() - 1
            }
        };
        self.groups.insert(key.into(), slot);
        Ok(slot)
    }

    /// Evaluates a group's aggregates.
    fn evaluate(&mut self, slot: usize) -> Result<Vec<ScalarValue>> {
        let Some(group) = self.slots[slot].as_mut() else {
            return Err(Error::function("aggregate: a group slot is empty"));
        };
        group
            .accumulators
            .iter_mut()
            .map(|accumulator| accumulator.evaluate())
            .collect::<datafusion_common::Result<Vec<_>>>()
            .map_err(|e| Error::function(format!("aggregate: {e}")))
    }

    /// Builds an output batch from rows of (kind, group values, aggregate values).
    fn output(&self, rows: Vec<(RowKind, Vec<ScalarValue>)>) -> Result<ArrowBatch> {
        output_batch(&self.spec, self.updating, &self.scope.name, rows)
    }

    /// Flink's default: each row updates its group and emits the group's change at once.
    fn process_row_by_row(
        &mut self,
        batch: &RecordBatch,
        keys: &arrow_array::BinaryArray,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        for slot in std::mem::take(&mut self.touched) {
            self.rows[slot].clear();
        }
        let kinds = self
            .spec
            .row_kind
            .map(|column| batch.column(column).as_primitive::<Int8Type>().clone());
        let mut changes = Vec::new();
        for row in 0..batch.num_rows() {
            let retraction = kinds.as_ref().is_some_and(|kinds| {
                matches!(
                    RowKind::from_code(kinds.value(row)),
                    RowKind::UpdateBefore | RowKind::Delete
                )
            });
            let key = keys.value(row);
            let slot = match self.groups.get(key) {
                Some(&slot) => slot,
                // A retraction of a group without state changes nothing, as in Flink.
                None if retraction => continue,
                None => self.new_group(key, batch, row)?,
            };
            let Some(group) = self.slots[slot].as_mut() else {
                continue;
            };
            for (call, accumulator) in self.spec.aggregates.iter().zip(&mut group.accumulators) {
                if !call.takes_row(batch, row) {
                    continue;
                }
                let arguments: Vec<ArrayRef> = call
                    .arguments
                    .iter()
                    .map(|&column| batch.column(column).slice(row, 1))
                    .collect();
                let applied = if retraction {
                    accumulator.retract_batch(&arguments)
                } else {
                    accumulator.update_batch(&arguments)
                };
                applied.map_err(|e| Error::function(format!("aggregate {}: {e}", call.name)))?;
            }
            self.change(slot, &mut changes)?;
        }
        if !changes.is_empty() {
            let mut output = self.output(changes)?;
            out.push_batch(&mut output)?;
        }
        Ok(())
    }

    /// The change of a group since it was last emitted: `+I`, or `-U` and `+U`, or nothing.
    fn change(
        &mut self,
        slot: usize,
        changes: &mut Vec<(RowKind, Vec<ScalarValue>)>,
    ) -> Result<()> {
        let new = self.evaluate(slot)?;
        let shown = self.spec.shown_aggregates();
        if self.spec.row_kind.is_some() && matches!(new.last(), Some(ScalarValue::Int64(Some(0)))) {
            // The group's last row was retracted: it is deleted.
            if let Some(group) = self.slots[slot].as_ref()
                && let Some(old) = &group.emitted
            {
                let mut deleted = group.values.clone();
                deleted.extend_from_slice(&old[..shown]);
                changes.push((RowKind::Delete, deleted));
            }
            self.remove(slot);
            return Ok(());
        }
        let Some(group) = self.slots[slot].as_mut() else {
            return Ok(());
        };
        match group.emitted.replace(new.clone()) {
            Some(old) if old[..shown] == new[..shown] => {}
            Some(old) => {
                let mut before = group.values.clone();
                before.extend(old);
                let mut after = group.values.clone();
                after.extend(new);
                changes.push((RowKind::UpdateBefore, before));
                changes.push((RowKind::UpdateAfter, after));
            }
            None => {
                let mut inserted = group.values.clone();
                inserted.extend(new);
                changes.push((RowKind::Insert, inserted));
            }
        }
        Ok(())
    }

    fn remove(&mut self, slot: usize) {
        if let Some(group) = self.slots[slot].take() {
            self.groups.remove(&group.key);
            self.free.push(slot);
        }
    }

    /// Emits the windows that end at or before `watermark + 1`, and forgets them.
    fn fire_windows(&mut self, watermark: i64, out: &mut Output<ArrowBatch>) -> Result<()> {
        let mut fired: Vec<(i64, usize)> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, group)| {
                group
                    .as_ref()
                    .filter(|group| group.window_end.saturating_sub(1) <= watermark)
                    .map(|group| (group.window_end, slot))
            })
            .collect();
        if fired.is_empty() {
            return Ok(());
        }
        fired.sort_unstable();
        let mut rows = Vec::with_capacity(fired.len());
        for &(_, slot) in &fired {
            let mut values = self.slots[slot]
                .as_ref()
                .map(|group| group.values.clone())
                .unwrap_or_default();
            values.extend(self.evaluate(slot)?);
            rows.push((RowKind::Insert, values));
            self.remove(slot);
        }
        let mut batch = self.output(rows)?;
        out.push_batch(&mut batch)
    }
}

/// Checkpoints.
impl SqlAggregateOperator {
    /// Every group's key, values and accumulator state, for a checkpoint.
    fn save_groups(&mut self) -> Result<Vec<SavedGroup>> {
        let mut saved = Vec::with_capacity(self.groups.len());
        for slot in 0..self.slots.len() {
            let placeholder = match self.slots[slot].as_ref() {
                None => continue,
                Some(group) if self.updating && group.emitted.is_none() => {
                    Some(self.evaluate(slot)?)
                }
                Some(_) => None,
            };
            let Some(group) = self.slots[slot].as_mut() else {
                continue;
            };
            let states = group
                .accumulators
                .iter_mut()
                .map(|accumulator| accumulator.state())
                .collect::<datafusion_common::Result<Vec<_>>>()
                .map_err(|e| Error::function(format!("aggregate state: {e}")))?;
            let emitted = if self.updating {
                match (&group.emitted, placeholder) {
                    (Some(values), _) => Some((true, values.clone())),
                    (None, Some(values)) => Some((false, values)),
                    (None, None) => None,
                }
            } else {
                None
            };
            saved.push(SavedGroup {
                key: group.key.clone(),
                values: group.values.clone(),
                emitted,
                states,
            });
        }
        Ok(saved)
    }

    /// Takes back the groups of one restored batch.
    fn restore_groups(&mut self, restored: &RestoredGroups) -> Result<()> {
        let batch = &restored.batch;
        let keys = batch.column(0).as_binary_opt::<i32>().ok_or_else(|| {
            self.error("the restored state's first column is not the binary group key")
        })?;
        let group_count = self.spec.group_count;
        for row in 0..batch.num_rows() {
            let key = keys.value(row);
            if self.groups.contains_key(key) {
                return Err(
                    self.error("the checkpoint holds the same group twice; the state is damaged")
                );
            }
            let values = (1..=group_count)
                .map(|column| ScalarValue::try_from_array(batch.column(column), row))
                .collect::<datafusion_common::Result<Vec<_>>>()
                .map_err(|e| self.error(e))?;
            let slot = self.add_group(key, values)?;
            let emitted = match restored.emitted {
                Some(start) if self.updating => {
                    let flags = batch.column(start - 1).as_boolean_opt().ok_or_else(|| {
                        self.error("the restored state's emitted flags are not booleans")
                    })?;
                    if flags.value(row) {
                        let values = (start..start + self.spec.aggregates.len())
                            .map(|column| ScalarValue::try_from_array(batch.column(column), row))
                            .collect::<datafusion_common::Result<Vec<_>>>()
                            .map_err(|e| self.error(e))?;
                        Some(values)
                    } else {
                        None
                    }
                }
                _ => None,
            };
            let Some(group) = self.slots[slot].as_mut() else {
                continue;
            };
            group.emitted = emitted;
            restore_accumulators(&self.spec, &mut group.accumulators, restored, row)?;
        }
        Ok(())
    }
}

impl Operator<ArrowBatch, ArrowBatch> for SqlAggregateOperator {
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
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch = batch.record_batch().clone();
        let keys = batch
            .column(self.spec.key_column)
            .as_binary::<i32>()
            .clone();
        let window_ends = self.spec.window_end.map(|column| {
            batch
                .column(column)
                .as_primitive::<TimestampMillisecondType>()
                .clone()
        });
        if self.spec.row_kind.is_some() {
            // Retractions apply row by row, mini-batch or not: each needs its group as it is.
            return self.process_row_by_row(&batch, &keys, out);
        }
        for row in 0..batch.num_rows() {
            if let Some(ends) = &window_ends
                && !self.spec.processing_time
                && ends.value(row).saturating_sub(1) <= self.watermark
            {
                self.late_rows_dropped += 1;
                continue;
            }
            let key = keys.value(row);
            let slot = match self.groups.get(key) {
                Some(&slot) => slot,
                None => self.new_group(key, &batch, row)?,
            };
            if self.rows[slot].is_empty() {
                self.touched.push(slot);
            }
            self.rows[slot].push(row as u32);
        }
        if self.updating && !self.spec.mini_batch {
            return self.process_row_by_row(&batch, &keys, out);
        }
        let touched = std::mem::take(&mut self.touched);
        let mut changes = Vec::new();
        for &slot in &touched {
            let indices = UInt32Array::from(std::mem::take(&mut self.rows[slot]));
            let Some(group) = self.slots[slot].as_mut() else {
                continue;
            };
            for (call, accumulator) in self.spec.aggregates.iter().zip(&mut group.accumulators) {
                let arguments = call
                    .arguments_at(&batch, &indices)
                    .map_err(|e| Error::function(format!("aggregate {}: {e}", call.name)))?;
                accumulator
                    .update_batch(&arguments)
                    .map_err(|e| Error::function(format!("aggregate {}: {e}", call.name)))?;
            }
            if self.updating {
                self.change(slot, &mut changes)?;
            }
        }
        self.touched = touched;
        self.touched.clear();
        if !changes.is_empty() {
            let mut output = self.output(changes)?;
            out.push_batch(&mut output)?;
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        self.watermark = self.watermark.max(watermark.0);
        if self.spec.window_end.is_some() && !self.spec.processing_time {
            self.fire_windows(self.watermark, out)?;
        }
        out.emit_watermark(watermark)
    }

    fn on_processing_time(&mut self, now_millis: i64, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.spec.processing_time && self.spec.window_end.is_some() {
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
        if self.spec.window_end.is_some() {
            return self.fire_windows(i64::MAX, out);
        }
        if self.updating {
            return Ok(());
        }
        // Batch mode: every group, once.
        let mut rows = Vec::with_capacity(self.groups.len());
        for slot in 0..self.slots.len() {
            let Some(group) = self.slots[slot].as_ref() else {
                continue;
            };
            let mut values = group.values.clone();
            values.extend(self.evaluate(slot)?);
            rows.push((RowKind::Insert, values));
        }
        if rows.is_empty() && self.spec.global {
            let mut accumulators = self
                .spec
                .aggregates
                .iter()
                .map(|call| self.spec.accumulator(call))
                .collect::<Result<Vec<_>>>()?;
            let values = accumulators
                .iter_mut()
                .map(|accumulator| accumulator.evaluate())
                .collect::<datafusion_common::Result<Vec<_>>>()
                .map_err(|e| self.error(e))?;
            rows.push((RowKind::Insert, values));
        }
        if rows.is_empty() {
            return Ok(());
        }
        let mut batch = self.output(rows)?;
        out.push_batch(&mut batch)
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
