//! The `flinkrs` client commands — `run -m`, `list`, `cancel`, `savepoint`, `stop` — as real
//! processes against a real cluster: a JobManager and a TaskManager on loopback in this test
//! process, reached over the JobManager's REST API. Outputs are Flink's, line for line; bad
//! input (an unknown or malformed job id, a malformed submission, an address where no REST
//! API listens) gets a clear error and leaves the cluster running.

#[path = "http/support/flinkrs.rs"]
mod flinkrs;
#[path = "http/support/http.rs"]
#[expect(
    dead_code,
    reason = "shared with the REST tests, which read every field"
)]
mod http;

use std::io::Write;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use flinkrs::{closed_port, flinkrs, utc_time};
use flinkrs_cluster::jobmanager::{JobManager, JobStatus};
use flinkrs_cluster::process::loopback_config;
use flinkrs_cluster::taskmanager::{TaskManager, TaskManagerState};
use flinkrs_core::JobId;

/// A guard against a hang, not a synchronization.
const PATIENCE: Duration = Duration::from_secs(60);

/// A JobManager and one TaskManager with two slots, on a runtime of their own.
struct Cluster {
    jobmanager: Option<JobManager>,
    taskmanager: Option<TaskManager>,
    runtime: tokio::runtime::Runtime,
    /// A large input, so that a throttled WordCount runs until it is cancelled.
    input: tempfile::NamedTempFile,
}

impl Cluster {
    fn start() -> Cluster {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let config = |entries: &[(&str, &str)]| loopback_config(entries).unwrap();
        let (jobmanager, taskmanager) = runtime.block_on(async {
            let jobmanager = JobManager::start(&config(&[])).await.unwrap();
            let taskmanager = TaskManager::start(
                &config(&[("taskmanager.numberOfTaskSlots", "2")]),
                &jobmanager.rpc_address().to_string(),
            )
            .await
            .unwrap();
            let mut state = taskmanager.state();
            tokio::time::timeout(
                PATIENCE,
                state.wait_for(|state| matches!(state, TaskManagerState::Registered { .. })),
            )
            .await
            .expect("the TaskManager registers")
            .unwrap();
            (jobmanager, taskmanager)
        });
        let mut input = tempfile::NamedTempFile::new().unwrap();
        for index in 0..100_000 {
            writeln!(input, "w{}", index % 7).unwrap();
        }
        input.flush().unwrap();
        Cluster {
            jobmanager: Some(jobmanager),
            taskmanager: Some(taskmanager),
            runtime,
            input,
        }
    }

    fn jobmanager(&self) -> &JobManager {
        self.jobmanager.as_ref().expect("running")
    }

    /// The REST API's address, for `-m`.
    fn rest(&self) -> String {
        self.rest_address().to_string()
    }

    fn rest_address(&self) -> SocketAddr {
        self.jobmanager().rest_address().expect("a REST API")
    }

    /// Submits a throttled WordCount with `flinkrs run -m … -d`; returns its id once it runs.
    fn submit_endless_job(&self) -> String {
        self.submit_endless_job_with(&[])
    }

