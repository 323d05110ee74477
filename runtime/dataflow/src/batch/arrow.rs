//! The Arrow family of [`StreamBatch`]: an Arrow [`RecordBatch`] with an optional rowtime
//! column, for SQL and Arrow streams.
//!
//! Arrow arrays are immutable and reference-counted, so splitting a batch is a zero-copy slice
//! and broadcasting it is a reference-count increment. A partitioner's scatter gathers each
//! target's rows with Arrow's `take` kernel; a channel's builder concatenates what it gathered
//! once, when it sends.
//!
//! ## Encoding
//!
//! A five-byte header, then one Arrow IPC stream (schema message, one record-batch message,
//! end-of-stream marker):
//!
//! | bytes | meaning                                                                   |
//! |-------|---------------------------------------------------------------------------|
//! | 0     | encoding version, [`ENCODING_VERSION`]                                    |
//! | 1..5  | rowtime column index, `u32` little-endian; `u32::MAX` when there is none  |
//! | 5..   | Arrow IPC stream format                                                   |
//!
//! The rowtime index lives in the header rather than in the schema's metadata so that the
//! schema round-trips unchanged and encoding never rebuilds it. Every encoded batch carries
//! its schema: it stands alone in a checkpoint, at the cost of the schema's few hundred bytes
//! per batch on the network.
//!
//! Decoding checks the header, that exactly one record batch and the end-of-stream marker
//! follow, and the rowtime column. Truncated or corrupt input is an [`Error::Codec`], never a
//! panic: arrow-ipc panics on some corrupt messages, and decode catches those panics.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, LazyLock};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, RecordBatch, RecordBatchOptions, UInt32Array};
use arrow_buffer::Buffer;
use arrow_ipc::reader::StreamDecoder;
use arrow_ipc::writer::StreamWriter;
use arrow_schema::{DataType, Schema, SchemaRef, TimeUnit};
use arrow_select::take::take;
use flinkrs_core::{Error, Result};

use super::StreamBatch;

mod builder;

pub use builder::ArrowBatchBuilder;

/// First byte of an encoded batch. A change of the header's layout gets a new version.
const ENCODING_VERSION: u8 = 1;
/// The header's rowtime field for a batch without a rowtime column.
const NO_ROWTIME: u32 = u32::MAX;
const HEADER_LEN: usize = 5;
/// What ends every IPC stream `encode` writes: a continuation token and a zero length.
const END_OF_STREAM: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

/// Shared by every empty default batch, so `ArrowBatch::default()` allocates nothing.
static EMPTY_SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| Arc::new(Schema::empty()));

/// An Arrow [`RecordBatch`] flowing through the dataflow, with the index of its rowtime
/// column: an `Int64` or `Timestamp(Millisecond)` column without nulls holding each row's
/// event time in epoch milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrowBatch {
    batch: RecordBatch,
    rowtime: Option<usize>,
}

impl Default for ArrowBatch {
    /// No rows and no columns: what an operator holds before it has produced anything.
    fn default() -> Self {
        ArrowBatch {
            batch: RecordBatch::new_empty(Arc::clone(&EMPTY_SCHEMA)),
            rowtime: None,
        }
    }
}

impl ArrowBatch {
    /// A batch whose rows carry no event time.
    pub fn new(batch: RecordBatch) -> Self {
        ArrowBatch {
            batch,
            rowtime: None,
        }
    }

    /// A batch whose event time is the column named `column`.
    pub fn with_rowtime(batch: RecordBatch, column: &str) -> Result<Self> {
        let schema = batch.schema_ref();
        let Some((index, _)) = schema.column_with_name(column) else {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(Error::InvalidJob(format!(
                "rowtime column '{column}' is not in the batch's schema (columns: {})",
                names.join(", ")
            )));
        };
        Self::with_rowtime_index(batch, index)
    }

    /// A batch whose event time is the column at `index`.
    pub fn with_rowtime_index(batch: RecordBatch, index: usize) -> Result<Self> {
        check_rowtime(&batch, index).map_err(Error::InvalidJob)?;
        Ok(ArrowBatch {
            batch,
            rowtime: Some(index),
        })
    }

    pub fn record_batch(&self) -> &RecordBatch {
        &self.batch
    }

    pub fn into_record_batch(self) -> RecordBatch {
        self.batch
    }

    pub fn schema(&self) -> &SchemaRef {
        self.batch.schema_ref()
    }

    /// Index of the rowtime column, if the batch has one.
    pub fn rowtime_index(&self) -> Option<usize> {
        self.rowtime
    }

    pub fn rowtime_column(&self) -> Option<&ArrayRef> {
        self.rowtime.map(|index| self.batch.column(index))
    }

    /// Each row's event time in epoch milliseconds (the rowtime column has no nulls).
    pub fn rowtime_values(&self) -> Option<&[i64]> {
        let column = self.rowtime_column()?;
        match column.data_type() {
            DataType::Timestamp(TimeUnit::Millisecond, _) => {
                Some(column.as_primitive::<TimestampMillisecondType>().values())
            }
            _ => Some(column.as_primitive::<Int64Type>().values()),
        }
    }
}

