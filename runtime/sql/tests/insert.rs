//! `INSERT INTO` submits a job that writes to the sink table's connector.

use std::sync::{Arc, Mutex};

use flinkrs_sql::{SqlSession, StatementResult};

/// A print target the test can read back.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn insert_into_print_writes_the_changelog_as_flinks_print_connector() {
    let buffer = Buffer::default();
    let mut session = SqlSession::with_print_target(Arc::new(Mutex::new(buffer.clone())));
    session
        .execute("CREATE TABLE counts (name STRING, cnt BIGINT) WITH ('connector' = 'print')")
        .unwrap();
    let submitted = session
        .execute(
            "INSERT INTO counts SELECT name, COUNT(*) FROM (VALUES ('Bob'), ('Alice'), ('Bob')) \
             AS T(name) GROUP BY name",
        )
        .unwrap();
    let StatementResult::Submitted { job_id } = submitted else {
        panic!("not submitted: {submitted:?}");
    };
    assert_eq!(job_id.len(), 32, "{job_id}");
    session.wait_for_jobs().unwrap();
    let printed = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        printed,
        "+I[Bob, 1]\n+I[Alice, 1]\n-U[Bob, 1]\n+U[Bob, 2]\n"
    );
}

#[test]
fn insert_into_blackhole_runs_and_a_wrong_column_count_is_named() {
    let mut session = SqlSession::new();
    session
        .execute("CREATE TABLE nothing (n INT) WITH ('connector' = 'blackhole')")
        .unwrap();
    assert!(matches!(
        session
            .execute("INSERT INTO nothing VALUES (1), (2)")
            .unwrap(),
        StatementResult::Submitted { .. }
    ));
    session.wait_for_jobs().unwrap();
    let error = session
        .execute("INSERT INTO nothing SELECT 1, 2")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "Column types of query result and sink for 'default_catalog.default_database.nothing' \
         do not match.\nCause: Different number of columns.\n\nQuery schema: [EXPR$0: INT, \
         EXPR$1: INT]\nSink schema:  [n: INT]"
    );
    let error = session
        .execute("INSERT INTO nothing SELECT 'x'")
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "Column types of query result and sink for 'default_catalog.default_database.nothing' \
         do not match.\nCause: Incompatible types for sink column 'n' at position 0: the query \
         gives STRING, the sink takes INT; CAST the column."
    );
}
