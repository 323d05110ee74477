//! The Arrow aggregate operator driven directly: windows firing on watermarks, late rows,
//! nulls, string keys, update streams, snapshot and rescaled restore, copy-on-write snapshots
//! encoded after the task went on, and plan and restore errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int64Type, TimestampMillisecondType};
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use flinkrs_core::config::RUNTIME_MODE;
use flinkrs_core::key_group::{KeyGroupRange, key_group_for_hash};
use flinkrs_core::key_hash::{key_hash, key_hash_i64, key_hash_str};
use flinkrs_core::{CheckpointId, Configuration, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::chain::Collect;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};
use flinkrs_state::{KeyedStateSnapshot, StateSnapshot};

use super::accumulators::CHUNK;
use super::snapshot::{SnapshotGroupV1, SnapshotKey, SnapshotWindow, WindowGroup};
use super::{Aggregate, AggregatePlan, ArrowWindow, GroupAggregateOperator};

struct Harness {
    operator: GroupAggregateOperator,
    output: Output<ArrowBatch>,
    sink: Collect<ArrowBatch>,
}

fn info(mode: &str, subtask_index: usize, parallelism: usize) -> TaskInfo {
    let mut config = Configuration::new();
    config.set(RUNTIME_MODE, mode).unwrap();
    TaskInfo {
        job_name: "test".into(),
        task_name: "aggregate".into(),
        operator_name: "aggregate".into(),
        operator_id: "aggregate".into(),
        subtask_index,
        parallelism,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

impl Harness {
    fn new(plan: AggregatePlan, info: &TaskInfo) -> Self {
        let sink = Collect::default();
        Harness {
            operator: GroupAggregateOperator::new(Arc::new(plan), info),
            output: Output::new(Box::new(sink.clone()), Vec::new()),
            sink,
        }
    }

    fn batch(&mut self, batch: RecordBatch, rowtime: Option<usize>) {
        let mut batch = match rowtime {
            Some(index) => ArrowBatch::with_rowtime_index(batch, index).unwrap(),
            None => ArrowBatch::new(batch),
        };
        self.operator
            .process_batch(&mut batch, &mut self.output)
            .unwrap();
    }

    fn watermark(&mut self, watermark: i64) {
        self.operator
            .process_watermark(Watermark(watermark), &mut self.output)
            .unwrap();
    }

    fn end(&mut self) {
        self.operator.end_input(&mut self.output).unwrap();
        self.output.flush().unwrap();
    }
}

fn keyed_schema(key: DataType) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", key, true),
        Field::new("v", DataType::Int64, true),
        Field::new("ts", DataType::Int64, false),
    ]))
}

fn int_batch(rows: &[(Option<i64>, Option<i64>, i64)]) -> RecordBatch {
    let k: ArrayRef = Arc::new(rows.iter().map(|r| r.0).collect::<Int64Array>());
    let v: ArrayRef = Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>());
    let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2)));
    RecordBatch::try_new(keyed_schema(DataType::Int64), vec![k, v, ts]).unwrap()
}

fn int_column(batch: &RecordBatch, index: usize) -> Vec<Option<i64>> {
    batch
        .column(index)
        .as_primitive::<Int64Type>()
        .iter()
        .collect()
}

/// The rows of window results: (key, window start, window end, window time, count).
fn window_rows(batches: &[ArrowBatch]) -> Vec<(i64, i64, i64, i64, i64)> {
    let mut rows = Vec::new();
    for batch in batches {
        let record = batch.record_batch();
        assert_eq!(batch.rowtime_index(), Some(3), "window_time is the rowtime");
        let time = |i: usize| record.column(i).as_primitive::<TimestampMillisecondType>();
        let keys = record.column(0).as_primitive::<Int64Type>();
        let counts = record.column(4).as_primitive::<Int64Type>();
        for row in 0..record.num_rows() {
            rows.push((
                keys.value(row),
                time(1).value(row),
                time(2).value(row),
                time(3).value(row),
                counts.value(row),
            ));
        }
    }
    rows
}

fn window_plan(aggregates: &[Aggregate]) -> AggregatePlan {
    let window = ArrowWindow::tumbling(Duration::from_secs(10));
    AggregatePlan::new(
        &keyed_schema(DataType::Int64),
        0,
        Some((window, Some(2))),
        aggregates,
    )
    .unwrap()
}

