//! The typed family of [`StreamBatch`]: `Vec<Record<T>>`, for the DataStream API.

use flinkrs_core::{Batch, Data, Error, Record, Result};

use super::size::heap_size;
use super::{BatchBuilder, StreamBatch};

/// The in-memory size of one record: inline part plus what it owns on the heap.
#[inline]
fn record_size<T: Data>(record: &Record<T>) -> usize {
    size_of::<Record<T>>() + heap_size(&record.value)
}

impl<T: Data> StreamBatch for Batch<T> {
    type Builder = RowsBuilder<T>;

    #[inline]
    fn num_rows(&self) -> usize {
        self.len()
    }

    fn byte_size(&self) -> usize {
        self.iter().map(record_size).sum()
    }

    fn inline_row_size() -> usize {
        size_of::<Record<T>>()
    }

    fn clear(&mut self) {
        Vec::clear(self);
    }

    fn take(&mut self) -> Self {
        let capacity = self.capacity();
        std::mem::replace(self, Vec::with_capacity(capacity))
    }

    fn split_off(&mut self, at: usize) -> Self {
        Vec::split_off(self, at)
    }

    fn move_into(&mut self, builder: &mut RowsBuilder<T>) {
        builder.bytes += self.byte_size();
        if builder.rows.is_empty() {
            // Hand over the allocation instead of copying rows.
            std::mem::swap(&mut builder.rows, self);
        } else {
            builder.rows.append(self);
        }
    }

    fn copy_into(&self, builder: &mut RowsBuilder<T>) {
        builder.bytes += self.byte_size();
        builder.rows.extend_from_slice(self);
    }

    fn scatter_into(&mut self, targets: &[u32], builders: &mut [RowsBuilder<T>]) {
        debug_assert_eq!(targets.len(), self.len());
        for (record, &target) in self.drain(..).zip(targets) {
            builders[target as usize].push(record);
        }
    }

    fn encode(&self, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        postcard::serialize_with_flavor(self, Appender(out)).map_err(|source| {
            // What `out` held before stays; a half-written batch does not.
            out.truncate(start);
            Error::Codec(format!("cannot encode a batch of records: {source}"))
        })
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        postcard::from_bytes(bytes)
            .map_err(|source| Error::Codec(format!("cannot decode a batch of records: {source}")))
    }
}

/// Appends serialized bytes to a borrowed buffer, so encoding needs no buffer of its own.
struct Appender<'a>(&'a mut Vec<u8>);

/// Pieces up to this long are pushed byte by byte: most are varints of one to ten bytes, for
/// which a `memcpy` call costs more than the copy (it took a quarter of a remote channel's
/// encoding time).
const SHORT_PIECE: usize = 16;

impl postcard::ser_flavors::Flavor for Appender<'_> {
    type Output = ();

    #[inline]
    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        if bytes.len() <= SHORT_PIECE {
            for &byte in bytes {
                self.0.push(byte);
            }
        } else {
            self.0.extend_from_slice(bytes);
        }
        Ok(())
    }

    #[inline]
    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Gathers typed records for one channel, counting their true bytes as they arrive.
#[derive(Debug)]
pub struct RowsBuilder<T> {
    rows: Batch<T>,
    bytes: usize,
}

impl<T> Default for RowsBuilder<T> {
    fn default() -> Self {
        RowsBuilder {
            rows: Vec::new(),
            bytes: 0,
        }
    }
}

impl<T: Data> RowsBuilder<T> {
    /// Adds one record.
    #[inline]
    pub fn push(&mut self, record: Record<T>) {
        self.bytes += record_size(&record);
        self.rows.push(record);
    }
}

impl<T: Data> BatchBuilder for RowsBuilder<T> {
    type Batch = Batch<T>;

    #[inline]
    fn num_rows(&self) -> usize {
        self.rows.len()
    }

    #[inline]
    fn byte_size(&self) -> usize {
        self.bytes
    }

    fn finish(&mut self) -> Batch<T> {
        self.bytes = 0;
        let capacity = self.rows.len();
        std::mem::replace(&mut self.rows, Vec::with_capacity(capacity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(values: &[&str]) -> Batch<String> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Record::with_timestamp((*v).to_owned(), i as i64))
            .collect()
    }

    #[test]
    fn byte_size_counts_string_contents() {
        let small = batch(&["a", "b"]);
        let large = batch(&["a".repeat(1000).as_str(), "b"]);
        let inline = 2 * size_of::<Record<String>>();
        assert_eq!(small.byte_size(), inline + 2);
        assert_eq!(large.byte_size(), inline + 1001);
    }

    #[test]
    fn scatter_moves_each_row_to_its_target_in_order() {
        let mut rows = batch(&["a", "b", "c", "d"]);
        let mut builders: Vec<RowsBuilder<String>> =
            (0..2).map(|_| RowsBuilder::default()).collect();
        rows.scatter_into(&[1, 0, 1, 1], &mut builders);
        assert!(rows.is_empty());
        let second = builders[1].finish();
        assert_eq!(
            second
                .iter()
                .map(|r| (r.value.as_str(), r.timestamp))
                .collect::<Vec<_>>(),
            vec![("a", 0), ("c", 2), ("d", 3)]
        );
        assert_eq!(builders[0].byte_size(), size_of::<Record<String>>() + 1);
        assert_eq!(builders[0].finish(), batch(&["a", "b"]).split_off(1));
    }

    #[test]
    fn encoding_round_trips() {
        let rows = batch(&["x", "", "flink"]);
        let mut bytes = vec![9u8];
        rows.encode(&mut bytes).unwrap();
        assert_eq!(bytes[0], 9, "encode appends");
        assert_eq!(Batch::<String>::decode(&bytes[1..]).unwrap(), rows);
    }

    #[test]
    fn a_truncated_encoding_is_an_error_not_a_panic() {
        let mut bytes = Vec::new();
        batch(&["flink"]).encode(&mut bytes).unwrap();
        let error = Batch::<String>::decode(&bytes[..bytes.len() - 2]).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("codec: cannot decode a batch of records"),
            "{error}"
        );
    }
}
