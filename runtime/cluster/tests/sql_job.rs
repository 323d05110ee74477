//! A SQL script as a job: `flinkrs run --sql-file` in this process, `flinkrs run -m` to a
//! session cluster, and a JobManager started with its script (application mode, as the
//! operator's `job.sql` runs it). Each writes through the filesystem table sink, exactly once,
//! and its committed rows are exactly those the query defines. A script the sink cannot take
//! is refused before the job starts, with the reason.

#[path = "support/process.rs"]
#[expect(
    dead_code,
    reason = "each test uses its own part of the shared process helper"
)]
mod process;
#[path = "support/cluster.rs"]
#[expect(
    dead_code,
    reason = "the in-process cluster of the shared helpers is not used here"
)]
mod support;

use std::path::Path;
use std::process::{Command, Output};

use process::{FLINKRS, Process, job_manager, task_manager_with};
use support::committed_lines;

/// Numbers 1 to 600 from datagen, at parallelism 2 with a checkpoint every 100 ms; the
/// multiples of 3 with their squares and parity go to a csv table in `output`.
fn script(output: &Path) -> String {
    throttled_script(output, None)
}

/// [`script`], its source throttled to `rows_per_second` if given.
fn throttled_script(output: &Path, rows_per_second: Option<u32>) -> String {
    let rate = rows_per_second
        .map(|rate| format!(",\n  'rows-per-second' = '{rate}'"))
        .unwrap_or_default();
    format!(
        "-- multiples of three\n\
         SET 'parallelism.default' = '2';\n\
         SET 'execution.checkpointing.interval' = '100 ms';\n\
         SET 'execution.checkpointing.dir' = '{checkpoints}';\n\
         CREATE TABLE numbers (n INT) WITH (\n  'connector' = 'datagen',\n  \
           'fields.n.kind' = 'sequence',\n  'fields.n.start' = '1',\n  'fields.n.end' = '600'{rate}\n);\n\
         CREATE TABLE squares (n INT, square INT, parity STRING) WITH (\n  \
           'connector' = 'filesystem',\n  'path' = '{}',\n  'format' = 'csv'\n);\n\
         INSERT INTO squares\n\
         SELECT n, n * n, CASE WHEN n % 2 = 0 THEN 'even' ELSE 'odd' END\n\
         FROM numbers WHERE n % 3 = 0;\n",
        output.display(),
        checkpoints = output.with_extension("checkpoints").display()
    )
}

/// [`script`]'s rows into both `first` and `second`, by a statement set of two inserts.
fn statement_set_script(first: &Path, second: &Path) -> String {
    format!(
        "SET 'parallelism.default' = '2';\n\
         SET 'execution.checkpointing.interval' = '100 ms';\n\
         SET 'execution.checkpointing.dir' = '{checkpoints}';\n\
         CREATE TABLE numbers (n INT) WITH (\n  'connector' = 'datagen',\n  \
           'fields.n.kind' = 'sequence',\n  'fields.n.start' = '1',\n  'fields.n.end' = '600'\n);\n\
         CREATE VIEW multiples AS\n\
         SELECT n, n * n AS square, CASE WHEN n % 2 = 0 THEN 'even' ELSE 'odd' END AS parity\n\
         FROM numbers WHERE n % 3 = 0;\n\
         CREATE TABLE copy_a (n INT, square INT, parity STRING) WITH (\n  \
           'connector' = 'filesystem',\n  'path' = '{}',\n  'format' = 'csv'\n);\n\
         CREATE TABLE copy_b (n INT, square INT, parity STRING) WITH (\n  \
           'connector' = 'filesystem',\n  'path' = '{}',\n  'format' = 'csv'\n);\n\
         EXECUTE STATEMENT SET\nBEGIN\n\
         INSERT INTO copy_a SELECT * FROM multiples;\n\
         INSERT INTO copy_b SELECT * FROM multiples;\n\
         END;\n",
        first.display(),
        second.display(),
        checkpoints = first.with_extension("checkpoints").display()
    )
}

/// The rows the script's query defines, as csv lines, sorted as [`committed_lines`] sorts.
fn expected_lines() -> Vec<String> {
    let mut lines: Vec<String> = (1..=600)
        .filter(|n| n % 3 == 0)
        .map(|n: i64| {
            let parity = if n % 2 == 0 { "even" } else { "odd" };
            format!("{n},{},{parity}", n * n)
        })
        .collect();
    lines.sort();
    lines
}

/// Runs `flinkrs args…` to its end.
fn flinkrs(args: &[&str]) -> Output {
    Command::new(FLINKRS).args(args).output().unwrap()
}

fn write_script(dir: &Path, output: &str) -> String {
    let path = dir.join(format!("{output}.sql"));
    std::fs::write(&path, script(&dir.join(output))).unwrap();
    path.display().to_string()
}

#[test]
fn flinkrs_run_sql_file_commits_the_querys_rows_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let script = write_script(dir.path(), "local");
    let run = flinkrs(&["run", "--sql-file", &script]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("Job 'insert-into_default_catalog.default_database.squares' ("),
        "{stderr}"
    );
    assert!(
        stderr.contains(": 600 records in, 200 records out"),
        "{stderr}"
    );
    assert_eq!(committed_lines(&dir.path().join("local")), expected_lines());
}