/// Why column `index` cannot be `batch`'s rowtime column, if it cannot.
fn check_rowtime(batch: &RecordBatch, index: usize) -> Result<(), String> {
    let schema = batch.schema_ref();
    let Some(field) = schema.fields().get(index) else {
        return Err(format!(
            "rowtime column index {index} is out of range: the batch has {} columns",
            schema.fields().len()
        ));
    };
    let name = field.name();
    match field.data_type() {
        DataType::Int64 | DataType::Timestamp(TimeUnit::Millisecond, _) => {}
        other => {
            return Err(format!(
                "rowtime column '{name}' has type {other}; a rowtime column must be Int64 \
                 (BIGINT) or Timestamp(Millisecond) (TIMESTAMP(3)) holding epoch milliseconds"
            ));
        }
    }
    let nulls = batch.column(index).null_count();
    if nulls > 0 {
        return Err(format!(
            "rowtime column '{name}' has {nulls} null values; every row needs an event time"
        ));
    }
    Ok(())
}

/// The bytes `column`'s rows use in its buffers (see [`ArrowBatch::byte_size`]).
fn column_byte_size(column: &ArrayRef) -> usize {
    match column.data_type() {
        // Long values of view types live in shared data buffers the slice size leaves out.
        DataType::Utf8View | DataType::BinaryView => column.get_array_memory_size(),
        _ => column
            .to_data()
            .get_slice_memory_size()
            .unwrap_or_else(|_| column.get_array_memory_size()),
    }
}

impl StreamBatch for ArrowBatch {
    type Builder = ArrowBatchBuilder;

    #[inline]
    fn num_rows(&self) -> usize {
        self.batch.num_rows()
    }

    /// The bytes the rows use in their Arrow buffers: for each column, the part of each buffer
    /// that the rows cover (values, offsets, validity bitmap, string and binary values), as
    /// Arrow's `ArrayData::get_slice_memory_size` counts it.
    ///
    /// Counting the covered part rather than whole allocations keeps sizes additive: the
    /// slices [`split_off`](StreamBatch::split_off) makes, and the columns decoded from one
    /// IPC message, share buffers, and a whole-buffer count would charge the shared buffer to
    /// every slice. Not counted: spare capacity and the array structs themselves. Counted
    /// whole, because Arrow cannot attribute them to rows: the data buffers of view types
    /// (`Utf8View`, `BinaryView`), dictionary values and the children of list arrays.
    fn byte_size(&self) -> usize {
        self.batch.columns().iter().map(column_byte_size).sum()
    }

    /// An estimate, since the schema is not known here: a row of eight 8-byte columns. A
    /// source uses it only to size its first batch; from then on `byte_size` is exact.
    fn inline_row_size() -> usize {
        64
    }

    /// Drops the rows but keeps the schema and the rowtime column, so the batch still describes
    /// its stream. Arrow buffers are immutable: there is no allocation to keep.
    fn clear(&mut self) {
        self.batch = RecordBatch::new_empty(Arc::clone(self.batch.schema_ref()));
    }

    /// Zero-copy: both halves are slices of the same buffers.
    ///
    /// # Panics
    /// If `at` is past the last row, as `Vec::split_off` does.
    fn split_off(&mut self, at: usize) -> Self {
        let rows = self.num_rows();
        assert!(
            at <= rows,
            "split_off at row {at} of a batch of {rows} rows"
        );
        let tail = self.batch.slice(at, rows - at);
        self.batch = self.batch.slice(0, at);
        ArrowBatch {
            batch: tail,
            rowtime: self.rowtime,
        }
    }

    /// Leaves `self` as the empty default batch.
    fn move_into(&mut self, builder: &mut ArrowBatchBuilder) {
        builder.push(std::mem::take(self));
    }

    /// Zero-copy: the builder shares the buffers.
    fn copy_into(&self, builder: &mut ArrowBatchBuilder) {
        builder.push(self.clone());
    }

