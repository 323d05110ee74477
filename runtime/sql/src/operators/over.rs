//! [`SqlOverAggregateOperator`]: Flink's OVER aggregation, `agg(…) OVER (PARTITION BY k ORDER
//! BY t {ROWS|RANGE} BETWEEN {n|UNBOUNDED} PRECEDING AND CURRENT ROW)`: every input row comes
//! out once, with the aggregates of its frame appended. The output is append-only.
//!
//! Its input batches hold the stored columns (the input's columns, then the aggregates'
//! arguments and FILTER conditions), then the row's order value (`$order`, the time attribute
//! in epoch milliseconds, or the ORDER BY column as an integer), its sort key (`$sort`, the
//! ORDER BY columns in Arrow's row format) and the partition key (`$key`, the stream is keyed
//! by it).
//!
//! In streaming mode, as Flink's `RowTime*PrecedingFunction`s do, a row waits until the
//! watermark passes its time, then the rows of each time come out in time order:
//! - `RANGE`: the rows of one time are peers: all are accumulated, then all come out with the
//!   same values; a bounded frame first retracts the rows older than `time - n`;
//! - `ROWS`: the rows of one time are taken one at a time, in arrival order, each with the
//!   values of the frame up to it; a bounded frame keeps the last `n + 1` rows.
//!
//! A row whose time is not after the last time its partition emitted (for an unbounded
//! frame, not after the watermark) is late and dropped, as Flink drops it.
//!
//! In batch mode every partition is sorted by its sort key at the end of input (arrival
//! order among peers), and computed the same way.
//!
//! A bounded frame keeps its rows and retracts the oldest from DataFusion's sliding
//! accumulators; an aggregate that cannot retract is recomputed over the frame's rows.
//! Partitions are keyed state, checkpointed by key group ([`super::over_state`]).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow_schema::SchemaRef;
use datafusion_common::ScalarValue;
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::row::{RowConverter, SortField};
use datafusion_expr::Accumulator;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::{CheckpointId, Error, Result, RuntimeMode, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, StreamBatch, TaskInfo};

use super::aggregate::AggregateCall;
use super::over_state::{self, Restored, SavedPartition, SavedRow};

/// How an OVER frame counts its preceding rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FrameUnits {
    Rows,
    Range,
}

/// What the OVER aggregate computes, fixed when the job is built.
#[derive(Debug)]
pub(crate) struct OverSpec {
    /// The columns stored per row: the input's columns, then the aggregates' arguments and
    /// FILTER conditions, which `aggregates` refer to.
    pub stored: SchemaRef,
    /// How many of the stored columns are the input's (they come out first).
    pub width: usize,
    pub aggregates: Vec<AggregateCall>,
    pub units: FrameUnits,
    /// `n PRECEDING`: rows, or the order value's units (milliseconds for a time); `None` for
    /// `UNBOUNDED PRECEDING`.
    pub preceding: Option<i64>,
    /// The input's columns, then one per aggregate.
    pub output: SchemaRef,
}

impl OverSpec {
    /// The stored column types and the frame, as the checkpoint records them.
    pub(crate) fn layout(&self) -> String {
        let types: Vec<String> = self
            .stored
            .fields()
            .iter()
            .map(|field| field.data_type().to_string())
            .collect();
        format!(
            "{:?} {:?} preceding over [{}] with {} aggregates",
            self.units,
            self.preceding,
            types.join(", "),
            self.aggregates.len()
        )
    }
}

/// Rows of one sort key (peers), in arrival order, with their order value.
type Peers = (i64, Vec<Box<[u8]>>);

/// A partition's rows and accumulators.
struct Partition {
    /// Rows waiting to come out, by sort key.
    pending: BTreeMap<Box<[u8]>, Peers>,
    /// A bounded frame's rows, oldest first, with their order values.
    frame: VecDeque<(i64, Box<[u8]>)>,
    accumulators: Vec<Box<dyn Accumulator>>,
    /// The order value of the rows it last emitted.
    last_fired: i64,
}