#[test]
fn a_window_fires_when_the_watermark_reaches_its_last_millisecond_and_late_rows_are_dropped() {
    let mut harness = Harness::new(window_plan(&[Aggregate::count()]), &info("STREAMING", 0, 1));
    harness.batch(
        int_batch(&[
            (Some(1), None, 1_000),
            (Some(2), None, 2_000),
            (Some(1), None, 12_000),
            (Some(1), None, 9_999),
        ]),
        Some(2),
    );
    harness.watermark(9_998);
    assert!(
        harness.sink.take_batches().is_empty(),
        "9 999 is still in the window"
    );
    harness.watermark(9_999);
    assert_eq!(
        window_rows(&harness.sink.take_batches()),
        vec![(1, 0, 10_000, 9_999, 2), (2, 0, 10_000, 9_999, 1)]
    );
    // Each watermark is forwarded, after the results it fired.
    assert_eq!(
        harness.sink.take_watermarks(),
        [Watermark(9_998), Watermark(9_999)]
    );
    // Window [0, 10 000) has fired: a row for it is late and dropped.
    harness.batch(
        int_batch(&[(Some(2), None, 500), (Some(3), None, 15_000)]),
        Some(2),
    );
    assert_eq!(harness.operator.late_rows_dropped(), 1);
    harness.watermark(i64::MAX);
    assert_eq!(
        window_rows(&harness.sink.take_batches()),
        vec![
            (1, 10_000, 20_000, 19_999, 1),
            (3, 10_000, 20_000, 19_999, 1)
        ]
    );
}

#[test]
fn sum_min_and_max_skip_nulls_and_are_null_for_a_group_of_nulls_only() {
    let plan = AggregatePlan::new(
        &keyed_schema(DataType::Int64),
        0,
        None,
        &[
            Aggregate::count(),
            Aggregate::sum("v"),
            Aggregate::min("v"),
            Aggregate::max("v").alias("largest"),
        ],
    )
    .unwrap();
    let names: Vec<&str> = plan
        .output
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(names, ["k", "count", "sum_v", "min_v", "largest"]);
    let mut harness = Harness::new(plan, &info("BATCH", 0, 1));
    harness.batch(
        int_batch(&[
            (Some(1), Some(5), 0),
            (Some(1), None, 0),
            (Some(2), None, 0),
            (None, Some(7), 0),
            (Some(1), Some(-3), 0),
            (Some(i64::MAX), Some(i64::MAX), 0),
            (Some(i64::MAX), Some(1), 0),
        ]),
        None,
    );
    assert!(
        harness.sink.take_batches().is_empty(),
        "batch mode emits at the end only"
    );
    harness.end();
    let batches = harness.sink.take_batches();
    assert_eq!(batches.len(), 1);
    let batch = batches[0].record_batch();
    assert_eq!(
        int_column(batch, 0),
        [Some(1), Some(2), None, Some(i64::MAX)]
    );
    assert_eq!(int_column(batch, 1), [Some(3), Some(1), Some(1), Some(2)]);
    // SUM wraps on overflow, as a Java long does.
    assert_eq!(
        int_column(batch, 2),
        [Some(2), None, Some(7), Some(i64::MIN)]
    );
    assert_eq!(int_column(batch, 3), [Some(-3), None, Some(7), Some(1)]);
    assert_eq!(
        int_column(batch, 4),
        [Some(5), None, Some(7), Some(i64::MAX)]
    );
}

fn string_batch(keys: &[Option<&str>]) -> RecordBatch {
    let k: ArrayRef = Arc::new(keys.iter().copied().collect::<StringArray>());
    let v: ArrayRef = Arc::new(Int64Array::from(vec![1; keys.len()]));
    let ts: ArrayRef = Arc::new(Int64Array::from(vec![0; keys.len()]));
    RecordBatch::try_new(keyed_schema(DataType::Utf8), vec![k, v, ts]).unwrap()
}

fn string_counts(batches: &[ArrowBatch]) -> Vec<(Option<String>, i64)> {
    let mut rows = Vec::new();
    for batch in batches {
        let record = batch.record_batch();
        let keys = record.column(0).as_string::<i32>();
        let counts = record.column(1).as_primitive::<Int64Type>();
        for row in 0..record.num_rows() {
            let key = keys.is_valid(row).then(|| keys.value(row).to_owned());
            rows.push((key, counts.value(row)));
        }
    }
    rows
}

