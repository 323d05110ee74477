//! Metrics of a cluster of real processes: the testbed's real Prometheus scrapes the `/metrics`
//! of a JobManager and two TaskManagers, all processes of the `flinkrs` binary on loopback, and
//! PromQL over Flink's metric names answers the cluster's slots and the exact record counts of
//! a job that spans both TaskManagers. The job reads a socket's lines and stays RUNNING once it
//! has read them all, so its counts end at known numbers while its series are still served.
//! `flinkrs local` serves one endpoint for all its members, and a metrics port that is set but
//! taken stops a process with an error naming the key.

#[path = "http/support/http.rs"]
#[expect(
    dead_code,
    reason = "shared with the REST tests, which read every field"
)]
mod http;
#[path = "support/line_server.rs"]
mod line_server;
#[path = "support/process.rs"]
#[expect(
    dead_code,
    reason = "shared with the high-availability test, which kills and waits"
)]
mod process;

use std::process::Command;
use std::time::{Duration, Instant};

use flinkrs_testbed::Prometheus;
use line_server::LineServer;
use process::{FLINKRS, Process, job_manager, task_manager_with};

/// A guard against a hang, not a synchronization: each wait ends when its answer comes.
const DEADLINE: Duration = Duration::from_secs(90);
const LINES: usize = 700;
/// Six words.
const LINE: &str = "to be or not to be";

/// What every process of the test shares: loopback, ports picked for them, and a quick
/// heartbeat.
const LOOPBACK: [&str; 6] = [
    "-D",
    "metrics.reporter.prom.port=0",
    "-D",
    "heartbeat.interval=200 ms",
    "-D",
    "heartbeat.timeout=5 s",
];

/// The address (`host:port`) from a "Metrics served on host:port/metrics" line.
fn metrics_address(process: &mut Process) -> String {
    process
        .wait_for("Metrics served on ")
        .trim_end_matches("/metrics")
        .to_owned()
}

/// A TaskManager of one slot at `jobmanager`, and where its metrics are served.
fn task_manager(jobmanager: &str) -> (Process, String) {
    let mut args = vec!["-D", "taskmanager.numberOfTaskSlots=1"];
    args.extend(LOOPBACK);
    let mut process = task_manager_with(jobmanager, &args, "warn");
    let metrics = metrics_address(&mut process);
    (process, metrics)
}

/// The single number a PromQL query answers; `None` while it answers nothing.
async fn number(prometheus: &Prometheus, promql: &str) -> Option<f64> {
    let data = prometheus.query(promql).await.expect("Prometheus answers");
    let result = data["result"].as_array()?;
    assert!(result.len() <= 1, "{promql} answers {data}");
    result.first()?["value"][1].as_str()?.parse().ok()
}

