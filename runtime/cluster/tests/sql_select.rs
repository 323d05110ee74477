//! `flinkrs sql -m`: a `SELECT` runs as a job on a session cluster, and the client shows its
//! rows as it shows a query run in its own process. The rows come back through the
//! JobManager, which reads them from the TaskManager holding the job's collect sink; a client
//! that does not read holds the job back, and a cancelled or failed query ends its client
//! with the reason.

#[path = "support/process.rs"]
#[expect(
    dead_code,
    reason = "each test uses its own part of the shared process helper"
)]
mod process;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use flinkrs_cluster::client::RestClient;
use flinkrs_contract::rest::{
    ClusterOverview, JobDetails, JobResultsResponse, JobState, JobSubmitRequest, JobSubmitResponse,
    paths,
};
use process::{FLINKRS, Process, job_manager, task_manager_with};

use crate::sql_client::without_timings;

/// A guard against a hang, not a synchronization: each wait ends as soon as its state comes.
const PATIENCE: Duration = Duration::from_secs(60);

/// Runs `flinkrs args…` to its end.
fn flinkrs(args: &[&str]) -> Output {
    Command::new(FLINKRS).args(args).output().unwrap()
}

/// A JobManager and a TaskManager of two slots.
fn session_cluster() -> (Process, Process, String) {
    let (jobmanager, address, rest) = job_manager(&[], "warn");
    let taskmanager =
        task_manager_with(&address, &["-D", "taskmanager.numberOfTaskSlots=2"], "warn");
    (jobmanager, taskmanager, rest)
}

/// Numbers 1 to `rows` from datagen, as table `numbers`.
fn numbers_table(rows: u64) -> String {
    format!(
        "CREATE TABLE numbers (n BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = \
         '{rows}', 'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = \
         '{rows}');\n"
    )
}

fn write(dir: &Path, name: &str, script: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    path.display().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_selects_rows_from_a_cluster_are_those_the_client_shows_here() {
    let dir = tempfile::tempdir().unwrap();
    let (jobmanager, taskmanager, rest) = session_cluster();
    let script = write(
        dir.path(),
        "queries.sql",
        &format!(
            "{}SET 'execution.runtime-mode' = 'batch';\n\
             SELECT n % 3 AS r, COUNT(*) AS c, SUM(n) AS total FROM numbers GROUP BY n % 3;\n\
             SET 'execution.runtime-mode' = 'streaming';\n\
             SELECT n % 2 AS parity, COUNT(*) AS c FROM numbers WHERE n <= 4 GROUP BY n % 2;\n\
             SELECT x, y FROM (VALUES (1, 'a'), (2, CAST(NULL AS STRING))) AS T(x, y);\n",
            numbers_table(50)
        ),
    );
    let local = flinkrs(&["sql", "-f", &script]);
    let remote = flinkrs(&["sql", "-m", &rest, "-f", &script]);
    assert!(local.status.success(), "{}", stdout(&local));
    assert!(remote.status.success(), "{}", stdout(&remote));
    let remote_output = without_timings(&stdout(&remote));
    assert_eq!(remote_output, without_timings(&stdout(&local)));
    // 3, 6, …, 48; 1, 4, …, 49; 2, 5, …, 50.
    for row in [
        "| 0 | 16 |   408 |",
        "| 1 | 17 |   425 |",
        "| 2 | 17 |   442 |",
    ] {
        assert!(remote_output.contains(row), "{row} in {remote_output}");
    }
    let changelog = [
        "| +I |                    1 |                    1 |",
        "| +I |                    0 |                    1 |",
        "| -U |                    1 |                    1 |",
        "| +U |                    1 |                    2 |",
        "| -U |                    0 |                    1 |",
        "| +U |                    0 |                    2 |",
        "+----+----------------------+----------------------+",
        "Received a total of 6 rows",
    ];
    assert!(
        remote_output.contains(&changelog.join("\n")),
        "{remote_output}"
    );
    let values = [
        "| +I |           1 |                              a |",
        "| +I |           2 |                         <NULL> |",
    ];
    assert!(
        remote_output.contains(&values.join("\n")),
        "{remote_output}"
    );
    assert!(taskmanager.terminate().success());
    assert!(jobmanager.terminate().success());
}

#[test]
fn a_result_larger_than_the_collect_sinks_buffer_arrives_whole_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (jobmanager, taskmanager, rest) = session_cluster();
    let rows = 300_000;
    let script = write(
        dir.path(),
        "many.sql",
        &format!("{}SELECT n FROM numbers;\n", numbers_table(rows)),
    );
    let remote = flinkrs(&["sql", "-m", &rest, "-f", &script]);
    let output = stdout(&remote);
    assert!(
        remote.status.success(),
        "{}",
        &output[output.len().saturating_sub(2000)..]
    );
    let values: Vec<u64> = output
        .lines()
        .filter_map(|line| line.strip_prefix("| +I | "))
        .map(|rest| rest.trim_end_matches(" |").trim().parse().unwrap())
        .collect();
    assert_eq!(values.len() as u64, rows);
    assert!(
        values.iter().copied().eq(1..=rows),
        "the rows came out of order"
    );
    assert!(output.contains(&format!("Received a total of {rows} rows")));
    assert!(taskmanager.terminate().success());
    assert!(jobmanager.terminate().success());
}

