//! What the operator reads from a JobManager, reduced from Flink's REST responses. The wire
//! types, with Flink's JSON field names, are the contract crate's (`flinkrs_contract::rest`),
//! shared with the runtime's REST server.

use flinkrs_contract::rest;

pub use flinkrs_contract::rest::JobState;

/// One job of `GET /jobs/overview`: the fields the operator decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    pub id: String,
    pub name: String,
    pub state: JobState,
    /// Milliseconds since the epoch.
    pub start_time: i64,
}

impl From<rest::JobSummary> for JobSummary {
    fn from(job: rest::JobSummary) -> Self {
        JobSummary {
            id: job.jid,
            name: job.name,
            state: job.state,
            start_time: job.start_time,
        }
    }
}

/// The part of `GET /jobs/:id` the operator reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobDetails {
    pub id: String,
    pub name: String,
    pub state: JobState,
    pub start_time: i64,
    /// -1 while the job runs.
    pub end_time: i64,
}

impl From<rest::JobDetails> for JobDetails {
    fn from(job: rest::JobDetails) -> Self {
        JobDetails {
            id: job.jid,
            name: job.name,
            state: job.state,
            start_time: job.start_time,
            end_time: job.end_time,
        }
    }
}

/// `GET /jobs/:id/savepoints/:triggerid`, reduced to what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavepointStatus {
    InProgress,
    Completed { location: String },
    Failed { cause: String },
}

/// `latest.completed` of `GET /jobs/:id/checkpoints`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LatestCheckpoint {
    pub id: i64,
    pub external_path: String,
}

/// The latest failed checkpoint of `GET /jobs/:id/checkpoints`, when no checkpoint completed
/// after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointFailure {
    pub id: u64,
    /// Flink's `failure_message`: the runtime names the storage and what to check.
    pub message: String,
}

impl CheckpointFailure {
    pub fn of(latest: &rest::LatestCheckpoints) -> Option<Self> {
        let failed = latest.failed.as_ref()?;
        if latest
            .completed
            .as_ref()
            .is_some_and(|completed| completed.id > failed.id)
        {
            return None;
        }
        Some(CheckpointFailure {
            id: failed.id,
            message: failed
                .failure_message
                .clone()
                .unwrap_or_else(|| "the JobManager gave no reason".to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(id: u64, status: &str, failure_message: Option<&str>) -> serde_json::Value {
        serde_json::json!({
            "className": status.to_ascii_lowercase(), "id": id, "status": status,
            "is_savepoint": false, "savepointFormat": null, "trigger_timestamp": 0,
            "latest_ack_timestamp": -1, "checkpointed_size": 0, "state_size": 0,
            "end_to_end_duration": 0, "alignment_buffered": 0, "processed_data": 0,
            "persisted_data": 0, "num_subtasks": 1, "num_acknowledged_subtasks": 0,
            "checkpoint_type": "CHECKPOINT", "tasks": {}, "failure_message": failure_message
        })
    }

    fn latest(completed: Option<u64>, failed: Option<u64>) -> rest::LatestCheckpoints {
        serde_json::from_value(serde_json::json!({
            "completed": completed.map(|id| checkpoint(id, "COMPLETED", None)),
            "savepoint": null,
            "failed": failed.map(|id| checkpoint(id, "FAILED", Some("cannot write to S3"))),
            "restored": null
        }))
        .expect("Flink's latest checkpoints")
    }

    #[test]
    fn checkpoints_are_failing_when_the_latest_failed_one_is_newer_than_the_latest_completed() {
        let failing = Some(CheckpointFailure {
            id: 7,
            message: "cannot write to S3".to_owned(),
        });
        assert_eq!(CheckpointFailure::of(&latest(None, Some(7))), failing);
        assert_eq!(CheckpointFailure::of(&latest(Some(6), Some(7))), failing);
        assert_eq!(CheckpointFailure::of(&latest(Some(8), Some(7))), None);
        assert_eq!(CheckpointFailure::of(&latest(Some(8), None)), None);
    }
}
