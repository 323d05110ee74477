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

#[test]
fn integer_keys_hash_their_value_widened_to_i64() {
    let expected: Vec<i32> = [1i64, -7, 0, 127]
        .iter()
        .map(|value| key_hash(&value))
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
    assert_eq!(hashes, vec![key_hash(&u64::MAX), key_hash(&5)]);
    assert_eq!(hashes[0], key_hash(&-1i64));
}

#[test]
fn null_keys_hash_as_the_encoding_of_none() {
    let none = key_hash(&None::<u64>);
    assert_eq!(
        hash_column(Arc::new(Int64Array::from(vec![None, Some(3)]))),
        vec![none, key_hash(&3)]
    );
    assert_eq!(
        hash_column(Arc::new(StringArray::from(vec![Some("x"), None]))),
        vec![key_hash("x"), none]
    );
}

#[test]
fn every_string_and_binary_layout_hashes_the_same_encoding() {
    let values = ["", "flink", "a longer key that does not fit in a view"];
    let expected: Vec<i32> = values.iter().map(|value| key_hash(*value)).collect();
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
    assert_eq!(hashes, vec![key_hash(&3), key_hash(&4)]);
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
