//! Vectorized key hashing of an Arrow key column: one `i32` per row, in one pass over the
//! column.
//!
//! The hash is the stable key hash of architecture decision 5 (`flinkrs_core::key_hash`):
//! MurmurHash3 x86_32 (seed 0) over the key's canonical encoding, so that an Arrow key and a typed key with the same value
//! land in the same key group:
//! - an integer (`Int8`..`Int64`, `UInt8`..`UInt64`): the value widened to `i64` (a `UInt64`
//!   keeps its 64 bits), as 8 little-endian bytes;
//! - a string (`Utf8`, `LargeUtf8`, `Utf8View`): its byte length as a `u32` little-endian,
//!   then its UTF-8 bytes;
//! - binary (`Binary`, `LargeBinary`, `BinaryView`): the same, with the raw bytes;
//! - a null, of any type: the encoding of `Option::None`, a single `0` byte.

use crate::partition::BatchKeyHash;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::{DataType, Schema};
use flinkrs_core::key_hash::{key_hash, key_hash_bytes, key_hash_i64};
use flinkrs_core::{Error, Result};

use super::{ArrowBatch, StreamBatch};

/// Hashes one key column of Arrow batches (see the module's documentation for the encoding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrowKeyHash {
    column: usize,
}

impl ArrowKeyHash {
    /// Hashes the column named `column` of batches of `schema`.
    pub fn new(schema: &Schema, column: &str) -> Result<Self> {
        let Some((index, _)) = schema.column_with_name(column) else {
            let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            return Err(Error::InvalidJob(format!(
                "key column '{column}' is not in the schema (columns: {})",
                names.join(", ")
            )));
        };
        Self::at_index(schema, index)
    }

    /// Hashes the column at `index` of batches of `schema`.
    pub fn at_index(schema: &Schema, index: usize) -> Result<Self> {
        let Some(field) = schema.fields().get(index) else {
            return Err(Error::InvalidJob(format!(
                "key column index {index} is out of range: the schema has {} columns",
                schema.fields().len()
            )));
        };
        if !is_key_type(field.data_type()) {
            return Err(Error::InvalidJob(format!(
                "key column '{}' has type {}, which cannot be hashed as a key; a key column \
                 must be an integer (Int8..Int64, UInt8..UInt64), a string (Utf8, LargeUtf8, \
                 Utf8View) or binary (Binary, LargeBinary, BinaryView)",
                field.name(),
                field.data_type()
            )));
        }
        Ok(ArrowKeyHash { column: index })
    }

    /// Index of the key column.
    pub fn column(&self) -> usize {
        self.column
    }
}

fn is_key_type(data_type: &DataType) -> bool {
    use DataType::*;
    matches!(
        data_type,
        Int8 | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Utf8
            | LargeUtf8
            | Utf8View
            | Binary
            | LargeBinary
            | BinaryView
    )
}

impl BatchKeyHash<ArrowBatch> for ArrowKeyHash {
    /// # Panics
    /// If the batch's key column is missing or of another type than the schema the hasher was
    /// built for had: the batch does not belong to this stream, a bug upstream.
    fn hash_rows(&self, batch: &ArrowBatch, hashes: &mut Vec<i32>) {
        hashes.clear();
        if batch.is_empty() {
            // Also covers the empty default batch, which has no columns.
            return;
        }
        let Some(keys) = batch.record_batch().columns().get(self.column) else {
            panic!(
                "key column {} is missing from a batch of {} columns, which does not belong to \
                 the stream the key hasher was built for",
                self.column,
                batch.record_batch().num_columns()
            );
        };
        hashes.reserve(keys.len());
        match keys.data_type() {
            DataType::Int8 => hash_integers(keys.as_primitive::<Int8Type>(), i64::from, hashes),
            DataType::Int16 => hash_integers(keys.as_primitive::<Int16Type>(), i64::from, hashes),
            DataType::Int32 => hash_integers(keys.as_primitive::<Int32Type>(), i64::from, hashes),
            DataType::Int64 => hash_integers(keys.as_primitive::<Int64Type>(), |v| v, hashes),
            DataType::UInt8 => hash_integers(keys.as_primitive::<UInt8Type>(), i64::from, hashes),
            DataType::UInt16 => hash_integers(keys.as_primitive::<UInt16Type>(), i64::from, hashes),
            DataType::UInt32 => hash_integers(keys.as_primitive::<UInt32Type>(), i64::from, hashes),
            // The same 8 bytes as the u64: values past i64::MAX wrap, they are not clamped.
            DataType::UInt64 => {
                hash_integers(keys.as_primitive::<UInt64Type>(), |v| v as i64, hashes)
            }
            DataType::Utf8 => hash_bytes(keys.as_string::<i32>().iter().map(as_bytes), hashes),
            DataType::LargeUtf8 => hash_bytes(keys.as_string::<i64>().iter().map(as_bytes), hashes),
            DataType::Utf8View => hash_bytes(keys.as_string_view().iter().map(as_bytes), hashes),
            DataType::Binary => hash_bytes(keys.as_binary::<i32>().iter(), hashes),
            DataType::LargeBinary => hash_bytes(keys.as_binary::<i64>().iter(), hashes),
            DataType::BinaryView => hash_bytes(keys.as_binary_view().iter(), hashes),
            other => panic!(
                "key column {} of a batch has type {other}, which the key hasher was not built \
                 for: the batch does not belong to its stream",
                self.column
            ),
        }
    }
}

fn as_bytes(value: Option<&str>) -> Option<&[u8]> {
    value.map(str::as_bytes)
}

/// The hash of a null key: the canonical encoding of `Option::None`.
fn null_hash() -> i32 {
    key_hash(&None::<()>)
}

fn hash_integers<T: ArrowPrimitiveType>(
    keys: &PrimitiveArray<T>,
    widen: impl Fn(T::Native) -> i64,
    hashes: &mut Vec<i32>,
) {
    let hash = |value: T::Native| key_hash_i64(widen(value));
    if keys.null_count() == 0 {
        // No validity checks per row: a straight loop over the values buffer.
        hashes.extend(keys.values().iter().map(|&value| hash(value)));
    } else {
        let null = null_hash();
        hashes.extend(keys.iter().map(|key| key.map_or(null, hash)));
    }
}

fn hash_bytes<'a>(keys: impl Iterator<Item = Option<&'a [u8]>>, hashes: &mut Vec<i32>) {
    let null = null_hash();
    hashes.extend(keys.map(|key| key.map_or(null, key_hash_bytes)));
}

#[cfg(test)]
mod tests;
