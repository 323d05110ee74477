//! Arrow streams end to end on the local executor: projection, batch maps, rowtime, and the
//! errors a wrong column, schema or predicate gets.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use flinkrs_core::Result;
use flinkrs_dataflow::batch::ArrowBatch;

use crate::StreamExecutionEnvironment;

fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, false),
        Field::new("x", DataType::Float64, false),
        Field::new("ts", DataType::Int64, false),
    ]))
}

fn batch(rows: &[(i64, f64, i64)]) -> RecordBatch {
    let k: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.0)));
    let x: ArrayRef = Arc::new(Float64Array::from_iter_values(rows.iter().map(|r| r.1)));
    let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2)));
    RecordBatch::try_new(schema(), vec![k, x, ts]).unwrap()
}

fn ints(batch: &RecordBatch, index: usize) -> Vec<i64> {
    batch
        .column(index)
        .as_primitive::<Int64Type>()
        .values()
        .to_vec()
}

#[test]
fn select_projects_columns_and_keeps_the_rowtime_only_if_selected() {
    let env = StreamExecutionEnvironment::new();
    let stream = env
        .from_record_batches(
            schema(),
            Some("ts"),
            vec![batch(&[(1, 0.5, 10), (2, 1.5, 20)])],
        )
        .unwrap();
    let with_time = stream.select(&["ts", "k"]).unwrap();
    assert_eq!(with_time.rowtime_name(), Some("ts"));
    assert_eq!(stream.select(&["k"]).unwrap().rowtime_name(), None);
    let rows = with_time
        .to_rows(|batch, rows: &mut Vec<(i64, i64)>| {
            rows.extend(ints(batch, 0).into_iter().zip(ints(batch, 1)));
            Ok(())
        })
        .execute_and_collect("select")
        .unwrap();
    assert_eq!(rows, vec![(10, 1), (20, 2)]);
}

#[test]
fn records_from_a_stream_with_a_rowtime_carry_it_as_their_timestamp() {
    let env = StreamExecutionEnvironment::new();
    let stream = env
        .from_record_batches(schema(), None, vec![batch(&[(1, 0.5, 10), (2, 1.5, 20)])])
        .unwrap()
        .with_rowtime("ts")
        .unwrap();
    let timestamps = stream
        .to_rows(|batch, rows: &mut Vec<i64>| {
            rows.extend(ints(batch, 0));
            Ok(())
        })
        .process(WithTimestamp)
        .execute_and_collect("rowtime")
        .unwrap();
    assert_eq!(timestamps, vec![(1, 10), (2, 20)]);
}

/// Emits each record with its timestamp.
#[derive(Clone)]
struct WithTimestamp;

impl crate::process::ProcessFunction<i64, (i64, i64)> for WithTimestamp {
    fn process_element(
        &mut self,
        value: i64,
        context: &mut crate::process::ProcessContext<'_, (i64, i64)>,
    ) -> Result<()> {
        let timestamp = context.timestamp().unwrap_or(-1);
        context.collect((value, timestamp));
        Ok(())
    }
}

#[test]
fn a_batch_map_that_returns_another_schema_fails_the_job_naming_the_operator() {
    let env = StreamExecutionEnvironment::new();
    let declared = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)]));
    let error = env
        .from_record_batches(schema(), None, vec![batch(&[(1, 0.5, 10)])])
        .unwrap()
        .map_batches("Keys Only", declared, |batch| {
            Ok(batch.project(&[0, 2]).unwrap())
        })
        .discard_and_execute()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("Keys Only: the function returned a batch of schema"),
        "{error}"
    );
    assert!(
        error.contains("return batches of the declared schema"),
        "{error}"
    );
}

#[test]
fn a_filter_predicate_of_the_wrong_length_fails_the_job() {
    let env = StreamExecutionEnvironment::new();
    let error = env
        .from_record_batches(schema(), None, vec![batch(&[(1, 0.5, 10), (2, 0.5, 10)])])
        .unwrap()
        .filter(|_| Ok(BooleanArray::from(vec![true])))
        .discard_and_execute()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("returned 1 booleans for a batch of 2 rows"),
        "{error}"
    );
}

#[test]
fn a_source_batch_of_another_schema_fails_the_job_naming_the_source() {
    let env = StreamExecutionEnvironment::new();
    let other = RecordBatch::try_new(
        Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, false)])),
        vec![Arc::new(Int64Array::from(vec![1]))],
    )
    .unwrap();
    let batches = Arc::new(vec![other]);
    let error = env
        .add_arrow_source("Wrong", schema(), None, move |_| {
            Ok(super::RecordBatchSource::new(Arc::clone(&batches)))
        })
        .unwrap()
        .discard_and_execute()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("malformed input in source 'Wrong'"),
        "{error}"
    );
}

