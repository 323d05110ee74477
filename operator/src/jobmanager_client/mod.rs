//! How the operator talks to a JobManager: a small trait over Flink's REST API.
//!
//! [`HttpJobManagerClient`] speaks the real REST API (`/jobs/overview`,
//! `/jobs/:id`, `/jobs/:id/savepoints`, `/jobs/:id/stop`, `/jobs/:id/checkpoints`,
//! `PATCH /jobs/:id?mode=cancel`); [`FakeJobManagers`] is an in-memory stand-in for
//! tests.

mod fake;
mod http;
mod types;

use std::sync::Arc;

use futures::future::BoxFuture;

pub use fake::{FakeJobManager, FakeJobManagers};
pub use http::{HttpJobManagerClient, HttpJobManagers};
pub use types::{
    CheckpointFailure, JobDetails, JobState, JobSummary, LatestCheckpoint, SavepointStatus,
};

/// A failed call to a JobManager's REST API. Each variant names the URL.
#[derive(Debug, thiserror::Error)]
pub enum JobManagerError {
    #[error("JobManager at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("JobManager at {url} answered {status}: {message}")]
    Http {
        url: String,
        status: u16,
        message: String,
    },
    #[error("JobManager at {url} sent a response the operator cannot read: {reason}")]
    BadResponse { url: String, reason: String },
}

pub type JobManagerResult<T> = Result<T, JobManagerError>;

/// The JobManager REST calls the operator needs.
pub trait JobManagerClient: Send + Sync {
    /// `GET /jobs/overview`: every job the JobManager knows.
    fn jobs_overview(&self) -> BoxFuture<'_, JobManagerResult<Vec<JobSummary>>>;
    /// `GET /jobs/:id`: one job's status.
    fn job_details<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, JobManagerResult<JobDetails>>;
    /// `POST /jobs/:id/savepoints` (the job keeps running) or, when the request stops the
    /// job, `POST /jobs/:id/stop` (stop-with-savepoint: the job ends FINISHED once the
    /// savepoint is complete, and no checkpoint is taken after it). Both carry the
    /// operator's own trigger id, so a retried trigger after a crash does not take a second
    /// savepoint. Returns the trigger id; both are polled with [`Self::savepoint_status`].
    fn trigger_savepoint<'a>(
        &'a self,
        job_id: &'a str,
        request: &'a SavepointRequest,
    ) -> BoxFuture<'a, JobManagerResult<String>>;
    /// `GET /jobs/:id/savepoints/:triggerid`.
    fn savepoint_status<'a>(
        &'a self,
        job_id: &'a str,
        trigger_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<SavepointStatus>>;
    /// `PATCH /jobs/:id?mode=cancel`.
    fn cancel_job<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, JobManagerResult<()>>;
    /// `GET /jobs/:id/checkpoints`: the latest completed checkpoint, if any.
    fn latest_checkpoint<'a>(
        &'a self,
        job_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<Option<LatestCheckpoint>>>;
    /// `GET /jobs/:id/checkpoints`: the latest failed checkpoint, when none completed after
    /// it (so checkpoints are failing now), with Flink's failure message. A client that cannot
    /// tell says none.
    fn checkpoint_failure<'a>(
        &'a self,
        _job_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<Option<CheckpointFailure>>> {
        Box::pin(async { Ok(None) })
    }
}

/// A savepoint to take: the body of `POST /jobs/:id/savepoints` or `POST /jobs/:id/stop`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavepointRequest {
    pub trigger_id: String,
    pub target_directory: Option<String>,
    /// Stop the job with this savepoint (`POST /jobs/:id/stop`), rather than take it while
    /// the job runs on.
    pub stop_job: bool,
}

/// Hands out a client for the JobManager at a REST URL
/// (`http://NAME-jobmanager.NAMESPACE.svc:8081`).
pub trait JobManagerClientFactory: Send + Sync {
    fn client(&self, rest_url: &str) -> Arc<dyn JobManagerClient>;
}