    /// Submits the endless job with `extra` arguments (`-D KEY=VALUE`s).
    fn submit_endless_job_with(&self, extra: &[&str]) -> String {
        let input = self.input.path().display().to_string();
        let rest = self.rest();
        let mut args = vec![
            "run",
            "-m",
            &rest,
            "--example",
            "wordcount",
            "--input",
            &input,
            "--rate",
            "20",
            "-p",
            "2",
            "-d",
        ];
        args.extend(extra);
        let run = flinkrs(&args);
        assert_eq!(run.code, Some(0), "{run:?}");
        let job_id = run
            .stderr
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("Job has been submitted with JobID "))
            .unwrap_or_else(|| panic!("{run:?}"))
            .to_owned();
        assert_eq!(
            run.stderr,
            format!("Job has been submitted with JobID {job_id}\nJob {job_id} runs detached.\n")
        );
        self.wait_for_status(&job_id, JobStatus::Running);
        job_id
    }

    fn wait_for_status(&self, job_id: &str, status: JobStatus) {
        let job_id = job_id_of(job_id);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let job = self.jobmanager().job(job_id).expect("the job is known");
            if job.status == status {
                return;
            }
            assert!(
                Instant::now() < deadline && !job.status.is_terminal(),
                "job {job_id} is {:?}, not {status:?}: {:?}",
                job.status,
                job.failure
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `<start time> : <id> : WordCount (<state>)`, as `flinkrs list` prints the job.
    fn list_line(&self, job_id: &str, state: &str) -> String {
        let job = self.jobmanager().job(job_id_of(job_id)).unwrap();
        let start = job.status_times[0].1;
        format!("{} : {job_id} : WordCount ({state})", utc_time(start))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let (jobmanager, taskmanager) = (self.jobmanager.take(), self.taskmanager.take());
        self.runtime.block_on(async {
            if let Some(taskmanager) = taskmanager {
                taskmanager.shutdown().await;
            }
            if let Some(jobmanager) = jobmanager {
                let _ = jobmanager.shutdown().await;
            }
        });
    }
}

fn job_id_of(text: &str) -> JobId {
    JobId(u128::from_str_radix(text, 16).expect("32 hex digits"))
}

const RULE: &str = "--------------------------------------------------------------";

#[test]
fn list_shows_the_jobs_as_flink_does_and_cancel_ends_one() {
    let cluster = Cluster::start();
    let rest = cluster.rest();
    let list = flinkrs(&["list", "-m", &rest]);
    assert_eq!(
        (list.code, list.stdout.as_str(), list.stderr.as_str()),
        (
            Some(0),
            "Waiting for response...\nNo running jobs.\nNo scheduled jobs.\n",
            ""
        )
    );

    let job_id = cluster.submit_endless_job();
    let list = flinkrs(&["list", "-m", &rest]);
    assert_eq!(list.code, Some(0), "{list:?}");
    assert_eq!(
        list.stdout,
        format!(
            "Waiting for response...\n\
             ------------------ Running/Restarting Jobs -------------------\n\
             {}\n{RULE}\nNo scheduled jobs.\n",
            cluster.list_line(&job_id, "RUNNING")
        )
    );
    let scheduled = flinkrs(&["list", "-m", &rest, "--scheduled"]);
    assert_eq!(
        scheduled.stdout,
        "Waiting for response...\nNo scheduled jobs.\n"
    );

    let cancel = flinkrs(&["cancel", "-m", &rest, &job_id]);
    assert_eq!(
        (cancel.code, cancel.stdout, cancel.stderr),
        (
            Some(0),
            format!("Cancelling job {job_id}.\nCancelled job {job_id}.\n"),
            String::new()
        )
    );
    cluster.wait_for_status(&job_id, JobStatus::Canceled);

    let all = flinkrs(&["list", "-a", "-m", &rest]);
    assert_eq!(
        all.stdout,
        format!(
            "Waiting for response...\nNo running jobs.\nNo scheduled jobs.\n\
             ---------------------- Terminated Jobs -----------------------\n\
             {}\n{RULE}\n",
            cluster.list_line(&job_id, "CANCELED")
        )
    );
    let running = flinkrs(&["list", "-r", "-m", &rest]);
    assert_eq!(
        running.stdout,
        "Waiting for response...\nNo running jobs.\n"
    );
}

#[test]
fn the_address_comes_from_the_configuration_when_m_is_not_given() {
    let cluster = Cluster::start();
    let port = cluster.rest_address().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!("rest:\n  address: 127.0.0.1\n  port: {port}\n"),
    )
    .unwrap();
    let list = flinkrs(&["list", "--config", &config.display().to_string()]);
    assert_eq!(
        (list.code, list.stdout.as_str()),
        (
            Some(0),
            "Waiting for response...\nNo running jobs.\nNo scheduled jobs.\n"
        ),
        "{}",
        list.stderr
    );
    let with_property = flinkrs(&[
        "list",
        "-D",
        "rest.address=127.0.0.1",
        "-D",
        &format!("rest.port={port}"),
    ]);
    assert_eq!(with_property.code, Some(0), "{with_property:?}");
}

