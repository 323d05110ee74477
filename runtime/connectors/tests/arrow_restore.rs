//! An Arrow window aggregate cancelled after checkpoints and restored from the latest one at
//! another parallelism: the group tables come back from their copy-on-write snapshots, and
//! every window is counted exactly once.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use flinkrs_api::arrow::array::cast::AsArray;
use flinkrs_api::arrow::array::types::{Int64Type, TimestampMillisecondType};
use flinkrs_api::arrow::array::{ArrayRef, Int64Array, TimestampMillisecondArray};
use flinkrs_api::arrow::schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use flinkrs_api::arrow::{Aggregate, ArrowWindow};
use flinkrs_api::prelude::*;
use flinkrs_connectors::RateLimitedSource;
use flinkrs_connectors::datagen::{ArrowDataGen, mix64};
use flinkrs_dataflow::CompletedCheckpoint;
use flinkrs_state::storage::CheckpointLocation;

mod common;

const ROWS: u64 = 60_000;
const KEYS: u64 = 97;
/// One row per millisecond of event time: a window holds 1,000 rows.
const WINDOW_MILLIS: i64 = 1_000;

fn key_of(index: u64) -> i64 {
    (mix64(index, 1) % KEYS) as i64
}

fn value_of(index: u64) -> i64 {
    (mix64(index, 2) % 1_000) as i64
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

/// (key, window start) → (count, sum of v).
type WindowResults = BTreeMap<(i64, i64), (i64, i64)>;

/// Generator throttled to 30,000 rows per second (about two seconds in all) → 1 s tumbling
/// windows of COUNT(*) and SUM(v) per key, checkpointed every 30 ms; collects the results.
fn window_job(
    parallelism: usize,
    checkpoints: &Path,
    restore_from: Option<&CheckpointLocation>,
) -> (
    StreamExecutionEnvironment,
    CollectHandle<(i64, i64, i64, i64)>,
) {
    let location = restore_from.map(CheckpointLocation::to_string);
    let env = common::checkpointed(parallelism, checkpoints, location.as_deref());
    let generator = ArrowDataGen::new(schema(), Some(ROWS), |rows| {
        let k: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(key_of)));
        let v: ArrayRef = Arc::new(Int64Array::from_iter_values(rows.iter().map(value_of)));
        let ts: ArrayRef = Arc::new(TimestampMillisecondArray::from_iter_values(
            rows.iter().map(|index| index as i64),
        ));
        Ok(vec![k, v, ts])
    });
    let results = env
        .add_arrow_source("DataGen", schema(), Some("ts"), move |_| {
            Ok(RateLimitedSource::new(generator.clone(), 30_000))
        })
        .unwrap()
        .assign_watermarks(Duration::ZERO)
        .unwrap()
        .key_by("k")
        .unwrap()
        .window(ArrowWindow::tumbling(Duration::from_millis(
            WINDOW_MILLIS as u64,
        )))
        .aggregate(&[Aggregate::count(), Aggregate::sum("v")])
        .unwrap()
        .uid("window-aggregate")
        .to_rows(|batch, rows: &mut Vec<(i64, i64, i64, i64)>| {
            let keys = batch.column(0).as_primitive::<Int64Type>();
            let starts = batch.column(1).as_primitive::<TimestampMillisecondType>();
            let counts = batch.column(4).as_primitive::<Int64Type>();
            let sums = batch.column(5).as_primitive::<Int64Type>();
            for row in 0..batch.num_rows() {
                rows.push((
                    keys.value(row),
                    starts.value(row),
                    counts.value(row),
                    sums.value(row),
                ));
            }
            Ok(())
        })
        .collect();
    (env, results)
}

/// Every window's results, computed from the generator's formulas.
fn expected_results() -> WindowResults {
    let mut results = WindowResults::new();
    for index in 0..ROWS {
        let start = index as i64 - index as i64 % WINDOW_MILLIS;
        let entry = results.entry((key_of(index), start)).or_insert((0, 0));
        entry.0 += 1;
        entry.1 += value_of(index);
    }
    results
}

/// The results collected, each window once: a window emitted twice by one run fails.
fn by_window(rows: &[(i64, i64, i64, i64)]) -> WindowResults {
    let mut results = WindowResults::new();
    for &(key, start, count, sum) in rows {
        let previous = results.insert((key, start), (count, sum));
        assert_eq!(previous, None, "window {start} of key {key} emitted twice");
    }
    results
}

/// Runs the job at parallelism 2 until windows have fired and two more checkpoints have
/// completed, then cancels it. Returns the retained checkpoint, the windows collected before
/// those two checkpoints, and every window the run fired.
fn run_then_cancel(checkpoints: &Path) -> (CompletedCheckpoint, WindowResults, WindowResults) {
    let (env, results) = window_job(2, checkpoints, None);
    let job = env.execute_async("arrow windows, first run").unwrap();
    let client = job.client();
    let mut collected = Vec::new();
    let next_checkpoint = || {
        job.completed_checkpoints()
            .recv_timeout(common::PATIENCE)
            .expect("a checkpoint completes before the input ends");
    };
    while collected.is_empty() {
        next_checkpoint();
        collected.extend(results.take());
    }
    let before = by_window(&collected);
    // At most one checkpoint runs at a time, so the second of these was triggered after those
    // windows were collected: its barrier followed them, and its snapshot no longer holds them.
    next_checkpoint();
    next_checkpoint();
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
    collected.extend(results.take());
    let checkpoint = client
        .retained_checkpoint()
        .expect("RETAIN_ON_CANCELLATION keeps the latest checkpoint");
    (checkpoint, before, by_window(&collected))
}

#[test]
fn an_arrow_window_aggregate_restored_at_another_parallelism_counts_every_window_exactly_once() {
    let checkpoints = tempfile::tempdir().unwrap();
    let expected = expected_results();
    let (checkpoint, before, first) = run_then_cancel(checkpoints.path());

    let (restored, results) = window_job(3, checkpoints.path(), Some(&checkpoint.location));
    restored.execute("arrow windows, restored").unwrap();
    let second = by_window(&results.take());

    // Each run's windows are complete: the first run fired them before the cancel, the
    // restored run from the groups it restored and the rows after the checkpoint.
    for (window, result) in first.iter().chain(&second) {
        assert_eq!(Some(result), expected.get(window), "window {window:?}");
    }
    // Together they are every window, and the windows fired before the checkpoint are not
    // fired again: the restored run resumed after them.
    let mut union = first.clone();
    union.extend(second.clone());
    assert_eq!(union.len(), expected.len());
    for window in before.keys() {
        assert!(
            !second.contains_key(window),
            "window {window:?} fired before the checkpoint and again after the restore"
        );
    }
    assert!(
        !second.is_empty(),
        "the restored run fired the later windows"
    );
}
