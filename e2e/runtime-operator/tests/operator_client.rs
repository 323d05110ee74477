//! The operator's real `HttpJobManagerClient` against the runtime's real REST server, while a
//! real job runs: what the operator does to a FlinkJob's JobManager (find the job, follow its
//! checkpoints, take a savepoint with its own trigger id, cancel) works end to end, against the
//! REST API of `flinkrs run` and against a real JobManager with a TaskManager.

use std::path::Path;
use std::time::{Duration, Instant};

use flinkrs_contract::rest::JobState;
use flinkrs_e2e_runtime_operator::{ClusterJob, RunningJob};
use flinkrs_operator::jobmanager_client::{
    HttpJobManagerClient, JobManagerClient, JobManagerError, SavepointRequest, SavepointStatus,
};

/// A guard against a hang, not a synchronization: each wait ends as soon as its condition holds.
const PATIENCE: Duration = Duration::from_secs(60);

async fn wait_for<T, F: Future<Output = Option<T>>>(what: &str, mut probe: impl FnMut() -> F) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the operator does to a running job, through `client`: finds it, follows its
/// checkpoints, takes a savepoint into `savepoints` with its own trigger id (twice: one
/// savepoint), and cancels it.
async fn operate(client: &HttpJobManagerClient, expected_id: &str, savepoints: &Path) {
    let running = wait_for("the job in the overview, RUNNING", || async {
        let jobs = client.jobs_overview().await.ok()?;
        jobs.into_iter().find(|job| job.state == JobState::Running)
    })
    .await;
    assert_eq!(running.id, expected_id);
    assert_eq!(running.name, "e2e");
    let details = client.job_details(&running.id).await.expect("details");
    assert_eq!((details.state, details.end_time), (JobState::Running, -1));

    let checkpoint = wait_for("a completed checkpoint", || async {
        client.latest_checkpoint(&running.id).await.ok().flatten()
    })
    .await;
    let folder = checkpoint
        .external_path
        .strip_prefix("file:")
        .expect("a file: path");
    assert!(
        folder.ends_with(&format!("/{}/chk-{}", running.id, checkpoint.id)),
        "{folder}"
    );
    assert!(Path::new(folder).join("_metadata").is_file());

    // The operator's own trigger id: a retried trigger takes no second savepoint.
    let request = SavepointRequest {
        trigger_id: "0123456789abcdef0123456789abcdef".to_owned(),
        target_directory: Some(format!("file://{}", savepoints.display())),
        stop_job: false,
    };
    let trigger = client
        .trigger_savepoint(&running.id, &request)
        .await
        .expect("accepted");
    assert_eq!(trigger, request.trigger_id);
    let retried = client
        .trigger_savepoint(&running.id, &request)
        .await
        .expect("accepted again");
    assert_eq!(retried, trigger);
    let location = wait_for("the savepoint to complete", || async {
        match client.savepoint_status(&running.id, &trigger).await.ok()? {
            SavepointStatus::InProgress => None,
            SavepointStatus::Completed { location } => Some(location),
            SavepointStatus::Failed { cause } => panic!("the savepoint failed: {cause}"),
        }
    })
    .await;
    let savepoint = location.strip_prefix("file:").expect("a file: path");
    assert!(
        Path::new(savepoint).join("_metadata").is_file(),
        "{savepoint}"
    );
    assert_eq!(std::fs::read_dir(savepoints).unwrap().count(), 1);

    // Unknown ids are errors that name the URL and the status.
    let unknown = "ffffffffffffffffffffffffffffffff";
    match client.job_details(unknown).await {
        Err(JobManagerError::Http {
            status, message, ..
        }) => {
            assert_eq!(status, 404);
            assert_eq!(
                message,
                format!("org.apache.flink.runtime.rest.NotFoundException: Job {unknown} not found")
            );
        }
        other => panic!("expected a 404, got {other:?}"),
    }

    client.cancel_job(&running.id).await.expect("202");
    let cancelled = wait_for("the job to be CANCELED", || async {
        let details = client.job_details(&running.id).await.ok()?;
        (details.state == JobState::Canceled).then_some(details)
    })
    .await;
    assert!(cancelled.end_time >= cancelled.start_time);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_client_finds_checkpoints_savepoints_and_cancels_a_running_job() {
    let job = RunningJob::start(2_000).expect("the job starts");
    let client = HttpJobManagerClient::new(&job.rest_url());
    let job_id = wait_for("the job's id", || async { job.job_id() }).await;
    operate(&client, &job_id, &job.savepoints()).await;
    let outcome = tokio::task::spawn_blocking(move || job.finish())
        .await
        .expect("the run ends");
    let error = outcome
        .expect("the run's outcome")
        .expect_err("a cancelled job's run fails");
    assert!(format!("{error:#}").contains("cancel"), "{error:#}");
}

#[test]
fn the_operators_client_operates_a_job_on_a_real_jobmanager_and_taskmanager() {
    let job = ClusterJob::start(2_000).expect("the cluster starts");
    let client = HttpJobManagerClient::new(&job.rest_url());
    // The operator's client on a runtime of its own: the cluster has one too.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(operate(&client, &job.job_id(), &job.savepoints()));
    assert_eq!(
        job.wait(),
        Some(flinkrs_cluster::jobmanager::JobStatus::Canceled)
    );
}
