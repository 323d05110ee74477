//! [`ArrowDataGen`]: a generator of Arrow batches whose columns are pure functions of the row
//! index, filled a column at a time.

use std::fmt;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use flinkrs_core::{Error, Result};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::source::{decode_position, encode_position};
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

/// The row indices of one batch: `first`, `first + step`, … (`len` of them). Subtask `i` of
/// `p` generates every `p`-th row starting at `i`, so the step is the parallelism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowIndices {
    pub first: u64,
    pub step: u64,
    pub len: usize,
}

impl RowIndices {
    /// The indices, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u64> + use<> {
        let RowIndices { first, step, len } = *self;
        (0..len).map(move |i| first + i as u64 * step)
    }
}

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
    /// This subtask's next row index, once assigned or restored.
    next: Option<u64>,
    step: u64,
}

impl fmt::Debug for ArrowDataGen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrowDataGen")
            .field("schema", &self.schema)
            .field("rows", &self.rows)
            .field("next", &self.next)
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
            next: None,
            step: 1,
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }
}

impl SourceFunction<ArrowBatch> for ArrowDataGen {
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        self.step = context.parallelism().max(1) as u64;
        if self.next.is_none() {
            self.next = Some(context.subtask_index() as u64);
        }
        Ok(())
    }

    fn poll_batch(
        &mut self,
        batch: &mut ArrowBatch,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        let next = self.next.unwrap_or(context.subtask_index() as u64);
        let remaining = match self.rows {
            Some(rows) if next >= rows => return Ok(SourceStatus::Finished),
            Some(rows) => (rows - next).div_ceil(self.step),
            None => u64::MAX,
        };
        let len = remaining.min(context.batch_rows.max(1) as u64) as usize;
        let indices = RowIndices {
            first: next,
            step: self.step,
            len,
        };
        let columns = (self.columns)(indices)?;
        let generated = RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|e| {
            Error::function(format!(
                "datagen: the column function's arrays do not fit the schema: {e}"
            ))
        })?;
        *batch = ArrowBatch::new(generated);
        let after = next.saturating_add(len as u64 * self.step);
        self.next = Some(after);
        Ok(match self.rows {
            Some(rows) if after >= rows => SourceStatus::Finished,
            _ => SourceStatus::MoreAvailable,
        })
    }

    fn boundedness(&self) -> Boundedness {
        match self.rows {
            Some(_) => Boundedness::Bounded,
            None => Boundedness::ContinuousUnbounded,
        }
    }

    fn snapshot_state(&mut self) -> Result<Vec<u8>> {
        Ok(encode_position(self.next.unwrap_or(0)))
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<()> {
        self.next = Some(decode_position(state, "Arrow datagen source")?);
        Ok(())
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