    /// One pass over `targets` appends each row's index to its target's index list (a buffer
    /// each builder keeps between calls), then one `take` per target that got rows gathers
    /// them, in order. `take` with index lists beats `filter` with one boolean mask per
    /// target: the masks would cost a pass over every row per target to build and another to
    /// apply, while the index lists cost one pass in all, and `take` touches only the target's
    /// rows. A target that gets every row receives the batch itself, uncopied. Leaves `self`
    /// as the empty default batch.
    fn scatter_into(&mut self, targets: &[u32], builders: &mut [ArrowBatchBuilder]) {
        let rows = self.num_rows();
        debug_assert_eq!(targets.len(), rows, "one target per row");
        let batch = std::mem::take(self);
        if rows == 0 {
            return;
        }
        // `take(rows)`: like the typed family's zip, surplus targets are ignored.
        for (row, &target) in targets.iter().take(rows).enumerate() {
            // A batch is bounded by a channel's max-rows, far below u32::MAX.
            builders[target as usize].indices.push(row as u32);
        }
        for builder in builders.iter_mut() {
            let target_rows = builder.indices.len();
            if target_rows == rows {
                builder.indices.clear();
                builder.push(batch);
                return;
            }
            if target_rows > 0 {
                let taken = take_rows(&batch, &mut builder.indices);
                builder.push(taken);
            }
        }
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let result = encode_into(self, out);
        if result.is_err() {
            // Leave `out` as it was: a half-written batch must not reach a channel.
            out.truncate(start);
        }
        result
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let Some((header, stream)) = bytes.split_first_chunk::<HEADER_LEN>() else {
            return Err(codec(format!(
                "truncated Arrow batch: {} bytes, shorter than its {HEADER_LEN}-byte header",
                bytes.len()
            )));
        };
        let [version, rowtime @ ..] = *header;
        if version != ENCODING_VERSION {
            return Err(codec(format!(
                "unknown Arrow batch encoding version {version}; this build reads version \
                 {ENCODING_VERSION}"
            )));
        }
        // The IPC reader panics on some well-formed flatbuffers that describe impossible types
        // (an integer 7 bits wide, say). Corrupt bytes must fail the decode, not the task.
        let batch = catch_unwind(AssertUnwindSafe(|| decode_ipc_stream(stream)))
            .map_err(|_| codec("corrupt Arrow IPC stream: the IPC reader rejected it".into()))??;
        let rowtime = match u32::from_le_bytes(rowtime) {
            NO_ROWTIME => None,
            index => {
                let index = index as usize;
                check_rowtime(&batch, index).map_err(codec)?;
                Some(index)
            }
        };
        Ok(ArrowBatch { batch, rowtime })
    }
}

/// Gathers the rows at `indices` (ascending) of `batch` into a new batch, and hands the index
/// buffer back, emptied, for the next scatter.
fn take_rows(batch: &ArrowBatch, indices: &mut Vec<u32>) -> ArrowBatch {
    let rows = indices.len();
    // No copy: the array takes over the Vec's allocation.
    let index_array = UInt32Array::from(std::mem::take(indices));
    let columns = batch
        .batch
        .columns()
        .iter()
        .map(|column| take(column, &index_array, None))
        .collect::<Result<Vec<_>, _>>()
        .expect("take with in-bounds indices cannot fail");
    // The row count keeps batches without columns (COUNT(*) inputs) correct.
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    let taken = RecordBatch::try_new_with_options(Arc::clone(batch.schema()), columns, &options)
        .expect("take keeps each column's type and length");
    // `take` does not keep the index array, so its buffer is ours again.
    if let Ok(mut reused) = index_array.into_parts().1.into_inner().into_vec::<u32>() {
        reused.clear();
        *indices = reused;
    }
    ArrowBatch {
        batch: taken,
        rowtime: batch.rowtime,
    }
}

fn encode_into(batch: &ArrowBatch, out: &mut Vec<u8>) -> Result<()> {
    let rowtime = match batch.rowtime {
        None => NO_ROWTIME,
        Some(index) => u32::try_from(index)
            .ok()
            .filter(|&index| index != NO_ROWTIME)
            .ok_or_else(|| {
                codec(format!(
                    "rowtime column index {index} does not fit the header"
                ))
            })?,
    };
    out.push(ENCODING_VERSION);
    out.extend_from_slice(&rowtime.to_le_bytes());
    let failed = |source| codec(format!("cannot encode an Arrow batch as IPC: {source}"));
    let mut writer = StreamWriter::try_new(&mut *out, batch.schema()).map_err(failed)?;
    writer.write(&batch.batch).map_err(failed)?;
    writer.finish().map_err(failed)
}

/// Reads the one record batch of an IPC stream written by `encode`, and checks that nothing
/// but the end-of-stream marker follows it.
fn decode_ipc_stream(stream: &[u8]) -> Result<RecordBatch> {
    // One copy into an aligned buffer; the decoded arrays are zero-copy slices of it.
    let mut buffer = Buffer::from(stream);
    let batch = StreamDecoder::new()
        .decode(&mut buffer)
        .map_err(|source| codec(format!("cannot decode the Arrow IPC stream: {source}")))?
        .ok_or_else(|| {
            codec(format!(
                "truncated Arrow IPC stream: {} bytes end before its record batch",
                stream.len()
            ))
        })?;
    let rest = buffer.as_slice();
    if rest != END_OF_STREAM {
        let problem = if END_OF_STREAM.starts_with(rest) {
            "its end-of-stream marker is truncated"
        } else {
            "unexpected bytes follow its record batch"
        };
        return Err(codec(format!("malformed Arrow IPC stream: {problem}")));
    }
    Ok(batch)
}

fn codec(message: String) -> Error {
    Error::Codec(message)
}

#[cfg(test)]
mod tests;