#[test]
fn a_streaming_group_aggregate_emits_the_keys_each_batch_changed_in_first_change_order() {
    let plan = AggregatePlan::new(
        &keyed_schema(DataType::Utf8),
        0,
        None,
        &[Aggregate::count()],
    )
    .unwrap();
    let mut harness = Harness::new(plan, &info("STREAMING", 0, 1));
    harness.batch(string_batch(&[Some("b"), Some("a"), Some("b"), None]), None);
    assert_eq!(
        string_counts(&harness.sink.take_batches()),
        [(Some("b".into()), 2), (Some("a".into()), 1), (None, 1)]
    );
    harness.batch(string_batch(&[Some("a"), Some("c")]), None);
    assert_eq!(
        string_counts(&harness.sink.take_batches()),
        [(Some("a".into()), 2), (Some("c".into()), 1)]
    );
    harness.end();
    assert!(
        harness.sink.take_batches().is_empty(),
        "streaming mode emitted everything already"
    );
}

#[test]
fn a_snapshot_restored_at_parallelism_2_splits_the_groups_by_key_group_without_loss() {
    let plan = || {
        AggregatePlan::new(
            &keyed_schema(DataType::Utf8),
            0,
            None,
            &[Aggregate::count()],
        )
        .unwrap()
    };
    let mut original = Harness::new(plan(), &info("BATCH", 0, 1));
    let keys: Vec<String> = (0..40).map(|i| format!("key-{i}")).collect();
    let mut rows: Vec<Option<&str>> = keys.iter().map(|k| Some(k.as_str())).collect();
    rows.extend([Some("key-3"), Some("key-3"), None]);
    original.batch(string_batch(&rows), None);
    let snapshot = original.operator.snapshot_state(CheckpointId(1)).unwrap();
    original.end();
    let mut expected = string_counts(&original.sink.take_batches());
    expected.sort();

    let mut restored = Vec::new();
    let mut per_subtask = Vec::new();
    for subtask in 0..2 {
        let mut harness = Harness::new(plan(), &info("BATCH", subtask, 2));
        let info = info("BATCH", subtask, 2);
        harness
            .operator
            .initialize_state(&info, Some(snapshot.clone()))
            .unwrap();
        harness.end();
        let counts = string_counts(&harness.sink.take_batches());
        per_subtask.push(counts.len());
        restored.extend(counts);
    }
    restored.sort();
    assert_eq!(restored, expected);
    assert_eq!(expected.len(), 41);
    assert!(
        per_subtask.iter().all(|&n| n > 0),
        "both subtasks own groups: {per_subtask:?}"
    );
}

#[test]
fn a_restore_with_another_max_parallelism_is_refused_with_both_values() {
    let plan = AggregatePlan::new(
        &keyed_schema(DataType::Int64),
        0,
        None,
        &[Aggregate::count()],
    )
    .unwrap();
    let mut harness = Harness::new(plan.clone(), &info("BATCH", 0, 1));
    harness.batch(int_batch(&[(Some(1), None, 0)]), None);
    let mut snapshot = harness.operator.snapshot_state(CheckpointId(1)).unwrap();
    if let Some(keyed) = &mut snapshot.keyed {
        keyed.max_parallelism = 256;
    }
    let mut other = Harness::new(plan, &info("BATCH", 0, 1));
    let error = other
        .operator
        .initialize_state(&info("BATCH", 0, 1), Some(snapshot))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("max parallelism 256") && error.contains("runs with 128"),
        "{error}"
    );
}

/// A tumbling-window aggregate of string keys with every kind of aggregate.
fn string_window_plan() -> AggregatePlan {
    AggregatePlan::new(
        &keyed_schema(DataType::Utf8),
        0,
        Some((ArrowWindow::tumbling(Duration::from_secs(10)), Some(2))),
        &[
            Aggregate::count(),
            Aggregate::sum("v"),
            Aggregate::min("v"),
            Aggregate::max("v"),
        ],
    )
    .unwrap()
}

fn string_rows(rows: &[(Option<String>, Option<i64>, i64)]) -> RecordBatch {
    let k: ArrayRef = Arc::new(rows.iter().map(|r| r.0.as_deref()).collect::<StringArray>());
    let v: ArrayRef = Arc::new(rows.iter().map(|r| r.1).collect::<Int64Array>());
    let ts: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.2)));
    RecordBatch::try_new(keyed_schema(DataType::Utf8), vec![k, v, ts]).unwrap()
}

