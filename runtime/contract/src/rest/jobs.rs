//! Jobs: `/jobs`, `/jobs/overview`, `/jobs/:id` and its plan, configuration and exceptions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A job's status, with Flink's names (`org.apache.flink.api.common.JobStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
    pub const ALL: [JobState; 11] = [
        JobState::Initializing,
        JobState::Created,
        JobState::Running,
        JobState::Failing,
        JobState::Failed,
        JobState::Cancelling,
        JobState::Canceled,
        JobState::Finished,
        JobState::Restarting,
        JobState::Suspended,
        JobState::Reconciling,
    ];

    /// The name Flink uses (`RUNNING`, …).
    pub fn as_str(self) -> &'static str {
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
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Failed | Self::Canceled | Self::Finished)
    }
}

impl std::fmt::Display for JobState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `GET /jobs`: every job's id and status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobIdsWithStatus {
    pub jobs: Vec<JobIdWithStatus>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobIdWithStatus {
    pub id: String,
    pub status: JobState,
}

/// `GET /jobs/overview`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipleJobsDetails {
    pub jobs: Vec<JobSummary>,
}

/// One job of `GET /jobs/overview`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobSummary {
    pub jid: String,
    pub name: String,
    /// `STREAMING` or `BATCH`.
    #[serde(rename = "jobType")]
    pub job_type: String,
    #[serde(rename = "schedulerType")]
    pub scheduler_type: String,
    /// Milliseconds since the epoch.
    #[serde(rename = "start-time")]
    pub start_time: i64,
    /// -1 while the job runs.
    #[serde(rename = "end-time")]
    pub end_time: i64,
    /// Milliseconds.
    pub duration: i64,
    pub state: JobState,
    #[serde(rename = "last-modification")]
    pub last_modification: i64,
    pub tasks: TaskCounts,
    #[serde(rename = "pending-operators")]
    pub pending_operators: u32,
}

/// Subtasks by execution state, as `/jobs/overview` counts them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCounts {
    pub running: u32,
    pub canceling: u32,
    pub canceled: u32,
    pub total: u32,
    pub created: u32,
    pub scheduled: u32,
    pub deploying: u32,
    pub reconciling: u32,
    pub finished: u32,
    pub initializing: u32,
    pub failed: u32,
}

/// `GET /jobs/:id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobDetails {
    pub jid: String,
    #[serde(rename = "application-id")]
    pub application_id: String,
    pub name: String,
    #[serde(rename = "isStoppable")]
    pub is_stoppable: bool,
    pub state: JobState,
    #[serde(rename = "job-type")]
    pub job_type: String,
    #[serde(rename = "schedulerType")]
    pub scheduler_type: String,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    /// -1 when the job does not set one.
    #[serde(rename = "maxParallelism")]
    pub max_parallelism: i64,
    /// When the server answered, milliseconds since the epoch.
    pub now: i64,
    /// When the job entered each state (every [`JobState`]'s name; 0 for never).
    pub timestamps: BTreeMap<String, i64>,
    pub vertices: Vec<JobVertexSummary>,
    /// Subtasks by execution state (`RUNNING`, `FINISHED`, …).
    #[serde(rename = "status-counts")]
    pub status_counts: BTreeMap<String, u32>,
    pub plan: JobPlan,
    #[serde(rename = "pending-operators")]
    pub pending_operators: u32,
}

/// A vertex (a chain of operators) in `GET /jobs/:id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobVertexSummary {
    pub id: String,
    #[serde(rename = "slotSharingGroupId")]
    pub slot_sharing_group_id: String,
    pub name: String,
    #[serde(rename = "maxParallelism")]
    pub max_parallelism: i64,
    pub parallelism: u32,
    /// The vertex's execution state (`RUNNING`, …).
    pub status: String,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    /// Subtasks by execution state.
    pub tasks: BTreeMap<String, u32>,
    pub metrics: IoMetrics,
}

/// The records and bytes a vertex or subtask read and wrote, from its task metrics.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IoMetrics {
    #[serde(rename = "read-bytes")]
    pub read_bytes: i64,
    #[serde(rename = "read-bytes-complete")]
    pub read_bytes_complete: bool,
    #[serde(rename = "write-bytes")]
    pub write_bytes: i64,
    #[serde(rename = "write-bytes-complete")]
    pub write_bytes_complete: bool,
    #[serde(rename = "read-records")]
    pub read_records: i64,
    #[serde(rename = "read-records-complete")]
    pub read_records_complete: bool,
    #[serde(rename = "write-records")]
    pub write_records: i64,
    #[serde(rename = "write-records-complete")]
    pub write_records_complete: bool,
    /// Milliseconds.
    #[serde(rename = "accumulated-backpressured-time")]
    pub accumulated_backpressured_time: i64,
    #[serde(rename = "accumulated-idle-time")]
    pub accumulated_idle_time: i64,
    /// Milliseconds; `NaN` where unknown, as Flink reports it.
    #[serde(rename = "accumulated-busy-time", with = "super::flink_double")]
    pub accumulated_busy_time: f64,
}

/// `GET /jobs/:id/plan`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPlanInfo {
    pub plan: JobPlan,
}

/// The dataflow plan: one node per vertex, with the vertices it reads from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobPlan {
    pub jid: String,
    pub name: String,
    /// `STREAMING` or `BATCH`.
    #[serde(rename = "type")]
    pub job_type: String,
    pub nodes: Vec<PlanNode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanNode {
    pub id: String,
    pub operator: String,
    pub parallelism: u32,
    pub operator_strategy: String,
    pub description: String,
    pub optimizer_properties: BTreeMap<String, serde_json::Value>,
    /// Absent for a source (Flink leaves the key out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<PlanInput>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanInput {
    pub id: String,
    pub num: u32,
    /// `pipelined_bounded`, …
    pub exchange: String,
    /// `FORWARD`, `HASH`, `REBALANCE`, `BROADCAST`, …
    pub ship_strategy: String,
}

/// `GET /jobs/:id/config`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobConfig {
    pub jid: String,
    pub name: String,
    #[serde(rename = "execution-config")]
    pub execution_config: ExecutionConfig,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionConfig {
    #[serde(rename = "restart-strategy")]
    pub restart_strategy: String,
    #[serde(rename = "job-parallelism")]
    pub job_parallelism: u32,
    #[serde(rename = "object-reuse-mode")]
    pub object_reuse_mode: bool,
    /// The job's own configuration values.
    #[serde(rename = "user-config")]
    pub user_config: BTreeMap<String, String>,
}

/// `GET /jobs/:id/exceptions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobExceptions {
    #[serde(rename = "exceptionHistory")]
    pub exception_history: ExceptionHistory,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionHistory {
    /// Newest first.
    pub entries: Vec<ExceptionEntry>,
    /// Whether older entries were dropped.
    pub truncated: bool,
}

/// One failure of the job: global (no task) or of one subtask.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionEntry {
    #[serde(rename = "exceptionName")]
    pub exception_name: String,
    pub stacktrace: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    #[serde(rename = "failureLabels")]
    pub failure_labels: BTreeMap<String, String>,
    /// `"<task> (<subtask>/<parallelism>) - execution #<attempt>"`, for a task's failure.
    #[serde(rename = "taskName", default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(
        rename = "taskManagerId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub task_manager_id: Option<String>,
    /// Failures at the same time, each without its own `concurrentExceptions`.
    #[serde(
        rename = "concurrentExceptions",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub concurrent_exceptions: Option<Vec<ExceptionEntry>>,
}