#[test]
fn an_unknown_job_gets_a_clear_answer_from_every_command() {
    let cluster = Cluster::start();
    let rest = cluster.rest();
    let unknown = "00000000000000000000000000000001";
    let no_such_job = format!(
        "the JobManager at {rest} has no job {unknown}; `flinkrs list -a -m {rest}` lists the \
         jobs it knows\n"
    );
    let cancel = flinkrs(&["cancel", "-m", &rest, unknown]);
    assert_eq!(
        (cancel.code, cancel.stdout, cancel.stderr),
        (
            Some(1),
            format!("Cancelling job {unknown}.\n"),
            format!("error: could not cancel job {unknown}: {no_such_job}")
        )
    );
    let savepoint = flinkrs(&["savepoint", "-m", &rest, unknown]);
    assert_eq!(
        (savepoint.code, savepoint.stdout, savepoint.stderr),
        (
            Some(1),
            format!("Triggering savepoint for job {unknown}.\n"),
            format!("error: failed to trigger a savepoint for the job {unknown}: {no_such_job}")
        )
    );
    let stop = flinkrs(&["stop", "-m", &rest, unknown]);
    assert_eq!(
        (stop.code, stop.stdout, stop.stderr),
        (
            Some(1),
            format!("Suspending job \"{unknown}\" with a CANONICAL savepoint.\n"),
            format!("error: could not stop with a savepoint job \"{unknown}\": {no_such_job}")
        )
    );
}

#[test]
fn a_malformed_job_id_is_refused_before_anything_is_sent() {
    for command in [
        vec!["cancel", "-m", "127.0.0.1:1", "not-a-job"],
        vec![
            "savepoint",
            "-m",
            "127.0.0.1:1",
            "not-a-job",
            "/tmp/savepoints",
        ],
        vec![
            "stop",
            "-m",
            "127.0.0.1:1",
            "-p",
            "/tmp/savepoints",
            "not-a-job",
        ],
    ] {
        let outcome = flinkrs(&command);
        assert_eq!(outcome.code, Some(2), "{command:?}: {outcome:?}");
        assert_eq!(outcome.stdout, "");
        assert_eq!(
            outcome.stderr.lines().next(),
            Some(
                "error: invalid value 'not-a-job' for '<JOBID>': Cannot parse JobID from \
                 \"not-a-job\". The expected format is [0-9a-fA-F]{32}, e.g. \
                 fd72014d4c864993a2e5a9287b4a9c5d."
            ),
            "{command:?}"
        );
    }
}

#[test]
fn an_address_where_no_rest_api_listens_says_what_to_do() {
    let address = format!("127.0.0.1:{}", closed_port());
    let unreachable = format!(
        "cannot reach the JobManager's REST API at {address}: Connection refused (os error 111); \
         start a cluster with `flinkrs jobmanager` (or `flinkrs local`), or pass its REST \
         address with -m HOST:PORT (rest.address and rest.port, localhost:8081 by default)\n"
    );
    let list = flinkrs(&["list", "-m", &address]);
    assert_eq!(
        (list.code, list.stdout, list.stderr),
        (
            Some(1),
            "Waiting for response...\n".to_owned(),
            format!("error: cannot retrieve the job list: {unreachable}")
        )
    );
    let run = flinkrs(&["run", "-m", &address, "--example", "wordcount"]);
    assert_eq!(
        (run.code, run.stderr),
        (
            Some(1),
            format!("error: the JobManager did not take the job: {unreachable}")
        )
    );
}