/// The key group a snapshot's group belongs to, as the partitioner assigns its rows.
fn key_group_of(key: &SnapshotKey) -> usize {
    let hash = match key {
        SnapshotKey::Null => key_hash(&None::<()>),
        SnapshotKey::Int(value) => key_hash_i64(*value),
        SnapshotKey::Str(value) => key_hash_str(value),
    };
    key_group_for_hash(hash, 128)
}

#[test]
fn a_restore_puts_back_the_groups_of_the_barrier_with_their_values_in_their_order() {
    let single = info("STREAMING", 0, 1);
    let mut harness = Harness::new(string_window_plan(), &single);
    // A window that fires before the checkpoint, so that later groups reuse its slots and its
    // strings' ids.
    let early: Vec<_> = (0..300)
        .map(|i| (Some(format!("early-{i}")), Some(i), -5_000))
        .collect();
    harness.batch(string_rows(&early), Some(2));
    harness.watermark(-1);
    assert_eq!(window_count_rows(&harness.sink.take_batches()), 300);
    // Three windows, the first over several chunks of slots, with keys in a scrambled order,
    // null keys and null values.
    let groups = 2 * CHUNK + 300;
    let mut rows = Vec::new();
    for i in 0..groups {
        let key = Some(format!("key-{}", (i * 7_919) % 10_000));
        let value = (i % 11 != 0).then_some((i % 17) as i64 - 8);
        rows.push((key.clone(), value, 1_000 + (i % 5_000) as i64));
        if i % 3 == 0 {
            rows.push((key.clone(), Some(i as i64), 12_000));
        }
        if i % 500 == 0 {
            rows.push((key, None, 25_000));
            rows.push((None, Some(i as i64), 25_000));
        }
    }
    for batch in rows.chunks(1_000) {
        harness.batch(string_rows(batch), Some(2));
    }
    let at_barrier = harness.operator.groups();
    // Every key in the first window, every third in the second, every 500th and the null key in
    // the third.
    assert_eq!(
        at_barrier.len(),
        groups + groups.div_ceil(3) + groups.div_ceil(500) + 1
    );
    let snapshot = harness.operator.snapshot_state(CheckpointId(1)).unwrap();

    // The task goes on: every group changes, groups are added, the first window fires and a
    // new one takes its slots and string ids.
    let mut later = Vec::new();
    for i in 0..groups {
        let key = Some(format!("key-{}", (i * 7_919) % 10_000));
        later.push((key.clone(), Some(1_000), 2_000));
        later.push((key, Some(-1_000), 13_000));
        later.push((Some(format!("new-{i}")), Some(1), 3_000));
    }
    for batch in later.chunks(1_000) {
        harness.batch(string_rows(batch), Some(2));
    }
    harness.watermark(9_999);
    let reused: Vec<_> = (0..CHUNK)
        .map(|i| (Some(format!("reused-{i}")), Some(2), 45_000))
        .collect();
    harness.batch(string_rows(&reused), Some(2));
    assert_ne!(harness.operator.groups(), at_barrier);

    let mut restored = Harness::new(string_window_plan(), &single);
    restored
        .operator
        .initialize_state(&single, Some(snapshot.clone()))
        .unwrap();
    assert_eq!(restored.operator.groups(), at_barrier);

    // At parallelism 2 each subtask takes back exactly its key groups' groups, in their order.
    let mut split = 0;
    for subtask in 0..2 {
        let info = info("STREAMING", subtask, 2);
        let range = KeyGroupRange::for_operator(128, 2, subtask);
        let expected: Vec<_> = at_barrier
            .iter()
            .filter(|(_, key, _)| range.contains(key_group_of(key)))
            .cloned()
            .collect();
        let mut harness = Harness::new(string_window_plan(), &info);
        harness
            .operator
            .initialize_state(&info, Some(snapshot.clone()))
            .unwrap();
        assert_eq!(harness.operator.groups(), expected);
        assert!(!expected.is_empty());
        split += expected.len();
    }
    assert_eq!(split, at_barrier.len());
}

