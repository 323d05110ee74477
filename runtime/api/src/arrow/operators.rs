//! The stateless operators of Arrow streams: filter, projection, batch maps, rowtime and
//! watermark assignment, the bridge to typed rows, and the discarding sink.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use arrow_select::filter::filter_record_batch;
use flinkrs_core::{Batch, Data, Error, Result, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, Output, StreamBatch, TaskInfo};

use super::BatchPredicate;
use crate::watermark::{BoundedOutOfOrderness, WatermarkGenerator, WatermarkOutput};

/// An Arrow kernel failed on a batch: names the operator.
pub(crate) fn kernel_error(operator: &str, error: arrow_schema::ArrowError) -> Error {
    Error::function(format!("{operator}: Arrow: {error}"))
}

/// Rebuilds an [`ArrowBatch`] around `batch`, with the rowtime column at `rowtime`.
pub(crate) fn with_rowtime(batch: RecordBatch, rowtime: Option<usize>) -> Result<ArrowBatch> {
    match rowtime {
        Some(index) => ArrowBatch::with_rowtime_index(batch, index),
        None => Ok(ArrowBatch::new(batch)),
    }
}

/// What a stateless operator made of a batch.
pub(crate) enum Transformed {
    /// Pass the batch on as it is.
    Unchanged,
    /// Pass this batch on instead (nothing, if it is empty).
    Replaced(ArrowBatch),
}

/// A stateless Arrow operator: one batch in, at most one out.
pub(crate) trait BatchTransform: Send {
    /// Transforms a batch with at least one row.
    fn transform(&mut self, batch: &ArrowBatch) -> Result<Transformed>;
}

/// Runs a [`BatchTransform`] as an operator.
pub(crate) struct Stateless<T>(pub T);

impl<T: BatchTransform> Operator<ArrowBatch, ArrowBatch> for Stateless<T> {
    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        match self.0.transform(batch)? {
            Transformed::Unchanged => out.push_batch(batch),
            Transformed::Replaced(mut replaced) if !replaced.is_empty() => {
                out.push_batch(&mut replaced)
            }
            Transformed::Replaced(_) => Ok(()),
        }
    }
}

pub(crate) struct FilterOperator {
    predicate: BatchPredicate,
}

impl FilterOperator {
    pub(crate) fn new(predicate: BatchPredicate) -> Stateless<Self> {
        Stateless(FilterOperator { predicate })
    }
}

impl BatchTransform for FilterOperator {
    fn transform(&mut self, batch: &ArrowBatch) -> Result<Transformed> {
        let mask = (self.predicate)(batch.record_batch())?;
        if mask.len() != batch.num_rows() {
            return Err(Error::function(format!(
                "Filter: the predicate returned {} booleans for a batch of {} rows; it must \
                 return one per row",
                mask.len(),
                batch.num_rows()
            )));
        }
        if mask.true_count() == mask.len() {
            return Ok(Transformed::Unchanged);
        }
        let kept = filter_record_batch(batch.record_batch(), &mask)
            .map_err(|e| kernel_error("Filter", e))?;
        Ok(Transformed::Replaced(with_rowtime(
            kept,
            batch.rowtime_index(),
        )?))
    }
}

pub(crate) struct ProjectOperator {
    indices: Vec<usize>,
    rowtime: Option<usize>,
}

impl ProjectOperator {
    pub(crate) fn new(indices: Vec<usize>, rowtime: Option<usize>) -> Stateless<Self> {
        Stateless(ProjectOperator { indices, rowtime })
    }
}

impl BatchTransform for ProjectOperator {
    fn transform(&mut self, batch: &ArrowBatch) -> Result<Transformed> {
        let projected = batch
            .record_batch()
            .project(&self.indices)
            .map_err(|e| kernel_error("Project", e))?;
        Ok(Transformed::Replaced(with_rowtime(
            projected,
            self.rowtime,
        )?))
    }
}

pub(crate) type BatchFunction = Arc<dyn Fn(&RecordBatch) -> Result<RecordBatch> + Send + Sync>;

pub(crate) struct MapBatchesOperator {
    name: String,
    schema: SchemaRef,
    function: BatchFunction,
}

impl MapBatchesOperator {
    pub(crate) fn new(name: String, schema: SchemaRef, function: BatchFunction) -> Stateless<Self> {
        Stateless(MapBatchesOperator {
            name,
            schema,
            function,
        })
    }
}

