//! [`ArrowDataGen`]: a generator of Arrow batches whose columns are pure functions of the row
//! index, filled a column at a time.

use std::fmt;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use flinkrs_core::{Error, Result};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::source::{RowRun, SequenceSplits};
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

/// The row indices of one batch: `first`, `first + step`, … (`len` of them). On a fresh
/// start subtask `i` of `p` generates every `p`-th row starting at `i`, so the step is the
/// parallelism of the first run (the source's splits keep it through restores).
pub type RowIndices = RowRun;

/// Makes a batch's columns, in schema order, from its row indices.
pub type ColumnsFn = dyn Fn(RowIndices) -> Result<Vec<ArrayRef>> + Send + Sync;

/// A parallel, bounded or unbounded source of Arrow batches of a fixed schema. The value of
/// every cell is a pure function of its row's index (mix in a seed with [`mix64`] for
/// random-looking values), so a replay from a checkpointed position, or a run at another
/// parallelism, generates exactly the same rows.
///
/// ```
/// use std::sync::Arc;
/// use flinkrs_api::arrow::array::{ArrayRef, Int64Array};
/// use flinkrs_api::arrow::schema::{DataType, Field, Schema};
/// use flinkrs_connectors::datagen::ArrowDataGen;
///
/// let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
/// let numbers = ArrowDataGen::new(schema, Some(1_000), |rows| {
///     let n: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|i| i as i64)));
///     Ok(vec![n])
/// });
/// # let _ = numbers;
/// ```
#[derive(Clone)]
pub struct ArrowDataGen {
    schema: SchemaRef,
    columns: Arc<ColumnsFn>,
    /// Rows `0..rows`; `None` for an unbounded source.
    rows: Option<u64>,
    /// This subtask's splits, once assigned or restored.
    splits: SequenceSplits,
}

impl fmt::Debug for ArrowDataGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrowDataGen")
            .field("schema", &self.schema)
            .field("rows", &self.rows)
            .field("splits", &self.splits)
            .finish_non_exhaustive()
    }
}

impl ArrowDataGen {
    /// Generates rows `0..rows` (unbounded when `None`) of `schema`; `columns` makes a batch's
    /// columns from its row indices.
    pub fn new<F>(schema: SchemaRef, rows: Option<u64>, columns: F) -> Self
    where
        F: Fn(RowIndices) -> Result<Vec<ArrayRef>> + Send + Sync + 'static,
    {
        ArrowDataGen {
            schema,
            columns: Arc::new(columns),
            rows,
            splits: SequenceSplits::new(),
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

impl SourceFunction<ArrowBatch> for ArrowDataGen {
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        self.splits
            .assign(context.subtask_index(), context.parallelism(), 0);
        Ok(())
    }

    fn poll_batch(
        &mut self,
        batch: &mut ArrowBatch,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        // Rows `0..rows`: the last is `rows - 1`; no rows at all finish at once.
        let last = match self.rows {
            Some(0) => return Ok(SourceStatus::Finished),
            Some(rows) => rows - 1,
            None => u64::MAX,
        };
        let Some(indices) = self.splits.next_run(context.batch_rows, last) else {
            return Ok(SourceStatus::Finished);
        };
        let columns = (self.columns)(indices)?;
        let generated = RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| {
            Error::function(format!(
                "datagen: the column function's arrays do not fit the schema: {e}"
            ))
        })?;
        *batch = ArrowBatch::new(generated);
        Ok(if self.splits.is_finished(last) {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        })
    }

    fn boundedness(&self) -> Boundedness {
        match self.rows {
            Some(_) => Boundedness::Bounded,
            None => Boundedness::ContinuousUnbounded,
        }
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(self.splits.snapshot())
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        self.splits.restore(&splits, "Arrow datagen source")
    }
}

/// A well-mixed 64-bit value for `index` under `seed` (SplitMix64's finalizer): random-looking
/// generated values that stay a pure function of the row index.
#[inline]
pub fn mix64(index: u64, seed: u64) -> u64 {
    let mut z = index
        .wrapping_add(seed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
