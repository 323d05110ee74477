//! Differential tests against Apache Flink 2.3: every query of `differential/queries.sql`
//! runs in batch and streaming mode, and its result must equal the one Flink gave, recorded
//! in `differential/golden/` by `differential/record.py` (`make sql-goldens`). Flink is not
//! needed to run these tests, only to re-record the goldens.
//!
//! Insert-only results must be the same multiset of rows. Updating results (a streaming
//! aggregate's changelog) must materialize to the same rows, with only row kinds Flink
//! emitted for that query (or `+I` where Flink emitted `+U`: see `compare`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use flinkrs_sql::{ResultRow, RowKind, SqlSession, split::split_statements};

fn folder() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/differential")
}

/// Queries whose result differs from Flink's in one mode, and why. The test checks that they
/// still differ, so a fix shows up as a failure asking to remove the entry.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "over_range_interval_global",
        "batch",
        "Flink 2.3 fails to compile a batch OVER RANGE window with an INTERVAL bound over a \
         TIMESTAMP (its generated RangeBoundComparator casts TimestampData to Long); flinkrs \
         answers it",
    ),
    (
        "over_range_ties_bounded",
        "batch",
        "Flink 2.3 fails to compile a batch OVER RANGE window with an INTERVAL bound over a \
         TIMESTAMP, as above; flinkrs answers it",
    ),
    (
        "over_following",
        "batch",
        "an OVER window with a FOLLOWING bound, which Flink runs in batch mode only, is not \
         supported yet",
    ),
];

/// Queries whose row kinds depend on the order rows arrive in, and so differ from run to run
/// in Flink as in flinkrs. Their results are compared as updating ones, with `-D` allowed
/// even where Flink's recording, whose rows happened to arrive in another order, has none:
/// - an outer join emits a null-padded row (and later retracts it with `-D`) only for a row
///   that arrives before its partners;
/// - an aggregate over an updating input deletes a group (`-D`) when a retraction takes its
///   last row, which happens only when the retraction arrives before another row of it.
const ARRIVAL_ORDER_DEPENDENT: &[&str] = &[
    "join_left",
    "aggregate_of_aggregate_sum_avg",
    "aggregate_of_aggregate_min_max",
    "aggregate_of_aggregate_by_key",
];

#[derive(Debug)]
struct Golden {
    columns: Vec<String>,
    rows: Vec<ResultRow>,
    error: Option<String>,
}

fn parse_golden(text: &str) -> Golden {
    let mut golden = Golden {
        columns: Vec::new(),
        rows: Vec::new(),
        error: None,
    };
    for line in text.lines() {
        if let Some(columns) = line.strip_prefix("# columns: ") {
            golden.columns = columns
                .split(" | ")
                .map(|column| column.split(' ').next().unwrap_or("").to_owned())
                .collect();
        } else if let Some(error) = line.strip_prefix("# error: ") {
            golden.error = Some(error.to_owned());
        } else if !line.starts_with('#') && !line.is_empty() {
            let mut parts = line.split('|');
            let kind = match parts.next() {
                Some("+I") => RowKind::Insert,
                Some("-U") => RowKind::UpdateBefore,
                Some("+U") => RowKind::UpdateAfter,
                Some("-D") => RowKind::Delete,
                other => panic!("bad row kind {other:?} in {line}"),
            };
            let values = parts
                .map(|value| (value != "<NULL>").then(|| value.to_owned()))
                .collect();
            golden.rows.push(ResultRow { kind, values });
        }
    }
    golden
}

fn queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(folder().join("queries.sql")).unwrap();
    let mut queries = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("-- name:") {
            queries.extend(current.take());
            current = Some((name.trim().to_owned(), String::new()));
        } else if let Some((_, query)) = &mut current
            && !line.starts_with("--")
        {
            query.push_str(line);
            query.push('\n');
        }
    }
    queries.extend(current);
    queries
        .into_iter()
        .map(|(name, query)| (name, query.trim().trim_end_matches(';').to_owned()))
        .collect()
}

fn session(mode: &str) -> SqlSession {
    let mut session = SqlSession::new();
    session
        .execute(&format!("SET 'execution.runtime-mode' = '{mode}'"))
        .unwrap();
    session.execute("SET 'parallelism.default' = '2'").unwrap();
    let data = folder().join("data");
    let setup = std::fs::read_to_string(folder().join("setup.sql"))
        .unwrap()
        .replace("${DATA}", &data.display().to_string());
    for statement in split_statements(&setup) {
        session.execute(&statement.text).unwrap();
    }
    session
}

