//! Flink's REST types against real Flink 2.3 responses (`tests/recordings/rest/`): every
//! recording deserializes into its type, and serializing that again gives the same fields, with
//! the same names, nesting, JSON types and values.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use flinkrs_contract::rest::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn recordings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/recordings/rest")
}

fn recording(name: &str) -> String {
    let path = recordings().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Where `ours` differs from `flinks`: paths to fields missing, extra, of another JSON type, or
/// with another value. Numbers compare by value (`1384` equals `1384.0`).
fn differences(path: &str, flinks: &Value, ours: &Value, found: &mut Vec<String>) {
    match (flinks, ours) {
        (Value::Object(flinks), Value::Object(ours)) => {
            let flink_keys: BTreeSet<&String> = flinks.keys().collect();
            let our_keys: BTreeSet<&String> = ours.keys().collect();
            for missing in flink_keys.difference(&our_keys) {
                found.push(format!("{path}.{missing}: missing"));
            }
            for extra in our_keys.difference(&flink_keys) {
                found.push(format!("{path}.{extra}: not in Flink's response"));
            }
            for key in flink_keys.intersection(&our_keys) {
                differences(&format!("{path}.{key}"), &flinks[*key], &ours[*key], found);
            }
        }
        (Value::Array(flinks), Value::Array(ours)) => {
            if flinks.len() != ours.len() {
                found.push(format!(
                    "{path}: {} elements, not {}",
                    ours.len(),
                    flinks.len()
                ));
            }
            for (index, (flink, our)) in flinks.iter().zip(ours).enumerate() {
                differences(&format!("{path}[{index}]"), flink, our, found);
            }
        }
        (Value::Number(flink), Value::Number(our)) => {
            if flink.as_f64() != our.as_f64() {
                found.push(format!("{path}: {our}, not {flink}"));
            }
        }
        (flink, our) if flink == our => {}
        (flink, our) => found.push(format!("{path}: {our}, not {flink}")),
    }
}

/// Reads recording `name` as a `T`, writes it back, and checks nothing changed.
fn conforms<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let text = recording(name);
    let flinks: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let typed: T = serde_json::from_str(&text)
        .unwrap_or_else(|error| panic!("{name} does not deserialize: {error}"));
    let ours = serde_json::to_value(&typed).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut found = Vec::new();
    differences("$", &flinks, &ours, &mut found);
    assert!(found.is_empty(), "{name}:\n  {}", found.join("\n  "));
    typed
}

/// Every recording and the type it is checked against; `None` for endpoints flinkrs does not
/// serve (yet).
type Check = Option<fn(&str)>;

