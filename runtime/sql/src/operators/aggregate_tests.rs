//! The window aggregate driven directly: a window of a processing-time attribute fires as
//! the task's processing time reaches its last millisecond, not on a watermark nor at the
//! end of input; an event-time window ignores the processing time; windows of one batch
//! fire one by one, and rows of a window that fired are dropped.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use flinkrs_core::config::RUNTIME_MODE;
use flinkrs_core::{Configuration, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::chain::Collect;
use flinkrs_dataflow::{Operator, Output, TaskInfo};

use super::aggregate::{AggregateCall, AggregateSpec};
use super::window_aggregate::WindowAggregateOperator;
use crate::render::render_value;

fn info() -> TaskInfo {
    let mut config = Configuration::new();
    config.set(RUNTIME_MODE, "streaming").unwrap();
    TaskInfo {
        job_name: "test".into(),
        task_name: "window".into(),
        operator_name: "WindowAggregate".into(),
        operator_id: "window".into(),
        subtask_index: 0,
        parallelism: 1,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

/// `SUM(v)` by window (window_start, window_end).
fn spec(processing_time: bool) -> AggregateSpec {
    let time = DataType::Timestamp(TimeUnit::Millisecond, None);
    let argument = Arc::new(Field::new("arg0_0", DataType::Int64, true));
    AggregateSpec {
        input: Arc::new(Schema::new(vec![
            Field::new("group0", time.clone(), true),
            Field::new("group1", time.clone(), true),
            argument.as_ref().clone(),
            Field::new("$key", DataType::Binary, false),
        ])),
        group_count: 2,
        key_column: 3,
        aggregates: vec![AggregateCall {
            function: datafusion_functions_aggregate::sum::sum_udaf(),
            arguments: vec![2],
            argument_fields: vec![argument],
            return_field: Arc::new(Field::new("s", DataType::Int64, true)),
            distinct: false,
            filter: None,
            name: "s".into(),
        }],
        output: Arc::new(Schema::new(vec![
            Field::new("window_start", time.clone(), true),
            Field::new("window_end", time, true),
            Field::new("s", DataType::Int64, true),
        ])),
        window_end: Some(1),
        global: false,
        mini_batch: false,
        row_kind: None,
        processing_time,
    }
}

/// A batch of rows (window start in seconds, value).
fn rows(spec: &AggregateSpec, rows: &[(i64, i64)]) -> ArrowBatch {
    let starts: Vec<i64> = rows.iter().map(|(start, _)| start * 1000).collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(TimestampMillisecondArray::from(starts.clone())),
        Arc::new(TimestampMillisecondArray::from_iter_values(
            starts.iter().map(|start| start + 1000),
        )),
        Arc::new(Int64Array::from_iter_values(rows.iter().map(|(_, v)| *v))),
        Arc::new(BinaryArray::from_iter_values(
            starts.iter().map(|start| start.to_le_bytes()),
        )),
    ];
    ArrowBatch::new(RecordBatch::try_new(Arc::clone(&spec.input), columns).unwrap())
}

/// Sends two rows of the window [0 s, 1 s), then `step`; returns what was emitted.
fn run(
    processing_time: bool,
    step: impl FnOnce(&mut WindowAggregateOperator, &mut Output<ArrowBatch>),
) -> Vec<String> {
    let spec = Arc::new(spec(processing_time));
    let mut batch = rows(&spec, &[(0, 3), (0, 4)]);
    let mut operator = WindowAggregateOperator::new(spec, &info()).unwrap();
    let sink = Collect::default();
    let mut output = Output::new(Box::new(sink.clone()), Vec::new());
    operator.process_batch(&mut batch, &mut output).unwrap();
    step(&mut operator, &mut output);
    output.flush().unwrap();
    let mut rows = Vec::new();
    for batch in sink.take_batches() {
        let batch = batch.record_batch();
        for row in 0..batch.num_rows() {
            let values: Vec<String> = batch
                .columns()
                .iter()
                .map(|column| render_value(column, row).unwrap_or_default())
                .collect();
            rows.push(values.join(", "));
        }
    }
    rows
}

const WINDOW: &str = "1970-01-01 00:00:00.000, 1970-01-01 00:00:01.000, 7";

#[test]
fn a_processing_time_window_fires_when_the_processing_time_reaches_its_end() {
    let early = run(true, |operator, out| {
        operator.on_processing_time(998, out).unwrap();
        operator.process_watermark(Watermark(5000), out).unwrap();
        operator.end_input(out).unwrap();
    });
    assert!(early.is_empty(), "{early:?}");
    let fired = run(true, |operator, out| {
        operator.on_processing_time(999, out).unwrap();
        // Once: a later tick finds nothing left.
        operator.on_processing_time(5000, out).unwrap();
    });
    assert_eq!(fired, [WINDOW]);
}

#[test]
fn an_event_time_window_waits_for_the_watermark_not_the_processing_time() {
    let ticked = run(false, |operator, out| {
        operator.on_processing_time(5000, out).unwrap();
    });
    assert!(ticked.is_empty(), "{ticked:?}");
    let fired = run(false, |operator, out| {
        operator.process_watermark(Watermark(999), out).unwrap();
    });
    assert_eq!(fired, [WINDOW]);
}

const SECOND: &str = "1970-01-01 00:00:01.000, 1970-01-01 00:00:02.000";

#[test]
fn the_windows_of_one_batch_fire_oldest_first_and_late_rows_are_dropped() {
    let fired = run(false, |operator, out| {
        let spec = Arc::new(spec(false));
        // Rows of three windows, interleaved.
        let mut mixed = rows(&spec, &[(2, 1), (1, 10), (2, 2), (1, 20), (0, 100)]);
        operator.process_batch(&mut mixed, out).unwrap();
        operator.process_watermark(Watermark(1999), out).unwrap();
        // The first two windows have fired: their rows are late now.
        let mut late = rows(&spec, &[(0, 1000), (1, 1000), (2, 4)]);
        operator.process_batch(&mut late, out).unwrap();
        operator.end_input(out).unwrap();
    });
    assert_eq!(
        fired,
        [
            "1970-01-01 00:00:00.000, 1970-01-01 00:00:01.000, 107".to_owned(),
            format!("{SECOND}, 30"),
            "1970-01-01 00:00:02.000, 1970-01-01 00:00:03.000, 7".to_owned(),
        ]
    );
}
