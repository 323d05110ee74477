//! Streaming SQL jobs checkpointed into a local folder, cancelled, and restored from their
//! latest checkpoint at the same and at another parallelism: the restored run resumes from
//! the aggregates' and joins' state and ends with exactly the results of an uninterrupted run.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::Int8Type;
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::sink::{CollectHandle, CollectSink};
use flinkrs_core::Error;
use flinkrs_dataflow::CompletedCheckpoint;

use crate::planner::{PlannedQuery, ROW_KIND_COLUMN};
use crate::render::{RowKind, render_value};
use crate::{SqlSession, StatementResult};

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
const PATIENCE: Duration = Duration::from_secs(60);

/// A row of a result: its kind and its rendered values.
type Row = (RowKind, Vec<Option<String>>);

/// Plans `query` after `tables` in a streaming session.
fn plan(tables: &[&str], query: &str) -> PlannedQuery {
    let mut session = SqlSession::new();
    for table in tables {
        session.execute(table).unwrap();
    }
    match session.execute(query).unwrap() {
        StatementResult::Query(planned) => *planned,
        other => panic!("not a query: {other:?}"),
    }
}

/// The query's job at `parallelism`, checkpointing every 30 ms into `checkpoints` and keeping
/// the latest checkpoint past a cancel, restored from `restore_from` when given.
fn job(
    query: &PlannedQuery,
    parallelism: usize,
    checkpoints: &Path,
    restore_from: Option<&CompletedCheckpoint>,
) -> (StreamExecutionEnvironment, CollectHandle<Row>) {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    env.set("execution.checkpointing.interval", "30 ms")
        .unwrap();
    env.set(
        "execution.checkpointing.dir",
        checkpoints.display().to_string(),
    )
    .unwrap();
    env.set(
        "execution.checkpointing.externalized-checkpoint-retention",
        "RETAIN_ON_CANCELLATION",
    )
    .unwrap();
    if let Some(checkpoint) = restore_from {
        env.set(
            "execution.state-recovery.path",
            checkpoint.location.to_string(),
        )
        .unwrap();
    }
    let planned = crate::planner::translate::Translator::new(&env, query, false)
        .translate()
        .unwrap();
    let width = query.columns.len();
    let kinds = planned
        .updating
        .then(|| planned.stream.schema().index_of(ROW_KIND_COLUMN).unwrap());
    let rows = planned
        .stream
        .to_rows(move |batch, rows: &mut Vec<Row>| {
            let kind_column = kinds.map(|index| batch.column(index).as_primitive::<Int8Type>());
            for row in 0..batch.num_rows() {
                let kind = kind_column.map_or(RowKind::Insert, |kinds| {
                    RowKind::from_code(kinds.value(row))
                });
                let values = batch.columns()[..width]
                    .iter()
                    .map(|array| render_value(array, row))
                    .collect();
                rows.push((kind, values));
            }
            Ok(())
        })
        .set_parallelism(1);
    // One sink subtask: the changes arrive in the order the aggregate made them per key.
    let (sink, handle) = CollectSink::new();
    rows.add_sink("Collect", sink).set_parallelism(1);
    (env, handle)
}

/// Runs the job until results have come and `more` further checkpoints completed, then
/// cancels it. Returns the retained checkpoint, the rows collected before those
/// checkpoints, and all rows the run emitted.
fn run_then_cancel(
    query: &PlannedQuery,
    parallelism: usize,
    checkpoints: &Path,
) -> (CompletedCheckpoint, Vec<Row>, Vec<Row>) {
    let (env, results) = job(query, parallelism, checkpoints, None);
    let running = env.execute_async("sql, first run").unwrap();
    let client = running.client();
    let next_checkpoint = || {
        running
            .completed_checkpoints()
            .recv_timeout(PATIENCE)
            .expect("a checkpoint completes before the input ends");
    };
    let mut collected = Vec::new();
    while collected.is_empty() {
        next_checkpoint();
        collected.extend(results.take());
    }
    let before = collected.clone();
    // At most one checkpoint runs at a time, so the second of these was triggered after the
    // rows above were collected: its barrier followed them.
    next_checkpoint();
    next_checkpoint();
    running.cancel();
    assert!(matches!(running.wait(), Err(Error::Cancelled)));
    collected.extend(results.take());
    let checkpoint = client
        .retained_checkpoint()
        .expect("RETAIN_ON_CANCELLATION keeps the latest checkpoint");
    (checkpoint, before, collected)
}

