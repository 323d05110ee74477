//! `ORDER BY`, `LIMIT` and `OFFSET` in batch mode: rows in the exact order, nulls the lowest
//! values as in Flink; in streaming mode a clear error.

use flinkrs_sql::SqlSession;

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
fn a_sort_in_streaming_mode_says_how_to_run_it() {
    let mut session = session("streaming");
    let message = session
        .query("SELECT name FROM scores ORDER BY score")
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        "Sort on a non-time-attribute field is not supported. (flinkrs sorts in batch mode \
         only: SET 'execution.runtime-mode' = 'batch')"
    );
    let message = session
        .query("SELECT name FROM scores LIMIT 2")
        .unwrap_err()
        .to_string();
    assert_eq!(message, "LIMIT in streaming mode is not supported yet");
}
