//! The REST API's paths, as Flink names them. The server routes these; the client formats
//! them with [`job`] and friends.

pub const CONFIG: &str = "/config";
pub const OVERVIEW: &str = "/overview";
pub const JOBS: &str = "/jobs";
pub const JOBS_OVERVIEW: &str = "/jobs/overview";
pub const JOB: &str = "/jobs/{jobid}";
pub const JOB_EXCEPTIONS: &str = "/jobs/{jobid}/exceptions";
pub const JOB_PLAN: &str = "/jobs/{jobid}/plan";
pub const JOB_CONFIG: &str = "/jobs/{jobid}/config";
pub const JOB_CHECKPOINTS: &str = "/jobs/{jobid}/checkpoints";
pub const JOB_CHECKPOINTS_CONFIG: &str = "/jobs/{jobid}/checkpoints/config";
pub const JOB_SAVEPOINTS: &str = "/jobs/{jobid}/savepoints";
pub const JOB_SAVEPOINT_STATUS: &str = "/jobs/{jobid}/savepoints/{triggerid}";
pub const JOB_STOP: &str = "/jobs/{jobid}/stop";
pub const JOB_VERTEX: &str = "/jobs/{jobid}/vertices/{vertexid}";
pub const JOB_VERTEX_WATERMARKS: &str = "/jobs/{jobid}/vertices/{vertexid}/watermarks";
pub const JOB_VERTEX_SUBTASKS_METRICS: &str = "/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics";
pub const TASKMANAGERS: &str = "/taskmanagers";
pub const TASKMANAGER: &str = "/taskmanagers/{taskmanagerid}";
pub const JOBMANAGER_CONFIG: &str = "/jobmanager/config";
/// flinkrs's own: `POST` submits a built-in job (Flink's jar endpoints need a jar).
pub const FLINKRS_JOBS: &str = "/flinkrs/jobs";
/// flinkrs's own: `GET` reads a `SELECT` job's rows (`?offset=N`).
pub const FLINKRS_JOB_RESULTS: &str = "/flinkrs/jobs/{jobid}/results";

/// `/flinkrs/jobs/:id/results?offset=N`.
pub fn job_results(job_id: &str, offset: u64) -> String {
    format!("/flinkrs/jobs/{job_id}/results?offset={offset}")
}

/// `/jobs/:id`.
pub fn job(job_id: &str) -> String {
    format!("/jobs/{job_id}")
}

/// `/jobs/:id/<rest>`, e.g. `job_resource(id, "checkpoints")`.
pub fn job_resource(job_id: &str, rest: &str) -> String {
    format!("/jobs/{job_id}/{rest}")
}

/// `PATCH /jobs/:id?mode=cancel`.
pub fn job_cancel(job_id: &str) -> String {
    format!("/jobs/{job_id}?mode=cancel")
}

/// `/jobs/:id/savepoints/:triggerid`.
pub fn savepoint_status(job_id: &str, trigger_id: &str) -> String {
    format!("/jobs/{job_id}/savepoints/{trigger_id}")
}