/// The whole output of an uninterrupted run.
fn uninterrupted(query: &PlannedQuery, parallelism: usize) -> Vec<Row> {
    let checkpoints = tempfile::tempdir().unwrap();
    let (env, results) = job(query, parallelism, checkpoints.path(), None);
    env.execute("sql, uninterrupted").unwrap();
    results.take()
}

/// The table a changelog materializes, keyed by its first `key_width` columns. A `-U` (or,
/// when `deletes`, a `-D`) must retract the row's current values; one of a key not seen yet
/// is a group restored from the checkpoint, whose retracted values go into `resumed`.
fn materialize(
    changes: &[Row],
    key_width: usize,
    resumed: &mut BTreeMap<Vec<Option<String>>, Vec<Option<String>>>,
    deletes: bool,
) -> BTreeMap<Vec<Option<String>>, Vec<Option<String>>> {
    let mut table = BTreeMap::new();
    for (kind, values) in changes {
        let key = values[..key_width].to_vec();
        let rest = values[key_width..].to_vec();
        match kind {
            RowKind::Insert => {
                assert_eq!(table.insert(key.clone(), rest), None, "+I of {key:?} twice");
            }
            RowKind::UpdateAfter => {
                assert_eq!(
                    table.insert(key.clone(), rest),
                    None,
                    "+U of {key:?} without -U"
                );
            }
            RowKind::Delete if !deletes => {
                panic!("a group aggregate without retractions deleted {key:?}")
            }
            RowKind::UpdateBefore | RowKind::Delete => match table.remove(&key) {
                Some(current) => assert_eq!(current, rest, "-U of {key:?}"),
                None => {
                    assert!(
                        resumed.insert(key.clone(), rest).is_none(),
                        "{key:?} resumed twice"
                    );
                }
            },
        }
    }
    table
}

const GROUP_TABLE: &str = "CREATE TABLE numbers (id BIGINT) WITH ('connector' = 'datagen', \
     'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = '5999', \
     'rows-per-second' = '3000')";

const GROUP_QUERY: &str = "SELECT id % 7 AS k, COUNT(*) AS c, SUM(id) AS s, MAX(id) AS m, \
     AVG(id) AS a, COUNT(DISTINCT id % 11) AS d FROM numbers GROUP BY id % 7";

/// A streaming group aggregate restored at `parallelism` from a run at 2.
fn group_aggregate_restores_at(parallelism: usize) {
    let query = plan(&[GROUP_TABLE], GROUP_QUERY);
    let expected = materialize(&uninterrupted(&query, 2), 1, &mut BTreeMap::new(), false);
    assert_eq!(expected.len(), 7);
    assert_eq!(
        expected.get(&vec![Some("0".to_owned())]),
        Some(&vec![
            Some("858".to_owned()),
            Some(((0..6000i64).filter(|i| i % 7 == 0).sum::<i64>()).to_string()),
            Some("5999".to_owned()),
            Some("2999".to_owned()),
            Some("11".to_owned()),
        ])
    );

    let checkpoints = tempfile::tempdir().unwrap();
    let (checkpoint, _, first) = run_then_cancel(&query, 2, checkpoints.path());
    let (restored, results) = job(&query, parallelism, checkpoints.path(), Some(&checkpoint));
    restored.execute("sql, restored").unwrap();
    let second = results.take();

    let mut resumed = BTreeMap::new();
    let table = materialize(&second, 1, &mut resumed, false);
    assert_eq!(
        table, expected,
        "the restored run ends where an uninterrupted one does"
    );
    assert!(
        !resumed.is_empty(),
        "the restored run resumed groups from the checkpoint"
    );
    // Each resumed group's values are values the first run emitted for it: the state of the
    // checkpoint, not counts started over.
    let mut emitted: BTreeMap<Vec<Option<String>>, Vec<Vec<Option<String>>>> = BTreeMap::new();
    for (kind, values) in &first {
        if kind.is_addition() {
            emitted
                .entry(values[..1].to_vec())
                .or_default()
                .push(values[1..].to_vec());
        }
    }
    for (key, values) in &resumed {
        assert!(
            emitted.get(key).is_some_and(|all| all.contains(values)),
            "group {key:?} resumed from {values:?}, which the first run never emitted"
        );
    }
    assert!(
        second.len() < 2 * 6000,
        "the rows before the checkpoint were not replayed: {} changes",
        second.len()
    );
}

