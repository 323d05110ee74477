//! `ORDER BY`, `LIMIT` and `OFFSET` in batch mode: rows in the exact order, nulls the lowest
//! values as in Flink; in streaming mode a global Top-N's exact changes, as Flink emits them,
//! and a clear error for a sort without a limit.

#[path = "support/sorted_rows.rs"]
mod sorted_rows;

use flinkrs_sql::{SqlSession, StatementResult};
use sorted_rows::sorted_lines;

fn session(mode: &str) -> SqlSession {
    let mut session = SqlSession::new();
    session
        .execute(&format!("SET 'execution.runtime-mode' = '{mode}'"))
        .unwrap();
    session
        .execute(
            "CREATE VIEW scores AS SELECT * FROM (VALUES ('a', 3), ('b', CAST(NULL AS INT)), \
             ('c', 7), ('d', 3), ('e', 1)) AS T(name, score)",
        )
        .unwrap();
    session
}

fn ordered(session: &mut SqlSession, query: &str) -> Vec<String> {
    let result = session.query(query).unwrap();
    result
        .rows
        .iter()
        .map(|row| {
            row.values
                .iter()
                .map(|v| v.as_deref().unwrap_or("<NULL>"))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[test]
fn rows_come_in_order_with_nulls_lowest() {
    let mut session = session("batch");
    assert_eq!(
        ordered(
            &mut session,
            "SELECT name, score FROM scores ORDER BY score, name DESC"
        ),
        ["b|<NULL>", "e|1", "d|3", "a|3", "c|7"]
    );
    assert_eq!(
        ordered(
            &mut session,
            "SELECT name FROM scores ORDER BY score DESC LIMIT 2 OFFSET 1"
        ),
        ["a", "d"]
    );
    assert_eq!(
        ordered(
            &mut session,
            "SELECT COUNT(*) FROM (SELECT * FROM scores LIMIT 3)"
        ),
        ["3"]
    );
}

#[test]
fn a_sort_without_a_limit_in_streaming_mode_says_how_to_run_it() {
    let mut session = session("streaming");
    let message = session
        .query("SELECT name FROM scores ORDER BY score")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "Sort on a non-time-attribute field is not supported. (flinkrs sorts without a LIMIT \
         in batch mode only: SET 'execution.runtime-mode' = 'batch')"
    );
}

/// The changes of a streaming query, as `+I|a|3`, in the order they came. The changes the
/// tests below expect are those Flink 2.3 emits for the same rows arriving in this order
/// (checked with PyFlink).
fn changes(session: &mut SqlSession, query: &str) -> Vec<String> {
    let result = session.query(query).unwrap();
    result
        .rows
        .iter()
        .map(|row| {
            let values: Vec<&str> = row
                .values
                .iter()
                .map(|v| v.as_deref().unwrap_or("<NULL>"))
                .collect();
            format!("{}|{}", row.kind.short_string(), values.join("|"))
        })
        .collect()
}

#[test]
fn order_by_limit_in_streaming_mode_is_a_top_n_that_deletes_the_row_it_pushes_out() {
    let mut session = session("streaming");
    assert_eq!(
        changes(
            &mut session,
            "SELECT name, score FROM scores ORDER BY score DESC LIMIT 2"
        ),
        ["+I|a|3", "+I|b|<NULL>", "-D|b|<NULL>", "+I|c|7"]
    );
}

#[test]
fn an_offset_in_streaming_mode_updates_the_ranks_a_row_shifts() {
    let mut session = session("streaming");
    // Ranks 2 and 3: `d` ties with `a` and ranks after it.
    assert_eq!(
        changes(
            &mut session,
            "SELECT name, score FROM scores ORDER BY score DESC LIMIT 2 OFFSET 1"
        ),
        [
            "+I|b|<NULL>",
            "-U|b|<NULL>",
            "+U|a|3",
            "+I|b|<NULL>",
            "-U|b|<NULL>",
            "+U|d|3"
        ]
    );
}

#[test]
fn a_limit_without_order_by_in_streaming_mode_keeps_the_first_rows() {
    let mut session = session("streaming");
    assert_eq!(
        changes(&mut session, "SELECT name FROM scores LIMIT 2 OFFSET 1"),
        ["+I|b", "+I|c"]
    );
    let message = session
        .query("SELECT name FROM scores OFFSET 1")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "FETCH is missed, which on streaming table is not supported currently."
    );
}

#[test]
fn order_by_limit_over_an_updating_input_retracts_a_row_that_falls_out() {
    let mut session = session("streaming");
    let result = session
        .query(
            "SELECT name, total FROM (SELECT name, SUM(score) AS total FROM (VALUES ('a', 3), \
             ('b', 5), ('a', 4), ('c', 1)) AS T(name, score) GROUP BY name) ORDER BY total \
             DESC LIMIT 1",
        )
        .unwrap();
    assert_eq!(
        sorted_lines(&flinkrs_sql::client::materialize(result.rows)),
        ["a|7"]
    );
}

#[test]
fn explain_shows_order_by_limit_in_streaming_mode_as_a_sort_limit() {
    let mut session = session("streaming");
    let explained = session
        .execute("EXPLAIN SELECT name FROM scores ORDER BY score DESC LIMIT 2 OFFSET 1")
        .unwrap();
    let StatementResult::Explained(plan) = explained else {
        panic!("not explained: {explained:?}");
    };
    assert!(
        plan.contains(
            "SortLimit(orderBy=[scores.score DESC], offset=[1], fetch=[2], \
             strategy=[AppendFastStrategy])"
        ),
        "{plan}"
    );
}
