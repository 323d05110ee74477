//! The filesystem source's `json` format: one object per line into the table's columns
//! (ROWs and timestamps included), unknown fields ignored and missing ones null, a malformed
//! line named by file and line, or skipped under `json.ignore-parse-errors`.

use flinkrs_sql::SqlSession;

#[path = "support/sorted_rows.rs"]
mod sorted_rows;

use sorted_rows::sorted_lines;

fn table(lines: &str, ignore_errors: bool) -> (SqlSession, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("events.json"), lines).unwrap();
    let mut session = SqlSession::new();
    session
        .execute("SET 'execution.runtime-mode' = 'batch'")
        .unwrap();
    session
        .execute(&format!(
            "CREATE TABLE events (id INT, name STRING, r ROW<a BIGINT, t TIMESTAMP(3)>) WITH \
             ('connector' = 'filesystem', 'path' = '{}', 'format' = 'json'{})",
            dir.path().display(),
            if ignore_errors {
                ", 'json.ignore-parse-errors' = 'true'"
            } else {
                ""
            }
        ))
        .unwrap();
    (session, dir)
}

fn rows(session: &mut SqlSession, query: &str) -> Vec<String> {
    sorted_lines(&session.query(query).unwrap().rows)
}

const LINES: &str = "{\"id\": 1, \"name\": \"a\", \"r\": {\"a\": 10, \"t\": \"2024-01-01 10:00:00.250\"}}\n\
    {\"id\": 2, \"r\": null, \"unknown\": [1, 2]}\n\
    \n\
    {\"id\": 3, \"name\": \"c\", \"r\": {\"a\": 30}}\n";

#[test]
fn objects_fill_the_columns_rows_included() {
    let (mut session, _dir) = table(LINES, false);
    assert_eq!(
        rows(&mut session, "SELECT id, name, r.a, r.t FROM events"),
        [
            "1|a|10|2024-01-01 10:00:00.250",
            "2|<NULL>|<NULL>|<NULL>",
            "3|c|30|<NULL>"
        ]
    );
}

#[test]
fn a_malformed_line_is_named_or_skipped() {
    let bad = format!("{LINES}{{\"id\": \"four\"}}\nnot json\n");
    let (mut session, dir) = table(&bad, false);
    let message = session
        .query("SELECT id FROM events")
        .unwrap_err()
        .to_string();
    let file = dir.path().join("events.json");
    assert!(
        message.contains(&format!("file '{}' line 5", file.display()))
            && message.contains("set 'json.ignore-parse-errors' = 'true' to skip such lines"),
        "{message}"
    );
    let (mut session, _dir) = table(&bad, true);
    assert_eq!(rows(&mut session, "SELECT id FROM events"), ["1", "2", "3"]);
}
