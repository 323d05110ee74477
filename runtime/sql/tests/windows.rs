//! Window aggregates over rows that come out of order: a late row that bridges two sessions
//! merges them, as Flink's merging windows do.

use flinkrs_sql::{SqlSession, StatementResult};

#[test]
fn a_row_between_two_sessions_merges_them_into_one() {
    let mut session = SqlSession::new();
    session
        .execute(
            "CREATE VIEW clicks AS SELECT * FROM (VALUES ('a', TIMESTAMP '2024-01-01 10:00:00', 1), \
             ('a', TIMESTAMP '2024-01-01 10:00:10', 2), ('b', TIMESTAMP '2024-01-01 10:00:04', 4), \
             ('a', TIMESTAMP '2024-01-01 10:00:05', 8)) AS T(u, ts, n)",
        )
        .unwrap();
    let result = session
        .query(
            "SELECT u, window_start, window_end, COUNT(*) AS c, SUM(n) AS total FROM \
             TABLE(SESSION(TABLE clicks PARTITION BY u, DESCRIPTOR(ts), INTERVAL '6' SECOND)) \
             GROUP BY u, window_start, window_end",
        )
        .unwrap();
    let mut rows: Vec<String> = result
        .rows
        .iter()
        .map(|row| {
            let values: Vec<&str> = row
                .values
                .iter()
                .map(|v| v.as_deref().unwrap_or("<NULL>"))
                .collect();
            format!("{}{}", row.kind.short_string(), values.join("|"))
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            "+Ia|2024-01-01 10:00:00.000|2024-01-01 10:00:16.000|3|11",
            "+Ib|2024-01-01 10:00:04.000|2024-01-01 10:00:10.000|1|4",
        ]
    );
}

#[test]
fn a_session_window_in_batch_mode_and_a_session_tvf_without_aggregate_are_not_supported_yet() {
    let mut session = SqlSession::new();
    session
        .execute(
            "CREATE VIEW clicks AS SELECT * FROM (VALUES ('a', TIMESTAMP '2024-01-01 10:00:00')) \
             AS T(u, ts)",
        )
        .unwrap();
    let StatementResult::Query(_) = session
        .execute("SELECT * FROM TABLE(SESSION(TABLE clicks, DESCRIPTOR(ts), INTERVAL '6' SECOND))")
        .unwrap()
    else {
        panic!("not a query");
    };
    let error = session
        .query("SELECT * FROM TABLE(SESSION(TABLE clicks, DESCRIPTOR(ts), INTERVAL '6' SECOND))")
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the SESSION window TVF without a window aggregate over it is not supported yet"
    );
    session
        .execute("SET 'execution.runtime-mode' = 'batch'")
        .unwrap();
    let error = session
        .query(
            "SELECT window_start, COUNT(*) FROM TABLE(SESSION(TABLE clicks, DESCRIPTOR(ts), \
             INTERVAL '6' SECOND)) GROUP BY window_start, window_end",
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "a SESSION window in batch mode is not supported yet"
    );
}