/// The number of rows of window results.
fn window_count_rows(batches: &[ArrowBatch]) -> usize {
    batches
        .iter()
        .map(|batch| batch.record_batch().num_rows())
        .sum()
}

#[test]
fn a_snapshot_encodes_its_barrier_however_much_the_task_writes_before_the_encoding() {
    let plan = AggregatePlan::new(
        &keyed_schema(DataType::Int64),
        0,
        None,
        &[Aggregate::count(), Aggregate::sum("v"), Aggregate::max("v")],
    )
    .unwrap();
    let mut harness = Harness::new(plan, &info("STREAMING", 0, 1));
    let keys = 5 * CHUNK as i64;
    let rows: Vec<_> = (0..keys).map(|k| (Some(k * 31), Some(k), 0)).collect();
    harness.batch(int_batch(&rows), None);
    let take = |harness: &mut Harness, checkpoint| {
        harness
            .operator
            .snapshot_state(CheckpointId(checkpoint))
            .unwrap()
            .keyed
            .unwrap()
    };
    // Encoded at once: what the barrier saw.
    let mut at_barrier = take(&mut harness, 1);
    at_barrier.materialize().unwrap();
    // Taken at the same barrier, encoded only after the task wrote every group many times over
    // and added as many groups again.
    let mut held = take(&mut harness, 2);
    assert!(!held.is_materialized());
    for round in 1..=20 {
        let rows: Vec<_> = (0..2 * keys)
            .map(|k| (Some(k * 31), Some(round * 1_000 + k), 0))
            .collect();
        harness.batch(int_batch(&rows), None);
    }
    harness.sink.take_batches();
    held.materialize().unwrap();
    assert_eq!(held, at_barrier);
    // One window (0, for a group aggregate), every key once.
    let mut keys_seen = Vec::new();
    for bytes in held.states[0].key_groups.values() {
        let windows: Vec<SnapshotWindow> = postcard::from_bytes(bytes).unwrap();
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].window, 0);
        for group in &windows[0].groups {
            let SnapshotKey::Int(key) = group.key else {
                panic!("an integer key: {:?}", group.key);
            };
            keys_seen.push(key);
        }
    }
    keys_seen.sort_unstable();
    assert_eq!(keys_seen, (0..keys).map(|k| k * 31).collect::<Vec<_>>());
}

#[test]
fn a_snapshot_of_the_earlier_layout_without_positions_is_restored_in_its_order() {
    let plan = || {
        AggregatePlan::new(
            &keyed_schema(DataType::Int64),
            0,
            None,
            &[Aggregate::count(), Aggregate::sum("v")],
        )
        .unwrap()
    };
    let groups = [
        (SnapshotKey::Int(5), vec![Some(2), Some(10)]),
        (SnapshotKey::Null, vec![Some(1), None]),
        (SnapshotKey::Int(-3), vec![Some(4), Some(-7)]),
    ];
    let mut key_groups: BTreeMap<usize, Vec<SnapshotGroupV1>> = BTreeMap::new();
    for (key, values) in &groups {
        key_groups
            .entry(key_group_of(key))
            .or_default()
            .push(SnapshotGroupV1 {
                window: 0,
                key: key.clone(),
                values: values.clone(),
            });
    }
    let snapshot = KeyedStateSnapshot::new(
        128,
        vec![StateSnapshot {
            name: "groups".into(),
            value_type: "flinkrs arrow aggregate groups v1".into(),
            key_groups: key_groups
                .iter()
                .map(|(&group, entries)| (group, postcard::to_allocvec(entries).unwrap()))
                .collect(),
        }],
    );
    let info = info("BATCH", 0, 1);
    let mut harness = Harness::new(plan(), &info);
    harness
        .operator
        .initialize_state(&info, Some(keyed_operator_snapshot(snapshot)))
        .unwrap();
    // In the order written: key group by key group.
    let mut expected: Vec<_> = groups
        .iter()
        .map(|(key, values)| (0, key.clone(), values.clone()))
        .collect();
    expected.sort_by_key(|(_, key, _)| key_group_of(key));
    assert_eq!(harness.operator.groups(), expected);
}

fn keyed_operator_snapshot(keyed: KeyedStateSnapshot) -> OperatorSnapshot {
    OperatorSnapshot {
        keyed: Some(keyed),
        operator_state: Vec::new(),
    }
}