fn sorted(rows: &[ResultRow]) -> Vec<Vec<Option<String>>> {
    let mut values: Vec<_> = rows.iter().map(|row| row.values.clone()).collect();
    values.sort();
    values
}

/// Compares one query's result with Flink's; `Err` describes the difference.
fn compare(session: &mut SqlSession, name: &str, query: &str, mode: &str) -> Result<(), String> {
    let golden_path = folder().join(format!("golden/{name}.{mode}.txt"));
    let golden = parse_golden(
        &std::fs::read_to_string(&golden_path)
            .map_err(|e| format!("{}: {e}", golden_path.display()))?,
    );
    let result = session.query(query);
    let result = match (result, &golden.error) {
        (Err(_), Some(_)) => return Ok(()),
        (Ok(result), Some(error)) => {
            return Err(format!(
                "Flink rejects it ({error}) but flinkrs answered {result:?}"
            ));
        }
        (Err(error), None) => return Err(format!("flinkrs failed: {error}")),
        (Ok(result), None) => result,
    };
    let columns: Vec<&str> = result.columns.iter().map(|c| c.name.as_str()).collect();
    if columns != golden.columns {
        return Err(format!(
            "columns {columns:?}, Flink's are {:?}",
            golden.columns
        ));
    }
    let order_dependent = ARRIVAL_ORDER_DEPENDENT.contains(&name);
    let insert_only = golden.rows.iter().all(|row| row.kind == RowKind::Insert) && !order_dependent;
    if insert_only {
        if let Some(row) = result.rows.iter().find(|row| row.kind != RowKind::Insert) {
            return Err(format!("an insert-only result has {row:?}"));
        }
        if sorted(&result.rows) != sorted(&golden.rows) {
            return Err(format!(
                "rows {:?}, Flink's are {:?}",
                sorted(&result.rows),
                sorted(&golden.rows)
            ));
        }
        return Ok(());
    }
    // flinkrs folds the rows of a batch before it emits an aggregate's changes, as Flink
    // does with `table.exec.mini-batch.enabled`: a group may then appear at once as `+I`
    // where Flink, row by row, first filtered out smaller values and then emitted `+U`.
    let flink_kinds: BTreeSet<&str> = golden.rows.iter().map(|r| r.kind.short_string()).collect();
    let flink_would_emit = |kind: RowKind| {
        flink_kinds.contains(kind.short_string())
            || (kind == RowKind::Insert && flink_kinds.contains("+U"))
            || (kind == RowKind::Delete && order_dependent)
    };
    if let Some(row) = result.rows.iter().find(|row| !flink_would_emit(row.kind)) {
        return Err(format!(
            "row kind of {row:?} is not one Flink emitted ({flink_kinds:?})"
        ));
    }
    let changes: Vec<String> = result
        .rows
        .iter()
        .map(|row| format!("{}{:?}", row.kind.short_string(), row.values))
        .collect();
    let ours = flinkrs_sql::client::materialize(result.rows);
    let theirs = flinkrs_sql::client::materialize(golden.rows);
    if sorted(&ours) != sorted(&theirs) {
        return Err(format!(
            "materialized rows {:?}, Flink's are {:?}; the changes were {}",
            sorted(&ours),
            sorted(&theirs),
            changes.join(" ")
        ));
    }
    Ok(())
}

fn run_mode(mode: &str) {
    let mut session = session(mode);
    let mut failures = Vec::new();
    let queries = queries();
    assert!(queries.len() >= 40, "only {} queries", queries.len());
    for (name, query) in &queries {
        let known = KNOWN_DIFFERENCES
            .iter()
            .find(|(known, in_mode, _)| known == name && *in_mode == mode)
            .map(|(_, _, why)| why);
        match (compare(&mut session, name, query, mode), known) {
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Err(difference), None) => failures.push(format!("{name} ({mode}): {difference}")),
            (Ok(()), Some(why)) => failures.push(format!(
                "{name} ({mode}) now equals Flink's result: remove it from KNOWN_DIFFERENCES \
                 ({why})"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn batch_results_equal_flinks() {
    run_mode("batch");
}

#[test]
fn streaming_results_equal_flinks() {
    run_mode("streaming");
}