impl BatchTransform for MapBatchesOperator {
    fn transform(&mut self, batch: &ArrowBatch) -> Result<Transformed> {
        let mapped = (self.function)(batch.record_batch())?;
        if mapped.schema_ref() != &self.schema {
            return Err(Error::function(format!(
                "{}: the function returned a batch of schema {:?}, but the stream was declared \
                 with schema {:?}; return batches of the declared schema",
                self.name,
                mapped.schema(),
                self.schema
            )));
        }
        Ok(Transformed::Replaced(ArrowBatch::new(mapped)))
    }
}

pub(crate) struct RowtimeOperator {
    index: usize,
}

impl RowtimeOperator {
    pub(crate) fn new(index: usize) -> Stateless<Self> {
        Stateless(RowtimeOperator { index })
    }
}

impl BatchTransform for RowtimeOperator {
    fn transform(&mut self, batch: &ArrowBatch) -> Result<Transformed> {
        let stamped = ArrowBatch::with_rowtime_index(batch.record_batch().clone(), self.index)
            .map_err(|e| Error::function(format!("Rowtime: {e}")))?;
        Ok(Transformed::Replaced(stamped))
    }
}

/// Bounded-out-of-orderness watermarks over the rowtime column: the generator sees each
/// batch's largest rowtime, which is all a bounded-out-of-orderness generator keeps.
pub(crate) struct WatermarkOperator {
    generator: BoundedOutOfOrderness,
    output: WatermarkOutput,
    interval: Duration,
    last_emit: Instant,
    current: i64,
}

impl WatermarkOperator {
    pub(crate) fn new(bound: Duration, info: &TaskInfo) -> Self {
        WatermarkOperator {
            generator: BoundedOutOfOrderness::new(bound),
            output: WatermarkOutput::default(),
            interval: info.config.auto_watermark_interval(),
            last_emit: Instant::now(),
            current: i64::MIN,
        }
    }

    fn periodic_emit(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.interval.is_zero() || self.last_emit.elapsed() < self.interval {
            return Ok(());
        }
        self.last_emit = Instant::now();
        WatermarkGenerator::<()>::on_periodic_emit(&mut self.generator, &mut self.output);
        match self.output.take_pending() {
            Some(watermark) if watermark > self.current => {
                self.current = watermark;
                out.emit_watermark(Watermark(watermark))
            }
            _ => Ok(()),
        }
    }
}

impl Operator<ArrowBatch, ArrowBatch> for WatermarkOperator {
    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        if let Some(max) = batch.rowtime_values().and_then(|v| v.iter().copied().max()) {
            self.generator.on_event(&(), max, &mut self.output);
        }
        out.push_batch(batch)?;
        self.periodic_emit(out)
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        // This operator's watermarks replace upstream ones, except the end of input.
        if watermark == Watermark::MAX {
            self.current = i64::MAX;
            return out.emit_watermark(watermark);
        }
        Ok(())
    }

    fn on_processing_time(&mut self, _now_millis: i64, out: &mut Output<ArrowBatch>) -> Result<()> {
        self.periodic_emit(out)
    }
}

pub(crate) type RowConverter<T> =
    Arc<dyn Fn(&RecordBatch, &mut Vec<T>) -> Result<()> + Send + Sync>;

pub(crate) struct ToRowsOperator<T> {
    convert: RowConverter<T>,
    rows: Vec<T>,
}

impl<T> ToRowsOperator<T> {
    pub(crate) fn new(convert: RowConverter<T>) -> Self {
        ToRowsOperator {
            convert,
            rows: Vec::new(),
        }
    }
}

impl<T: Data> Operator<ArrowBatch, Batch<T>> for ToRowsOperator<T> {
    fn process_batch(&mut self, batch: &mut ArrowBatch, out: &mut Output<Batch<T>>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        self.rows.clear();
        (self.convert)(batch.record_batch(), &mut self.rows)?;
        match batch.rowtime_values() {
            Some(times) if times.len() == self.rows.len() => {
                for (value, &timestamp) in self.rows.drain(..).zip(times) {
                    out.collect(value, timestamp);
                }
            }
            _ => {
                for value in self.rows.drain(..) {
                    out.collect_value(value);
                }
            }
        }
        Ok(())
    }
}

/// Drops every batch.
pub(crate) struct DiscardOperator;

impl Operator<ArrowBatch, ArrowBatch> for DiscardOperator {
    fn process_batch(
        &mut self,
        _batch: &mut ArrowBatch,
        _out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        Ok(())
    }
}
