//! Tests of the registry, the groups and the standard sets together.

use std::time::{Duration, Instant};

use flinkrs_core::{JobId, SubtaskIndex};

use super::*;

fn job(registry: &std::sync::Arc<MetricRegistry>) -> JobMetricGroup {
    registry.job_group(JobId(0xab), "scores")
}

/// The snapshot as (labels, name, value) with labels joined, for whole-list assertions.
fn rows(registry: &MetricRegistry) -> Vec<(String, String, MetricValue)> {
    registry
        .snapshot()
        .into_iter()
        .map(|metric| {
            let labels = metric
                .labels()
                .iter()
                .map(|(label, value)| format!("{label}={value}"))
                .collect::<Vec<_>>()
                .join(",");
            (labels, metric.name, metric.value)
        })
        .collect()
}

fn value(registry: &MetricRegistry, task_name: &str, name: &str) -> MetricValue {
    registry
        .snapshot()
        .into_iter()
        .find(|metric| {
            metric.name == name
                && metric.scope.operator().is_none()
                && metric.scope.task().map(|task| task.task_name.as_str()) == Some(task_name)
        })
        .unwrap_or_else(|| panic!("no metric {name} on task {task_name}"))
        .value
}

#[test]
fn counters_registered_twice_share_one_total() {
    let registry = MetricRegistry::new();
    let task = job(&registry).task_group("Map", SubtaskIndex(0), 0);
    let io = task.io_metrics();
    io.records.num_records_in.inc(100);
    task.counter(names::NUM_RECORDS_IN).inc(20);
    task.io_metrics().records.num_records_in.inc(3);
    assert_eq!(io.records.num_records_in.count(), 123);
    assert_eq!(
        value(&registry, "Map", names::NUM_RECORDS_IN),
        MetricValue::Counter(123)
    );
}

#[test]
fn snapshot_orders_job_then_tasks_by_name_and_subtask_then_operators() {
    let registry = MetricRegistry::new();
    let job = job(&registry);
    // Registered out of order on purpose: the snapshot's order must not depend on it.
    let map_10 = job.task_group("Map", SubtaskIndex(10), 1);
    map_10
        .operator_group("op-2", "Map")
        .gauge(names::CURRENT_OUTPUT_WATERMARK, 7_000)
        .set(8_000);
    map_10.counter(names::NUM_RECORDS_OUT).inc(5);
    map_10.counter(names::NUM_RECORDS_IN).inc(6);
    job.task_group("Map", SubtaskIndex(2), 0)
        .counter(names::NUM_RECORDS_IN)
        .inc(1);
    job.task_group("Filter", SubtaskIndex(0), 0)
        .counter(names::NUM_RECORDS_IN)
        .inc(2);
    job.counter("numRestarts").inc(1);

    let job_labels = "job_id=000000000000000000000000000000ab,job_name=scores";
    let row = |labels: String, name: &str, value| (labels, name.to_owned(), value);
    assert_eq!(
        rows(&registry),
        vec![
            row(
                job_labels.to_owned(),
                "numRestarts",
                MetricValue::Counter(1)
            ),
            row(
                format!("{job_labels},task_name=Filter,subtask_index=0,task_attempt_num=0"),
                "numRecordsIn",
                MetricValue::Counter(2)
            ),
            // Subtask 2 before subtask 10: indices sort as numbers, not as text.
            row(
                format!("{job_labels},task_name=Map,subtask_index=2,task_attempt_num=0"),
                "numRecordsIn",
                MetricValue::Counter(1)
            ),
            row(
                format!("{job_labels},task_name=Map,subtask_index=10,task_attempt_num=1"),
                "numRecordsIn",
                MetricValue::Counter(6)
            ),
            row(
                format!("{job_labels},task_name=Map,subtask_index=10,task_attempt_num=1"),
                "numRecordsOut",
                MetricValue::Counter(5)
            ),
            row(
                format!(
                    "{job_labels},task_name=Map,subtask_index=10,task_attempt_num=1,\
                     operator_id=op-2,operator_name=Map"
                ),
                "currentOutputWatermark",
                MetricValue::Gauge(8_000)
            ),
        ]
    );
}