#[test]
fn a_group_aggregate_restored_at_the_same_parallelism_ends_as_an_uninterrupted_run() {
    group_aggregate_restores_at(2);
}

#[test]
fn a_group_aggregate_restored_at_another_parallelism_ends_as_an_uninterrupted_run() {
    group_aggregate_restores_at(3);
}

/// An aggregate of the group aggregate's changelog: its groups retract and delete rows, and
/// keep every `MAX` and `MIN` value with its count.
const NESTED_QUERY: &str = "SELECT c % 3 AS b, COUNT(*) AS n, SUM(c) AS s, MAX(c) AS m, \
     MIN(c) AS l FROM (SELECT id % 7 AS k, COUNT(*) AS c FROM numbers GROUP BY id % 7) \
     GROUP BY c % 3";

#[test]
fn an_aggregate_of_an_aggregate_restored_at_another_parallelism_ends_as_an_uninterrupted_run() {
    let query = plan(&[GROUP_TABLE], NESTED_QUERY);
    let text = |value: i64| Some(value.to_string());
    // Of ids 0 to 5999, key 0 counts 858 (858 % 3 = 0) and the six others 857 (% 3 = 2).
    let expected = BTreeMap::from([
        (
            vec![text(0)],
            vec![text(1), text(858), text(858), text(858)],
        ),
        (
            vec![text(2)],
            vec![text(6), text(6 * 857), text(857), text(857)],
        ),
    ]);
    let uninterrupted = uninterrupted(&query, 2);
    assert!(
        uninterrupted
            .iter()
            .any(|(kind, _)| *kind == RowKind::Delete),
        "groups whose last row moved to another group were deleted"
    );
    assert_eq!(
        materialize(&uninterrupted, 1, &mut BTreeMap::new(), true),
        expected
    );

    let checkpoints = tempfile::tempdir().unwrap();
    let (checkpoint, _, _) = run_then_cancel(&query, 2, checkpoints.path());
    let (restored, results) = job(&query, 3, checkpoints.path(), Some(&checkpoint));
    restored.execute("sql, restored").unwrap();
    let mut resumed = BTreeMap::new();
    let table = materialize(&results.take(), 1, &mut resumed, true);
    assert_eq!(
        table, expected,
        "the restored run ends where an uninterrupted one does"
    );
    assert!(
        !resumed.is_empty(),
        "the restored run resumed groups from the checkpoint"
    );
}

const WINDOW_TABLE: &str = "CREATE TABLE events (id BIGINT, ts AS CAST(id * 10 AS \
     TIMESTAMP(3)), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) WITH ('connector' = \
     'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = \
     '5999', 'rows-per-second' = '3000')";

const WINDOW_QUERY: &str = "SELECT window_start, id % 5 AS k, COUNT(*) AS c, SUM(id) AS s, \
     COUNT(DISTINCT id % 3) AS d FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '1' \
     SECOND)) GROUP BY window_start, window_end, id % 5";