#[test]
fn m_pointing_at_the_control_plane_says_it_takes_the_rest_port() {
    let cluster = Cluster::start();
    let control_plane = cluster.jobmanager().rpc_address().to_string();
    let job = "00000000000000000000000000000001";
    let cancel = flinkrs(&["cancel", "-m", &control_plane, job]);
    assert_eq!(cancel.code, Some(1));
    let prefix = format!(
        "error: could not cancel job {job}: {control_plane} did not answer PATCH \
         /jobs/{job}?mode=cancel as Flink's REST API does ("
    );
    let suffix = "); -m takes the JobManager's REST address (rest.port, 8081 by default), not \
                  its control plane (jobmanager.rpc.port, 6123)\n";
    assert!(
        cancel.stderr.starts_with(&prefix) && cancel.stderr.ends_with(suffix),
        "{}",
        cancel.stderr
    );
}

#[test]
fn a_submission_the_job_could_not_run_with_is_refused_and_the_cluster_runs_on() {
    let cluster = Cluster::start();
    let rest = cluster.rest();
    let unknown_example = flinkrs(&["run", "-m", &rest, "--example", "wordcunt"]);
    assert_eq!(
        (unknown_example.code, unknown_example.stderr),
        (
            Some(1),
            format!(
                "error: the JobManager did not take the job: the JobManager at {rest} answered \
                 400 to POST /flinkrs/jobs: unknown example 'wordcunt'; the examples are: \
                 wordcount, scoreboard, windowed-sensors\n"
            )
        )
    );
    let bad_value = flinkrs(&[
        "run",
        "-m",
        &rest,
        "--example",
        "wordcount",
        "-D",
        "parallelism.default=many",
    ]);
    assert_eq!(
        (bad_value.code, bad_value.stderr),
        (
            Some(1),
            format!(
                "error: the JobManager did not take the job: the JobManager at {rest} answered \
                 400 to POST /flinkrs/jobs: flinkConfiguration: configuration key \
                 'parallelism.default': 'many' is not a whole number of at least 1\n"
            )
        )
    );

    // Malformed bodies, straight over HTTP.
    let address = cluster.rest_address();
    let post = |body: &str| {
        let response = http::request(address, "POST", "/flinkrs/jobs", Some(body));
        (response.status, response.body)
    };
    assert_eq!(
        post(r#"{"example": "wordcount", "paralelism": 2}"#),
        (
            400,
            r#"{"errors":["Request did not match expected format JobSubmitRequest: unknown field `paralelism`, expected one of `example`, `sql`, `collectResults`, `input`, `output`, `rate`, `parallelism`, `savepointPath`, `allowNonRestoredState`, `flinkConfiguration` at line 1 column 37"]}"#
                .to_owned()
        )
    );
    assert_eq!(
        post(r#"{"example": "wordcount""#),
        (
            400,
            r#"{"errors":["Request did not match expected format JobSubmitRequest: EOF while parsing an object at line 1 column 23"]}"#
                .to_owned()
        )
    );
    assert_eq!(
        post(""),
        (
            400,
            r#"{"errors":["the body is empty; POST /flinkrs/jobs takes a JSON object such as {\"example\": \"wordcount\", \"parallelism\": 2} (see `flinkrs examples`)"]}"#
                .to_owned()
        )
    );
    // Nothing was submitted, and the JobManager still answers.
    let overview = http::get(address, "/jobs/overview");
    assert_eq!(
        (overview.status, overview.body.as_str()),
        (200, r#"{"jobs":[]}"#)
    );
}

#[test]
fn an_attached_run_reports_its_job_ending_and_a_submission_over_http_answers_flinks_jobid() {
    let cluster = Cluster::start();
    let rest = cluster.rest();
    let run = flinkrs(&["run", "-m", &rest, "--example", "wordcount", "-p", "2"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    let job_id = lines[0]
        .strip_prefix("Job has been submitted with JobID ")
        .unwrap_or_else(|| panic!("{run:?}"));
    let seconds = lines[1]
        .strip_prefix(&format!("Job 'WordCount' ({job_id}) finished in "))
        .and_then(|rest| rest.strip_suffix(" s."))
        .unwrap_or_else(|| panic!("{run:?}"));
    assert!(seconds.parse::<f64>().is_ok(), "{run:?}");
    assert_eq!(lines.len(), 2, "{run:?}");

    let response = http::request(
        cluster.rest_address(),
        "POST",
        "/flinkrs/jobs",
        Some(r#"{"example": "scoreboard", "flinkConfiguration": {"pipeline.name": "board"}}"#),
    );
    assert_eq!(response.status, 202, "{}", response.body);
    let answer = response.json();
    let job_id = answer["jobid"].as_str().unwrap();
    assert_eq!(answer, serde_json::json!({ "jobid": job_id }));
    cluster.wait_for_status(job_id, JobStatus::Finished);
    let job = cluster.jobmanager().job(job_id_of(job_id)).unwrap();
    assert_eq!(job.name, "board");
}

#[test]
fn a_savepoint_of_a_cluster_job_without_checkpoints_prints_the_jobmanagers_reason() {
    // A job that takes no checkpoints takes no savepoints: the JobManager says what to set.
    let cluster = Cluster::start();
    let rest = cluster.rest();
    let job_id = cluster.submit_endless_job();
    let savepoint = flinkrs(&["savepoint", "-m", &rest, &job_id]);
    assert_eq!(
        (savepoint.code, savepoint.stdout, savepoint.stderr),
        (
            Some(1),
            format!("Triggering savepoint for job {job_id}.\nWaiting for response...\n"),
            format!(
                "error: failed to trigger a savepoint for the job {job_id}: job {job_id} takes \
                 no checkpoints, so it cannot take a savepoint; set \
                 execution.checkpointing.interval\n"
            )
        )
    );
    let cancel = flinkrs(&["cancel", "-m", &rest, &job_id]);
    assert_eq!(cancel.code, Some(0), "{cancel:?}");
    cluster.wait_for_status(&job_id, JobStatus::Canceled);
}

#[test]
fn savepoint_and_stop_take_savepoints_of_a_checkpointing_cluster_job() {
    let cluster = Cluster::start();
    let rest = cluster.rest();
    let checkpoints = tempfile::tempdir().unwrap();
    let checkpoint_dir = format!(
        "execution.checkpointing.dir={}",
        checkpoints.path().display()
    );
    let job_id = cluster.submit_endless_job_with(&[
        "-D",
        "execution.checkpointing.interval=100 ms",
        "-D",
        &checkpoint_dir,
    ]);
    let savepoints = checkpoints.path().join("savepoints");
    let savepoint = flinkrs(&[
        "savepoint",
        "-m",
        &rest,
        &job_id,
        &savepoints.display().to_string(),
    ]);
    assert_eq!(savepoint.code, Some(0), "{savepoint:?}");
    let location = savepoint
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("Savepoint completed. Path: "))
        .unwrap_or_else(|| panic!("{savepoint:?}"))
        .to_owned();
    let folder = location.strip_prefix("file:").unwrap();
    assert!(
        folder.starts_with(&format!(
            "{}/savepoint-{}-",
            savepoints.display(),
            &job_id[..6]
        )),
        "{folder}"
    );
    assert!(std::path::Path::new(folder).join("_metadata").is_file());

    let stopped_into = checkpoints.path().join("stopped");
    let stop = flinkrs(&[
        "stop",
        "-m",
        &rest,
        "--savepointPath",
        &stopped_into.display().to_string(),
        &job_id,
    ]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    assert!(
        stop.stdout.starts_with(&format!(
            "Suspending job \"{job_id}\" with a CANONICAL savepoint.\n"
        )),
        "{stop:?}"
    );
    let stopped_at = stop
        .stdout
        .lines()
        .find_map(|line| line.strip_prefix("Savepoint completed. Path: file:"))
        .unwrap_or_else(|| panic!("{stop:?}"))
        .to_owned();
    assert!(
        std::path::Path::new(&stopped_at)
            .join("_metadata")
            .is_file()
    );
    cluster.wait_for_status(&job_id, JobStatus::Canceled);
}
