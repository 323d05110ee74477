//! `PROCTIME()` as a computed column: typed `TIMESTAMP_LTZ(3) NOT NULL`, described as Flink
//! describes a processing-time attribute, valued with the wall-clock time the row was read;
//! a window TVF over it fires on processing time in streaming mode, and is rejected with
//! Flink's own message in batch mode.

use std::time::{SystemTime, UNIX_EPOCH};

use flinkrs_sql::{SqlSession, StatementResult};

fn session(mode: &str) -> SqlSession {
    let mut session = SqlSession::new();
    session
        .execute(&format!("SET 'execution.runtime-mode' = '{mode}'"))
        .unwrap();
    session
        .execute(
            "CREATE TABLE events (id INT, pt AS PROCTIME()) WITH ('connector' = 'datagen', \
             'number-of-rows' = '20', 'fields.id.kind' = 'sequence', 'fields.id.start' = '1', \
             'fields.id.end' = '20')",
        )
        .unwrap();
    session
}

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// `2024-01-01 10:00:00.123` (UTC) as epoch milliseconds.
fn parse_millis(text: &str) -> i64 {
    let (date, time) = text.split_once(' ').unwrap();
    let mut date = date.split('-').map(|part| part.parse::<i64>().unwrap());
    let (year, month, day) = (
        date.next().unwrap(),
        date.next().unwrap(),
        date.next().unwrap(),
    );
    let (clock, fraction) = time.split_once('.').unwrap_or((time, "0"));
    let mut clock = clock.split(':').map(|part| part.parse::<i64>().unwrap());
    let (hour, minute, second) = (
        clock.next().unwrap(),
        clock.next().unwrap(),
        clock.next().unwrap(),
    );
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let millis: i64 = format!("{fraction:0<3}")[..3].parse().unwrap();
    ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis
}

#[test]
fn describe_shows_a_processing_time_attribute_as_flink_does() {
    let mut session = session("streaming");
    let StatementResult::Table { rows, .. } = session.execute("DESCRIBE events").unwrap() else {
        panic!("DESCRIBE gives a table");
    };
    let described: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            row.values
                .iter()
                .map(|value| value.clone().unwrap_or_default())
                .collect()
        })
        .collect();
    assert_eq!(
        described,
        [
            vec!["id", "INT", "TRUE", "", "", ""],
            vec![
                "pt",
                "TIMESTAMP_LTZ(3) *PROCTIME*",
                "FALSE",
                "",
                "AS PROCTIME()",
                ""
            ],
        ]
    );
}

#[test]
fn a_selected_proctime_is_the_time_each_row_was_read() {
    for mode in ["streaming", "batch"] {
        let mut session = session(mode);
        let before = now_millis();
        let result = session.query("SELECT id, pt FROM events").unwrap();
        let after = now_millis();
        assert_eq!(result.columns[1].name, "pt");
        assert_eq!(
            flinkrs_sql::types::flink_type_name(&result.columns[1].data_type),
            "TIMESTAMP_LTZ(3)"
        );
        assert_eq!(result.rows.len(), 20, "{mode}");
        for row in &result.rows {
            let time = parse_millis(row.values[1].as_deref().unwrap());
            assert!(
                (before..=after).contains(&time),
                "{mode}: {time} is not between {before} and {after}"
            );
        }
    }
}

/// Rows of (window_start, window_end, count) as epoch milliseconds and a count.
fn windows(result: &flinkrs_sql::QueryResult) -> Vec<(i64, i64, i64)> {
    result
        .rows
        .iter()
        .map(|row| {
            (
                parse_millis(row.values[0].as_deref().unwrap()),
                parse_millis(row.values[1].as_deref().unwrap()),
                row.values[2].as_deref().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_processing_time_window_fires_as_the_processing_time_passes_its_end() {
    let mut session = SqlSession::new();
    session
        .execute(
            "CREATE TABLE ticks (id INT, pt AS PROCTIME()) WITH ('connector' = 'datagen', \
             'number-of-rows' = '15', 'rows-per-second' = '5')",
        )
        .unwrap();
    let before = now_millis();
    let result = session
        .query(
            "SELECT window_start, window_end, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE ticks, \
             DESCRIPTOR(pt), INTERVAL '1' SECOND)) GROUP BY window_start, window_end",
        )
        .unwrap();
    let after = now_millis();
    let windows = windows(&result);
    // The rows of about three seconds: the windows that ended while the job ran fired, and
    // the one still open at the end of input did not, as in Flink.
    let total: i64 = windows.iter().map(|(_, _, count)| count).sum();
    assert!((5..=15).contains(&total), "{windows:?}");
    for (start, end, _) in &windows {
        assert_eq!(end - start, 1000);
        assert_eq!(start % 1000, 0);
        assert!(*start >= before - 1000 && *end <= after, "{windows:?}");
    }
}

#[test]
fn a_processing_time_window_still_open_at_the_end_of_input_is_not_emitted() {
    // As Flink: a bounded input ends long before the hour does.
    let mut session = session("streaming");
    let result = session
        .query(
            "SELECT window_start, window_end, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE events, \
             DESCRIPTOR(pt), INTERVAL '1' HOUR)) GROUP BY window_start, window_end",
        )
        .unwrap();
    assert_eq!(windows(&result), []);
}

#[test]
fn a_window_tvf_over_a_processing_time_attribute_is_rejected_in_batch_mode_as_in_flink() {
    let mut session = session("batch");
    let error = session
        .query(
            "SELECT window_start, window_end, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE events, \
             DESCRIPTOR(pt), INTERVAL '1' HOUR)) GROUP BY window_start, window_end",
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Processing time Window TableFunction is not supported yet."
    );
    // The same through a view that selects PROCTIME(), as Nexmark's q12 does.
    session
        .execute("CREATE VIEW stamped AS SELECT id, PROCTIME() AS p_time FROM events")
        .unwrap();
    let error = session
        .query(
            "SELECT window_start, COUNT(*) AS c FROM TABLE(TUMBLE(TABLE stamped, \
             DESCRIPTOR(p_time), INTERVAL '10' SECOND)) GROUP BY window_start, window_end",
        )
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "Processing time Window TableFunction is not supported yet."
    );
}