const RECORDINGS: &[(&str, Check)] = &[
    (
        "config.json",
        Some(|n| drop(conforms::<DashboardConfiguration>(n))),
    ),
    (
        "overview.json",
        Some(|n| drop(conforms::<ClusterOverview>(n))),
    ),
    (
        "overview_after.json",
        Some(|n| drop(conforms::<ClusterOverview>(n))),
    ),
    (
        "overview_running.json",
        Some(|n| drop(conforms::<ClusterOverview>(n))),
    ),
    (
        "jobmanager_config.json",
        Some(|n| drop(conforms::<Vec<ConfigurationEntry>>(n))),
    ),
    (
        "taskmanagers.json",
        Some(|n| drop(conforms::<TaskManagersInfo>(n))),
    ),
    (
        "taskmanager_detail.json",
        Some(|n| drop(conforms::<TaskManagerDetails>(n))),
    ),
    (
        "taskmanager_detail_running.json",
        Some(|n| drop(conforms::<TaskManagerDetails>(n))),
    ),
    ("jobs.json", Some(|n| drop(conforms::<JobIdsWithStatus>(n)))),
    (
        "jobs_empty.json",
        Some(|n| drop(conforms::<JobIdsWithStatus>(n))),
    ),
    (
        "jobs_running.json",
        Some(|n| drop(conforms::<JobIdsWithStatus>(n))),
    ),
    (
        "jobs_overview_empty.json",
        Some(|n| drop(conforms::<MultipleJobsDetails>(n))),
    ),
    (
        "jobs_overview_running.json",
        Some(|n| drop(conforms::<MultipleJobsDetails>(n))),
    ),
    (
        "jobs_overview_after.json",
        Some(|n| drop(conforms::<MultipleJobsDetails>(n))),
    ),
    (
        "job_running.json",
        Some(|n| drop(conforms::<JobDetails>(n))),
    ),
    (
        "job_running2.json",
        Some(|n| drop(conforms::<JobDetails>(n))),
    ),
    (
        "job_finished.json",
        Some(|n| drop(conforms::<JobDetails>(n))),
    ),
    (
        "job_cancelled.json",
        Some(|n| drop(conforms::<JobDetails>(n))),
    ),
    ("failed_job.json", Some(|n| drop(conforms::<JobDetails>(n)))),
    (
        "stop_job_after.json",
        Some(|n| drop(conforms::<JobDetails>(n))),
    ),
    ("job_plan.json", Some(|n| drop(conforms::<JobPlanInfo>(n)))),
    (
        "keyed_job_plan.json",
        Some(|n| drop(conforms::<JobPlanInfo>(n))),
    ),
    ("job_config.json", Some(|n| drop(conforms::<JobConfig>(n)))),
    (
        "job_exceptions.json",
        Some(|n| drop(conforms::<JobExceptions>(n))),
    ),
    (
        "failed_job_exceptions.json",
        Some(|n| drop(conforms::<JobExceptions>(n))),
    ),
    (
        "keyed_job_exceptions_empty.json",
        Some(|n| drop(conforms::<JobExceptions>(n))),
    ),
    (
        "job_checkpoints.json",
        Some(|n| drop(conforms::<CheckpointingStatistics>(n))),
    ),
    (
        "keyed_job_checkpoints.json",
        Some(|n| drop(conforms::<CheckpointingStatistics>(n))),
    ),
    (
        "savepoint_job_checkpoints_after.json",
        Some(|n| drop(conforms::<CheckpointingStatistics>(n))),
    ),
    (
        "stop_job_checkpoints_after.json",
        Some(|n| drop(conforms::<CheckpointingStatistics>(n))),
    ),
    (
        "keyed_job_checkpoints_config.json",
        Some(|n| drop(conforms::<CheckpointConfig>(n))),
    ),
    (
        "job_vertex.json",
        Some(|n| drop(conforms::<JobVertexDetails>(n))),
    ),
    (
        "job_vertex_watermarks.json",
        Some(|n| drop(conforms::<Vec<MetricValue>>(n))),
    ),
    (
        "job_vertex_metrics.json",
        Some(|n| drop(conforms::<Vec<AggregatedMetric>>(n))),
    ),
    (
        "job_vertex_subtasks_metrics_get_numRecordsOut_numRecordsOutPerSecond.json",
        Some(|n| drop(conforms::<Vec<AggregatedMetric>>(n))),
    ),
    (
        "keyed_job_vertex_subtasks_metrics_first_request.json",
        Some(|n| drop(conforms::<Vec<AggregatedMetric>>(n))),
    ),
    (
        "keyed_job_vertex_subtasks_metrics_src.json",
        Some(|n| drop(conforms::<Vec<AggregatedMetric>>(n))),
    ),
    (
        "keyed_job_vertex_subtasks_metrics_src_get.json",
        Some(|n| drop(conforms::<Vec<AggregatedMetric>>(n))),
    ),
    (
        "keyed_job_vertex_subtasks_metrics_agg.json",
        Some(|n| drop(conforms::<Vec<AggregatedMetric>>(n))),
    ),
    (
        "keyed_job_vertex_subtasks_metrics_agg_get.json",
        Some(|n| drop(conforms::<Vec<AggregatedMetric>>(n))),
    ),
    (
        "savepoint_trigger.json",
        Some(|n| drop(conforms::<TriggerResponse>(n))),
    ),
    (
        "savepoint_trigger_with_id.json",
        Some(|n| drop(conforms::<TriggerResponse>(n))),
    ),
    (
        "savepoint_trigger_with_id_repeat_immediately.json",
        Some(|n| drop(conforms::<TriggerResponse>(n))),
    ),
    (
        "savepoint_trigger_with_id_repeat_after_completed.json",
        Some(|n| drop(conforms::<TriggerResponse>(n))),
    ),
    (
        "savepoint_trigger_unwritable.json",
        Some(|n| drop(conforms::<TriggerResponse>(n))),
    ),
    (
        "savepoint_trigger_body_unknown_field.json",
        Some(|n| drop(conforms::<TriggerResponse>(n))),
    ),
    (
        "stop_trigger.json",
        Some(|n| drop(conforms::<TriggerResponse>(n))),
    ),
    (
        "savepoint_status_in_progress.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "savepoint_status_completed.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "savepoint_with_id_status_in_progress.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "savepoint_with_id_status_completed.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "savepoint_with_id_status_after_repeat.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "savepoint_unwritable_status_in_progress.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "savepoint_unwritable_status_completed.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "stop_status_in_progress.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "stop_status_completed.json",
        Some(|n| drop(conforms::<AsynchronousOperationResult>(n))),
    ),
    (
        "error_checkpoint_details_nonnumeric_id.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    (
        "error_checkpoint_details_not_in_history.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    (
        "error_job_unknown.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    (
        "error_savepoint_body_invalid_json.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    (
        "error_savepoint_body_wrong_type.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    (
        "error_savepoint_trigger_id_not_hex.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    (
        "error_savepoint_trigger_not_hex.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    (
        "error_savepoint_unknown_trigger.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    (
        "error_unknown_path.json",
        Some(|n| drop(conforms::<ErrorResponse>(n))),
    ),
    // Endpoints outside the issue's list.
    ("job_accumulators.json", None),
    ("job_status.json", None),
    ("job_finished_execution_result.json", None),
    ("keyed_job_checkpoint_details.json", None),
    ("keyed_job_checkpoint_details_subtasks_agg.json", None),
    ("keyed_job_vertex_backpressure_agg.json", None),
    ("keyed_job_vertex_backpressure_src.json", None),
];

