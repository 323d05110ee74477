//! Checkpoints of jobs on a cluster: the JobManager's coordinator triggers the TaskManagers,
//! which write their subtasks' state into a real S3 server of the testbed (s3s-fs) and
//! acknowledge with its handles. A job spanning TaskManagers commits the local run's results
//! exactly once, its checkpoints are in S3 in Flink's layout, and the REST API counts them; a
//! savepoint of a running job lands where it was asked for, and the job restored from it on
//! the cluster gives the local run's results.

#[path = "http/support/http.rs"]
#[expect(
    dead_code,
    reason = "shared with the REST tests, which read every field"
)]
mod http;

#[path = "support/cluster.rs"]
mod support;

use std::time::Duration;

use flinkrs_cluster::job_spec::spec_of;
use flinkrs_cluster::jobmanager::JobStatus;
use flinkrs_cluster::run::{RunRequest, run_request};
use flinkrs_state::storage::{CheckpointLocation, S3Settings, StoredCheckpoint};
use flinkrs_testbed::S3Server;
use support::{DEADLINE, cluster, committed_lines, input_text, shut_down};

/// The `-D` properties that put a job's checkpoints into `server`'s bucket.
fn s3_properties(server: &S3Server) -> Vec<String> {
    vec![
        format!(
            "execution.checkpointing.dir=s3://{}/checkpoints",
            server.bucket
        ),
        format!("s3.endpoint={}", server.endpoint),
        "s3.path-style-access=true".to_owned(),
        format!("s3.access-key={}", server.access_key),
        format!("s3.secret-key={}", server.secret_key),
        "execution.checkpointing.externalized-checkpoint-retention=RETAIN_ON_CANCELLATION"
            .to_owned(),
    ]
}

fn s3_settings(server: &S3Server) -> S3Settings {
    S3Settings {
        endpoint: Some(server.endpoint.clone()),
        path_style_access: true,
        ..S3Settings::default()
    }
    .with_credentials(&server.access_key, &server.secret_key)
}

/// The local run of the job: what the cluster must commit.
async fn local_results(request: RunRequest) -> Vec<String> {
    let output = request.output.clone().unwrap();
    tokio::task::spawn_blocking(move || run_request(&request, |_| {}))
        .await
        .unwrap()
        .unwrap();
    committed_lines(&output)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_spanning_task_managers_checkpoints_to_s3_and_commits_exactly_once() {
    let test = "a_job_spanning_task_managers_checkpoints_to_s3_and_commits_exactly_once";
    flinkrs_cluster::logging::init(flinkrs_cluster::logging::LogFormat::Text);
    let Some(server) = S3Server::start_s3s_fs(test).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, input_text(300)).unwrap();
    let request = |output: &str, properties: Vec<String>| RunRequest {
        example: "wordcount".to_owned(),
        input: Some(input.clone()),
        output: Some(dir.path().join(output)),
        parallelism: Some(4),
        // Slow enough for several checkpoints while it runs: one source subtask reads the
        // file at 800 / 4 lines per second, about 1.5 s.
        records_per_second: Some(800),
        dynamic_properties: properties,
        sql: None,
    };
    let expected = local_results(request("local", Vec::new())).await;
    assert!(expected.len() > 20, "{} lines", expected.len());

    let (jobmanager, members) = cluster(3, "2").await;
    let mut properties = s3_properties(&server);
    properties.push("execution.checkpointing.interval=100 ms".to_owned());
    let job = jobmanager
        .submit(spec_of(&request("cluster", properties)))
        .unwrap();
    let ended = jobmanager.wait_for_job(job, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Finished, "{:?}", ended.failure);
    assert_eq!(committed_lines(&dir.path().join("cluster")), expected);

    // The REST API counts the checkpoints; the latest is in S3 with every subtask's state.
    let rest = jobmanager.rest_address().unwrap();
    let checkpoints = http::get(rest, &format!("/jobs/{job}/checkpoints")).json();
    let completed = checkpoints["counts"]["completed"].as_u64().unwrap();
    assert!(completed >= 3, "{checkpoints}");
    assert_eq!(checkpoints["counts"]["failed"], 0, "{checkpoints}");
    let latest = checkpoints["latest"]["completed"]["external_path"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        latest.starts_with(&format!("s3://{}/checkpoints/{job}/chk-", server.bucket)),
        "{latest}"
    );
    let location = CheckpointLocation::parse("path", &latest).unwrap();
    let stored = StoredCheckpoint::open_at(&location, &s3_settings(&server)).unwrap();
    // One task state per subtask of every vertex.
    let details = http::get(rest, &format!("/jobs/{job}")).json();
    let mut subtasks: Vec<(usize, usize)> = Vec::new();
    for (vertex, details) in details["vertices"].as_array().unwrap().iter().enumerate() {
        let parallelism = details["parallelism"].as_u64().unwrap() as usize;
        subtasks.extend((0..parallelism).map(|subtask| (vertex, subtask)));
    }
    let mut stored_subtasks: Vec<(usize, usize)> = stored
        .metadata
        .tasks
        .iter()
        .map(|task| (task.vertex, task.subtask))
        .collect();
    stored_subtasks.sort_unstable();
    assert_eq!(stored_subtasks, subtasks);
    shut_down(jobmanager, members).await;
}

