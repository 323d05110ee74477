//! Properties every `StreamBatch` family must have, checked on arbitrary batches of both:
//! the encoding round-trips, and a scatter delivers every row exactly once, in order within
//! its target.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type, TimestampMillisecondType};
use arrow_array::{
    Array, ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use flinkrs_core::{Batch, Error, Record};
use flinkrs_dataflow::batch::{ArrowBatch, BatchBuilder, RowsBuilder, StreamBatch};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

type Row = (u64, String, Option<i32>);

/// One Arrow row: `id`, `name` (nullable), `score`, and the rowtime `ts`.
type ArrowRow = (i64, Option<String>, f64, i64);

fn typed_batches() -> impl Strategy<Value = Batch<Row>> {
    let record = (any::<u64>(), ".{0,12}", any::<Option<i32>>(), any::<i64>()).prop_map(
        |(id, name, count, timestamp)| Record::with_timestamp((id, name, count), timestamp),
    );
    vec(record, 0..40)
}

fn arrow_rows() -> impl Strategy<Value = Vec<ArrowRow>> {
    vec(
        (
            any::<i64>(),
            option::of(".{0,12}"),
            any::<f64>(),
            any::<i64>(),
        ),
        0..40,
    )
}

fn arrow_batch(rows: &[ArrowRow]) -> ArrowBatch {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|row| row.0))),
        Arc::new(
            rows.iter()
                .map(|row| row.1.as_deref())
                .collect::<StringArray>(),
        ),
        Arc::new(Float64Array::from_iter_values(rows.iter().map(|row| row.2))),
        Arc::new(TimestampMillisecondArray::from_iter_values(
            rows.iter().map(|row| row.3),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema), columns).unwrap();
    ArrowBatch::with_rowtime(batch, "ts").unwrap()
}

/// The rows of an Arrow batch built by [`arrow_batch`], read back.
fn rows_of(batch: &ArrowBatch) -> Vec<ArrowRow> {
    if batch.is_empty() {
        return Vec::new();
    }
    let columns = batch.record_batch().columns();
    let ids = columns[0].as_primitive::<Int64Type>().values();
    let names = columns[1].as_string::<i32>();
    let scores = columns[2].as_primitive::<Float64Type>().values();
    let times = columns[3]
        .as_primitive::<TimestampMillisecondType>()
        .values();
    (0..batch.num_rows())
        .map(|i| {
            (
                ids[i],
                names.is_valid(i).then(|| names.value(i).to_owned()),
                scores[i],
                times[i],
            )
        })
        .collect()
}

/// Rows and one target per row, for 1 to 4 targets.
fn with_targets<T: Clone + std::fmt::Debug>(
    rows: impl Strategy<Value = Vec<T>>,
) -> impl Strategy<Value = (Vec<T>, usize, Vec<u32>)> {
    (rows, 1usize..=4).prop_flat_map(|(rows, count)| {
        let targets = vec(0..count as u32, rows.len());
        (Just(rows), Just(count), targets)
    })
}

/// What each target should get: the rows sent to it, in their original order.
fn expected_per_target<T: Clone>(rows: &[T], count: usize, targets: &[u32]) -> Vec<Vec<T>> {
    let mut expected = vec![Vec::new(); count];
    for (row, &target) in rows.iter().zip(targets) {
        expected[target as usize].push(row.clone());
    }
    expected
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn typed_batches_round_trip_through_encoding_with_their_byte_size(batch in typed_batches()) {
        let mut bytes = Vec::new();
        batch.encode(&mut bytes).unwrap();
        let decoded = Batch::<Row>::decode(&bytes).unwrap();
        prop_assert_eq!(decoded.byte_size(), batch.byte_size());
        prop_assert_eq!(decoded, batch);
    }

    #[test]
    fn arrow_batches_and_their_slices_round_trip_through_encoding(
        rows in arrow_rows(),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut head = arrow_batch(&rows);
        let tail = head.split_off(cut.index(rows.len() + 1));
        for batch in [head, tail] {
            let mut bytes = Vec::new();
            batch.encode(&mut bytes).unwrap();
            let decoded = ArrowBatch::decode(&bytes).unwrap();
            prop_assert_eq!(decoded.byte_size(), batch.byte_size());
            prop_assert_eq!(decoded, batch);
        }
    }

    #[test]
    fn typed_batch_scatter_delivers_every_row_once_in_order((rows, count, targets) in with_targets(typed_batches())) {
        let mut batch = rows.clone();
        let mut builders: Vec<RowsBuilder<Row>> = (0..count).map(|_| RowsBuilder::default()).collect();
        batch.scatter_into(&targets, &mut builders);
        prop_assert!(batch.is_empty());
        let received: Vec<Batch<Row>> = builders.iter_mut().map(BatchBuilder::finish).collect();
        prop_assert_eq!(received, expected_per_target(&rows, count, &targets));
    }

    #[test]
    fn arrow_batch_scatter_delivers_every_row_once_in_order((rows, count, targets) in with_targets(arrow_rows())) {
        let mut batch = arrow_batch(&rows);
        let mut builders: Vec<_> = (0..count).map(|_| Default::default()).collect();
        batch.scatter_into(&targets, &mut builders);
        prop_assert!(batch.is_empty());
        let received: Vec<Vec<ArrowRow>> =
            builders.iter_mut().map(|builder| rows_of(&builder.finish())).collect();
        prop_assert_eq!(received, expected_per_target(&rows, count, &targets));
    }

    #[test]
    fn scattering_arrow_batches_twice_into_the_same_builders_concatenates_per_target(
        (rows, count, targets) in with_targets(arrow_rows()),
    ) {
        // Two scatters: the builders' index buffers are reused, and finish concatenates.
        let mut builders: Vec<_> = (0..count).map(|_| Default::default()).collect();
        for _ in 0..2 {
            arrow_batch(&rows).scatter_into(&targets, &mut builders);
        }
        let received: Vec<Vec<ArrowRow>> =
            builders.iter_mut().map(|builder| rows_of(&builder.finish())).collect();
        let once = expected_per_target(&rows, count, &targets);
        let twice: Vec<Vec<ArrowRow>> = once.iter().map(|rows| [&rows[..], rows].concat()).collect();
        prop_assert_eq!(received, twice);
    }

    #[test]
    fn corrupted_arrow_batch_encodings_decode_to_errors_not_panics(
        rows in arrow_rows(),
        flips in vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        let mut bytes = Vec::new();
        arrow_batch(&rows).encode(&mut bytes).unwrap();
        for (at, mask) in flips {
            let at = at.index(bytes.len());
            bytes[at] ^= mask;
        }
        // A flip may land in a value and still decode; anything else must be a codec error.
        if let Err(error) = ArrowBatch::decode(&bytes) {
            prop_assert!(matches!(error, Error::Codec(_)), "{}", error);
        }
    }
}
