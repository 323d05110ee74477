use std::sync::Arc;

use arrow_array::{Int64Array, RecordBatch, StringArray, TimestampMillisecondArray};
use arrow_schema::{Field, Schema};

use super::*;
use crate::batch::BatchBuilder;

/// Six rows: `id` 10..=15, `name` with a null and an empty string, rowtime `ts` 1000..=1005.
fn six_rows() -> ArrowBatch {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![10, 11, 12, 13, 14, 15])),
        Arc::new(StringArray::from(vec![
            Some("a"),
            None,
            Some("ccc"),
            Some("dd"),
            Some(""),
            Some("ffffff"),
        ])),
        Arc::new(TimestampMillisecondArray::from(vec![
            1000, 1001, 1002, 1003, 1004, 1005,
        ])),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema), columns).unwrap();
    ArrowBatch::with_rowtime(batch, "ts").unwrap()
}

fn ids(batch: &ArrowBatch) -> Vec<i64> {
    batch
        .record_batch()
        .column(0)
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

fn names(batch: &ArrowBatch) -> Vec<Option<&str>> {
    batch
        .record_batch()
        .column(1)
        .as_string::<i32>()
        .iter()
        .collect()
}

fn builders(count: usize) -> Vec<ArrowBatchBuilder> {
    (0..count).map(|_| ArrowBatchBuilder::default()).collect()
}

#[test]
fn scatter_of_six_rows_to_three_targets_keeps_each_targets_rows_in_order() {
    let mut batch = six_rows();
    let mut targets = builders(3);
    batch.scatter_into(&[2, 0, 2, 1, 0, 2], &mut targets);
    assert!(batch.is_empty());
    assert_eq!(
        targets
            .iter()
            .map(BatchBuilder::num_rows)
            .collect::<Vec<_>>(),
        vec![2, 1, 3]
    );
    // id and ts: 8 bytes a row; name: 4 bytes an offset (one more than rows) plus the
    // string bytes, plus a validity bitmap byte where a null came along.
    assert_eq!(
        targets
            .iter()
            .map(BatchBuilder::byte_size)
            .collect::<Vec<_>>(),
        vec![16 + (12 + 1) + 16, 8 + (8 + 2) + 8, 24 + (16 + 10) + 24]
    );
    let [first, second, third] = [0, 1, 2].map(|target| targets[target].finish());
    assert_eq!(
        (ids(&first), names(&first)),
        (vec![11, 14], vec![None, Some("")])
    );
    assert_eq!((ids(&second), names(&second)), (vec![13], vec![Some("dd")]));
    assert_eq!(
        (ids(&third), names(&third)),
        (
            vec![10, 12, 15],
            vec![Some("a"), Some("ccc"), Some("ffffff")]
        )
    );
    assert_eq!(third.rowtime_values(), Some(&[1000, 1002, 1005][..]));
    assert_eq!(third.rowtime_index(), Some(2));
    assert_eq!(third.schema(), six_rows().schema());
}

#[test]
fn scatter_reuses_each_targets_index_buffer() {
    let mut targets = builders(2);
    six_rows().scatter_into(&[0, 1, 0, 1, 0, 1], &mut targets);
    for builder in &targets {
        assert!(builder.indices.is_empty());
        assert!(
            builder.indices.capacity() >= 3,
            "{}",
            builder.indices.capacity()
        );
    }
}

#[test]
fn scatter_of_every_row_to_one_target_hands_over_the_batch_uncopied() {
    let original = six_rows();
    let mut batch = original.clone();
    let mut targets = builders(3);
    batch.scatter_into(&[1; 6], &mut targets);
    let received = targets[1].finish();
    assert!(Arc::ptr_eq(
        received.record_batch().column(1),
        original.record_batch().column(1)
    ));
    assert_eq!(received, original);
    assert_eq!((targets[0].num_rows(), targets[2].num_rows()), (0, 0));
}

#[test]
fn split_off_slices_the_same_buffers() {
    let mut head = six_rows();
    let total = head.byte_size();
    let tail = head.split_off(4);
    assert_eq!(
        (ids(&head), ids(&tail)),
        (vec![10, 11, 12, 13], vec![14, 15])
    );
    assert_eq!(names(&tail), vec![Some(""), Some("ffffff")]);
    assert_eq!(tail.rowtime_values(), Some(&[1004, 1005][..]));
    let id_values =
        |batch: &ArrowBatch| batch.record_batch().column(0).to_data().buffers()[0].clone();
    assert_eq!(
        id_values(&head).data_ptr(),
        id_values(&tail).data_ptr(),
        "no copy"
    );
    // Each slice counts its own rows only: together the halves count one offset of the name
    // column more than the whole (each half has one more offset than rows). The tail has no
    // null, so Arrow drops its validity bitmap.
    assert_eq!(head.byte_size(), 32 + (20 + 1 + 6) + 32);
    assert_eq!(tail.byte_size(), 16 + (12 + 6) + 16);
    assert_eq!(total, 48 + (28 + 1 + 12) + 48);
}

#[test]
fn split_off_at_zero_moves_every_row() {
    let mut head = six_rows();
    let tail = head.split_off(0);
    assert_eq!(
        (head.num_rows(), ids(&tail)),
        (0, vec![10, 11, 12, 13, 14, 15])
    );
}

#[test]
fn clear_keeps_the_schema_and_the_rowtime_column() {
    let mut batch = six_rows();
    batch.clear();
    // The empty name column still holds its one offset.
    assert_eq!((batch.num_rows(), batch.byte_size()), (0, 4));
    assert_eq!(batch.schema(), six_rows().schema());
    assert_eq!(batch.rowtime_values(), Some(&[][..]));
}

#[test]
fn the_default_batch_is_empty_and_shares_one_schema() {
    let (one, other) = (ArrowBatch::default(), ArrowBatch::default());
    assert_eq!((one.num_rows(), one.record_batch().num_columns()), (0, 0));
    assert!(Arc::ptr_eq(one.schema(), other.schema()));
}

#[test]
fn rowtime_constructors_name_the_offending_column() {
    let batch = six_rows().into_record_batch();
    let message = |result: Result<ArrowBatch>| result.unwrap_err().to_string();
    assert_eq!(
        message(ArrowBatch::with_rowtime(batch.clone(), "event_time")),
        "invalid job: rowtime column 'event_time' is not in the batch's schema (columns: id, \
         name, ts)"
    );
    assert_eq!(
        message(ArrowBatch::with_rowtime(batch.clone(), "name")),
        "invalid job: rowtime column 'name' has type Utf8; a rowtime column must be Int64 \
         (BIGINT) or Timestamp(Millisecond) (TIMESTAMP(3)) holding epoch milliseconds"
    );
    assert_eq!(
        message(ArrowBatch::with_rowtime_index(batch.clone(), 3)),
        "invalid job: rowtime column index 3 is out of range: the batch has 3 columns"
    );
    let with_null = RecordBatch::try_from_iter([(
        "at",
        Arc::new(Int64Array::from(vec![Some(5), None])) as ArrayRef,
    )])
    .unwrap();
    assert_eq!(
        message(ArrowBatch::with_rowtime(with_null, "at")),
        "invalid job: rowtime column 'at' has 1 null values; every row needs an event time"
    );
    let by_int64 = ArrowBatch::with_rowtime(batch, "id").unwrap();
    assert_eq!(
        by_int64.rowtime_values(),
        Some(&[10, 11, 12, 13, 14, 15][..])
    );
}

#[test]
fn encoding_round_trips_with_the_rowtime_column() {
    let batch = six_rows();
    let mut bytes = vec![9u8];
    batch.encode(&mut bytes).unwrap();
    assert_eq!(
        bytes[..6],
        [9, ENCODING_VERSION, 2, 0, 0, 0],
        "appends a header"
    );
    assert_eq!(bytes[bytes.len() - 8..], END_OF_STREAM);
    assert_eq!(ArrowBatch::decode(&bytes[1..]).unwrap(), batch);
}

#[test]
fn batches_without_rowtime_or_columns_round_trip() {
    let no_rowtime = ArrowBatch::new(six_rows().into_record_batch());
    let options = RecordBatchOptions::new().with_row_count(Some(3));
    let no_columns = RecordBatch::try_new_with_options(EMPTY_SCHEMA.clone(), vec![], &options);
    for batch in [
        no_rowtime,
        ArrowBatch::new(no_columns.unwrap()),
        ArrowBatch::default(),
    ] {
        let mut bytes = Vec::new();
        batch.encode(&mut bytes).unwrap();
        assert_eq!(bytes[1..5], NO_ROWTIME.to_le_bytes());
        assert_eq!(ArrowBatch::decode(&bytes).unwrap(), batch);
    }
}

#[test]
fn a_batch_without_columns_keeps_its_row_counts_through_scatter() {
    let options = RecordBatchOptions::new().with_row_count(Some(3));
    let no_columns = RecordBatch::try_new_with_options(EMPTY_SCHEMA.clone(), vec![], &options);
    let mut targets = builders(2);
    ArrowBatch::new(no_columns.unwrap()).scatter_into(&[1, 0, 1], &mut targets);
    assert_eq!(
        (
            targets[0].finish().num_rows(),
            targets[1].finish().num_rows()
        ),
        (1, 2)
    );
}

fn decode_error(bytes: &[u8]) -> String {
    ArrowBatch::decode(bytes).unwrap_err().to_string()
}

#[test]
fn a_truncated_payload_decodes_to_a_codec_error() {
    let mut bytes = Vec::new();
    six_rows().encode(&mut bytes).unwrap();
    assert_eq!(
        decode_error(&bytes[..3]),
        "codec: truncated Arrow batch: 3 bytes, shorter than its 5-byte header"
    );
    assert_eq!(
        decode_error(&bytes[..bytes.len() / 2]),
        format!(
            "codec: truncated Arrow IPC stream: {} bytes end before its record batch",
            bytes.len() / 2 - HEADER_LEN
        )
    );
    assert_eq!(
        decode_error(&bytes[..bytes.len() - 3]),
        "codec: malformed Arrow IPC stream: its end-of-stream marker is truncated"
    );
    for cut in 0..bytes.len() {
        let error = ArrowBatch::decode(&bytes[..cut]).unwrap_err();
        assert!(matches!(error, Error::Codec(_)), "cut at {cut}: {error}");
    }
}

#[test]
fn bad_headers_and_trailing_bytes_are_codec_errors() {
    let mut bytes = Vec::new();
    six_rows().encode(&mut bytes).unwrap();
    let mut newer = bytes.clone();
    newer[0] = 2;
    assert_eq!(
        decode_error(&newer),
        "codec: unknown Arrow batch encoding version 2; this build reads version 1"
    );
    let mut wrong_rowtime = bytes.clone();
    wrong_rowtime[1] = 1;
    assert_eq!(
        decode_error(&wrong_rowtime),
        "codec: rowtime column 'name' has type Utf8; a rowtime column must be Int64 (BIGINT) \
         or Timestamp(Millisecond) (TIMESTAMP(3)) holding epoch milliseconds"
    );
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        decode_error(&trailing),
        "codec: malformed Arrow IPC stream: unexpected bytes follow its record batch"
    );
    let garbage: Vec<u8> = (0..200u8).map(|i| i.wrapping_mul(37)).collect();
    let error = ArrowBatch::decode(&[&bytes[..HEADER_LEN], &garbage].concat()).unwrap_err();
    assert!(matches!(error, Error::Codec(_)), "{error}");
}