#[test]
fn task_io_metrics_register_flinks_standard_set() {
    let registry = MetricRegistry::new();
    job(&registry)
        .task_group("Source: numbers", SubtaskIndex(0), 0)
        .io_metrics();
    let names: Vec<(String, MetricValue)> = registry
        .snapshot()
        .into_iter()
        .map(|metric| (metric.name, metric.value))
        .collect();
    let expected = [
        ("accumulateBackPressuredTimeMs", MetricValue::Counter(0)),
        ("accumulateBusyTimeMs", MetricValue::Counter(0)),
        ("accumulateIdleTimeMs", MetricValue::Counter(0)),
        ("backPressuredTimeMsPerSecond", MetricValue::Meter(0.0)),
        ("busyTimeMsPerSecond", MetricValue::Meter(0.0)),
        ("currentInputWatermark", MetricValue::Gauge(i64::MIN)),
        ("idleTimeMsPerSecond", MetricValue::Meter(0.0)),
        ("numBytesIn", MetricValue::Counter(0)),
        ("numBytesInPerSecond", MetricValue::Meter(0.0)),
        ("numBytesOut", MetricValue::Counter(0)),
        ("numBytesOutPerSecond", MetricValue::Meter(0.0)),
        ("numRecordsIn", MetricValue::Counter(0)),
        ("numRecordsInPerSecond", MetricValue::Meter(0.0)),
        ("numRecordsOut", MetricValue::Counter(0)),
        ("numRecordsOutPerSecond", MetricValue::Meter(0.0)),
    ];
    let expected: Vec<(String, MetricValue)> = expected
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    assert_eq!(names, expected);
}

#[test]
fn operator_io_metrics_register_flinks_standard_set_under_the_operator_scope() {
    let registry = MetricRegistry::new();
    let io = job(&registry)
        .task_group("Map -> Sink: print", SubtaskIndex(1), 0)
        .operator_group("cbc357ccb763df2852fee8c4fc7d55f2", "Map")
        .io_metrics();
    io.current_input_watermark.set(1_000);
    io.current_output_watermark.set(999);
    let snapshot = registry.snapshot();
    let names: Vec<&str> = snapshot.iter().map(|metric| metric.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "currentInputWatermark",
            "currentOutputWatermark",
            "numBytesIn",
            "numBytesInPerSecond",
            "numBytesOut",
            "numBytesOutPerSecond",
            "numRecordsIn",
            "numRecordsInPerSecond",
            "numRecordsOut",
            "numRecordsOutPerSecond",
        ]
    );
    assert_eq!(snapshot[0].value, MetricValue::Gauge(1_000));
    assert_eq!(snapshot[1].value, MetricValue::Gauge(999));
    assert_eq!(
        snapshot[0].labels(),
        vec![
            ("job_id", "000000000000000000000000000000ab".to_owned()),
            ("job_name", "scores".to_owned()),
            ("task_name", "Map -> Sink: print".to_owned()),
            ("subtask_index", "1".to_owned()),
            ("task_attempt_num", "0".to_owned()),
            ("operator_id", "cbc357ccb763df2852fee8c4fc7d55f2".to_owned()),
            ("operator_name", "Map".to_owned()),
        ]
    );
    assert_eq!(
        snapshot[0].scope.logical_scope(),
        "taskmanager.job.task.operator"
    );
}