#[test]
fn every_recorded_response_round_trips_through_its_type_field_by_field() {
    let mut checked = 0;
    for (name, check) in RECORDINGS {
        if let Some(check) = check {
            check(name);
            checked += 1;
        }
    }
    assert_eq!(checked, 65);
}

#[test]
fn every_json_recording_is_listed() {
    let listed: BTreeSet<&str> = RECORDINGS.iter().map(|(name, _)| *name).collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(recordings())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".json"))
        .collect();
    let unlisted: Vec<&String> = on_disk
        .iter()
        .filter(|n| !listed.contains(n.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "recordings without a type: {unlisted:?}"
    );
    assert_eq!(
        listed.len(),
        on_disk.len(),
        "listed recordings that are not on disk"
    );
}

#[test]
fn recorded_values_read_as_flink_means_them() {
    let jobs: MultipleJobsDetails = conforms("jobs_overview_running.json");
    assert_eq!(jobs.jobs[0].state, JobState::Running);
    assert_eq!(jobs.jobs[0].jid, "f99bfd0afc365abfb8b23641b7d0b785");
    assert_eq!(jobs.jobs[0].end_time, -1);
    let details: JobDetails = conforms("job_running.json");
    assert!(details.vertices[0].metrics.accumulated_busy_time == 0.0);
    let vertex: JobVertexDetails = conforms("job_vertex.json");
    assert!(vertex.subtasks[0].metrics.accumulated_busy_time.is_nan());
    let statistics: CheckpointingStatistics = conforms("keyed_job_checkpoints.json");
    let latest = statistics.latest.completed.unwrap();
    assert_eq!(latest.id, 13);
    assert_eq!(
        latest.external_path.as_deref(),
        Some("file:/data/flink/checkpoints/8de18148014df1893564ed58d2a94095/chk-13")
    );
    assert_eq!(statistics.counts.failed, 1);
    let stopped: CheckpointingStatistics = conforms("stop_job_checkpoints_after.json");
    let failed = stopped.latest.failed.unwrap();
    assert_eq!(failed.class_name, "failed");
    assert!(failed.external_path.is_none() && failed.failure_message.is_some());
    let completed: AsynchronousOperationResult = conforms("savepoint_status_completed.json");
    assert_eq!(completed.status.id, OperationStatus::Completed);
    assert!(
        completed
            .operation
            .unwrap()
            .location
            .unwrap()
            .starts_with("file:/data/flink/")
    );
    let failure: AsynchronousOperationResult =
        conforms("savepoint_unwritable_status_completed.json");
    let cause = failure.operation.unwrap().failure_cause.unwrap();
    assert_eq!(cause.class, "java.util.concurrent.CompletionException");
    let trigger: TriggerResponse = conforms("savepoint_trigger_with_id.json");
    assert_eq!(
        trigger.request_id.as_str(),
        "a1b2c3d4e5f60718293a4b5c6d7e8f90"
    );
    let error: ErrorResponse = conforms("error_job_unknown.json");
    assert!(
        error.reason().starts_with(
            "org.apache.flink.runtime.rest.NotFoundException: Job 0123456789abcdef0123456789abcdef not found"
        ),
        "{}",
        error.reason()
    );
}