#[test]
fn finish_concatenates_only_when_more_than_one_batch_was_gathered() {
    let mut builder = ArrowBatchBuilder::default();
    assert_eq!(builder.finish(), ArrowBatch::default());
    let only = six_rows();
    only.copy_into(&mut builder);
    ArrowBatch::default().move_into(&mut builder);
    let finished = builder.finish();
    assert!(Arc::ptr_eq(
        finished.record_batch().column(0),
        only.record_batch().column(0)
    ));

    let mut first = six_rows();
    let second = first.split_off(2);
    second.copy_into(&mut builder);
    first.move_into(&mut builder);
    assert!(first.is_empty());
    // The two rows with the null: 16 + (12 + 1 + 1) + 16; the four others: 32 + (20 + 11) + 32.
    assert_eq!((builder.num_rows(), builder.byte_size()), (6, 46 + 95));
    let joined = builder.finish();
    assert_eq!(ids(&joined), vec![12, 13, 14, 15, 10, 11]);
    assert_eq!(
        joined.rowtime_values(),
        Some(&[1002, 1003, 1004, 1005, 1000, 1001][..])
    );
    assert_eq!((builder.num_rows(), builder.byte_size()), (0, 0));
}

#[test]
#[should_panic(expected = "a channel's builder got batches of two schemas, a bug upstream")]
fn a_builder_refuses_a_batch_of_another_schema() {
    let mut builder = ArrowBatchBuilder::default();
    six_rows().move_into(&mut builder);
    ArrowBatch::new(six_rows().into_record_batch()).move_into(&mut builder);
}