#[test]
fn a_sql_job_killed_and_resumed_from_its_checkpoint_commits_each_row_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("resumed.sql");
    std::fs::write(
        &path,
        throttled_script(&dir.path().join("resumed"), Some(300)),
    )
    .unwrap();
    let script = path.display().to_string();
    let mut first = Process::start(&["run", "--sql-file", &script]);
    let checkpoint = first.wait_for("Checkpoint 3 completed: ");
    first.kill();
    let resumed = flinkrs(&["run", "--sql-file", &script, "-s", &checkpoint]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{stderr}");
    assert_eq!(
        committed_lines(&dir.path().join("resumed")),
        expected_lines()
    );
}

#[test]
fn a_sql_script_runs_on_a_session_cluster_and_as_an_application() {
    let dir = tempfile::tempdir().unwrap();
    let slots = ["-D", "taskmanager.numberOfTaskSlots=2"];

    // Submitted with `flinkrs run -m` to a JobManager that runs no job of its own.
    let (session, address, rest) = job_manager(&[], "warn");
    let member = task_manager_with(&address, &slots, "warn");
    let script = write_script(dir.path(), "session");
    let run = flinkrs(&["run", "-m", &rest, "--sql-file", &script]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("Job 'insert-into_default_catalog.default_database.squares' ("),
        "{stderr}"
    );
    assert_eq!(
        committed_lines(&dir.path().join("session")),
        expected_lines()
    );

    // The SQL client with -m submits each INSERT INTO with the statements before it.
    let script = write_script(dir.path(), "client");
    let client = flinkrs(&["sql", "-m", &rest, "-f", &script]);
    let stdout = String::from_utf8_lossy(&client.stdout);
    assert!(client.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "[INFO] Submitting SQL update statement to the cluster...\n[INFO] SQL update \
             statement has been successfully submitted to the cluster:\nJob ID: "
        ),
        "{stdout}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let output = dir.path().join("client");
    while !output.exists() || committed_lines(&output) != expected_lines() {
        assert!(
            std::time::Instant::now() < deadline,
            "the client's job did not commit its rows within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // A statement set is one job of both its inserts.
    let both = statement_set_script(&dir.path().join("set-a"), &dir.path().join("set-b"));
    std::fs::write(&script, both).unwrap();
    let set = flinkrs(&["sql", "-m", &rest, "-f", &script]);
    let stdout = String::from_utf8_lossy(&set.stdout);
    assert!(set.status.success(), "{stdout}");
    assert_eq!(
        stdout
            .matches("[INFO] Add SQL update statement to the statement set.")
            .count(),
        2,
        "{stdout}"
    );
    for output in ["set-a", "set-b"] {
        let output = dir.path().join(output);
        while !output.exists() || committed_lines(&output) != expected_lines() {
            assert!(
                std::time::Instant::now() < deadline + std::time::Duration::from_secs(60),
                "the statement set's job did not commit its rows into {} in time",
                output.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
    assert!(member.terminate().success());
    assert!(session.terminate().success());

    // A JobManager started with the script runs it, and stops when it has ended.
    let script = write_script(dir.path(), "application");
    let (mut application, address, _) = job_manager(&["--sql-file", &script], "warn");
    let member = task_manager_with(&address, &slots, "warn");
    let status = application.wait();
    assert!(status.success(), "{status:?}");
    assert_eq!(
        committed_lines(&dir.path().join("application")),
        expected_lines()
    );
    assert!(member.terminate().success());
}

#[test]
fn a_script_the_sink_cannot_take_is_refused_before_the_job_starts() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("counts.sql");
    std::fs::write(
        &script,
        format!(
            "CREATE TABLE words (w STRING) WITH ('connector' = 'datagen', \
             'number-of-rows' = '10', 'fields.w.length' = '1');\n\
             CREATE TABLE counts (w STRING, c BIGINT) WITH ('connector' = 'filesystem', \
             'path' = '{}', 'format' = 'csv');\n\
             INSERT INTO counts SELECT w, COUNT(*) FROM words GROUP BY w;\n",
            dir.path().join("counts").display()
        ),
    )
    .unwrap();
    let run = flinkrs(&["run", "--sql-file", &script.display().to_string()]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&run.stderr).trim(),
        format!(
            "error: {}, line 3: Table sink 'default_catalog.default_database.counts' doesn't \
             support consuming update changes: the filesystem connector writes inserts only; \
             aggregate over a window (TUMBLE) or in batch mode",
            script.display()
        )
    );
    assert!(!dir.path().join("counts").exists());

    let missing = flinkrs(&["run", "--sql-file", "/nonexistent/job.sql"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr).trim(),
        "error: cannot read the SQL script '/nonexistent/job.sql': No such file or directory \
         (os error 2)"
    );
}

#[test]
fn the_sql_flinkjob_examples_script_plans() {
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/flinkjobs/sql-salaries.yaml"),
    )
    .unwrap();
    let job: serde_yaml::Value = serde_yaml::from_str(&manifest).unwrap();
    let script = job["spec"]["job"]["sql"].as_str().unwrap();
    let planned = flinkrs_sql::job::SqlJob::from_script(script, "sql-salaries.yaml").unwrap();
    assert_eq!(
        planned.name(),
        "insert-into_default_catalog.default_database.salaries"
    );
}