/// Window results by (window start, key), each window once per run.
fn by_window(rows: &[Row]) -> BTreeMap<Vec<Option<String>>, Vec<Option<String>>> {
    let mut windows = BTreeMap::new();
    for (kind, values) in rows {
        assert_eq!(*kind, RowKind::Insert, "a window aggregate only inserts");
        let previous = windows.insert(values[..2].to_vec(), values[2..].to_vec());
        assert_eq!(previous, None, "window {:?} emitted twice", &values[..2]);
    }
    windows
}

/// A TUMBLE window aggregate restored at `parallelism` from a run at 2.
fn window_aggregate_restores_at(parallelism: usize) {
    // 60 s of event time, 5 keys.
    windows_restore_at(WINDOW_TABLE, WINDOW_QUERY, 60 * 5, parallelism);
}

/// Sessions of keys 0 to 2: a block of 100 rows 10 ms apart, then 5 s without rows.
const SESSION_TABLE: &str = "CREATE TABLE events (id BIGINT, k AS id % 3, ts AS CAST((id + \
     (id / 100) * 500) * 10 AS TIMESTAMP(3)), WATERMARK FOR ts AS ts - INTERVAL '1' SECOND) \
     WITH ('connector' = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0', \
     'fields.id.end' = '5999', 'rows-per-second' = '3000')";

const SESSION_QUERY: &str = "SELECT k, window_start, window_end, COUNT(*) AS c, SUM(id) AS s \
     FROM TABLE(SESSION(TABLE events PARTITION BY k, DESCRIPTOR(ts), INTERVAL '2' SECOND)) \
     GROUP BY k, window_start, window_end";

#[test]
fn a_session_window_aggregate_restored_at_another_parallelism_fires_each_session_once() {
    // 60 blocks, 3 keys.
    windows_restore_at(SESSION_TABLE, SESSION_QUERY, 60 * 3, 3);
}

