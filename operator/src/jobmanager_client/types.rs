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