pub(crate) struct SqlOverAggregateOperator {
    spec: Arc<OverSpec>,
    name: String,
    streaming: bool,
    converter: RowConverter,
    partitions: HashMap<Box<[u8]>, Partition>,
    /// Streaming: (order value, partition) of each partition's waiting times.
    timers: BTreeSet<(i64, Box<[u8]>)>,
    watermark: i64,
    late_rows_dropped: u64,
    /// The output being gathered: rows (stored, Arrow row format) and their aggregates.
    gathered: Vec<Box<[u8]>>,
    values: Vec<Vec<ScalarValue>>,
    max_parallelism: usize,
    key_groups: KeyGroupRange,
}

impl SqlOverAggregateOperator {
    pub(crate) fn new(spec: Arc<OverSpec>, info: &TaskInfo) -> Result<Self> {
        let fields = spec
            .stored
            .fields()
            .iter()
            .map(|field| SortField::new(field.data_type().clone()))
            .collect();
        let converter = RowConverter::new(fields)
            .map_err(|e| Error::function(format!("OverAggregate: {e}")))?;
        Ok(SqlOverAggregateOperator {
            name: format!("{} ({})", info.operator_name, info.subtask_label()),
            streaming: info.config.runtime_mode() == RuntimeMode::Streaming,
            converter,
            values: vec![Vec::new(); spec.aggregates.len()],
            spec,
            partitions: HashMap::new(),
            timers: BTreeSet::new(),
            watermark: i64::MIN,
            late_rows_dropped: 0,
            gathered: Vec::new(),
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

    fn new_accumulators(&self) -> Result<Vec<Box<dyn Accumulator>>> {
        self.spec
            .aggregates
            .iter()
            .map(|call| {
                if self.spec.preceding.is_some() {
                    call.new_sliding_accumulator(&self.spec.stored)
                } else {
                    call.new_accumulator(&self.spec.stored)
                }
            })
            .collect()
    }

    fn new_partition(&self) -> Result<Partition> {
        Ok(Partition {
            pending: BTreeMap::new(),
            frame: VecDeque::new(),
            accumulators: self.new_accumulators()?,
            last_fired: i64::MIN,
        })
    }

    /// The stored columns of `rows` as a batch.
    fn batch_of<'a>(&self, rows: impl Iterator<Item = &'a [u8]>) -> Result<RecordBatch> {
        let parser = self.converter.parser();
        let columns = self
            .converter
            .convert_rows(rows.map(|row| parser.parse(row)))
            .map_err(|e| self.error(e))?;
        let count = columns.first().map_or(0, |column| column.len());
        RecordBatch::try_new_with_options(
            Arc::clone(&self.spec.stored),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(count)),
        )
        .map_err(|e| self.error(e))
    }

    /// Adds (or retracts) the rows `indices` of `batch` to `accumulators`.
    fn apply(
        spec: &OverSpec,
        accumulators: &mut [Box<dyn Accumulator>],
        batch: &RecordBatch,
        indices: &UInt32Array,
        retract: bool,
    ) -> Result<()> {
        for (call, accumulator) in spec.aggregates.iter().zip(accumulators) {
            let error = |e: &dyn std::fmt::Display| {
                Error::function(format!("OVER aggregate {}: {e}", call.name))
            };
            let arguments = call.arguments_at(batch, indices).map_err(|e| error(&e))?;
            if retract {
                accumulator.retract_batch(&arguments)
            } else {
                accumulator.update_batch(&arguments)
            }
            .map_err(|e| error(&e))?;
        }
        Ok(())
    }

    /// Takes the frame's rows out of `accumulators`: retracted where every aggregate can
    /// retract, else the accumulators are rebuilt from the rows that stay.
    fn retract(&self, partition: &mut Partition, evicted: &[Box<[u8]>]) -> Result<()> {
        if evicted.is_empty() {
            return Ok(());
        }
        if partition
            .accumulators
            .iter()
            .all(|accumulator| accumulator.supports_retract_batch())
        {
            let batch = self.batch_of(evicted.iter().map(|row| &row[..]))?;
            let indices = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
            return Self::apply(
                &self.spec,
                &mut partition.accumulators,
                &batch,
                &indices,
                true,
            );
        }
        partition.accumulators = self.new_accumulators()?;
        if !partition.frame.is_empty() {
            let batch = self.batch_of(partition.frame.iter().map(|(_, row)| &row[..]))?;
            let indices = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
            Self::apply(
                &self.spec,
                &mut partition.accumulators,
                &batch,
                &indices,
                false,
            )?;
        }
        Ok(())
    }

    fn evaluate(&self, partition: &mut Partition) -> Result<Vec<ScalarValue>> {
        partition
            .accumulators
            .iter_mut()
            .map(|accumulator| accumulator.evaluate())
            .collect::<datafusion_common::Result<Vec<_>>>()
            .map_err(|e| self.error(e))
    }

    fn gather(&mut self, row: Box<[u8]>, values: &[ScalarValue]) {
        self.gathered.push(row);
        for (column, value) in self.values.iter_mut().zip(values) {
            column.push(value.clone());
        }
    }

    /// The rows of one order value (peers) of `partition` come out, each with its frame's
    /// aggregates.
    fn emit_peers(
        &mut self,
        partition: &mut Partition,
        order: i64,
        rows: Vec<Box<[u8]>>,
    ) -> Result<()> {
        let batch = self.batch_of(rows.iter().map(|row| &row[..]))?;
        match self.spec.units {
            FrameUnits::Range => {
                if let Some(preceding) = self.spec.preceding {
                    let oldest = order.saturating_sub(preceding);
                    let mut evicted = Vec::new();
                    while let Some((time, _)) = partition.frame.front()
                        && *time < oldest
                    {
                        if let Some((_, row)) = partition.frame.pop_front() {
                            evicted.push(row);
                        }
                    }
                    self.retract(partition, &evicted)?;
                }
                let indices = UInt32Array::from_iter_values(0..rows.len() as u32);
                Self::apply(
                    &self.spec,
                    &mut partition.accumulators,
                    &batch,
                    &indices,
                    false,
                )?;
                let values = self.evaluate(partition)?;
                for row in rows {
                    if self.spec.preceding.is_some() {
                        partition.frame.push_back((order, row.clone()));
                    }
                    self.gather(row, &values);
                }
            }
            FrameUnits::Rows => {
                for (index, row) in rows.into_iter().enumerate() {
                    if let Some(preceding) = self.spec.preceding {
                        partition.frame.push_back((order, row.clone()));
                        let keep = usize::try_from(preceding).unwrap_or(usize::MAX);
                        if partition.frame.len() > keep.saturating_add(1) {
                            let evicted: Vec<Box<[u8]>> = partition
                                .frame
                                .pop_front()
                                .map(|(_, row)| row)
                                .into_iter()
                                .collect();
                            // The frame holds the new row already: a rebuild must not
                            // count it twice, so retract before accumulating it.
                            partition.frame.pop_back();
                            self.retract(partition, &evicted)?;
                            partition.frame.push_back((order, row.clone()));
                        }
                    }
                    let indices = UInt32Array::from(vec![index as u32]);
                    Self::apply(
                        &self.spec,
                        &mut partition.accumulators,
                        &batch,
                        &indices,
                        false,
                    )?;
                    let values = self.evaluate(partition)?;
                    self.gather(row, &values);
                }
            }
        }
        partition.last_fired = order;
        Ok(())
    }

    /// Emits the rows of `key`'s partition whose order value is at most `up_to`.
    fn fire(&mut self, key: &[u8], up_to: i64) -> Result<()> {
        let Some(mut partition) = self.partitions.remove(key) else {
            return Ok(());
        };
        let result = (|| {
            while let Some(entry) = partition.pending.first_entry()
                && entry.get().0 <= up_to
            {
                let (order, rows) = entry.remove();
                self.emit_peers(&mut partition, order, rows)?;
            }
            Ok(())
        })();
        self.partitions.insert(key.into(), partition);
        result
    }

    /// Emits the gathered rows as one batch.
    fn flush(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.gathered.is_empty() {
            return Ok(());
        }
        let rows = std::mem::take(&mut self.gathered);
        let stored = self.batch_of(rows.iter().map(|row| &row[..]))?;
        let mut columns: Vec<ArrayRef> = stored.columns()[..self.spec.width].to_vec();
        for (index, values) in self.values.iter_mut().enumerate() {
            let array = ScalarValue::iter_to_array(std::mem::take(values))
                .map_err(|e| Error::function(format!("OverAggregate: {e}")))?;
            let wanted = self.spec.output.field(self.spec.width + index).data_type();
            let array = if array.data_type() == wanted {
                array
            } else {
                cast(&array, wanted).map_err(|e| Error::function(format!("OverAggregate: {e}")))?
            };
            columns.push(array);
        }
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.spec.output),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows.len())),
        )
        .map_err(|e| self.error(e))?;
        out.push_batch(&mut ArrowBatch::new(batch))
    }

    /// Fires the waiting times up to `watermark`, in time order.
    fn advance(&mut self, watermark: i64, out: &mut Output<ArrowBatch>) -> Result<()> {
        while let Some((time, _)) = self.timers.first()
            && *time <= watermark
        {
            let Some((time, key)) = self.timers.pop_first() else {
                break;
            };
            self.fire(&key, time)?;
            if self.gathered.len() >= 8192 {
                self.flush(out)?;
            }
        }
        self.flush(out)
    }
}

