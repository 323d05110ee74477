//! The Arrow pipeline of issue 7: generator → filter → key by column → keyed count, at
//! parallelism 1 and 3, against the typed pipeline over the same values and against counts
//! computed directly from the generator's formulas.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use flinkrs_api::arrow::array::cast::AsArray;
use flinkrs_api::arrow::array::types::{Int64Type, TimestampMillisecondType};
use flinkrs_api::arrow::array::{ArrayRef, Int64Array, RecordBatch, TimestampMillisecondArray};
use flinkrs_api::arrow::compute::cmp;
use flinkrs_api::arrow::schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use flinkrs_api::arrow::{Aggregate, ArrowStream, ArrowWindow};
use flinkrs_api::prelude::*;
use flinkrs_api::window::AggregateFunction;
use flinkrs_connectors::datagen::{ArrowDataGen, DataGenSource, RowRng, mix64};

const ROWS: u64 = 60_000;
const KEYS: u64 = 97;
/// Rows with `v` below this pass the filter (about 70 %).
const THRESHOLD: i64 = 700;

fn key_of(index: u64) -> i64 {
    (mix64(index, 1) % KEYS) as i64
}

fn value_of(index: u64) -> i64 {
    (mix64(index, 2) % 1_000) as i64
}

/// One row per millisecond of event time.
fn time_of(index: u64) -> i64 {
    index as i64
}

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("v", DataType::Int64, false),
        Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Millisecond, None),
            false,
        ),
    ]))
}

fn generator() -> ArrowDataGen {
    ArrowDataGen::new(schema(), Some(ROWS), |rows| {
        let k: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(key_of)));
        let v: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(value_of)));
        let ts: ArrayRef = Arc::new(TimestampMillisecondArray::from_iter_values(
            rows.iter().map(time_of),
        ));
        Ok(vec![k, v, ts])
    })
}

fn environment(parallelism: usize, mode: RuntimeMode) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    env.set_runtime_mode(mode).unwrap();
    env
}

/// generator → filter `v < THRESHOLD`, as an Arrow stream.
fn filtered(env: &StreamExecutionEnvironment) -> ArrowStream {
    let source = generator();
    env.add_arrow_source("DataGen", schema(), Some("ts"), move |_| Ok(source.clone()))
        .unwrap()
        .filter(|batch| {
            let threshold = Int64Array::new_scalar(THRESHOLD);
            cmp::lt(batch.column(1), &threshold).map_err(|e| Error::function(e.to_string()))
        })
}

fn int_column(batch: &RecordBatch, index: usize) -> &[i64] {
    batch.column(index).as_primitive::<Int64Type>().values()
}

/// The Arrow keyed count (a group aggregate, batch mode): key → count.
fn arrow_counts(parallelism: usize) -> BTreeMap<i64, i64> {
    let env = environment(parallelism, RuntimeMode::Batch);
    let rows = filtered(&env)
        .key_by("k")
        .unwrap()
        .aggregate(&[Aggregate::count()])
        .unwrap()
        .to_rows(|batch, rows: &mut Vec<(i64, i64)>| {
            let (keys, counts) = (int_column(batch, 0), int_column(batch, 1));
            rows.extend(keys.iter().copied().zip(counts.iter().copied()));
            Ok(())
        })
        .execute_and_collect("arrow keyed count")
        .unwrap();
    let counts: BTreeMap<i64, i64> = rows.iter().copied().collect();
    assert_eq!(counts.len(), rows.len(), "batch mode emits each key once");
    counts
}

/// The same counts from the typed DataStream API over the same values.
fn typed_counts(parallelism: usize) -> BTreeMap<i64, i64> {
    let env = environment(parallelism, RuntimeMode::Batch);
    let source = DataGenSource::new(ROWS, |index: u64, _: &mut RowRng| {
        (key_of(index), value_of(index))
    });
    env.add_source("DataGen", move |_| Ok(source.clone()))
        .filter(|(_, v): &(i64, i64)| *v < THRESHOLD)
        .map(|(k, _): (i64, i64)| (k, 1i64))
        .key_by(|(k, _): &(i64, i64)| *k)
        .sum(|(_, count)| count)
        .execute_and_collect("typed keyed count")
        .unwrap()
        .into_iter()
        .collect()
}

/// The counts straight from the generator's formulas.
fn expected_counts() -> BTreeMap<i64, i64> {
    let mut counts = BTreeMap::new();
    for index in (0..ROWS).filter(|&index| value_of(index) < THRESHOLD) {
        *counts.entry(key_of(index)).or_insert(0) += 1;
    }
    counts
}

