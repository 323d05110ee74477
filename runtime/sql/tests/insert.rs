//! `INSERT INTO` submits a job that writes to the sink table's connector.

use flinkrs_sql::{SqlSession, StatementResult};

#[path = "support/print_buffer.rs"]
mod print_buffer;

use print_buffer::Buffer;

#[test]
fn insert_into_print_writes_the_changelog_as_flinks_print_connector() {
    let buffer = Buffer::default();
    let mut session = SqlSession::with_print_target(buffer.target());
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
    let printed = buffer.take();
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

#[test]
fn a_statement_set_runs_its_inserts_as_one_job_when_it_ends() {
    let buffer = Buffer::default();
    let mut session = SqlSession::with_print_target(buffer.target());
    for ddl in [
        "CREATE TABLE evens (n INT) WITH ('connector' = 'print', 'print-identifier' = 'even')",
        "CREATE TABLE odds (n INT) WITH ('connector' = 'print', 'print-identifier' = 'odd')",
        "CREATE VIEW numbers AS SELECT * FROM (VALUES (1), (2), (3), (4)) AS T(n)",
    ] {
        session.execute(ddl).unwrap();
    }
    assert!(matches!(
        session.execute("BEGIN STATEMENT SET").unwrap(),
        StatementResult::StatementSetBegun
    ));
    for insert in [
        "INSERT INTO evens SELECT n FROM numbers WHERE n % 2 = 0",
        "INSERT INTO odds SELECT n FROM numbers WHERE n % 2 = 1",
    ] {
        assert!(matches!(
            session.execute(insert).unwrap(),
            StatementResult::AddedToStatementSet
        ));
    }
    // Nothing runs before END, and only inserts join the set.
    assert_eq!(buffer.take(), "");
    assert_eq!(
        session.execute("SHOW TABLES").unwrap_err().to_string(),
        "only INSERT INTO statements can be in a statement set: END it first, or add an INSERT \
         INTO"
    );
    let submitted = session.execute("END").unwrap();
    assert!(
        matches!(submitted, StatementResult::Submitted { ref job_id } if job_id.len() == 32),
        "{submitted:?}"
    );
    session.wait_for_jobs().unwrap();
    let printed = buffer.take();
    let mut lines: Vec<&str> = printed.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        lines,
        ["even> +I[2]", "even> +I[4]", "odd> +I[1]", "odd> +I[3]"]
    );
    // The set is closed: END again has nothing to end.
    assert_eq!(
        session.execute("END").unwrap_err().to_string(),
        "No statement set to submit: END ends a statement set that BEGIN STATEMENT SET (or \
         EXECUTE STATEMENT SET BEGIN) started"
    );
}

#[test]
fn explain_shows_the_plan_and_the_job_it_runs_as() {
    let mut session = SqlSession::new();
    session
        .execute("CREATE TABLE counts (name STRING, cnt BIGINT) WITH ('connector' = 'blackhole')")
        .unwrap();
    let explained = session
        .execute(
            "EXPLAIN PLAN FOR INSERT INTO counts SELECT name, COUNT(*) FROM (VALUES ('Bob'), \
             ('Alice')) AS T(name) GROUP BY name",
        )
        .unwrap();
    let StatementResult::Explained(plan) = explained else {
        panic!("not explained: {explained:?}");
    };
    let (tree, execution) = plan
        .split_once("\n\n== Optimized Execution Plan ==\n")
        .unwrap_or_else(|| panic!("no execution plan section: {plan}"));
    assert!(tree.starts_with("== Abstract Syntax Tree ==\n"), "{plan}");
    assert!(tree.contains("Aggregate: groupBy=[[T.name]]"), "{plan}");
    // Two tasks: the rows, then the aggregate by name into the sink, joined by a hash edge.
    let lines: Vec<&str> = execution.lines().collect();
    assert_eq!(lines.len(), 3, "{plan}");
    assert!(
        lines[0].starts_with("[1] ") && lines[0].ends_with(", parallelism 1"),
        "{plan}"
    );
    assert!(
        lines[1].starts_with("[2] ") && lines[1].contains("Sink"),
        "{plan}"
    );
    assert_eq!(lines[2], "[1] -[HASH]-> [2]", "{plan}");
    assert_eq!(
        session
            .execute("EXPLAIN CHANGELOG_MODE SELECT 1")
            .unwrap_err()
            .to_string(),
        "EXPLAIN CHANGELOG_MODE is not supported yet"
    );
    assert_eq!(
        session
            .execute("EXPLAIN SHOW TABLES")
            .unwrap_err()
            .to_string(),
        "SQL parse failed. EXPLAIN explains a query or an INSERT INTO at line 1, column 9\n\
         EXPLAIN SHOW TABLES\n        ^"
    );
}