#[test]
fn wrong_columns_are_rejected_when_the_program_is_built() {
    let env = StreamExecutionEnvironment::new();
    let stream = env.from_record_batches(schema(), None, vec![]).unwrap();
    let message = |result: Result<super::ArrowStream>| result.unwrap_err().to_string();
    assert!(
        message(stream.select(&["k", "nope"]))
            .contains("select: column 'nope' is not in the stream's schema (columns: k, x, ts)")
    );
    assert!(message(stream.with_rowtime("x")).contains("rowtime column 'x' has type Float64"));
    assert!(
        message(stream.assign_watermarks(Duration::ZERO))
            .contains("assign_watermarks needs a rowtime column")
    );
    let key_error = stream.key_by("x").unwrap_err().to_string();
    assert!(
        key_error.contains("key column 'x' has type Float64"),
        "{key_error}"
    );
    let source_error = env
        .from_record_batches(schema(), Some("k2"), vec![])
        .unwrap_err()
        .to_string();
    assert!(
        source_error.contains("column 'k2' is not in the stream's schema"),
        "{source_error}"
    );
}

impl super::ArrowStream {
    /// Discards the stream and runs the job.
    fn discard_and_execute(&self) -> Result<flinkrs_dataflow::JobResult> {
        self.discard();
        StreamExecutionEnvironment::from_shared(self.graph.clone()).execute("test")
    }
}

/// Emits `(subtask index, key)` for every row it sees.
struct WhoSeesWhat {
    subtask: i64,
    key_column: usize,
    output: SchemaRef,
}

impl flinkrs_dataflow::Operator<ArrowBatch, ArrowBatch> for WhoSeesWhat {
    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        out: &mut flinkrs_dataflow::Output<ArrowBatch>,
    ) -> Result<()> {
        let keys = batch.record_batch().column(self.key_column).clone();
        let subtasks: ArrayRef = Arc::new(Int64Array::from(vec![self.subtask; keys.len()]));
        let seen = RecordBatch::try_new(Arc::clone(&self.output), vec![subtasks, keys]).unwrap();
        out.push_batch(&mut ArrowBatch::new(seen))
    }
}

#[test]
fn a_keyed_process_operator_sees_exactly_its_key_groups_as_typed_keys_are_routed() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(3).unwrap();
    let batches = (0..4)
        .map(|b| batch(&(0..50).map(|k| (k * 4 + b, 0.0, 0)).collect::<Vec<_>>()))
        .collect();
    let output = Arc::new(Schema::new(vec![
        Field::new("subtask", DataType::Int64, false),
        Field::new("k", DataType::Int64, false),
    ]));
    let declared = Arc::clone(&output);
    let mut seen = env
        .from_record_batches(schema(), None, batches)
        .unwrap()
        .key_by("k")
        .unwrap()
        .process("Who Sees What", output, None, move |context| {
            Ok(WhoSeesWhat {
                subtask: context.info.subtask_index as i64,
                key_column: context.key_column,
                output: Arc::clone(&declared),
            })
        })
        .to_rows(|batch, rows: &mut Vec<(i64, i64)>| {
            rows.extend(ints(batch, 1).into_iter().zip(ints(batch, 0)));
            Ok(())
        })
        .execute_and_collect("keyed process")
        .unwrap();
    seen.sort_unstable();
    let expected: Vec<(i64, i64)> = (0..200i64)
        .map(|key| {
            let key_group = flinkrs_core::assign_to_key_group(&key, 128);
            let subtask = flinkrs_core::operator_index_for_key_group(128, 3, key_group);
            (key, subtask as i64)
        })
        .collect();
    assert_eq!(seen, expected);
    let used: std::collections::BTreeSet<i64> = seen.iter().map(|&(_, s)| s).collect();
    assert_eq!(used.len(), 3, "every subtask owns some keys");
}

#[test]
fn union_merges_streams_of_one_schema_and_names_both_schemas_otherwise() {
    let env = StreamExecutionEnvironment::new();
    let first = env
        .from_record_batches(schema(), Some("ts"), vec![batch(&[(1, 0.5, 10)])])
        .unwrap();
    let second = env
        .from_record_batches(schema(), None, vec![batch(&[(2, 1.5, 20)])])
        .unwrap();
    let merged = first.union(std::slice::from_ref(&second)).unwrap();
    assert_eq!(merged.rowtime_name(), None, "the inputs' rowtimes differ");
    let mut keys = merged
        .to_rows(|batch, rows: &mut Vec<i64>| {
            rows.extend(ints(batch, 0));
            Ok(())
        })
        .execute_and_collect("union")
        .unwrap();
    keys.sort_unstable();
    assert_eq!(keys, vec![1, 2]);

    let env = StreamExecutionEnvironment::new();
    let first = env
        .from_record_batches(schema(), None, vec![batch(&[(1, 0.5, 10)])])
        .unwrap();
    let narrow = first.select(&["k"]).unwrap();
    let error = first.union(&[narrow]).unwrap_err().to_string();
    assert!(
        error.contains("union: a stream of schema") && error.contains("cannot be merged"),
        "{error}"
    );
}
