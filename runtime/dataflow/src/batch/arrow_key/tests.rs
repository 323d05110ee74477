use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, Float64Array, Int8Array, Int32Array, Int64Array, LargeStringArray,
    RecordBatch, StringArray, StringViewArray, UInt8Array, UInt64Array,
};
use arrow_schema::Field;

use super::*;

/// A batch whose only column is `keys`, named `key`.
fn batch_of(keys: ArrayRef) -> ArrowBatch {
    ArrowBatch::new(RecordBatch::try_from_iter([("key", keys)]).unwrap())
}

fn hash_column(keys: ArrayRef) -> Vec<i32> {
    let batch = batch_of(keys);
    let hasher = ArrowKeyHash::new(batch.schema(), "key").unwrap();
    let mut hashes = vec![7, 7, 7, 7, 7, 7, 7, 7, 7];
    hasher.hash_rows(&batch, &mut hashes);
    hashes
}

/// The canonical encoding of a string or binary key: u32 little-endian length, then bytes.
fn length_prefixed(bytes: &[u8]) -> Vec<u8> {
    [&(bytes.len() as u32).to_le_bytes()[..], bytes].concat()
}

#[test]
fn murmur3_matches_reference_values() {
    assert_eq!(murmur3_x86_32(b""), 0);
    assert_eq!(murmur3_x86_32(b"hello"), 613153351);
    assert_eq!(murmur3_x86_32(b"hello world"), 1586663183);
}

#[test]
fn the_length_prefixed_hash_equals_the_hash_of_the_prefixed_bytes() {
    for value in [&b""[..], b"a", b"abcd", b"hello", b"hello world"] {
        assert_eq!(
            murmur3_x86_32_length_prefixed(value),
            murmur3_x86_32(&length_prefixed(value)),
            "{value:?}"
        );
    }
}

#[test]
fn integer_keys_hash_their_value_widened_to_i64() {
    let expected: Vec<i32> = [1i64, -7, 0, 127]
        .iter()
        .map(|value| murmur3_x86_32(&value.to_le_bytes()))
        .collect();
    assert_eq!(
        hash_column(Arc::new(Int64Array::from(vec![1, -7, 0, 127]))),
        expected
    );
    assert_eq!(
        hash_column(Arc::new(Int32Array::from(vec![1, -7, 0, 127]))),
        expected
    );
    assert_eq!(
        hash_column(Arc::new(Int8Array::from(vec![1, -7, 0, 127]))),
        expected
    );
    let unsigned = hash_column(Arc::new(UInt8Array::from(vec![1, 0, 127])));
    assert_eq!(unsigned, [expected[0], expected[2], expected[3]]);
}

#[test]
fn a_u64_key_past_i64_max_hashes_its_own_eight_bytes() {
    let hashes = hash_column(Arc::new(UInt64Array::from(vec![u64::MAX, 5])));
    assert_eq!(
        hashes,
        vec![
            murmur3_x86_32(&u64::MAX.to_le_bytes()),
            murmur3_x86_32(&5u64.to_le_bytes())
        ]
    );
    assert_eq!(hashes[0], murmur3_x86_32(&(-1i64).to_le_bytes()));
}

#[test]
fn null_keys_hash_as_the_encoding_of_none() {
    let none = murmur3_x86_32(&[0]);
    assert_eq!(
        hash_column(Arc::new(Int64Array::from(vec![None, Some(3)]))),
        vec![none, murmur3_x86_32(&3i64.to_le_bytes())]
    );
    assert_eq!(
        hash_column(Arc::new(StringArray::from(vec![Some("x"), None]))),
        vec![murmur3_x86_32(&length_prefixed(b"x")), none]
    );
}

#[test]
fn every_string_and_binary_layout_hashes_the_same_encoding() {
    let values = ["", "flink", "a longer key that does not fit in a view"];
    let expected: Vec<i32> = values
        .iter()
        .map(|value| murmur3_x86_32(&length_prefixed(value.as_bytes())))
        .collect();
    let bytes: Vec<&[u8]> = values.iter().map(|value| value.as_bytes()).collect();
    let layouts: [ArrayRef; 4] = [
        Arc::new(StringArray::from(values.to_vec())),
        Arc::new(LargeStringArray::from(values.to_vec())),
        Arc::new(StringViewArray::from(values.to_vec())),
        Arc::new(BinaryArray::from(bytes)),
    ];
    for keys in layouts {
        let data_type = keys.data_type().clone();
        assert_eq!(hash_column(keys), expected, "{data_type}");
    }
}

#[test]
fn hashes_follow_the_rows_of_a_slice() {
    let mut batch = batch_of(Arc::new(Int64Array::from(vec![1, 2, 3, 4])));
    let tail = batch.split_off(2);
    let hasher = ArrowKeyHash::at_index(tail.schema(), 0).unwrap();
    let mut hashes = Vec::new();
    hasher.hash_rows(&tail, &mut hashes);
    assert_eq!(
        hashes,
        vec![
            murmur3_x86_32(&3i64.to_le_bytes()),
            murmur3_x86_32(&4i64.to_le_bytes())
        ]
    );
}

#[test]
fn an_empty_batch_has_no_hashes_even_without_columns() {
    let schema = Schema::new(vec![Field::new("key", DataType::Int64, false)]);
    let hasher = ArrowKeyHash::new(&schema, "key").unwrap();
    let mut hashes = vec![1, 2];
    hasher.hash_rows(&ArrowBatch::default(), &mut hashes);
    assert_eq!(hashes, Vec::<i32>::new());
}

#[test]
fn an_unsupported_key_column_is_refused_when_the_hasher_is_built() {
    let batch = batch_of(Arc::new(Float64Array::from(vec![1.5])));
    assert_eq!(
        ArrowKeyHash::new(batch.schema(), "key")
            .unwrap_err()
            .to_string(),
        "invalid job: key column 'key' has type Float64, which cannot be hashed as a key; a key \
         column must be an integer (Int8..Int64, UInt8..UInt64), a string (Utf8, LargeUtf8, \
         Utf8View) or binary (Binary, LargeBinary, BinaryView)"
    );
    assert_eq!(
        ArrowKeyHash::new(batch.schema(), "user")
            .unwrap_err()
            .to_string(),
        "invalid job: key column 'user' is not in the schema (columns: key)"
    );
    assert_eq!(
        ArrowKeyHash::at_index(batch.schema(), 1)
            .unwrap_err()
            .to_string(),
        "invalid job: key column index 1 is out of range: the schema has 1 columns"
    );
}