/// A window aggregate restored at `parallelism` from a run at 2: each run fires its windows
/// complete, and together they fire the `windows` windows of an uninterrupted run.
fn windows_restore_at(table: &str, query: &str, windows: usize, parallelism: usize) {
    let query = plan(&[table], query);
    let expected = by_window(&uninterrupted(&query, 2));
    assert_eq!(expected.len(), windows);

    let checkpoints = tempfile::tempdir().unwrap();
    let (checkpoint, before, first) = run_then_cancel(&query, 2, checkpoints.path());
    let before = by_window(&before);
    let first = by_window(&first);
    let (restored, results) = job(&query, parallelism, checkpoints.path(), Some(&checkpoint));
    restored.execute("sql, restored").unwrap();
    let second = by_window(&results.take());

    for (window, result) in first.iter().chain(&second) {
        assert_eq!(Some(result), expected.get(window), "window {window:?}");
    }
    let mut union = first.clone();
    union.extend(second.clone());
    assert_eq!(union, expected, "together the runs fire every window");
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

#[test]
fn a_window_aggregate_restored_at_the_same_parallelism_fires_each_window_as_an_uninterrupted_run() {
    window_aggregate_restores_at(2);
}

#[test]
fn a_window_aggregate_restored_at_another_parallelism_fires_each_window_as_an_uninterrupted_run() {
    window_aggregate_restores_at(3);
}

/// Keys 0 to 19, 300 rows each, over 2 s.
const JOIN_LEFT_TABLE: &str = "CREATE TABLE lefts (id BIGINT, k AS id % 20) WITH ('connector' \
     = 'datagen', 'fields.id.kind' = 'sequence', 'fields.id.start' = '0', 'fields.id.end' = \
     '5999', 'rows-per-second' = '3000')";

/// Keys 0 to 19, 3 rows each, over 2 s: some reach the join before the checkpoint, and the
/// left's rows after the restore must find them in the join's restored state.
const JOIN_RIGHT_TABLE: &str = "CREATE TABLE rights (rid BIGINT, rk AS rid % 20) WITH \
     ('connector' = 'datagen', 'fields.rid.kind' = 'sequence', 'fields.rid.start' = '0', \
     'fields.rid.end' = '59', 'rows-per-second' = '30')";

const JOIN_QUERY: &str = "SELECT k, COUNT(*) AS c, SUM(rid) AS s FROM lefts JOIN rights ON k = \
     rk GROUP BY k";

/// A streaming join (with a group aggregate over it) restored at `parallelism` from a run at
/// 2: the join's rows of both sides come back from the checkpoint, so every key ends with
/// all 300 x 3 pairs.
fn join_restores_at(parallelism: usize) {
    let query = plan(&[JOIN_LEFT_TABLE, JOIN_RIGHT_TABLE], JOIN_QUERY);
    let expected: BTreeMap<Vec<Option<String>>, Vec<Option<String>>> = (0..20i64)
        .map(|k| {
            (
                vec![Some(k.to_string())],
                vec![
                    Some("900".to_owned()),
                    Some((300 * (3 * k + 60)).to_string()),
                ],
            )
        })
        .collect();
    assert_eq!(
        materialize(&uninterrupted(&query, 2), 1, &mut BTreeMap::new(), false),
        expected
    );

    let checkpoints = tempfile::tempdir().unwrap();
    let (checkpoint, _, _) = run_then_cancel(&query, 2, checkpoints.path());
    let (restored, results) = job(&query, parallelism, checkpoints.path(), Some(&checkpoint));
    restored.execute("sql, restored").unwrap();
    let mut resumed = BTreeMap::new();
    let table = materialize(&results.take(), 1, &mut resumed, false);
    assert_eq!(
        table, expected,
        "the restored run ends where an uninterrupted one does"
    );
    assert!(
        !resumed.is_empty(),
        "the restored run resumed groups from the checkpoint"
    );
}

#[test]
fn a_join_restored_at_the_same_parallelism_ends_as_an_uninterrupted_run() {
    join_restores_at(2);
}

#[test]
fn a_join_restored_at_another_parallelism_ends_as_an_uninterrupted_run() {
    join_restores_at(3);
}

const TOP_N_QUERY: &str = "SELECT k, id FROM (SELECT id % 7 AS k, id, ROW_NUMBER() OVER \
     (PARTITION BY id % 7 ORDER BY id DESC) AS rn FROM numbers) WHERE rn <= 3";

/// A Top-N's changes (`+I` and `-D`) applied to a set of rows; a `-D` of a row the set does
/// not hold is a row kept in the checkpoint, which goes into `resumed`.
fn apply_inserts_and_deletes(
    changes: &[Row],
    resumed: &mut Vec<Vec<Option<String>>>,
) -> Vec<Vec<Option<String>>> {
    let mut rows: Vec<Vec<Option<String>>> = Vec::new();
    for (kind, values) in changes {
        match kind {
            RowKind::Insert => rows.push(values.clone()),
            RowKind::Delete => match rows.iter().position(|row| row == values) {
                Some(position) => {
                    rows.swap_remove(position);
                }
                None => resumed.push(values.clone()),
            },
            other => panic!("a Top-N without the row number emitted {other:?}"),
        }
    }
    rows.sort();
    rows
}

#[test]
fn a_top_n_restored_at_another_parallelism_resumes_its_kept_rows() {
    let query = plan(&[GROUP_TABLE], TOP_N_QUERY);
    let mut expected: Vec<Vec<Option<String>>> = (5979..6000i64)
        .map(|id| vec![Some((id % 7).to_string()), Some(id.to_string())])
        .collect();
    expected.sort();
    assert_eq!(
        apply_inserts_and_deletes(&uninterrupted(&query, 2), &mut Vec::new()),
        expected
    );

    let checkpoints = tempfile::tempdir().unwrap();
    let (checkpoint, _, first) = run_then_cancel(&query, 2, checkpoints.path());
    let (restored, results) = job(&query, 3, checkpoints.path(), Some(&checkpoint));
    restored.execute("sql, restored").unwrap();
    let mut resumed = Vec::new();
    assert_eq!(
        apply_inserts_and_deletes(&results.take(), &mut resumed),
        expected,
        "the restored run ends where an uninterrupted one does"
    );
    // Each partition's three kept rows came back from the checkpoint, and were pushed out
    // by larger ids: rows the first run had emitted.
    assert_eq!(resumed.len(), 21, "{resumed:?}");
    for row in &resumed {
        assert!(
            first
                .iter()
                .any(|(kind, values)| *kind == RowKind::Insert && values == row),
            "{row:?} was resumed, but the first run never emitted it"
        );
    }
}

const OVER_QUERY_ROWS: &str = "SELECT id, id % 5 AS k, COUNT(*) OVER w AS c, SUM(id) OVER w \
     AS s, MIN(id) OVER w AS m FROM events WINDOW w AS (PARTITION BY id % 5 ORDER BY ts ROWS \
     BETWEEN 3 PRECEDING AND CURRENT ROW)";

const OVER_QUERY_RANGE: &str = "SELECT id, COUNT(*) OVER w AS c, SUM(id) OVER w AS s, AVG(id) \
     OVER w AS a FROM events WINDOW w AS (PARTITION BY id % 5 ORDER BY ts RANGE BETWEEN \
     UNBOUNDED PRECEDING AND CURRENT ROW)";

/// An OVER aggregate restored at `parallelism` from a run at 2: its output is append-only,
/// so the restored run emits exactly the rows the first run had not emitted before the
/// checkpoint, each with the aggregates of an uninterrupted run.
fn over_restores_at(query: &str, parallelism: usize) {
    let query = plan(&[WINDOW_TABLE], query);
    let expected: std::collections::BTreeSet<Vec<Option<String>>> = uninterrupted(&query, 2)
        .into_iter()
        .map(|(kind, values)| {
            assert_eq!(kind, RowKind::Insert);
            values
        })
        .collect();
    assert_eq!(expected.len(), 6000);

    let checkpoints = tempfile::tempdir().unwrap();
    let (checkpoint, before, first) = run_then_cancel(&query, 2, checkpoints.path());
    let (restored, results) = job(&query, parallelism, checkpoints.path(), Some(&checkpoint));
    restored.execute("sql, restored").unwrap();
    let resumed = results.take();
    assert!(!resumed.is_empty(), "the restored run emits the rest");
    let mut seen = std::collections::BTreeSet::new();
    for (kind, values) in &resumed {
        assert_eq!(*kind, RowKind::Insert);
        assert!(
            expected.contains(values),
            "{values:?} is not an uninterrupted run's row"
        );
        assert!(seen.insert(values.clone()), "{values:?} emitted twice");
        assert!(
            !before.iter().any(|(_, row)| row == values),
            "{values:?} was emitted before the checkpoint and again after the restore"
        );
    }
    for row in &expected {
        assert!(
            seen.contains(row) || first.iter().any(|(_, values)| values == row),
            "{row:?} was emitted by neither run"
        );
    }
}

#[test]
fn an_over_rows_aggregate_restored_at_another_parallelism_continues_each_frame() {
    over_restores_at(OVER_QUERY_ROWS, 3);
}

#[test]
fn an_over_range_aggregate_restored_at_the_same_parallelism_continues_each_partition() {
    over_restores_at(OVER_QUERY_RANGE, 2);
}

#[test]
fn an_over_range_aggregate_restored_at_another_parallelism_continues_each_partition() {
    // Not at 1: one source subtask would read both sequence splits under one watermark, and
    // the rows of the split behind it would be late, and dropped, as Flink drops them.
    over_restores_at(OVER_QUERY_RANGE, 3);
}
