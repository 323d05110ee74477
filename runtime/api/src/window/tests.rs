//! The window operators driven directly through a small harness: processing time with a
//! controlled clock, end of input, and snapshot and restore of window contents.

use std::cell::Cell;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flinkrs_core::{
    Batch, CheckpointBarrier, CheckpointId, Configuration, Record, Result, Watermark,
    WatermarkStatus,
};
use flinkrs_dataflow::input::TaskSnapshot;
use flinkrs_dataflow::{ControlInput, Input, Operator, OperatorSnapshot, Output, TaskInfo};

use super::assigners::{
    EventTimeSessionWindows, ProcessingTimeSessionWindows, SlidingEventTimeWindows,
    TumblingEventTimeWindows, TumblingProcessingTimeWindows, WindowAssigner,
};
use super::count::{CountTrigger, CountWindowOperator};
use super::functions::ReduceWindowFunction;
use super::operator::{TimeWindowOperator, TimeWindowSettings};
use super::time_window::{GlobalWindow, TimeWindow};
use crate::keyed::KeySelector;

/// `(key, value)`; results are `(key, window start, sum)`.
type Element = (String, i64);
type Sum = (String, i64, i64);

/// The end of the harness's chain: keeps what reaches it.
#[derive(Clone, Default)]
struct Sink {
    records: Arc<Mutex<Vec<Record<Sum>>>>,
    watermarks: Arc<Mutex<Vec<i64>>>,
}

impl Sink {
    fn take(&self) -> Vec<(Sum, i64)> {
        let mut records = self.records.lock().unwrap_or_else(|e| e.into_inner());
        records.drain(..).map(|r| (r.value, r.timestamp)).collect()
    }
}

impl ControlInput for Sink {
    fn open(&mut self) -> Result<()> {
        Ok(())
    }
    fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        self.watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(watermark.0);
        Ok(())
    }
    fn process_watermark_status(&mut self, _status: WatermarkStatus) -> Result<()> {
        Ok(())
    }
    fn process_barrier(&mut self, _: CheckpointBarrier, _: &mut TaskSnapshot) -> Result<()> {
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }
    fn notify_checkpoint_aborted(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }
    fn flush_buffers(&mut self) -> Result<()> {
        Ok(())
    }
    fn on_processing_time(&mut self, _now_millis: i64) -> Result<()> {
        Ok(())
    }
    fn end_input(&mut self) -> Result<()> {
        Ok(())
    }
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl Input<Batch<Sum>> for Sink {
    fn process_batch(&mut self, batch: &mut Batch<Sum>) -> Result<()> {
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .append(batch);
        Ok(())
    }
}