/// Waits until `promql` answers exactly `expected`. Record counts only grow, so an answer
/// above it fails at once.
async fn wait_for_exactly(prometheus: &Prometheus, promql: &str, expected: f64) {
    let deadline = Instant::now() + DEADLINE;
    let mut last = None;
    while Instant::now() < deadline {
        last = number(prometheus, promql).await;
        if last == Some(expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{promql} answered {last:?}, not {expected}, within {DEADLINE:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_a_three_process_cluster_and_counts_a_jobs_records_exactly() {
    let (mut jobmanager, address, rest) = job_manager(&LOOPBACK, "warn");
    let jobmanager_metrics = metrics_address(&mut jobmanager);
    let (first, first_metrics) = task_manager(&address);
    let (second, second_metrics) = task_manager(&address);
    let targets = [jobmanager_metrics, first_metrics, second_metrics];
    let Some(prometheus) = Prometheus::start(
        "prometheus_scrapes_a_three_process_cluster_and_counts_a_jobs_records_exactly",
        &targets,
    )
    .await
    else {
        return;
    };

    // The JobManager's series as the TaskManagers register: two of one slot each.
    wait_for_exactly(
        &prometheus,
        "flink_jobmanager_numRegisteredTaskManagers",
        2.0,
    )
    .await;
    wait_for_exactly(&prometheus, "flink_jobmanager_taskSlotsTotal", 2.0).await;
    wait_for_exactly(&prometheus, "flink_jobmanager_taskSlotsAvailable", 2.0).await;
    wait_for_exactly(&prometheus, "flink_jobmanager_numRunningJobs", 0.0).await;
    wait_for_exactly(&prometheus, "count(up{job=\"testbed\"} == 1)", 3.0).await;

    // A job at parallelism 2 over the socket's lines, submitted detached with the CLI.
    let server = LineServer::start(vec![LINE.to_owned(); LINES]);
    let output = tempfile::tempdir().unwrap();
    let submitted = Command::new(FLINKRS)
        .args([
            "run",
            "-m",
            &rest,
            "-d",
            "--example",
            "wordcount",
            "-p",
            "2",
            "--input",
            &server.input(),
            "--output",
            &output.path().join("counts").display().to_string(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&submitted.stderr);
    assert!(submitted.status.success(), "{stderr}");
    let job_id = stderr
        .split("submitted with JobID ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id in: {stderr}"))
        .to_owned();
    let job = format!("job_id=\"{job_id}\",job_name=\"WordCount\"");

    wait_for_exactly(&prometheus, "flink_jobmanager_numRunningJobs", 1.0).await;
    wait_for_exactly(&prometheus, "flink_jobmanager_taskSlotsAvailable", 0.0).await;
    let lines = LINES as f64;
    let words = lines * 6.0;
    wait_for_exactly(
        &prometheus,
        &format!(
            "sum(flink_taskmanager_job_task_operator_numRecordsOut{{{job},operator_name=~\"Source.*\"}})"
        ),
        lines,
    )
    .await;
    wait_for_exactly(
        &prometheus,
        &format!("sum(flink_taskmanager_job_task_numRecordsIn{{{job},task_name=\"Tokenizer\"}})"),
        lines,
    )
    .await;
    wait_for_exactly(
        &prometheus,
        &format!("sum(flink_taskmanager_job_task_numRecordsOut{{{job},task_name=\"Tokenizer\"}})"),
        words,
    )
    .await;
    wait_for_exactly(
        &prometheus,
        &format!("sum(flink_taskmanager_job_task_numRecordsIn{{{job},task_name=~\"Counter.*\"}})"),
        words,
    )
    .await;
    // The counting spans both TaskManagers: each reports one of its two subtasks.
    wait_for_exactly(
        &prometheus,
        &format!(
            "count(count by (tm_id) (flink_taskmanager_job_task_numRecordsIn{{{job},task_name=~\"Counter.*\"}}))"
        ),
        2.0,
    )
    .await;
    wait_for_exactly(
        &prometheus,
        &format!("flink_jobmanager_job_numRestarts{{{job}}}"),
        0.0,
    )
    .await;
    // Every TaskManager serves its process's status, labelled with its tm_id.
    wait_for_exactly(
        &prometheus,
        "count(flink_taskmanager_Status_JVM_Threads_Count > 0)",
        2.0,
    )
    .await;

    // The input ends, and with it the job: its slots are free again.
    server.close();
    wait_for_exactly(&prometheus, "flink_jobmanager_numRunningJobs", 0.0).await;
    wait_for_exactly(&prometheus, "flink_jobmanager_taskSlotsAvailable", 2.0).await;

    for process in [second, first, jobmanager] {
        assert!(process.terminate().success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expression_of_the_charts_job_dashboard_answers_for_a_running_event_time_job() {
    let (mut jobmanager, address, rest) = job_manager(&LOOPBACK, "warn");
    let jobmanager_metrics = metrics_address(&mut jobmanager);
    let (task_manager, task_manager_metrics) = task_manager(&address);
    let Some(prometheus) = Prometheus::start(
        "every_expression_of_the_charts_job_dashboard_answers_for_a_running_event_time_job",
        &[jobmanager_metrics, task_manager_metrics],
    )
    .await
    else {
        return;
    };
    // Sensor readings a second apart in event time, throttled: watermarks move, windows
    // fire, checkpoints complete, for a minute unless cancelled.
    let dir = tempfile::tempdir().unwrap();
    let readings = dir.path().join("readings.csv");
    let text: String = (0..6_000)
        .map(|i| format!("s{},{},{}.5\n", i % 3, 1_000 * i, 20 + i % 7))
        .collect();
    std::fs::write(&readings, text).unwrap();
    let submitted = Command::new(FLINKRS)
        .args([
            "run",
            "-m",
            &rest,
            "-d",
            "--example",
            "windowed-sensors",
            "--rate",
            "100",
        ])
        .args(["--input", &readings.display().to_string()])
        .args(["-D", "execution.checkpointing.interval=200 ms"])
        .arg("-D")
        .arg(format!(
            "execution.checkpointing.dir={}",
            dir.path().join("checkpoints").display()
        ))
        .output()
        .unwrap();
    assert!(
        submitted.status.success(),
        "{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    every_expression_answers(&prometheus, "flinkrs-job-overview.json").await;
    let stderr = String::from_utf8_lossy(&submitted.stderr);
    let job_id = stderr
        .split("submitted with JobID ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job id in: {stderr}"));
    let cancelled = Command::new(FLINKRS)
        .args(["cancel", "-m", &rest, job_id])
        .output()
        .unwrap();
    assert!(
        cancelled.status.success(),
        "{}",
        String::from_utf8_lossy(&cancelled.stderr)
    );
    for process in [task_manager, jobmanager] {
        assert!(process.terminate().success());
    }
}

/// Waits until every PromQL expression of the chart's dashboard `file` answers with data, its
/// variables (`$job_name`) matching every value.
async fn every_expression_answers(prometheus: &Prometheus, file: &str) {
    let path = format!(
        "{}/../../charts/flinkrs-operator/dashboards/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let expressions: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| panel["targets"].as_array().unwrap().iter())
        .map(|target| target["expr"].as_str().unwrap().replace("$job_name", ".*"))
        .collect();
    assert!(expressions.len() >= 8, "{expressions:?}");
    for promql in expressions {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let data = prometheus.query(&promql).await.expect("Prometheus answers");
            if data["result"]
                .as_array()
                .is_some_and(|result| !result.is_empty())
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{file}: {promql} answers no data"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The sum of the series `name` in `text` whose labels include `label`, and how many there are.
fn series(text: &str, name: &str, label: &str) -> (usize, f64) {
    text.lines()
        .filter_map(|line| line.strip_prefix(name)?.strip_prefix('{'))
        .filter_map(|rest| rest.rsplit_once("} "))
        .filter(|(labels, _)| label.is_empty() || labels.split(',').any(|pair| pair == label))
        .fold((0, 0.0), |(count, sum), (_, value)| {
            (count + 1, sum + value.parse::<f64>().unwrap())
        })
}

#[test]
fn flinkrs_local_serves_one_endpoint_for_its_jobmanager_and_every_task_manager() {
    let mut args = vec![
        "local",
        "--taskmanagers",
        "2",
        "-D",
        "jobmanager.rpc.port=0",
        "-D",
        "rest.port=0",
    ];
    args.extend(LOOPBACK);
    let mut local = Process::start(&args);
    let address: std::net::SocketAddr = metrics_address(&mut local).parse().unwrap();
    let deadline = Instant::now() + DEADLINE;
    let text = loop {
        let text = http::get(address, "/metrics").body;
        if series(&text, "flink_jobmanager_numRegisteredTaskManagers", "") == (1, 2.0) {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the TaskManagers never registered: {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        series(&text, "flink_jobmanager_taskSlotsTotal", ""),
        (1, 2.0)
    );
    // Each TaskManager's series carry its own tm_id.
    let tm_ids: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|line| line.starts_with("flink_taskmanager_Status_JVM_Threads_Count{"))
        .filter_map(|line| line.split("tm_id=\"").nth(1)?.split('"').next())
        .collect();
    assert_eq!(tm_ids.len(), 2, "{text}");
    assert!(local.terminate().success());
}

#[test]
fn a_metrics_port_set_to_a_taken_one_stops_the_process_naming_the_key() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = format!(
        "metrics.reporter.prom.port={}",
        taken.local_addr().unwrap().port()
    );
    let outcome = Command::new(FLINKRS)
        .args([
            "jobmanager",
            "-D",
            "jobmanager.rpc.port=0",
            "-D",
            "rest.port=0",
            "-D",
            "jobmanager.bind-host=127.0.0.1",
            "-D",
            &port,
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    assert_eq!(outcome.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: metrics.reporter.prom.port is set, so /metrics must be served; no port of it \
             is free: cannot serve /metrics on 127.0.0.1:"
        ),
        "{stderr}"
    );
}