#[test]
fn registry_tick_turns_counters_into_rates() {
    let registry = MetricRegistry::new();
    let io = job(&registry)
        .task_group("Map", SubtaskIndex(0), 0)
        .io_metrics();
    let start = Instant::now();
    registry.tick(start);
    io.records.num_records_in.inc(600);
    io.records.num_bytes_out.inc(6_000);
    io.accumulate_busy_time_ms.inc(2_000);
    io.accumulate_idle_time_ms.inc(3_000);
    registry.tick(start + Duration::from_secs(5));

    // Record rates are over Flink's 60 s span; time rates over the last 5 s, as TimerGauge.
    let rate = |name| value(&registry, "Map", name);
    assert_eq!(
        rate(names::NUM_RECORDS_IN_PER_SECOND),
        MetricValue::Meter(10.0)
    );
    assert_eq!(
        rate(names::NUM_BYTES_OUT_PER_SECOND),
        MetricValue::Meter(100.0)
    );
    assert_eq!(
        rate(names::NUM_RECORDS_OUT_PER_SECOND),
        MetricValue::Meter(0.0)
    );
    assert_eq!(
        rate(names::BUSY_TIME_MS_PER_SECOND),
        MetricValue::Meter(400.0)
    );
    assert_eq!(
        rate(names::IDLE_TIME_MS_PER_SECOND),
        MetricValue::Meter(600.0)
    );
    assert_eq!(
        rate(names::BACK_PRESSURED_TIME_MS_PER_SECOND),
        MetricValue::Meter(0.0)
    );
    assert_eq!(io.records.num_records_in_per_second.rate(), 10.0);
}

#[test]
fn a_name_taken_by_another_kind_keeps_the_first_and_still_hands_out_a_handle() {
    let registry = MetricRegistry::new();
    let task = job(&registry).task_group("Map", SubtaskIndex(0), 0);
    task.gauge("lag", 5);
    let detached = task.counter("lag");
    detached.inc(9);
    assert_eq!(detached.count(), 9);
    assert_eq!(value(&registry, "Map", "lag"), MetricValue::Gauge(5));
    assert_eq!(registry.snapshot().len(), 1);
}

#[test]
fn closing_a_task_group_removes_it_and_its_operators_only() {
    let registry = MetricRegistry::new();
    let job = job(&registry);
    let first = job.task_group("Map", SubtaskIndex(0), 0);
    first.counter(names::NUM_RECORDS_IN).inc(1);
    first
        .operator_group("op-1", "Map")
        .counter(names::NUM_RECORDS_IN)
        .inc(1);
    job.task_group("Map", SubtaskIndex(1), 0)
        .counter(names::NUM_RECORDS_IN)
        .inc(2);
    first.close();
    let left: Vec<(Option<SubtaskIndex>, String)> = registry
        .snapshot()
        .into_iter()
        .map(|metric| {
            let subtask = metric.scope.task().map(|task| task.subtask_index);
            (subtask, metric.name)
        })
        .collect();
    assert_eq!(left, [(Some(SubtaskIndex(1)), "numRecordsIn".to_owned())]);
}

#[test]
fn jobmanager_job_metrics_have_their_own_scope_and_close_apart_from_the_taskmanagers() {
    let registry = MetricRegistry::new();
    let tasks = job(&registry);
    let jobmanager = registry.jobmanager_job_group(JobId(0xab), "scores");
    jobmanager.gauge(names::NUM_RESTARTS, 0).set(3);
    tasks
        .task_group("Map", SubtaskIndex(0), 3)
        .counter(names::NUM_RECORDS_IN)
        .inc(1);
    let snapshot = registry.snapshot();
    let restarts = &snapshot[0];
    assert_eq!(restarts.name, names::NUM_RESTARTS);
    assert_eq!(restarts.value, MetricValue::Gauge(3));
    assert_eq!(restarts.scope.component(), Component::JobManager);
    // Flink's PrometheusReporter: flink_jobmanager_job_numRestarts{job_id,job_name}.
    assert_eq!(restarts.scope.logical_scope(), "jobmanager.job");
    assert_eq!(
        rows(&registry)[0].0,
        "job_id=000000000000000000000000000000ab,job_name=scores"
    );
    assert!(!tasks.scope().contains(restarts.scope.as_ref()));
    tasks.close();
    let left: Vec<String> = registry.snapshot().into_iter().map(|m| m.name).collect();
    assert_eq!(left, [names::NUM_RESTARTS]);
    jobmanager.close();
    assert!(registry.snapshot().is_empty());
}
