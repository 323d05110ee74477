//! Flink's REST API over real HTTP on loopback, against a real running job of the in-process
//! cluster: what a laptop user's `curl` and the operator see while `flinkrs run` runs. Every
//! response is read back into its contract type and its field names are compared with the
//! responses recorded from Flink 2.3 (`runtime/contract/tests/recordings/rest/`).

use std::collections::BTreeSet;
use std::path::Path;

use super::support::http::{Response, get, request};
use super::support::job::{RunningJob, wait_for};
use flinkrs_contract::rest;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn recording(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contract/tests/recordings/rest")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Keys whose children are data (states, metric names, configuration keys), not field names.
const DATA_KEYED: [&str; 4] = [
    "status-duration",
    "user-config",
    "extendedResources",
    "failureLabels",
];

/// Where `ours` has other field names than Flink's `recorded`, recursively (arrays by their
/// first elements).
fn field_differences(path: &str, ours: &Value, recorded: &Value, found: &mut Vec<String>) {
    match (ours, recorded) {
        (Value::Object(ours), Value::Object(recorded)) => {
            let our_keys: BTreeSet<&String> = ours.keys().collect();
            let flink_keys: BTreeSet<&String> = recorded.keys().collect();
            if our_keys != flink_keys {
                found.push(format!(
                    "{path}: ours {:?}, Flink's {:?}",
                    our_keys.difference(&flink_keys).collect::<Vec<_>>(),
                    flink_keys.difference(&our_keys).collect::<Vec<_>>()
                ));
            }
            for key in our_keys.intersection(&flink_keys) {
                if !DATA_KEYED.contains(&key.as_str()) {
                    field_differences(
                        &format!("{path}.{key}"),
                        &ours[*key],
                        &recorded[*key],
                        found,
                    );
                }
            }
        }
        (Value::Array(ours), Value::Array(recorded)) => {
            if let (Some(our), Some(flinks)) = (ours.first(), recorded.first()) {
                field_differences(&format!("{path}[0]"), our, flinks, found);
            }
        }
        _ => {}
    }
}

/// Reads `response` as a `T` (strictly: every field Flink's type has) and checks its field
/// names against the recording.
fn conforms<T: DeserializeOwned>(response: &Response, recorded: &str) -> T {
    assert_eq!(response.content_type, "application/json; charset=UTF-8");
    let ours = response.json();
    let mut found = Vec::new();
    field_differences("$", &ours, &recording(recorded), &mut found);
    assert!(found.is_empty(), "{recorded}:\n  {}", found.join("\n  "));
    serde_json::from_value(ours).unwrap_or_else(|error| {
        panic!(
            "{} is not a {}: {error}",
            response.body,
            std::any::type_name::<T>()
        )
    })
}

#[test]
fn a_running_job_is_served_with_flinks_paths_and_field_names_until_it_is_cancelled() {
    let job = RunningJob::start();
    let address = job.address();
    let job_id = job.job_id();

    let config: rest::DashboardConfiguration = conforms(&get(address, "/config"), "config.json");
    assert_eq!(config.flink_version, "2.3.0");
    let overview: rest::ClusterOverview =
        conforms(&get(address, "/overview"), "overview_running.json");
    // taskmanager.numberOfTaskSlots is 1: two TaskManagers for parallelism 2.
    assert_eq!((overview.jobs_running, overview.taskmanagers), (1, 2));
    assert_eq!((overview.slots_total, overview.slots_available), (2, 0));
    let jobs: rest::JobIdsWithStatus = conforms(&get(address, "/jobs"), "jobs_running.json");
    assert_eq!(
        jobs.jobs,
        [rest::JobIdWithStatus {
            id: job_id.clone(),
            status: rest::JobState::Running
        }]
    );
    let summary: rest::MultipleJobsDetails = conforms(
        &get(address, "/jobs/overview"),
        "jobs_overview_running.json",
    );
    assert_eq!(summary.jobs[0].name, "rest-probe");
    assert_eq!(summary.jobs[0].end_time, -1);
    assert_eq!(summary.jobs[0].tasks.running, summary.jobs[0].tasks.total);

    let details: rest::JobDetails = conforms(
        &get(address, &format!("/jobs/{job_id}")),
        "job_running.json",
    );
    assert_eq!(details.state, rest::JobState::Running);
    assert_eq!(details.timestamps.len(), 11);
    assert!(
        details
            .vertices
            .iter()
            .all(|vertex| vertex.parallelism == 2 && vertex.status == "RUNNING")
    );
    let source = &details.vertices[0];
    assert!(source.name.starts_with("Source: "), "{}", source.name);
    let plan: rest::JobPlanInfo = conforms(
        &get(address, &format!("/jobs/{job_id}/plan")),
        "job_plan.json",
    );
    assert_eq!(plan.plan.nodes.len(), details.vertices.len());
    assert!(plan.plan.nodes.iter().any(|node| {
        node.inputs
            .as_ref()
            .is_some_and(|inputs| inputs[0].ship_strategy == "HASH")
    }));
    let job_config: rest::JobConfig = conforms(
        &get(address, &format!("/jobs/{job_id}/config")),
        "job_config.json",
    );
    assert_eq!(job_config.execution_config.job_parallelism, 2);
    assert_eq!(
        job_config.execution_config.user_config["pipeline.name"],
        "rest-probe"
    );
    let exceptions: rest::JobExceptions = conforms(
        &get(address, &format!("/jobs/{job_id}/exceptions")),
        "keyed_job_exceptions_empty.json",
    );
    assert!(exceptions.exception_history.entries.is_empty());
    let checkpoint_config: rest::CheckpointConfig = conforms(
        &get(address, &format!("/jobs/{job_id}/checkpoints/config")),
        "keyed_job_checkpoints_config.json",
    );
    assert_eq!(checkpoint_config.interval, 100);

    // The records counted rise while the job runs, in the vertex's subtasks.
    let vertex_path = format!("/jobs/{job_id}/vertices/{}", source.id);
    let vertex: rest::JobVertexDetails = conforms(&get(address, &vertex_path), "job_vertex.json");
    assert_eq!(vertex.subtasks.len(), 2);
    let written = wait_for("the source to emit records", || {
        let metrics: Vec<rest::AggregatedMetric> = serde_json::from_str(
            &get(
                address,
                &format!("{vertex_path}/subtasks/metrics?get=numRecordsOut"),
            )
            .body,
        )
        .ok()?;
        metrics
            .first()
            .and_then(|metric| metric.sum)
            .filter(|sum| *sum > 0.0)
    });
    assert!(written > 0.0);
    let names: Vec<rest::AggregatedMetric> = conforms(
        &get(address, &format!("{vertex_path}/subtasks/metrics")),
        "keyed_job_vertex_subtasks_metrics_src.json",
    );
    assert!(names.iter().any(|metric| metric.id == "numRecordsOut"));
    assert!(
        names
            .iter()
            .any(|metric| metric.id == "busyTimeMsPerSecond")
    );
    let watermarks = get(address, &format!("{vertex_path}/watermarks"));
    assert_eq!(watermarks.status, 200);
    let _: Vec<rest::MetricValue> = serde_json::from_str(&watermarks.body).unwrap();

    // Completed checkpoints are counted, and the count rises.
    let checkpoints_path = format!("/jobs/{job_id}/checkpoints");
    let first = wait_for("two completed checkpoints", || {
        let statistics: rest::CheckpointingStatistics =
            serde_json::from_str(&get(address, &checkpoints_path).body).ok()?;
        (statistics.counts.completed >= 2).then_some(statistics)
    });
    // Flink's recording has a completed checkpoint first in its history; with a checkpoint
    // every 100 ms, ours may have one in progress there, whose fields differ: compare an
    // answer whose newest entry is completed.
    let completed_first = wait_for("statistics with a completed newest checkpoint", || {
        let response = get(address, &checkpoints_path);
        let value: Value = serde_json::from_str(&response.body).ok()?;
        (value["history"][0]["status"] == "COMPLETED").then_some(response)
    });
    let statistics: rest::CheckpointingStatistics =
        conforms(&completed_first, "keyed_job_checkpoints.json");
    let later = wait_for("another completed checkpoint", || {
        let statistics: rest::CheckpointingStatistics =
            serde_json::from_str(&get(address, &checkpoints_path).body).ok()?;
        (statistics.counts.completed > statistics_completed(&first)).then_some(statistics)
    });
    assert!(later.counts.total >= later.counts.completed);
    let latest = statistics.latest.completed.expect("a completed checkpoint");
    let folder = latest.external_path.expect("its folder");
    let folder = folder.strip_prefix("file:").expect("a file: location");
    assert!(
        Path::new(folder).join("_metadata").is_file(),
        "{folder} has no _metadata"
    );
    assert_eq!(latest.status, "COMPLETED");

    let task_managers: rest::TaskManagersInfo =
        conforms(&get(address, "/taskmanagers"), "taskmanagers.json");
    let tm_id = &task_managers.taskmanagers[0].id;
    let tm: rest::TaskManagerDetails = conforms(
        &get(address, &format!("/taskmanagers/{tm_id}")),
        "taskmanager_detail_running.json",
    );
    assert_eq!((tm.info.slots_number, tm.info.free_slots), (1, 0));
    assert_eq!(tm.allocated_slots[0].job_id, job_id);
    let jobmanager_config: Vec<rest::ConfigurationEntry> = conforms(
        &get(address, "/jobmanager/config"),
        "jobmanager_config.json",
    );
    assert!(
        jobmanager_config
            .iter()
            .any(|entry| entry.key == "execution.checkpointing.interval" && entry.value == "100ms")
    );

    // Cancel: 202 with {}, then the job ends CANCELED.
    let cancel = request(
        address,
        "PATCH",
        &format!("/jobs/{job_id}?mode=cancel"),
        None,
    );
    assert_eq!((cancel.status, cancel.body.as_str()), (202, "{}"));
    wait_for("the job to be CANCELED", || {
        let details: rest::JobDetails =
            serde_json::from_str(&get(address, &format!("/jobs/{job_id}")).body).ok()?;
        (details.state == rest::JobState::Canceled).then_some(())
    });
    let cancelled: rest::JobDetails = conforms(
        &get(address, &format!("/jobs/{job_id}")),
        "job_cancelled.json",
    );
    assert!(cancelled.end_time >= cancelled.start_time);
    let after: rest::ClusterOverview = conforms(&get(address, "/overview"), "overview_after.json");
    assert_eq!((after.jobs_running, after.jobs_cancelled), (0, 1));
    drop(job);
}

fn statistics_completed(statistics: &rest::CheckpointingStatistics) -> u64 {
    statistics.counts.completed
}

#[test]
fn savepoints_are_idempotent_by_trigger_id_and_complete_with_a_location_that_exists() {
    let job = RunningJob::start();
    let address = job.address();
    let job_id = job.job_id();
    let target = job.savepoints();
    let body = format!(
        r#"{{"target-directory": "file://{}", "cancel-job": false, "triggerId": "a1b2c3d4e5f60718293a4b5c6d7e8f90"}}"#,
        target.display()
    );
    let path = format!("/jobs/{job_id}/savepoints");
    let trigger = request(address, "POST", &path, Some(&body));
    assert_eq!(trigger.status, 202, "{}", trigger.body);
    let accepted: rest::TriggerResponse = conforms(&trigger, "savepoint_trigger_with_id.json");
    assert_eq!(
        accepted.request_id.as_str(),
        "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    );
    let again = request(address, "POST", &path, Some(&body));
    assert_eq!(
        (again.status, again.body.as_str()),
        (202, trigger.body.as_str())
    );
    let status_path = format!("{path}/a1b2c3d4e5f60718293a4b5c6d7e8f90");
    let location = wait_for("the savepoint to complete", || {
        let status: rest::AsynchronousOperationResult =
            serde_json::from_str(&get(address, &status_path).body).ok()?;
        if status.status.id == rest::OperationStatus::InProgress {
            return None;
        }
        Some(status.operation.and_then(|operation| operation.location))
    })
    .expect("a location, not a failure");
    let completed: rest::AsynchronousOperationResult = conforms(
        &get(address, &status_path),
        "savepoint_with_id_status_completed.json",
    );
    assert_eq!(
        completed.operation.unwrap().location.as_deref(),
        Some(location.as_str())
    );
    let folder = location.strip_prefix("file:").expect("a file: location");
    assert!(
        Path::new(folder).join("_metadata").is_file(),
        "{folder} has no _metadata"
    );
    assert!(
        folder.starts_with(&target.display().to_string()),
        "{folder}"
    );

    // The same trigger after completion: the same operation, and no second savepoint.
    let third = request(address, "POST", &path, Some(&body));
    assert_eq!(
        (third.status, third.body.as_str()),
        (202, trigger.body.as_str())
    );
    let repeated: rest::AsynchronousOperationResult =
        serde_json::from_str(&get(address, &status_path).body).unwrap();
    assert_eq!(
        repeated.operation.unwrap().location.as_deref(),
        Some(location.as_str())
    );
    let savepoints = std::fs::read_dir(&target).unwrap().count();
    assert_eq!(
        savepoints, 1,
        "one savepoint for three triggers with one id"
    );

    // A trigger without an id gets a fresh one; the savepoint shows in the statistics.
    let plain = request(address, "POST", &path, Some(r#"{"cancel-job": false}"#));
    assert_eq!(plain.status, 202);
    let plain: rest::TriggerResponse = serde_json::from_str(&plain.body).unwrap();
    assert_ne!(
        plain.request_id.as_str(),
        "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    );
    let failed = wait_for("the second savepoint to end", || {
        let status: rest::AsynchronousOperationResult =
            serde_json::from_str(&get(address, &format!("{path}/{}", plain.request_id)).body)
                .ok()?;
        (status.status.id == rest::OperationStatus::Completed).then_some(status)
    });
    // No target and no execution.checkpointing.savepoint-dir: a failure, reported as Flink does.
    let cause = failed
        .operation
        .unwrap()
        .failure_cause
        .expect("a failure cause");
    assert!(
        cause
            .stack_trace
            .contains("execution.checkpointing.savepoint-dir"),
        "{}",
        cause.stack_trace
    );
    let statistics: rest::CheckpointingStatistics =
        serde_json::from_str(&get(address, &format!("/jobs/{job_id}/checkpoints")).body).unwrap();
    let savepoint = statistics
        .latest
        .savepoint
        .expect("the savepoint in the statistics");
    assert!(savepoint.is_savepoint);
    assert_eq!(savepoint.external_path.as_deref(), Some(location.as_str()));
    drop(job);
}

#[test]
fn unknown_ids_are_404_and_malformed_requests_400_with_flinks_error_body() {
    let job = RunningJob::start();
    let address = job.address();
    let job_id = job.job_id();
    let unknown_path = get(address, "/nonexistent-path");
    assert_eq!(unknown_path.status, 404);
    assert_eq!(unknown_path.json(), recording("error_unknown_path.json"));

    let unknown_job = "0123456789abcdef0123456789abcdef";
    for (method, path) in [
        ("GET", format!("/jobs/{unknown_job}")),
        ("GET", format!("/jobs/{unknown_job}/checkpoints")),
        ("PATCH", format!("/jobs/{unknown_job}?mode=cancel")),
        ("POST", format!("/jobs/{unknown_job}/savepoints")),
        (
            "GET",
            format!("/jobs/{job_id}/savepoints/ffffffffffffffffffffffffffffffff"),
        ),
        (
            "GET",
            format!("/jobs/{job_id}/vertices/ffffffffffffffffffffffffffffffff"),
        ),
        ("GET", "/taskmanagers/no-such-taskmanager".to_owned()),
    ] {
        let response = request(address, method, &path, Some("{}"));
        assert_eq!(response.status, 404, "{method} {path}: {}", response.body);
        let error: rest::ErrorResponse = conforms(&response, "error_job_unknown.json");
        assert!(!error.reason().is_empty());
    }
    let error: rest::ErrorResponse =
        serde_json::from_str(&get(address, &format!("/jobs/{unknown_job}")).body).unwrap();
    assert_eq!(
        error.reason(),
        "org.apache.flink.runtime.rest.NotFoundException: Job 0123456789abcdef0123456789abcdef not found"
    );
    let unknown_trigger: rest::ErrorResponse = serde_json::from_str(
        &get(
            address,
            &format!("/jobs/{job_id}/savepoints/ffffffffffffffffffffffffffffffff"),
        )
        .body,
    )
    .unwrap();
    assert_eq!(
        unknown_trigger.reason(),
        format!(
            "org.apache.flink.runtime.rest.handler.RestHandlerException: There is no savepoint \
             operation with triggerId=ffffffffffffffffffffffffffffffff for job {job_id}."
        )
    );

    let savepoints = format!("/jobs/{job_id}/savepoints");
    for body in [
        r#"{"target-directory": "#,
        r#"{"target-directory": "x", "cancel-job": "maybe"}"#,
        r#"{"target-directory": "x", "triggerId": "nothex"}"#,
    ] {
        let response = request(address, "POST", &savepoints, Some(body));
        assert_eq!(response.status, 400, "{body}: {}", response.body);
        let error: rest::ErrorResponse =
            conforms(&response, "error_savepoint_body_invalid_json.json");
        assert_eq!(
            error.reason(),
            "org.apache.flink.runtime.rest.handler.RestHandlerException: Request did not match \
             expected format SavepointTriggerRequestBody."
        );
    }
    let not_hex = get(address, &format!("{savepoints}/not-a-trigger-id"));
    assert_eq!(not_hex.status, 400);
    let error: rest::ErrorResponse = conforms(&not_hex, "error_savepoint_trigger_not_hex.json");
    assert_eq!(
        error.reason(),
        "org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could not parse \
         parameters: Cannot resolve path parameter (triggerid) from value \"not-a-trigger-id\"."
    );
    assert_eq!(get(address, "/jobs/not-a-job-id").status, 400);
    let stop = request(
        address,
        "POST",
        &format!("/jobs/{job_id}/stop"),
        Some(r#"{"drain": "yes"}"#),
    );
    assert_eq!(stop.status, 400);

    // The rejected requests changed nothing: the job still runs, and no savepoint was taken.
    let details: rest::JobDetails =
        serde_json::from_str(&get(address, &format!("/jobs/{job_id}")).body).unwrap();
    assert_eq!(details.state, rest::JobState::Running);
    assert!(!job.savepoints().exists());
    drop(job);
}