fn task_info(parallelism: usize, subtask_index: usize, batch: bool) -> TaskInfo {
    let mut config = Configuration::new();
    if batch {
        config.set("execution.runtime-mode", "batch").unwrap();
    }
    TaskInfo {
        job_name: "test".to_owned(),
        task_name: "window".to_owned(),
        operator_name: "window".to_owned(),
        operator_id: "window".to_owned(),
        subtask_index,
        parallelism,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

/// One operator with its output and sink.
struct Harness {
    operator: Box<dyn Operator<Batch<Element>, Batch<Sum>>>,
    output: Output<Batch<Sum>>,
    sink: Sink,
}

impl Harness {
    fn open(
        mut operator: Box<dyn Operator<Batch<Element>, Batch<Sum>>>,
        info: &TaskInfo,
        state: Option<OperatorSnapshot>,
    ) -> Self {
        operator.initialize_state(info, state).unwrap();
        operator.open(info).unwrap();
        let sink = Sink::default();
        let output = Output::new(Box::new(sink.clone()), Vec::new());
        Harness {
            operator,
            output,
            sink,
        }
    }

    fn element(&mut self, key: &str, value: i64, timestamp: i64) {
        let mut batch = vec![Record::with_timestamp((key.to_owned(), value), timestamp)];
        self.operator
            .process_batch(&mut batch, &mut self.output)
            .unwrap();
        self.output.flush().unwrap();
    }

    /// One batch of `(key, value, timestamp)` rows.
    fn batch(&mut self, rows: &[(&str, i64, i64)]) {
        let mut batch = rows
            .iter()
            .map(|(key, value, timestamp)| {
                Record::with_timestamp(((*key).to_owned(), *value), *timestamp)
            })
            .collect();
        self.operator
            .process_batch(&mut batch, &mut self.output)
            .unwrap();
        self.output.flush().unwrap();
    }

    fn watermark(&mut self, watermark: i64) {
        self.operator
            .process_watermark(Watermark(watermark), &mut self.output)
            .unwrap();
        self.output.flush().unwrap();
    }

    fn processing_time(&mut self, now: i64) {
        self.operator
            .on_processing_time(now, &mut self.output)
            .unwrap();
        self.output.flush().unwrap();
    }

    fn end_input(&mut self) {
        self.operator.end_input(&mut self.output).unwrap();
        self.output.flush().unwrap();
    }

    fn snapshot(&mut self) -> OperatorSnapshot {
        self.operator.snapshot_state(CheckpointId(1)).unwrap()
    }
}

thread_local! {
    static NOW: Cell<i64> = const { Cell::new(0) };
}

fn test_clock() -> i64 {
    NOW.with(Cell::get)
}

fn set_now(now: i64) {
    NOW.with(|cell| cell.set(now));
}

fn selector() -> KeySelector<Element, String> {
    crate::keyed::key_selector(|element: &Element| crate::keyed::KeyRef::Owned(element.0.clone()))
}

/// Sums values per key and window, and reports `(key, window start, sum)`.
type Summing = ReduceWindowFunction<Reduce, Report>;
type Reduce = fn(Element, Element) -> Element;
type Report = fn(&String, &TimeWindow, Element) -> Sum;

fn summing() -> Summing {
    ReduceWindowFunction {
        reduce: |a, b| (a.0, a.1 + b.1),
        window_function: |key, window, sum| (key.clone(), window.start, sum.1),
    }
}

fn time_windows(
    assigner: impl WindowAssigner,
    allowed_lateness: i64,
    batch_mode: bool,
) -> Box<dyn Operator<Batch<Element>, Batch<Sum>>> {
    let settings = TimeWindowSettings {
        assigner: Arc::new(assigner),
        allowed_lateness,
        late_data: None,
        batch_mode,
    };
    let operator = TimeWindowOperator::new(settings, selector(), summing()).unwrap();
    Box::new(operator.with_clock(test_clock))
}

fn sum(key: &str, start: i64, total: i64) -> Sum {
    (key.to_owned(), start, total)
}

#[test]
fn processing_time_windows_fire_on_the_processing_time_timer() {
    let assigner = TumblingProcessingTimeWindows::of(Duration::from_secs(5));
    let mut harness = Harness::open(
        time_windows(assigner, 0, false),
        &task_info(1, 0, false),
        None,
    );
    set_now(1_000);
    harness.element("a", 1, i64::MIN);
    set_now(4_000);
    harness.element("a", 2, i64::MIN);
    harness.processing_time(4_998);
    assert_eq!(harness.sink.take(), vec![]);
    harness.processing_time(4_999);
    assert_eq!(harness.sink.take(), vec![(sum("a", 0, 3), 4_999)]);
    set_now(6_000);
    harness.element("a", 4, i64::MIN);
    // Streaming: a processing-time window still open when input ends does not fire.
    harness.watermark(i64::MAX);
    harness.end_input();
    assert_eq!(harness.sink.take(), vec![]);
}

#[test]
fn batch_mode_fires_pending_processing_time_windows_at_end_of_input() {
    let assigner = TumblingProcessingTimeWindows::of(Duration::from_secs(5));
    let mut harness = Harness::open(
        time_windows(assigner, 0, true),
        &task_info(1, 0, true),
        None,
    );
    set_now(6_000);
    harness.element("a", 4, i64::MIN);
    harness.element("b", 5, i64::MIN);
    harness.watermark(i64::MAX);
    harness.end_input();
    let mut result = harness.sink.take();
    result.sort();
    assert_eq!(
        result,
        vec![(sum("a", 5_000, 4), 9_999), (sum("b", 5_000, 5), 9_999)]
    );
}

#[test]
fn processing_time_sessions_merge_and_fire_once_the_gap_passes() {
    let assigner = ProcessingTimeSessionWindows::with_gap(Duration::from_secs(2));
    let mut harness = Harness::open(
        time_windows(assigner, 0, false),
        &task_info(1, 0, false),
        None,
    );
    set_now(1_000);
    harness.element("a", 1, i64::MIN);
    set_now(2_500);
    harness.element("a", 2, i64::MIN);
    // The first session's own timer (2_999) finds its window merged away: nothing fires.
    harness.processing_time(3_000);
    assert_eq!(harness.sink.take(), vec![]);
    harness.processing_time(4_499);
    assert_eq!(harness.sink.take(), vec![(sum("a", 1_000, 3), 4_499)]);
}

#[test]
fn watermarks_are_forwarded_after_the_windows_they_fire() {
    let assigner = TumblingEventTimeWindows::of(Duration::from_secs(5));
    let mut harness = Harness::open(
        time_windows(assigner, 0, false),
        &task_info(1, 0, false),
        None,
    );
    harness.element("a", 1, 1_000);
    harness.watermark(4_999);
    assert_eq!(harness.sink.take(), vec![(sum("a", 0, 1), 4_999)]);
    assert_eq!(*harness.sink.watermarks.lock().unwrap(), vec![4_999]);
}

#[test]
fn window_contents_survive_snapshot_and_restore_at_another_parallelism() {
    let assigner = TumblingEventTimeWindows::of(Duration::from_secs(5));
    let mut original = Harness::open(
        time_windows(assigner, 0, false),
        &task_info(1, 0, false),
        None,
    );
    for (index, key) in ["a", "b", "c", "d", "e", "f"].iter().enumerate() {
        original.element(key, 1, 1_000);
        original.element(key, i64::try_from(index).unwrap_or(0), 2_000);
    }
    let snapshot = original.snapshot();

    // Each subtask restores only its own key groups: together they hold every window once.
    let mut restored = Vec::new();
    let mut per_subtask = Vec::new();
    for subtask in 0..2 {
        let info = task_info(2, subtask, false);
        let mut harness = Harness::open(
            time_windows(assigner, 0, false),
            &info,
            Some(snapshot.clone()),
        );
        harness.watermark(i64::MAX);
        let fired = harness.sink.take();
        per_subtask.push(fired.len());
        restored.extend(fired);
    }
    restored.sort();
    let expected: Vec<(Sum, i64)> = (1..=6)
        .zip(["a", "b", "c", "d", "e", "f"])
        .map(|(n, key)| (sum(key, 0, n), 4_999))
        .collect();
    assert_eq!(restored, expected);
    assert!(
        per_subtask.iter().all(|&count| count < 6),
        "{per_subtask:?}"
    );
}

#[test]
fn a_restored_window_that_already_fired_on_time_does_not_fire_again() {
    let assigner = TumblingEventTimeWindows::of(Duration::from_secs(5));
    let info = task_info(1, 0, false);
    let mut original = Harness::open(time_windows(assigner, 2_000, false), &info, None);
    original.element("a", 1, 1_000);
    original.watermark(5_000);
    assert_eq!(original.sink.take(), vec![(sum("a", 0, 1), 4_999)]);
    let snapshot = original.snapshot();

    let mut restored = Harness::open(time_windows(assigner, 2_000, false), &info, Some(snapshot));
    restored.watermark(5_500);
    assert_eq!(restored.sink.take(), vec![]);
    // Still within the lateness: a late element fires the restored window again.
    restored.element("a", 2, 2_000);
    assert_eq!(restored.sink.take(), vec![(sum("a", 0, 3), 4_999)]);
    // Cleaned up at 6_999: later elements are late and dropped.
    restored.watermark(6_999);
    restored.element("a", 4, 2_000);
    restored.watermark(i64::MAX);
    assert_eq!(restored.sink.take(), vec![]);
}

#[test]
fn session_merging_keeps_the_late_firing_rules_of_the_merged_window() {
    let assigner = EventTimeSessionWindows::with_gap(Duration::from_secs(1));
    let info = task_info(1, 0, false);
    let mut harness = Harness::open(time_windows(assigner, 5_000, false), &info, None);
    harness.element("a", 1, 1_000);
    harness.watermark(2_000);
    assert_eq!(harness.sink.take(), vec![(sum("a", 1_000, 1), 1_999)]);
    // Late but within lateness, and it extends the fired session past the watermark: the
    // merged session [1000, 2900) fires when the watermark reaches 2_899, not at once.
    harness.element("a", 2, 1_900);
    assert_eq!(harness.sink.take(), vec![]);
    harness.watermark(2_899);
    assert_eq!(harness.sink.take(), vec![(sum("a", 1_000, 3), 2_899)]);
}

#[test]
fn count_window_contents_survive_snapshot_and_restore() {
    let function = ReduceWindowFunction {
        reduce: |a: Element, b: Element| (a.0, a.1 + b.1),
        window_function: |key: &String, _: &GlobalWindow, sum: Element| (key.clone(), 0, sum.1),
    };
    let make = || -> Box<dyn Operator<Batch<Element>, Batch<Sum>>> {
        let trigger = CountTrigger::Tumbling { size: 3 };
        Box::new(CountWindowOperator::new(trigger, selector(), function.clone()).unwrap())
    };
    let info = task_info(1, 0, false);
    let mut original = Harness::open(make(), &info, None);
    original.element("a", 1, 0);
    original.element("a", 2, 0);
    let snapshot = original.snapshot();
    let mut restored = Harness::open(make(), &info, Some(snapshot));
    restored.element("a", 3, 0);
    assert_eq!(restored.sink.take(), vec![(sum("a", 0, 6), i64::MAX)]);
}

#[test]
fn batches_of_many_keys_give_the_results_of_one_row_at_a_time() {
    // 10 ms windows with 5 ms of allowed lateness. Each step is a batch; the operator groups
    // a batch's rows by key when none can be late, and must then give exactly what it gives
    // row by row: the same results, late firings and drops, in the same order.
    let steps: &[&[(&str, i64, i64)]] = &[
        &[
            ("a", 1, 1),
            ("b", 2, 3),
            ("a", 3, 12),
            ("b", 4, 5),
            ("a", 5, 2),
        ],
        &[],
        // a@4 is late but within the lateness: its window fires again, with the update.
        &[("a", 7, 4), ("b", 8, 15), ("a", 9, 13)],
        &[],
        // Past the lateness: dropped.
        &[("b", 1, 3), ("c", 6, 25)],
    ];
    let watermarks = [None, Some(10), None, Some(20), Some(30)];
    let run = |row_by_row: bool| {
        let assigner = TumblingEventTimeWindows::of(Duration::from_millis(10));
        let mut harness = Harness::open(
            time_windows(assigner, 5, false),
            &task_info(1, 0, false),
            None,
        );
        for (rows, watermark) in steps.iter().zip(watermarks) {
            if row_by_row {
                for row in *rows {
                    harness.batch(std::slice::from_ref(row));
                }
            } else {
                harness.batch(rows);
            }
            if let Some(watermark) = watermark {
                harness.watermark(watermark);
            }
        }
        harness.sink.take()
    };
    let expected = vec![
        (sum("a", 0, 6), 9),
        (sum("b", 0, 6), 9),
        (sum("a", 0, 13), 9),
        (sum("a", 10, 12), 19),
        (sum("b", 10, 8), 19),
        (sum("c", 20, 6), 29),
    ];
    assert_eq!(run(true), expected);
    assert_eq!(run(false), expected);
}

#[test]
fn sliding_windows_fire_late_and_purge_alike_with_or_without_a_restore_in_between() {
    // 10 ms windows sliding by 5 ms, 5 ms of allowed lateness: each element is in two windows.
    let make = || {
        let assigner =
            SlidingEventTimeWindows::of(Duration::from_millis(10), Duration::from_millis(5));
        time_windows(assigner, 5, false)
    };
    let info = task_info(1, 0, false);
    let run = |restore_mid_way: bool| {
        let mut harness = Harness::open(make(), &info, None);
        let mut fired = Vec::new();
        harness.batch(&[("a", 1, 7), ("b", 2, 3), ("a", 4, 12)]);
        harness.watermark(9);
        fired.extend(harness.sink.take());
        if restore_mid_way {
            let snapshot = harness.snapshot();
            harness = Harness::open(make(), &info, Some(snapshot));
        }
        // The watermark is not part of a snapshot (as in Flink): the restored operator knows
        // lateness again once the watermark comes back. The windows that fired on time before
        // the snapshot do not fire again.
        harness.watermark(9);
        assert_eq!(harness.sink.take(), vec![]);
        // Late for [0, 10), which fired but is within the lateness: it fires again at once.
        harness.element("a", 8, 8);
        // [-5, 5) is purged already, so this one only goes into [0, 10).
        harness.element("b", 16, 2);
        harness.watermark(14);
        // Both of its windows are purged: dropped.
        harness.element("b", 32, 4);
        harness.watermark(i64::MAX);
        fired.extend(harness.sink.take());
        fired
    };
    let expected = vec![
        (sum("b", -5, 2), 4),
        (sum("a", 0, 1), 9),
        (sum("b", 0, 2), 9),
        (sum("a", 0, 9), 9),
        (sum("b", 0, 18), 9),
        (sum("a", 5, 13), 14),
        (sum("a", 10, 4), 19),
    ];
    assert_eq!(run(false), expected);
    assert_eq!(run(true), expected);
}
