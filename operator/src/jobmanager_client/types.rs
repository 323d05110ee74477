//! The parts of Flink's REST responses the operator reads, with Flink's field names.

use serde::{Deserialize, Serialize};

/// A Flink job status (`org.apache.flink.api.common.JobStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum JobState {
    Initializing,
    Created,
    Running,
    Failing,
    Failed,
    Cancelling,
    Canceled,
    Finished,
    Restarting,
    Suspended,
    Reconciling,
}

impl JobState {
    /// The name Flink uses (`RUNNING`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Initializing => "INITIALIZING",
            Self::Created => "CREATED",
            Self::Running => "RUNNING",
            Self::Failing => "FAILING",
            Self::Failed => "FAILED",
            Self::Cancelling => "CANCELLING",
            Self::Canceled => "CANCELED",
            Self::Finished => "FINISHED",
            Self::Restarting => "RESTARTING",
            Self::Suspended => "SUSPENDED",
            Self::Reconciling => "RECONCILING",
        }
    }

    /// Whether the job reached an end (Flink's globally terminal states).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Failed | Self::Canceled | Self::Finished)
    }
}

/// One entry of `GET /jobs/overview`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    #[serde(rename = "jid")]
    pub id: String,
    pub name: String,
    pub state: JobState,
    #[serde(rename = "start-time")]
    pub start_time: i64,
}

/// The part of `GET /jobs/:id` the operator reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobDetails {
    #[serde(rename = "jid")]
    pub id: String,
    pub name: String,
    pub state: JobState,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
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
