//! [`ArrowBatchBuilder`]: the rows gathered for one channel, as a list of batches.

use std::sync::Arc;

use arrow_select::concat::concat_batches;

use super::ArrowBatch;
use crate::batch::{BatchBuilder, StreamBatch};

/// Gathers Arrow batches for one channel and concatenates them, once, when the channel sends.
///
/// # Contract: one schema per builder
///
/// A builder serves one channel, and every batch on a channel has its edge's schema. A batch
/// whose columns (names, types, nullability) or rowtime column differ from the batches already
/// gathered is therefore a bug upstream. [`push`](Self::push) panics on it, naming both
/// schemas, in release builds too: the task reports the panic as the failure of the operator
/// that pushed, whereas going on would send rows under the wrong schema or lose them at
/// [`finish`](BatchBuilder::finish), which cannot return an error. Schema-level metadata is
/// not compared; a concatenated batch keeps the first batch's.
#[derive(Debug, Default)]
pub struct ArrowBatchBuilder {
    pending: Vec<ArrowBatch>,
    rows: usize,
    bytes: usize,
    /// Scatter's index list for this target, kept between scatters so that, in steady state,
    /// a scatter allocates no index buffer. Empty outside `scatter_into`.
    pub(super) indices: Vec<u32>,
}

impl ArrowBatchBuilder {
    /// Adds a batch, zero-copy. A batch without rows is skipped, whatever its schema: the
    /// empty default batch has no columns.
    ///
    /// # Panics
    /// If the batch's schema differs from the gathered batches' (see the type's contract).
    pub fn push(&mut self, batch: ArrowBatch) {
        if batch.is_empty() {
            return;
        }
        if let Some(first) = self.pending.first() {
            assert_same_layout(first, &batch);
        }
        self.rows += batch.num_rows();
        self.bytes += batch.byte_size();
        self.pending.push(batch);
    }
}

fn assert_same_layout(first: &ArrowBatch, next: &ArrowBatch) {
    let same_columns = Arc::ptr_eq(first.schema(), next.schema())
        || first.schema().fields() == next.schema().fields();
    assert!(
        same_columns && first.rowtime == next.rowtime,
        "a channel's builder got batches of two schemas, a bug upstream: gathered {:?} with \
         rowtime column {:?}, then {:?} with rowtime column {:?}",
        first.schema().fields(),
        first.rowtime,
        next.schema().fields(),
        next.rowtime,
    );
}

impl BatchBuilder for ArrowBatchBuilder {
    type Batch = ArrowBatch;

    #[inline]
    fn num_rows(&self) -> usize {
        self.rows
    }

    /// The sum of the gathered batches' [`byte_size`](StreamBatch::byte_size).
    #[inline]
    fn byte_size(&self) -> usize {
        self.bytes
    }

    /// The one gathered batch as it is, or the concatenation of several (one copy of their
    /// rows); the empty default batch when nothing was gathered.
    ///
    /// # Panics
    /// If concatenating overflows the 2 GiB of values that a `Utf8` or `Binary` column can
    /// address; a channel's byte bound keeps batches far below it.
    fn finish(&mut self) -> ArrowBatch {
        self.rows = 0;
        self.bytes = 0;
        if self.pending.len() <= 1 {
            return self.pending.pop().unwrap_or_default();
        }
        let first = &self.pending[0];
        let (schema, rowtime) = (Arc::clone(first.schema()), first.rowtime);
        let batches = self.pending.iter().map(ArrowBatch::record_batch);
        let batch = concat_batches(&schema, batches).unwrap_or_else(|error| {
            panic!(
                "cannot concatenate {} batches for a channel: {error}",
                self.pending.len()
            )
        });
        self.pending.clear();
        ArrowBatch { batch, rowtime }
    }
}