/// Checkpoints.
impl SqlOverAggregateOperator {
    fn save(&mut self) -> Result<(Vec<SavedRow>, Vec<SavedPartition>)> {
        let mut rows = Vec::new();
        let mut partitions = Vec::with_capacity(self.partitions.len());
        let unbounded = self.spec.preceding.is_none();
        for (key, partition) in &mut self.partitions {
            for (sort, (order, list)) in &partition.pending {
                for row in list {
                    rows.push(SavedRow {
                        key: key.clone(),
                        sort: sort.clone(),
                        order: *order,
                        pending: true,
                        row: row.clone(),
                    });
                }
            }
            for (order, row) in &partition.frame {
                rows.push(SavedRow {
                    key: key.clone(),
                    sort: Box::new([]),
                    order: *order,
                    pending: false,
                    row: row.clone(),
                });
            }
            let states = if unbounded {
                partition
                    .accumulators
                    .iter_mut()
                    .map(|accumulator| accumulator.state())
                    .collect::<datafusion_common::Result<Vec<_>>>()
                    .map_err(|e| Error::function(format!("OVER aggregate state: {e}")))?
            } else {
                Vec::new()
            };
            partitions.push(SavedPartition {
                key: key.clone(),
                last_fired: partition.last_fired,
                states,
            });
        }
        Ok((rows, partitions))
    }
}

