//! Metrics per subtask (architecture decision 12): every subtask and every operator of its
//! chain count their records in the registry under Flink's names, the watermark gauges end at
//! the last watermark, a running job's metrics can be read while it runs, and a job's
//! metrics leave a shared registry when it ends.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use flinkrs_api::prelude::*;
use flinkrs_dataflow::LocalExecutor;
use flinkrs_dataflow::metrics::{MetricRegistry, MetricSnapshot, MetricValue};

/// A metric's value by task name, subtask, operator name (`None` for the task's own) and name.
fn value(
    metrics: &[MetricSnapshot],
    task: &str,
    subtask: usize,
    operator: Option<&str>,
    name: &str,
) -> MetricValue {
    let found: Vec<&MetricSnapshot> = metrics
        .iter()
        .filter(|metric| {
            let scope = &metric.scope;
            metric.name == name
                && scope.task().is_some_and(|scope| {
                    scope.task_name == task && scope.subtask_index.0 == subtask
                })
                && scope.operator().map(|scope| scope.operator_name.as_str()) == operator
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {name} of {task} ({subtask}) {operator:?} in {metrics:#?}"
    );
    found[0].value.clone()
}

fn count(
    metrics: &[MetricSnapshot],
    task: &str,
    subtask: usize,
    operator: Option<&str>,
    name: &str,
) -> u64 {
    match value(metrics, task, subtask, operator, name) {
        MetricValue::Counter(count) => count,
        other => panic!("{name} is not a counter: {other:?}"),
    }
}

fn gauge(
    metrics: &[MetricSnapshot],
    task: &str,
    subtask: usize,
    operator: Option<&str>,
    name: &str,
) -> i64 {
    match value(metrics, task, subtask, operator, name) {
        MetricValue::Gauge(value) => value,
        other => panic!("{name} is not a gauge: {other:?}"),
    }
}

const SOURCE_TASK: &str = "Source: Collection Source";
const MAP_TASK: &str = "times ten -> even -> Sink: Discard";

/// Ten numbers from a source of parallelism 1, spread round-robin over two subtasks of a
/// chained map, filter and sink: subtask 0 gets 0, 2, 4, 6, 8, subtask 1 the odd ones, and
/// only subtask 0's values (times ten) are multiples of twenty.
fn run_numbers() -> JobResult {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    env.from_collection((0..10_u64).collect())
        .map(|n| n * 10)
        .name("times ten")
        .filter(|n| n % 20 == 0)
        .name("even")
        .discard();
    env.execute("numbers").unwrap()
}

#[test]
fn records_in_and_out_are_counted_per_subtask_and_per_operator() {
    let result = run_numbers();
    let metrics = &result.metrics;
    let source = Some(SOURCE_TASK);
    // A source task receives nothing from channels; it sends all ten records on them.
    assert_eq!(count(metrics, SOURCE_TASK, 0, None, "numRecordsIn"), 0);
    assert_eq!(count(metrics, SOURCE_TASK, 0, None, "numRecordsOut"), 10);
    assert_eq!(count(metrics, SOURCE_TASK, 0, source, "numRecordsIn"), 0);
    assert_eq!(count(metrics, SOURCE_TASK, 0, source, "numRecordsOut"), 10);
    // (records in, records out) of each subtask, then of each operator in it.
    let records = |subtask, operator| {
        (
            count(metrics, MAP_TASK, subtask, operator, "numRecordsIn"),
            count(metrics, MAP_TASK, subtask, operator, "numRecordsOut"),
        )
    };
    // The sink ends the chain: nothing leaves either subtask on a channel.
    assert_eq!(records(0, None), (5, 0));
    assert_eq!(records(1, None), (5, 0));
    assert_eq!(records(0, Some("times ten")), (5, 5));
    assert_eq!(records(1, Some("times ten")), (5, 5));
    assert_eq!(records(0, Some("even")), (5, 5));
    assert_eq!(records(1, Some("even")), (5, 0));
    assert_eq!(records(0, Some("Sink: Discard")), (5, 0));
    assert_eq!(records(1, Some("Sink: Discard")), (0, 0));
}

#[test]
fn bytes_out_are_the_true_size_of_what_a_task_sends() {
    let result = run_numbers();
    let record = size_of::<Record<u64>>() as u64;
    assert_eq!(
        count(&result.metrics, SOURCE_TASK, 0, None, "numBytesOut"),
        10 * record
    );
    assert_eq!(count(&result.metrics, MAP_TASK, 0, None, "numBytesOut"), 0);
}

#[test]
fn bytes_in_are_what_the_upstream_task_sent_to_each_subtask() {
    let result = run_numbers();
    let record = size_of::<Record<u64>>() as u64;
    assert_eq!(
        count(&result.metrics, SOURCE_TASK, 0, None, "numBytesIn"),
        0
    );
    // Round-robin: five of the ten records reach each subtask of the map.
    assert_eq!(
        count(&result.metrics, MAP_TASK, 0, None, "numBytesIn"),
        5 * record
    );
    assert_eq!(
        count(&result.metrics, MAP_TASK, 1, None, "numBytesIn"),
        5 * record
    );
}

#[test]
fn the_job_result_sums_the_registry_per_operator() {
    let result = run_numbers();
    let totals: Vec<(&str, u64, u64)> = result
        .nodes
        .iter()
        .map(|node| (node.name.as_str(), node.records_in, node.records_out))
        .collect();
    assert_eq!(
        totals,
        vec![
            ("Source: Collection Source", 0, 10),
            ("times ten", 10, 10),
            ("even", 10, 5),
            ("Sink: Discard", 5, 0),
        ]
    );
    assert_eq!((result.records_in(), result.records_out()), (10, 5));
}

#[test]
fn watermark_gauges_end_at_the_last_watermark_of_a_bounded_job() {
    let result = run_numbers();
    let metrics = &result.metrics;
    let max = Watermark::MAX.0;
    assert_eq!(
        gauge(
            metrics,
            SOURCE_TASK,
            0,
            Some(SOURCE_TASK),
            "currentOutputWatermark"
        ),
        max
    );
    for subtask in 0..2 {
        assert_eq!(
            gauge(metrics, MAP_TASK, subtask, None, "currentInputWatermark"),
            max
        );
        for operator in ["times ten", "even", "Sink: Discard"] {
            for name in ["currentInputWatermark", "currentOutputWatermark"] {
                assert_eq!(
                    gauge(metrics, MAP_TASK, subtask, Some(operator), name),
                    max,
                    "{operator} ({subtask}) {name}"
                );
            }
        }
    }
}

/// Emits 1, 2, 3, then waits until told to finish.
struct ThreeThenWait {
    emitted: bool,
    finish: Receiver<()>,
}

impl SourceFunction<Batch<u64>> for ThreeThenWait {
    fn poll_batch(&mut self, batch: &mut Batch<u64>, _: &SourceContext) -> Result<SourceStatus> {
        if !self.emitted {
            self.emitted = true;
            batch.extend([1, 2, 3].map(Record::new));
            return Ok(SourceStatus::MoreAvailable);
        }
        Ok(match self.finish.try_recv() {
            Ok(()) => SourceStatus::Finished,
            Err(_) => SourceStatus::Wait(Duration::from_millis(5)),
        })
    }
}

#[test]
fn a_running_job_metrics_can_be_read_and_leave_a_shared_registry_when_it_ends() {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1).unwrap();
    let (finish, finish_signal) = crossbeam_channel::unbounded::<()>();
    let (seen, seen_values): (Sender<u64>, Receiver<u64>) = crossbeam_channel::unbounded();
    env.add_source("three", move |_| {
        Ok(ThreeThenWait {
            emitted: false,
            finish: finish_signal.clone(),
        })
    })
    .map(move |n| {
        // The map counted its input before it saw it.
        seen.send(n).unwrap();
        n
    })
    .name("tell")
    .discard();
    let registry = MetricRegistry::new();
    let job = LocalExecutor::new(env.stream_graph("live"))
        .with_metric_registry(Arc::clone(&registry))
        .start()
        .unwrap();
    for expected in 1..=3 {
        assert_eq!(seen_values.recv().unwrap(), expected);
    }
    let task = "Source: three -> tell -> Sink: Discard";
    let live = job.metrics();
    assert_eq!(
        count(&live, task, 0, Some("Source: three"), "numRecordsOut"),
        3
    );
    assert_eq!(count(&live, task, 0, Some("tell"), "numRecordsIn"), 3);
    // Nothing has passed a watermark yet.
    assert_eq!(
        gauge(&live, task, 0, Some("tell"), "currentInputWatermark"),
        i64::MIN
    );
    assert_eq!(registry.snapshot().len(), live.len());

    finish.send(()).unwrap();
    let result = job.wait().unwrap();
    assert_eq!(
        count(&result.metrics, task, 0, Some("tell"), "numRecordsOut"),
        3
    );
    assert_eq!(
        gauge(
            &result.metrics,
            task,
            0,
            Some("tell"),
            "currentInputWatermark"
        ),
        Watermark::MAX.0
    );
    assert!(registry.snapshot().is_empty(), "{:#?}", registry.snapshot());
}
