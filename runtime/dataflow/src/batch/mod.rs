//! [`StreamBatch`]: the one batch abstraction every contract of the dataflow is generic over.
//!
//! Records never move one at a time. Two families of batches implement this trait:
//! - typed rows, [`Batch<T>`](flinkrs_core::Batch) (`Vec<Record<T>>`), for the DataStream
//!   API;
//! - Arrow record batches with a rowtime column, for SQL and Arrow streams.
//!
//! Operators, outputs, channel writers, input gates and partitioners only use this trait, so
//! either family flows through the same chains and channels.

mod arrow;
mod arrow_key;
mod size;
mod typed;

pub use arrow::{ArrowBatch, ArrowBatchBuilder};
pub use arrow_key::ArrowKeyHash;
pub use size::heap_size;
pub use typed::RowsBuilder;

use flinkrs_core::Result;

/// A batch of rows of one type.
pub trait StreamBatch: Clone + Default + Send + 'static {
    /// Accumulates rows for one destination: a channel's pending buffer.
    type Builder: BatchBuilder<Batch = Self>;

    /// Rows in the batch.
    fn num_rows(&self) -> usize;

    /// Whether the batch has no rows.
    fn is_empty(&self) -> bool {
        self.num_rows() == 0
    }

    /// The batch's true size in memory, heap included (string contents, nested buffers).
    fn byte_size(&self) -> usize;

    /// The bytes one row takes before anything it owns on the heap: how a source sizes its
    /// batches before it has read a row.
    fn inline_row_size() -> usize;

    /// Removes every row, keeping allocations for reuse.
    fn clear(&mut self);

    /// Moves every row out into the returned batch, leaving `self` empty and ready to be
    /// filled again (typed rows leave a buffer of the same capacity, so the producer does not
    /// grow a new one row by row).
    fn take(&mut self) -> Self {
        std::mem::take(self)
    }

    /// Splits off rows `at..` into a new batch (zero-copy where the family allows).
    fn split_off(&mut self, at: usize) -> Self;

    /// Moves every row into `builder`, leaving `self` empty.
    fn move_into(&mut self, builder: &mut Self::Builder);

    /// Copies every row into `builder` (broadcast).
    fn copy_into(&self, builder: &mut Self::Builder);

    /// Moves row `i` into `builders[targets[i]]`, in one pass over the batch, leaving `self`
    /// empty. `targets` has one entry per row.
    fn scatter_into(&mut self, targets: &[u32], builders: &mut [Self::Builder]);

    /// Appends the batch's encoding to `out`: what crosses the network and what unaligned
    /// checkpoints store.
    fn encode(&self, out: &mut Vec<u8>) -> Result<()>;

    /// Decodes a batch written by [`encode`](Self::encode).
    fn decode(bytes: &[u8]) -> Result<Self>;
}

/// Rows gathered for one destination, sent as one batch when full.
pub trait BatchBuilder: Default + Send + 'static {
    type Batch: StreamBatch<Builder = Self>;

    /// Rows gathered so far.
    fn num_rows(&self) -> usize;

    /// True bytes gathered so far.
    fn byte_size(&self) -> usize;

    /// Takes what was gathered as one batch; the builder is empty afterwards.
    fn finish(&mut self) -> Self::Batch;
}