#[test]
fn the_arrow_keyed_count_is_the_same_at_parallelism_1_and_3_and_matches_the_typed_pipeline() {
    let expected = expected_counts();
    assert_eq!(expected.len() as u64, KEYS);
    let one = arrow_counts(1);
    let three = arrow_counts(3);
    assert_eq!(one, expected);
    assert_eq!(three, expected);
    assert_eq!(typed_counts(3), expected);
}

#[test]
fn a_streaming_group_aggregate_ends_with_the_same_counts_as_batch_mode() {
    let env = environment(3, RuntimeMode::Streaming);
    let updates = filtered(&env)
        .key_by("k")
        .unwrap()
        .aggregate(&[Aggregate::count(), Aggregate::max("v")])
        .unwrap()
        .to_rows(|batch, rows: &mut Vec<(i64, i64, i64)>| {
            let (keys, counts, maxima) = (
                int_column(batch, 0),
                int_column(batch, 1),
                int_column(batch, 2),
            );
            for row in 0..batch.num_rows() {
                rows.push((keys[row], counts[row], maxima[row]));
            }
            Ok(())
        })
        .execute_and_collect("streaming group aggregate")
        .unwrap();
    // Each key's updates arrive in order on its one subtask: the last is its final count.
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    for &(key, count, max) in &updates {
        let previous = last.insert(key, count).unwrap_or(0);
        assert!(count > previous, "counts of key {key} only grow");
        assert!(max < THRESHOLD);
    }
    assert_eq!(last, expected_counts());
    assert!(updates.len() > last.len(), "streaming mode emits updates");
}

/// (key, window start, count) rows of 10 s tumbling windows, sorted.
type WindowCounts = Vec<(i64, i64, i64)>;

fn arrow_window_counts(parallelism: usize) -> WindowCounts {
    let env = environment(parallelism, RuntimeMode::Streaming);
    let mut rows = filtered(&env)
        .assign_watermarks(Duration::ZERO)
        .unwrap()
        .key_by("k")
        .unwrap()
        .window(ArrowWindow::tumbling(Duration::from_secs(10)))
        .count()
        .unwrap()
        .to_rows(|batch, rows: &mut WindowCounts| {
            let keys = int_column(batch, 0);
            let starts = batch.column(1).as_primitive::<TimestampMillisecondType>();
            let counts = int_column(batch, 4);
            for row in 0..batch.num_rows() {
                rows.push((keys[row], starts.value(row), counts[row]));
            }
            Ok(())
        })
        .execute_and_collect("arrow window count")
        .unwrap();
    rows.sort_unstable();
    rows
}

#[derive(Clone)]
struct Count;

impl AggregateFunction<(i64, i64, i64), i64, i64> for Count {
    fn create_accumulator(&self) -> i64 {
        0
    }
    fn add(&self, accumulator: &mut i64, _value: (i64, i64, i64)) {
        *accumulator += 1;
    }
    fn get_result(&self, accumulator: &i64) -> i64 {
        *accumulator
    }
    fn merge(&self, a: i64, b: i64) -> i64 {
        a + b
    }
}

fn typed_window_counts(parallelism: usize) -> WindowCounts {
    let env = environment(parallelism, RuntimeMode::Streaming);
    let source = DataGenSource::new(ROWS, |index: u64, _: &mut RowRng| {
        (key_of(index), value_of(index), time_of(index))
    });
    let counts = env
        .add_source("DataGen", move |_| Ok(source.clone()))
        .filter(|(_, v, _): &(i64, i64, i64)| *v < THRESHOLD)
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|(_, _, ts): &(i64, i64, i64), _| *ts),
        )
        .key_by(|(k, _, _): &(i64, i64, i64)| *k)
        .window(TumblingEventTimeWindows::of(Duration::from_secs(10)))
        .aggregate_with(Count, |key: &i64, window: &TimeWindow, count: i64| {
            (*key, window.start, count)
        });
    let mut rows = counts.execute_and_collect("typed window count").unwrap();
    rows.sort_unstable();
    rows
}

fn expected_window_counts() -> WindowCounts {
    let mut counts: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for index in (0..ROWS).filter(|&index| value_of(index) < THRESHOLD) {
        let start = time_of(index) - time_of(index) % 10_000;
        *counts.entry((key_of(index), start)).or_insert(0) += 1;
    }
    counts
        .into_iter()
        .map(|((k, start), n)| (k, start, n))
        .collect()
}

#[test]
fn the_arrow_window_count_is_the_same_at_parallelism_1_and_3_and_matches_the_typed_window() {
    let expected = expected_window_counts();
    assert_eq!(arrow_window_counts(1), expected);
    assert_eq!(arrow_window_counts(3), expected);
    assert_eq!(typed_window_counts(3), expected);
}