impl Operator<ArrowBatch, ArrowBatch> for SqlOverAggregateOperator {
    fn initialize_state(
        &mut self,
        _info: &TaskInfo,
        state: Option<OperatorSnapshot>,
    ) -> Result<()> {
        let Some(keyed) = state.and_then(|state| state.keyed) else {
            return Ok(());
        };
        let layout = self.spec.layout();
        let mut partitions: HashMap<Box<[u8]>, Partition> = HashMap::new();
        let mut problem = None;
        over_state::restore(
            &keyed,
            self.key_groups,
            self.max_parallelism,
            &self.name,
            &layout,
            |restored| {
                let key: Box<[u8]> = match &restored {
                    Restored::Row(row) => row.key.clone(),
                    Restored::Partition { key, .. } => (*key).into(),
                };
                if !partitions.contains_key(&key) {
                    match self.new_partition() {
                        Ok(partition) => {
                            partitions.insert(key.clone(), partition);
                        }
                        Err(error) => {
                            problem = Some(error);
                            return Err("its accumulators cannot be made".into());
                        }
                    }
                }
                let Some(partition) = partitions.get_mut(&key) else {
                    return Ok(());
                };
                match restored {
                    Restored::Row(row) if row.pending => {
                        partition
                            .pending
                            .entry(row.sort)
                            .or_insert_with(|| (row.order, Vec::new()))
                            .1
                            .push(row.row);
                    }
                    Restored::Row(row) => partition.frame.push_back((row.order, row.row)),
                    Restored::Partition {
                        last_fired,
                        batch,
                        row,
                        widths,
                        ..
                    } => {
                        partition.last_fired = last_fired;
                        let mut column = 2;
                        for (accumulator, &width) in partition.accumulators.iter_mut().zip(widths) {
                            let states: Vec<ArrayRef> = (column..column + width)
                                .map(|index| batch.column(index).slice(row, 1))
                                .collect();
                            accumulator
                                .merge_batch(&states)
                                .map_err(|e| e.to_string())?;
                            column += width;
                        }
                    }
                }
                Ok(())
            },
        )?;
        if let Some(problem) = problem {
            return Err(problem);
        }
        // A bounded frame's accumulators are rebuilt from its rows, oldest first.
        for (key, mut partition) in partitions {
            if !partition.frame.is_empty() {
                partition
                    .frame
                    .make_contiguous()
                    .sort_by_key(|(order, _)| *order);
                let batch = self.batch_of(partition.frame.iter().map(|(_, row)| &row[..]))?;
                let indices = UInt32Array::from_iter_values(0..batch.num_rows() as u32);
                Self::apply(
                    &self.spec,
                    &mut partition.accumulators,
                    &batch,
                    &indices,
                    false,
                )?;
            }
            for (order, _) in partition.pending.values() {
                self.timers.insert((*order, key.clone()));
            }
            self.partitions.insert(key, partition);
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        let (rows, partitions) = self.save()?;
        Ok(OperatorSnapshot {
            keyed: Some(over_state::snapshot(
                self.max_parallelism,
                self.key_groups,
                self.name.clone(),
                self.spec.layout(),
                rows,
                partitions,
            )),
            operator_state: Vec::new(),
        })
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
        let width = self.spec.stored.fields().len();
        let columns = batch.columns();
        let (Some(orders), Some(sorts), Some(keys)) = (
            columns
                .get(width)
                .and_then(|c| c.as_primitive_opt::<Int64Type>()),
            columns
                .get(width + 1)
                .and_then(|c| c.as_binary_opt::<i32>()),
            columns
                .get(width + 2)
                .and_then(|c| c.as_binary_opt::<i32>()),
        ) else {
            return Err(self.error("its input lacks the order value, sort and partition keys"));
        };
        let rows = self
            .converter
            .convert_columns(&columns[..width])
            .map_err(|e| self.error(e))?;
        for index in 0..batch.num_rows() {
            let key = keys.value(index);
            let order = if orders.is_valid(index) {
                orders.value(index)
            } else if self.streaming {
                // A row without a time cannot be placed in event time.
                self.late_rows_dropped += 1;
                continue;
            } else {
                i64::MIN
            };
            if !self.partitions.contains_key(key) {
                let partition = self.new_partition()?;
                self.partitions.insert(key.into(), partition);
            }
            let Some(partition) = self.partitions.get_mut(key) else {
                continue;
            };
            if self.streaming {
                let threshold = if self.spec.preceding.is_some() {
                    partition.last_fired
                } else {
                    partition.last_fired.max(self.watermark)
                };
                if order <= threshold {
                    self.late_rows_dropped += 1;
                    continue;
                }
            }
            let sort = sorts.value(index);
            let row: Box<[u8]> = rows.row(index).as_ref().into();
            match partition.pending.get_mut(sort) {
                Some((_, list)) => list.push(row),
                None => {
                    partition.pending.insert(sort.into(), (order, vec![row]));
                    if self.streaming {
                        self.timers.insert((order, key.into()));
                    }
                }
            }
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        self.watermark = self.watermark.max(watermark.0);
        self.advance(self.watermark, out)?;
        out.emit_watermark(watermark)
    }

    fn end_input(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.streaming {
            return self.advance(i64::MAX, out);
        }
        let keys: Vec<Box<[u8]>> = self.partitions.keys().cloned().collect();
        for key in keys {
            self.fire(&key, i64::MAX)?;
            if self.gathered.len() >= 8192 {
                self.flush(out)?;
            }
        }
        self.flush(out)
    }

    fn close(&mut self) -> Result<()> {
        if self.late_rows_dropped > 0 {
            tracing::debug!(
                operator = %self.name,
                rows = self.late_rows_dropped,
                "dropped late rows of an OVER aggregate"
            );
        }
        Ok(())
    }
}
