//! The metrics of a cluster in one test process, a real JobManager and real TaskManagers over
//! gRPC and TCP on loopback: the JobManager's slot series follow TaskManagers as they register
//! and are lost, and the REST API answers a cluster job's per-subtask metrics from its
//! TaskManagers, with the exact record counts of a job that stays running on a socket's lines.

#[path = "http/support/http.rs"]
#[expect(
    dead_code,
    reason = "shared with the REST tests, which read every field"
)]
mod http;
#[path = "support/line_server.rs"]
mod line_server;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use flinkrs_cluster::job_spec::spec_of;
use flinkrs_cluster::jobmanager::{JobManager, JobStatus};
use flinkrs_cluster::process::loopback_config;
use flinkrs_cluster::prometheus;
use flinkrs_cluster::run::RunRequest;
use flinkrs_cluster::taskmanager::{TaskManager, TaskManagerState};
use flinkrs_core::{Configuration, JobId};
use line_server::LineServer;

/// A guard against a hang, not a synchronization: each wait ends when its condition holds.
const DEADLINE: Duration = Duration::from_secs(60);
/// Lines the job's socket sends, each of six words.
const LINES: usize = 500;
const LINE: &str = "to be or not to be";

fn config(entries: &[(&str, &str)]) -> Configuration {
    let mut all = vec![
        ("heartbeat.interval", "100 ms"),
        ("heartbeat.timeout", "1 s"),
    ];
    all.extend_from_slice(entries);
    loopback_config(&all).unwrap()
}

async fn task_manager(jobmanager: &JobManager, slots: &str) -> TaskManager {
    let member = TaskManager::start(
        &config(&[("taskmanager.numberOfTaskSlots", slots)]),
        &jobmanager.rpc_address().to_string(),
    )
    .await
    .unwrap();
    let mut state = member.state();
    tokio::time::timeout(
        DEADLINE,
        state.wait_for(|state| matches!(state, TaskManagerState::Registered { .. })),
    )
    .await
    .expect("the TaskManager registers")
    .unwrap();
    member
}

/// WordCount at parallelism 2 over the lines of `server`, into `output`.
fn socket_wordcount(server: &LineServer, output: &std::path::Path) -> RunRequest {
    RunRequest {
        example: "wordcount".to_owned(),
        input: Some(server.input().into()),
        output: Some(output.to_owned()),
        parallelism: Some(2),
        ..RunRequest::default()
    }
}

fn lines() -> Vec<String> {
    vec![LINE.to_owned(); LINES]
}

/// The sum of the series `name` whose labels include every one of `labels`; `None` when
/// there is none.
fn value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, number)) = line.rsplit_once(' ') else {
            continue;
        };
        let (metric, labels_text) = match series.split_once('{') {
            Some((metric, rest)) => (metric, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric == name
            && labels
                .iter()
                .all(|label| labels_text.split(',').any(|pair| pair == *label))
        {
            *found.get_or_insert(0.0) += number.parse::<f64>().unwrap();
        }
    }
    found
}