/// Asks `probe` every 20 ms until it answers, at most [`DEADLINE`].
async fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {DEADLINE:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_savepoint_of_a_cluster_job_restores_the_job_on_the_cluster_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, input_text(400)).unwrap();
    let request = |output: &str, properties: Vec<String>, rate: Option<u64>| RunRequest {
        example: "wordcount".to_owned(),
        input: Some(input.clone()),
        output: Some(dir.path().join(output)),
        parallelism: Some(4),
        records_per_second: rate,
        dynamic_properties: properties,
        sql: None,
    };
    let expected = local_results(request("local", Vec::new(), None)).await;
    assert_eq!(expected.len(), 1200);

    let (jobmanager, members) = cluster(2, "2").await;
    let checkpoints = format!(
        "execution.checkpointing.dir={}",
        dir.path().join("checkpoints").display()
    );
    let properties = vec![
        "execution.checkpointing.interval=100 ms".to_owned(),
        checkpoints.clone(),
    ];
    // Throttled: one source subtask reads the file at 400 / 4 lines per second, about 4 s.
    let first = jobmanager
        .submit(spec_of(&request("cluster", properties, Some(400))))
        .unwrap();
    // The savepoint comes once checkpoints have committed part of the output.
    let output = dir.path().join("cluster");
    wait_until("the first job to commit some output", || {
        let running = jobmanager.job(first)?.status == JobStatus::Running;
        (running && output.is_dir() && !committed_lines(&output).is_empty()).then_some(())
    })
    .await;
    let rest = jobmanager.rest_address().unwrap();
    let savepoints = dir.path().join("savepoints");
    let body = format!(
        r#"{{"target-directory": "{}", "cancel-job": true}}"#,
        savepoints.display()
    );
    let path = format!("/jobs/{first}/savepoints");
    let trigger =
        tokio::task::spawn_blocking(move || http::request(rest, "POST", &path, Some(&body)))
            .await
            .unwrap();
    assert_eq!(trigger.status, 202, "{}", trigger.body);
    let trigger_id = trigger.json()["request-id"].as_str().unwrap().to_owned();
    let status_path = format!("/jobs/{first}/savepoints/{trigger_id}");
    let location = wait_until("the savepoint to complete", || {
        let status = http::get(rest, &status_path).json();
        (status["status"]["id"] == "COMPLETED").then(|| status["operation"].clone())
    })
    .await;
    let location = location["location"]
        .as_str()
        .unwrap_or_else(|| panic!("a location, not a failure: {location}"))
        .to_owned();
    assert!(
        location.starts_with(&format!("file:{}/savepoint-", savepoints.display())),
        "{location}"
    );
    let ended = jobmanager.wait_for_job(first, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Canceled, "{:?}", ended.failure);
    let first_lines = committed_lines(&dir.path().join("cluster")).len();
    assert!(
        first_lines > 0 && first_lines < expected.len(),
        "the savepoint was taken while the job ran: {first_lines} lines"
    );

    // The second job goes on from the savepoint, into the same folder (its pending files
    // are there): the two commit the local run's output, once.
    let restore = format!("execution.state-recovery.path={location}");
    let second = jobmanager
        .submit(spec_of(&request(
            "cluster",
            vec![checkpoints, restore],
            None,
        )))
        .unwrap();
    let ended = jobmanager.wait_for_job(second, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Finished, "{:?}", ended.failure);
    assert_eq!(committed_lines(&dir.path().join("cluster")), expected);
    shut_down(jobmanager, members).await;
}