/// Waits until `job` is in `state`.
fn wait_for_state(client: &RestClient, job: &str, state: JobState) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let details: JobDetails = client.get(&paths::job(job)).unwrap();
        if details.state == state {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "job {job} stayed {:?}",
            details.state
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_query_nobody_reads_waits_for_its_reader_and_cancels_whole() {
    let (jobmanager, taskmanager, rest) = session_cluster();
    let client = RestClient::new(&rest).unwrap();
    // Unbounded: only its reader's pace holds it back.
    let script = "CREATE TABLE numbers (n BIGINT) WITH ('connector' = 'datagen', \
                  'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = \
                  '1000000000000');\nSELECT n FROM numbers;\n";
    let request = JobSubmitRequest {
        sql: Some(script.to_owned()),
        collect_results: true,
        ..JobSubmitRequest::default()
    };
    let job = client
        .post::<JobSubmitResponse>(paths::FLINKRS_JOBS, &request)
        .unwrap()
        .jobid;
    wait_for_state(&client, &job, JobState::Running);
    // The first page starts at the first row, whatever came since.
    let deadline = Instant::now() + PATIENCE;
    let first = loop {
        let page: JobResultsResponse = client.get(&paths::job_results(&job, 0)).unwrap();
        if !page.batches.is_empty() {
            break page;
        }
        assert!(Instant::now() < deadline, "no rows came");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!((first.attempt, first.offset, first.finished), (0, 0, false));
    assert_eq!(
        first.batches[0][0],
        serde_json::json!({"kind": "Insert", "values": ["1"]})
    );
    // Nobody reads on: the sink fills its buffer and waits. A cancel still ends the job, and
    // its slots are free again.
    let _: serde_json::Value = client.patch(&paths::job_cancel(&job)).unwrap();
    wait_for_state(&client, &job, JobState::Canceled);
    let page: JobResultsResponse = client.get(&paths::job_results(&job, 0)).unwrap();
    assert_eq!(page.failure.as_deref(), Some("the job was cancelled"));
    assert!(page.batches.is_empty() && !page.finished);
    let deadline = Instant::now() + PATIENCE;
    loop {
        let overview: ClusterOverview = client.get(paths::OVERVIEW).unwrap();
        if overview.slots_available == overview.slots_total && overview.slots_total == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the cancelled job kept its slots: {overview:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(taskmanager.terminate().success());
    assert!(jobmanager.terminate().success());
}

#[test]
fn ctrl_c_while_the_rows_come_cancels_the_querys_job() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let (jobmanager, taskmanager, rest) = session_cluster();
    let script = write(
        dir.path(),
        "unbounded.sql",
        "CREATE TABLE numbers (n BIGINT) WITH ('connector' = 'datagen', 'rows-per-second' = \
         '100', 'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = \
         '1000000000');\nSELECT n FROM numbers;\n",
    );
    let mut client = Command::new(FLINKRS)
        .args(["sql", "-m", &rest, "-f", &script])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    let mut shown = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        shown.push(line.clone());
        if line.starts_with("| +I |") {
            break;
        }
    }
    let interrupt = Command::new("kill")
        .args(["-INT", &client.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupt.success());
    shown.extend(lines.map(Result::unwrap));
    let status = client.wait().unwrap();
    let shown = shown.join("\n");
    assert_eq!(status.code(), Some(1), "{shown}");
    assert!(
        shown.contains(
            "[ERROR] Could not execute SQL statement. Reason:\nthe query was interrupted; its job "
        ),
        "{shown}"
    );
    let job = shown
        .split("its job ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let client = RestClient::new(&rest).unwrap();
    wait_for_state(&client, &job, JobState::Canceled);
    assert!(taskmanager.terminate().success());
    assert!(jobmanager.terminate().success());
}

#[test]
fn a_query_that_fails_on_the_cluster_ends_its_client_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (jobmanager, taskmanager, rest) = session_cluster();
    let script = write(
        dir.path(),
        "failing.sql",
        &format!(
            "{}SELECT 10 / (n - n) AS q FROM numbers;\n",
            numbers_table(5)
        ),
    );
    let remote = flinkrs(&["sql", "-m", &rest, "-f", &script]);
    let output = stdout(&remote);
    assert_eq!(remote.status.code(), Some(1), "{output}");
    assert!(
        output
            .contains("[ERROR] Could not execute SQL statement. Reason:\nthe query's job ended: "),
        "{output}"
    );
    assert!(output.contains("Divide by zero"), "{output}");
    // A script ending in something else than a SELECT is refused as a query's job.
    let client = RestClient::new(&rest).unwrap();
    let refused = client
        .post::<JobSubmitResponse>(
            paths::FLINKRS_JOBS,
            &JobSubmitRequest {
                sql: Some("SET 'parallelism.default' = '1';\n".to_owned()),
                collect_results: true,
                ..JobSubmitRequest::default()
            },
        )
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("the submitted SQL script has no SELECT"),
        "{refused}"
    );
    assert!(taskmanager.terminate().success());
    assert!(jobmanager.terminate().success());
}