#[test]
fn a_restore_refuses_another_state_layout_and_undecodable_bytes_naming_them() {
    let plan = AggregatePlan::new(
        &keyed_schema(DataType::Int64),
        0,
        None,
        &[Aggregate::count()],
    )
    .unwrap();
    let info = info("BATCH", 0, 1);
    let restore = |value_type: &str, bytes: Vec<u8>| {
        let snapshot = KeyedStateSnapshot::new(
            128,
            vec![StateSnapshot {
                name: "groups".into(),
                value_type: value_type.into(),
                key_groups: [(17, bytes)].into_iter().collect(),
            }],
        );
        Harness::new(plan.clone(), &info)
            .operator
            .initialize_state(&info, Some(keyed_operator_snapshot(snapshot)))
            .unwrap_err()
            .to_string()
    };
    let error = restore(
        "alloc::collections::btree::map::BTreeMap<u64, u64>",
        vec![0],
    );
    assert!(
        error.contains("holds values of type alloc::collections::btree::map::BTreeMap<u64, u64>")
            && error.contains("give this one a new uid"),
        "{error}"
    );
    // A length of three windows, and then nothing.
    let error = restore("flinkrs arrow aggregate groups v2", vec![3]);
    assert!(
        error.contains("aggregate state: key group 17 cannot be decoded"),
        "{error}"
    );
    // Positions past what a window can hold.
    let group = |step| WindowGroup {
        step,
        key: SnapshotKey::Int(1),
        values: vec![Some(1)],
    };
    let windows = vec![SnapshotWindow {
        window: 0,
        groups: vec![group(u32::MAX), group(1)],
    }];
    let error = restore(
        "flinkrs arrow aggregate groups v2",
        postcard::to_allocvec(&windows).unwrap(),
    );
    assert!(
        error.contains("key group 17 holds a group past position 4294967295 of window 0"),
        "{error}"
    );
}

#[test]
fn a_group_of_another_subtasks_key_group_fails_the_snapshot_naming_the_state() {
    let plan = AggregatePlan::new(
        &keyed_schema(DataType::Int64),
        0,
        None,
        &[Aggregate::count()],
    )
    .unwrap();
    // Subtask 0 of 2 is handed every key, as no partitioner would.
    let mut harness = Harness::new(plan, &info("BATCH", 0, 2));
    let rows: Vec<_> = (0..100).map(|k| (Some(k), None, 0)).collect();
    harness.batch(int_batch(&rows), None);
    let mut keyed = harness
        .operator
        .snapshot_state(CheckpointId(1))
        .unwrap()
        .keyed
        .unwrap();
    let error = keyed.materialize().unwrap_err().to_string();
    assert!(
        error.starts_with("state 'groups' holds a key of key group ")
            && error.contains("outside this subtask's key groups 0..=63"),
        "{error}"
    );
}

#[test]
fn plans_reject_unsupported_columns_with_the_column_and_what_to_do() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("f", DataType::Float64, false),
        Field::new("s", DataType::Utf8, false),
        Field::new("n", DataType::Int64, false),
    ]));
    let error =
        |key: usize, window: Option<(ArrowWindow, Option<usize>)>, aggregates: &[Aggregate]| {
            AggregatePlan::new(&schema, key, window, aggregates)
                .unwrap_err()
                .to_string()
        };
    let message = error(0, None, &[Aggregate::count()]);
    assert!(
        message.contains("key column 'f' has type Float64") && message.contains("cast"),
        "{message}"
    );
    let message = error(2, None, &[Aggregate::sum("s")]);
    assert!(message.contains("column 's' has type Utf8"), "{message}");
    let message = error(2, None, &[Aggregate::max("missing")]);
    assert!(
        message.contains("column 'missing' is not in the stream's schema (columns: f, s, n)"),
        "{message}"
    );
    let message = error(2, None, &[]);
    assert!(message.contains("no aggregates given"), "{message}");
    let tumbling = ArrowWindow::tumbling(Duration::from_secs(1));
    let message = error(2, Some((tumbling, None)), &[Aggregate::count()]);
    assert!(message.contains("no rowtime column"), "{message}");
    let zero = ArrowWindow::tumbling(Duration::ZERO);
    let message = error(2, Some((zero, Some(2))), &[Aggregate::count()]);
    assert!(
        message.contains("size (0 ms) must be positive"),
        "{message}"
    );
}