/// Polls `probe` until it answers, at most [`DEADLINE`].
async fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(answer) = probe() {
            return answer;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The JobManager's four cluster series: TaskManagers, slots, free slots, running jobs.
fn cluster_series(metrics: SocketAddr) -> [Option<f64>; 4] {
    let text = http::get(metrics, "/metrics").body;
    [
        "flink_jobmanager_numRegisteredTaskManagers",
        "flink_jobmanager_taskSlotsTotal",
        "flink_jobmanager_taskSlotsAvailable",
        "flink_jobmanager_numRunningJobs",
    ]
    .map(|name| value(&text, name, &[]))
}

async fn wait_for_status(jobmanager: &JobManager, job: JobId, status: JobStatus) {
    wait_until(&format!("job {job} to be {}", status.name()), || {
        jobmanager
            .job(job)
            .filter(|entry| entry.status == status)
            .map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jobmanagers_slot_series_follow_task_managers_and_jobs() {
    let jobmanager = JobManager::start(&config(&[])).await.unwrap();
    let endpoint = prometheus::serve(&config(&[]), "127.0.0.1", vec![jobmanager.metrics()])
        .unwrap()
        .expect("metrics.reporter.prom.port 0 is always free");
    let metrics = endpoint.local_addr();
    assert_eq!(
        cluster_series(metrics),
        [Some(0.0), Some(0.0), Some(0.0), Some(0.0)]
    );
    let text = http::get(metrics, "/metrics").body;
    assert!(
        text.contains(
            "# HELP flink_jobmanager_taskSlotsTotal taskSlotsTotal (scope: jobmanager)\n"
        ),
        "{text}"
    );
    assert!(
        value(&text, "flink_jobmanager_Status_JVM_CPU_Time", &[]).is_some(),
        "{text}"
    );

    let first = task_manager(&jobmanager, "2").await;
    assert_eq!(
        cluster_series(metrics),
        [Some(1.0), Some(2.0), Some(2.0), Some(0.0)]
    );
    let second = task_manager(&jobmanager, "1").await;
    assert_eq!(
        cluster_series(metrics),
        [Some(2.0), Some(3.0), Some(3.0), Some(0.0)]
    );

    // A job at parallelism 2 takes two of the three slots while it runs.
    let dir = tempfile::tempdir().unwrap();
    let server = LineServer::start(lines());
    let job = jobmanager
        .submit(spec_of(&socket_wordcount(&server, &dir.path().join("out"))))
        .unwrap();
    wait_for_status(&jobmanager, job, JobStatus::Running).await;
    assert_eq!(
        cluster_series(metrics),
        [Some(2.0), Some(3.0), Some(1.0), Some(1.0)]
    );
    let text = http::get(metrics, "/metrics").body;
    let job_labels = [
        format!("job_id=\"{job}\""),
        "job_name=\"WordCount\"".to_owned(),
    ];
    let job_labels: Vec<&str> = job_labels.iter().map(String::as_str).collect();
    assert_eq!(
        value(&text, "flink_jobmanager_job_numRestarts", &job_labels),
        Some(0.0),
        "{text}"
    );
    assert!(value(&text, "flink_jobmanager_job_uptime", &job_labels).is_some_and(|ms| ms >= 0.0));

    // The job ends with its input: its slots are free again and its series are gone.
    server.close();
    let ended = jobmanager.wait_for_job(job, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Finished, "{:?}", ended.failure);
    assert_eq!(
        cluster_series(metrics),
        [Some(2.0), Some(3.0), Some(3.0), Some(0.0)]
    );
    let text = http::get(metrics, "/metrics").body;
    assert_eq!(value(&text, "flink_jobmanager_job_uptime", &[]), None);

    // A TaskManager that stops is lost after heartbeat.timeout, and its slots with it.
    second.shutdown().await;
    let mut membership = jobmanager.membership();
    tokio::time::timeout(DEADLINE, membership.wait_for(|count| *count == 1))
        .await
        .expect("the stopped TaskManager is lost")
        .unwrap();
    assert_eq!(
        cluster_series(metrics),
        [Some(1.0), Some(2.0), Some(2.0), Some(0.0)]
    );
    first.shutdown().await;
    drop(endpoint);
    jobmanager.shutdown().await.unwrap();
}

/// The `get` metrics of the subtasks of the vertex named `vertex` of `job`: `(id, sum)`.
fn subtask_sums(rest: SocketAddr, job: JobId, vertex: &str, get: &str) -> Vec<(String, f64)> {
    let details = http::get(rest, &format!("/jobs/{job}")).json();
    let vertex_id = details["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| {
            v["name"]
                .as_str()
                .is_some_and(|name| name.starts_with(vertex))
        })
        .unwrap_or_else(|| panic!("no vertex {vertex}: {details}"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let answer = http::get(
        rest,
        &format!("/jobs/{job}/vertices/{vertex_id}/subtasks/metrics?get={get}"),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|metric| {
            (
                metric["id"].as_str().unwrap().to_owned(),
                metric["sum"].as_f64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_jobs_subtask_metrics_are_answered_over_rest_from_its_task_managers() {
    let jobmanager = JobManager::start(&config(&[])).await.unwrap();
    let members = [
        task_manager(&jobmanager, "1").await,
        task_manager(&jobmanager, "1").await,
    ];
    let rest = jobmanager.rest_address().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server = LineServer::start(lines());
    let job = jobmanager
        .submit(spec_of(&socket_wordcount(&server, &dir.path().join("out"))))
        .unwrap();
    wait_for_status(&jobmanager, job, JobStatus::Running).await;

    // The job stays running once the socket's lines are read: the counts reach these exactly.
    let words = (LINES * 6) as f64;
    let tokenizer = wait_until("every line through the tokenizer", || {
        let sums = subtask_sums(rest, job, "Tokenizer", "numRecordsIn,numRecordsOut");
        (sums
            == [
                ("numRecordsIn".to_owned(), LINES as f64),
                ("numRecordsOut".to_owned(), words),
            ])
        .then_some(sums)
    })
    .await;
    assert_eq!(tokenizer.len(), 2);
    wait_until("every word at the counter", || {
        let sums = subtask_sums(rest, job, "Counter", "numRecordsIn");
        (sums == [("numRecordsIn".to_owned(), words)]).then_some(())
    })
    .await;

    // The vertex's subtasks: one in each TaskManager, with its records.
    let details = http::get(rest, &format!("/jobs/{job}")).json();
    let counter = details["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"].as_str().unwrap().starts_with("Counter"))
        .unwrap()
        .clone();
    let vertex = http::get(
        rest,
        &format!("/jobs/{job}/vertices/{}", counter["id"].as_str().unwrap()),
    )
    .json();
    let subtasks = vertex["subtasks"].as_array().unwrap();
    let mut task_managers: Vec<&str> = subtasks
        .iter()
        .map(|subtask| subtask["taskmanager-id"].as_str().unwrap())
        .collect();
    task_managers.sort_unstable();
    let mut expected: Vec<&str> = members.iter().map(TaskManager::resource_id).collect();
    expected.sort_unstable();
    assert_eq!(task_managers, expected);
    assert!(
        subtasks
            .iter()
            .all(|subtask| subtask["status"] == "RUNNING")
    );
    let read: i64 = subtasks
        .iter()
        .map(|subtask| subtask["metrics"]["read-records"].as_i64().unwrap())
        .sum();
    assert_eq!(read, LINES as i64 * 6);
    assert_eq!(
        vertex["aggregated"]["metrics"]["read-records"]["sum"],
        LINES as i64 * 6
    );
    // Bytes in: each subtask reads from a local and a remote channel, and counts both (the
    // writer's measure for the local one, the encoded frames for the remote one).
    let read_bytes: Vec<i64> = subtasks
        .iter()
        .map(|subtask| subtask["metrics"]["read-bytes"].as_i64().unwrap())
        .collect();
    assert!(read_bytes.iter().all(|&bytes| bytes > 0), "{read_bytes:?}");
    assert_eq!(
        vertex["aggregated"]["metrics"]["read-bytes"]["sum"],
        read_bytes.iter().sum::<i64>()
    );
    // Listing the metrics names an operator's as Flink does, prefixed with the operator.
    let names = http::get(
        rest,
        &format!(
            "/jobs/{job}/vertices/{}/subtasks/metrics",
            counter["id"].as_str().unwrap()
        ),
    )
    .json();
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .map(|metric| metric["id"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"busyTimeMsPerSecond"), "{names:?}");
    assert!(names.contains(&"Counter.numRecordsIn"), "{names:?}");

    server.close();
    let ended = jobmanager.wait_for_job(job, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Finished, "{:?}", ended.failure);
    for member in members {
        member.shutdown().await;
    }
    jobmanager.shutdown().await.unwrap();
}
