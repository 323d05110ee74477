//! Jobs on a cluster of a real JobManager and real TaskManagers in one test process, talking
//! gRPC and exchanging records over TCP on loopback: a job spanning TaskManagers gives the
//! results of the local run; a job needing more slots than exist fails after
//! slot.request.timeout; a cancelled job ends CANCELED. The REST API shows the job's plan with
//! its edges and counts its subtasks in the job list.

#[path = "http/support/http.rs"]
#[expect(
    dead_code,
    reason = "shared with the REST tests, which read every field"
)]
mod http;

#[path = "support/cluster.rs"]
#[expect(
    dead_code,
    reason = "the generated input of the shared helpers is not used here"
)]
mod support;

use std::time::Duration;

use flinkrs_cluster::job_spec::spec_of;
use flinkrs_cluster::jobmanager::JobStatus;
use flinkrs_cluster::run::{RunRequest, run_request};
use support::{DEADLINE, cluster, committed_lines, shut_down};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_spanning_task_managers_commits_the_local_runs_results() {
    let dir = tempfile::tempdir().unwrap();
    let request = |output: &str| RunRequest {
        example: "wordcount".to_owned(),
        output: Some(dir.path().join(output)),
        parallelism: Some(4),
        ..RunRequest::default()
    };
    let local = request("local");
    tokio::task::spawn_blocking(move || run_request(&local, |_| {}))
        .await
        .unwrap()
        .unwrap();
    let expected = committed_lines(&dir.path().join("local"));
    assert!(expected.len() > 20, "{} lines", expected.len());

    // Three TaskManagers of two slots: the job's four slots span two of them.
    let (jobmanager, members) = cluster(3, "2").await;
    assert_eq!(jobmanager.slots(), (6, 6));
    let job = jobmanager.submit(spec_of(&request("cluster"))).unwrap();
    let ended = jobmanager.wait_for_job(job, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Finished, "{:?}", ended.failure);
    assert_eq!(ended.name, "WordCount");
    assert_eq!(committed_lines(&dir.path().join("cluster")), expected);
    assert_eq!(jobmanager.slots(), (6, 6), "the job's slots are free again");

    // The REST API, with Flink's paths and field names.
    let rest = jobmanager.rest_address().unwrap();
    let overview = http::get(rest, "/overview").json();
    assert_eq!(overview["taskmanagers"], 3);
    assert_eq!(overview["slots-total"], 6);
    assert_eq!(overview["slots-available"], 6);
    assert_eq!(overview["jobs-finished"], 1);
    assert_eq!(overview["jobs-running"], 0);
    let task_managers = http::get(rest, "/taskmanagers").json();
    let task_managers = task_managers["taskmanagers"].as_array().unwrap();
    assert_eq!(task_managers.len(), 3);
    assert!(
        task_managers
            .iter()
            .all(|tm| tm["slotsNumber"] == 2 && tm["freeSlots"] == 2)
    );
    let jobs = http::get(rest, "/jobs/overview").json();
    let jobs = jobs["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["jid"], job.to_string());
    assert_eq!(jobs[0]["name"], "WordCount");
    assert_eq!(jobs[0]["state"], "FINISHED");
    let details = http::get(rest, &format!("/jobs/{job}")).json();
    let parallelisms: Vec<_> = details["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vertex| vertex["parallelism"].as_u64().unwrap())
        .collect();
    // The built-in lines' source runs at 1; the tokenizer and the counter at 4.
    assert_eq!(parallelisms, [1, 4, 4]);
    // The plan's edges, as Flink lists them: each vertex with the vertices it reads from and
    // how the records are shipped.
    let names: std::collections::BTreeMap<&str, &str> = details["vertices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|vertex| {
            (
                vertex["id"].as_str().unwrap(),
                vertex["name"].as_str().unwrap(),
            )
        })
        .collect();
    let mut edges = Vec::new();
    for node in details["plan"]["nodes"].as_array().unwrap() {
        for input in node["inputs"].as_array().into_iter().flatten() {
            edges.push((
                names[input["id"].as_str().unwrap()],
                names[node["id"].as_str().unwrap()],
                input["ship_strategy"].as_str().unwrap(),
                input["num"].as_u64().unwrap(),
            ));
        }
    }
    edges.sort_unstable();
    assert_eq!(
        edges,
        [
            ("Source: Collection Source", "Tokenizer", "REBALANCE", 0),
            ("Tokenizer", "Counter -> Map -> Sink: File Sink", "HASH", 0),
        ],
        "{}",
        details["plan"]
    );
    // The job list counts the job's subtasks: 1 + 4 + 4, all finished.
    assert_eq!(jobs[0]["tasks"]["total"], 9, "{}", jobs[0]);
    assert_eq!(jobs[0]["tasks"]["finished"], 9, "{}", jobs[0]);
    assert_eq!(
        http::get(rest, "/jobs/00000000000000000000000000000000").status,
        404
    );
    shut_down(jobmanager, members).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_needing_more_slots_than_exist_fails_after_the_slot_request_timeout() {
    let (jobmanager, members) = cluster(1, "2").await;
    let mut request = RunRequest {
        example: "wordcount".to_owned(),
        parallelism: Some(3),
        ..RunRequest::default()
    };
    request
        .dynamic_properties
        .push("slot.request.timeout=300 ms".to_owned());
    let job = jobmanager.submit(spec_of(&request)).unwrap();
    let ended = jobmanager.wait_for_job(job, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Failed);
    let failure = ended.failure.unwrap();
    assert!(
        failure.contains(
            "the job needs 3 slots and got none within slot.request.timeout (300ms): the \
             cluster has 2 free of 2"
        ),
        "{failure}"
    );
    assert_eq!(jobmanager.slots(), (2, 2));
    shut_down(jobmanager, members).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_job_ends_canceled_and_frees_its_slots() {
    let (jobmanager, members) = cluster(2, "1").await;
    let request = RunRequest {
        example: "wordcount".to_owned(),
        parallelism: Some(2),
        // Slow enough to be running when the cancel arrives.
        records_per_second: Some(5),
        ..RunRequest::default()
    };
    let job = jobmanager.submit(spec_of(&request)).unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while jobmanager.job(job).unwrap().status != JobStatus::Running {
        assert!(tokio::time::Instant::now() < deadline, "the job never ran");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(jobmanager.cancel(job).await);
    let ended = jobmanager.wait_for_job(job, DEADLINE).await.unwrap();
    assert_eq!(ended.status, JobStatus::Canceled, "{:?}", ended.failure);
    assert_eq!(jobmanager.slots(), (2, 2));
    shut_down(jobmanager, members).await;
}