/// The request bodies of `status.log`, and what Flink answered to each: 202 or 400.
#[test]
fn savepoint_request_bodies_are_accepted_and_refused_as_flink_does() {
    let accepted = [
        r#"{"target-directory": "file:///data/flink/savepoints/sp-plain", "cancel-job": false}"#,
        r#"{"target-directory": "file:///data/flink/savepoints/x", "no-such-field": 1}"#,
        r#"{"target-directory": "file:///data/flink/savepoints/sp-with-id", "cancel-job": false, "triggerId": "a1b2c3d4e5f60718293a4b5c6d7e8f90"}"#,
    ];
    for body in accepted {
        serde_json::from_str::<SavepointTriggerRequest>(body)
            .unwrap_or_else(|e| panic!("{body}: {e}"));
    }
    let with_id: SavepointTriggerRequest = serde_json::from_str(accepted[2]).unwrap();
    assert_eq!(
        with_id,
        SavepointTriggerRequest {
            target_directory: Some("file:///data/flink/savepoints/sp-with-id".into()),
            cancel_job: false,
            trigger_id: Some(TriggerId::parse("a1b2c3d4e5f60718293a4b5c6d7e8f90").unwrap()),
            format_type: None,
        }
    );
    let refused = [
        r#"{"target-directory": "#,
        r#"{"target-directory": "x", "cancel-job": "maybe"}"#,
        r#"{"target-directory": "file:///data/flink/savepoints/x", "triggerId": "nothex"}"#,
    ];
    for body in refused {
        assert!(
            serde_json::from_str::<SavepointTriggerRequest>(body).is_err(),
            "{body}"
        );
    }
    let stop: StopWithSavepointRequest = serde_json::from_str(
        r#"{"targetDirectory": "file:///data/flink/savepoints/stop", "drain": false}"#,
    )
    .unwrap();
    assert_eq!(
        stop.target_directory.as_deref(),
        Some("file:///data/flink/savepoints/stop")
    );
    assert!(!stop.drain);
}

#[test]
fn checkpoint_summaries_are_computed_as_flink_reports_them() {
    let empty = StatisticsSummary::of(&[]);
    assert_eq!((empty.min, empty.max, empty.avg), (0, 0, 0));
    assert!(empty.p50.is_nan());
    assert_eq!(
        serde_json::to_value(&empty).unwrap()["p99"],
        Value::String("NaN".into())
    );
    let summary = StatisticsSummary::of(&[40, 10, 30, 20]);
    assert_eq!((summary.min, summary.max, summary.avg), (10, 40, 25));
    assert_eq!(summary.p50, 25.0);
    assert_eq!(summary.p999, 40.0);
}
