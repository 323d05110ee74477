//! The OVER aggregate driven directly: rows wait for the watermark and come out in time
//! order; RANGE peers share their values, ROWS peers are taken one at a time in arrival
//! order; a bounded frame retracts what falls out of it; late rows are dropped; a snapshot
//! restored into a fresh operator continues where it stopped.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use datafusion_common::arrow::row::{RowConverter, SortField};
use flinkrs_core::config::RUNTIME_MODE;
use flinkrs_core::{CheckpointId, Configuration, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::chain::Collect;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};

use super::aggregate::AggregateCall;
use super::over::{FrameUnits, OverSpec, SqlOverAggregateOperator};
use crate::render::render_value;

fn info(mode: &str) -> TaskInfo {
    let mut config = Configuration::new();
    config.set(RUNTIME_MODE, mode).unwrap();
    TaskInfo {
        job_name: "test".into(),
        task_name: "over".into(),
        operator_name: "OverAggregate".into(),
        operator_id: "over".into(),
        subtask_index: 0,
        parallelism: 1,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

/// `SUM(v)` and `MAX(v)` over rows (p, v), partitioned by p, in `units` with `preceding`.
fn spec(units: FrameUnits, preceding: Option<i64>) -> OverSpec {
    let stored = Arc::new(Schema::new(vec![
        Field::new("p", DataType::Utf8, true),
        Field::new("v", DataType::Int64, true),
    ]));
    let argument = Arc::new(Field::new("v", DataType::Int64, true));
    let call = |function, name: &str| AggregateCall {
        function,
        arguments: vec![1],
        argument_fields: vec![Arc::clone(&argument)],
        return_field: Arc::new(Field::new(name, DataType::Int64, true)),
        distinct: false,
        filter: None,
        name: name.into(),
    };
    OverSpec {
        stored,
        width: 2,
        aggregates: vec![
            call(datafusion_functions_aggregate::sum::sum_udaf(), "s"),
            call(datafusion_functions_aggregate::min_max::max_udaf(), "m"),
        ],
        units,
        preceding,
        output: Arc::new(Schema::new(vec![
            Field::new("p", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
            Field::new("s", DataType::Int64, true),
            Field::new("m", DataType::Int64, true),
        ])),
    }
}

struct Harness {
    operator: SqlOverAggregateOperator,
    output: Output<ArrowBatch>,
    sink: Collect<ArrowBatch>,
}

impl Harness {
    fn new(spec: &Arc<OverSpec>, mode: &str) -> Self {
        let sink = Collect::default();
        Harness {
            operator: SqlOverAggregateOperator::new(Arc::clone(spec), &info(mode)).unwrap(),
            output: Output::new(Box::new(sink.clone()), Vec::new()),
            sink,
        }
    }

    /// Sends the row (partition, value) at `time`.
    fn row(&mut self, partition: &str, value: i64, time: i64) {
        let sort = RowConverter::new(vec![SortField::new(DataType::Int64)]).unwrap();
        let times: ArrayRef = Arc::new(Int64Array::from(vec![time]));
        let sorts = sort.convert_columns(&[Arc::clone(&times)]).unwrap();
        let fields = vec![
            Field::new("p", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
            Field::new("$order", DataType::Int64, true),
            Field::new("$sort", DataType::Binary, false),
            Field::new("$key", DataType::Binary, false),
        ];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![partition])),
            Arc::new(Int64Array::from(vec![value])),
            times,
            Arc::new(BinaryArray::from_vec(vec![sorts.row(0).data()])),
            Arc::new(BinaryArray::from_vec(vec![partition.as_bytes()])),
        ];
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        self.operator
            .process_batch(&mut ArrowBatch::new(batch), &mut self.output)
            .unwrap();
    }

    fn watermark(&mut self, time: i64) -> Vec<String> {
        self.operator
            .process_watermark(Watermark(time), &mut self.output)
            .unwrap();
        self.rows()
    }

    fn end(&mut self) -> Vec<String> {
        self.operator.end_input(&mut self.output).unwrap();
        self.rows()
    }

    fn rows(&mut self) -> Vec<String> {
        self.output.flush().unwrap();
        let mut rows = Vec::new();
        for batch in self.sink.take_batches() {
            let batch = batch.record_batch();
            for row in 0..batch.num_rows() {
                let values: Vec<String> = batch
                    .columns()
                    .iter()
                    .map(|column| render_value(column, row).unwrap_or_default())
                    .collect();
                rows.push(format!("[{}]", values.join(", ")));
            }
        }
        rows
    }
}

#[test]
fn range_peers_share_their_values_and_a_bounded_frame_retracts_older_rows() {
    let spec = Arc::new(spec(FrameUnits::Range, Some(2)));
    let mut harness = Harness::new(&spec, "streaming");
    harness.row("a", 1, 1);
    harness.row("a", 2, 3);
    harness.row("b", 100, 2);
    harness.row("a", 4, 3);
    harness.row("a", 8, 5);
    assert!(harness.watermark(0).is_empty(), "nothing before its time");
    assert_eq!(
        harness.watermark(3),
        [
            "[a, 1, 1, 1]",
            "[b, 100, 100, 100]",
            "[a, 2, 7, 4]",
            "[a, 4, 7, 4]"
        ]
    );
    // At 5 the frame is [3, 5]: the row at 1 is retracted, its maximum too.
    assert_eq!(harness.watermark(10), ["[a, 8, 14, 8]"]);
}

#[test]
fn rows_peers_come_one_at_a_time_in_arrival_order() {
    let spec = Arc::new(spec(FrameUnits::Rows, Some(1)));
    let mut harness = Harness::new(&spec, "streaming");
    harness.row("a", 5, 1);
    harness.row("a", 2, 2);
    harness.row("a", 3, 2);
    harness.row("a", 1, 4);
    assert_eq!(
        harness.watermark(10),
        [
            "[a, 5, 5, 5]",
            "[a, 2, 7, 5]",
            "[a, 3, 5, 3]",
            "[a, 1, 4, 3]"
        ]
    );
}

#[test]
fn late_rows_are_dropped() {
    // Unbounded: a row not after the watermark is late.
    let spec_unbounded = Arc::new(spec(FrameUnits::Range, None));
    let mut harness = Harness::new(&spec_unbounded, "streaming");
    harness.row("a", 1, 5);
    assert_eq!(harness.watermark(6), ["[a, 1, 1, 1]"]);
    harness.row("a", 10, 6);
    harness.row("b", 10, 3);
    harness.row("a", 2, 7);
    assert_eq!(harness.end(), ["[a, 2, 3, 2]"]);

    // Bounded, as Flink's: a row not after the time its partition last emitted is late; a
    // later one waits for the next watermark even if the watermark has passed it.
    let spec_bounded = Arc::new(spec(FrameUnits::Rows, Some(5)));
    let mut harness = Harness::new(&spec_bounded, "streaming");
    harness.row("a", 1, 5);
    assert_eq!(harness.watermark(8), ["[a, 1, 1, 1]"]);
    harness.row("a", 10, 5);
    harness.row("a", 2, 7);
    assert_eq!(harness.watermark(9), ["[a, 2, 3, 2]"]);
}

#[test]
fn batch_mode_computes_each_partition_at_the_end_of_input() {
    let spec = Arc::new(spec(FrameUnits::Rows, None));
    let mut harness = Harness::new(&spec, "batch");
    harness.row("a", 3, 30);
    harness.row("a", 1, 10);
    harness.row("a", 2, 20);
    assert_eq!(
        harness.end(),
        ["[a, 1, 1, 1]", "[a, 2, 3, 2]", "[a, 3, 6, 3]"]
    );
}

fn snapshot(harness: &mut Harness) -> OperatorSnapshot {
    let mut snapshot = harness.operator.snapshot_state(CheckpointId(1)).unwrap();
    if let Some(keyed) = snapshot.keyed.as_mut() {
        keyed.materialize().unwrap();
    }
    snapshot
}

#[test]
fn a_restored_operator_continues_its_frames_and_waiting_rows() {
    for (units, preceding) in [
        (FrameUnits::Rows, Some(1)),
        (FrameUnits::Range, Some(3)),
        (FrameUnits::Range, None),
        (FrameUnits::Rows, None),
    ] {
        let spec = Arc::new(spec(units, preceding));
        let mut uninterrupted = Harness::new(&spec, "streaming");
        let mut first = Harness::new(&spec, "streaming");
        for harness in [&mut uninterrupted, &mut first] {
            harness.row("a", 4, 1);
            harness.row("a", 2, 2);
            harness.row("a", 7, 3);
            harness.watermark(2);
            harness.row("a", 1, 4);
        }
        let state = snapshot(&mut first);
        let mut restored = Harness::new(&spec, "streaming");
        restored
            .operator
            .initialize_state(&info("streaming"), Some(state))
            .unwrap();
        for harness in [&mut uninterrupted, &mut restored] {
            harness.row("a", 3, 5);
        }
        assert_eq!(
            restored.watermark(10),
            uninterrupted.watermark(10),
            "{units:?} {preceding:?}"
        );
    }
}

#[test]
fn a_checkpoint_of_another_query_is_a_clear_error() {
    let rows = Arc::new(spec(FrameUnits::Rows, Some(1)));
    let mut harness = Harness::new(&rows, "streaming");
    harness.row("a", 4, 1);
    let state = snapshot(&mut harness);
    let range = Arc::new(spec(FrameUnits::Range, Some(1)));
    let mut other = Harness::new(&range, "streaming");
    let error = other
        .operator
        .initialize_state(&info("streaming"), Some(state))
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "state: OverAggregate (1/1): key group 18 of its state cannot be restored: it holds \
         rows of Rows Some(1) preceding over [Utf8, Int64] with 2 aggregates, this query \
         aggregates Range Some(1) preceding over [Utf8, Int64] with 2 aggregates; the \
         checkpoint is of another query"
    );
}
