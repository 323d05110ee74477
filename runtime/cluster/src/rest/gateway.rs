//! [`JobManagerGateway`]: what the REST server asks of a JobManager, whether it runs in this
//! process (`flinkrs run`) or is the distributed one (`flinkrs jobmanager`).
//!
//! The gateway answers in plain views of its jobs and TaskManagers; the server turns them into
//! Flink's JSON (`responses`), keeps the savepoint operations by trigger id (`savepoints`), and
//! maps errors to Flink's status codes. A gateway never sees HTTP.

use std::future::Future;
use std::pin::Pin;

use flinkrs_contract::rest::JobState;

use crate::run::RunRequest;

/// A JobManager as the REST API sees it. Every call is quick: it reads state the JobManager
/// keeps anyway, and none blocks on a task. The one exception is bounded: a cluster's
/// [`job`](JobManagerGateway::job) asks the TaskManagers running the job for its subtasks'
/// metrics, and waits for them at most a couple of seconds.
pub trait JobManagerGateway: Send + Sync + 'static {
    /// The TaskManagers registered, with their slots.
    fn task_managers(&self) -> Vec<TaskManagerView>;

    /// The JobManager's effective configuration, `(key, value)`, for `/jobmanager/config`.
    fn configuration(&self) -> Vec<(String, String)>;

    /// Every job the JobManager knows, running or ended, oldest first.
    fn jobs(&self) -> Vec<JobView>;

    /// One job, by its 32-hex id; `None` if unknown.
    fn job(&self, job_id: &str) -> Option<JobView> {
        self.jobs().into_iter().find(|job| job.id == job_id)
    }

    /// Cancels a job (`PATCH /jobs/:id?mode=cancel`); it ends CANCELED.
    fn cancel(&self, job_id: &str) -> Result<(), GatewayError>;

    /// Submits a job (`POST /flinkrs/jobs`) and returns its id (32 hex digits) as soon as it
    /// is starting; the job runs on without the caller.
    fn submit(&self, job: &RunRequest) -> Result<String, SubmitError>;

    /// Starts a savepoint, or a stop with a savepoint. The returned future ends with the
    /// savepoint's location (`file:/…/savepoint-…` or `s3://…`) or why it failed. The REST
    /// server polls it on behalf of the trigger id, so it must not need the caller to wait.
    fn trigger_savepoint(
        &self,
        job_id: &str,
        trigger: SavepointTrigger,
    ) -> Result<SavepointCompletion, GatewayError>;

    /// The REST API handed a client the outcome of a completed savepoint of `job_id`. A
    /// JobManager that stops serving when its job ends (`flinkrs run`) waits for this after a
    /// stop with a savepoint, so the client of the stop learns where the savepoint is.
    fn savepoint_outcome_read(&self, _job_id: &str) {}

    /// The rows a `SELECT` job collected, from `offset` on (`GET /flinkrs/jobs/:id/results`).
    /// The returned future asks the TaskManager holding them.
    fn results(&self, job_id: &str, _offset: u64) -> Result<ResultsPage, GatewayError> {
        Err(GatewayError::NotPossible(format!(
            "job {job_id} collects no rows here: a SELECT's rows are read from a session \
             cluster (flinkrs jobmanager or flinkrs local) that runs it"
        )))
    }
}

/// A page of a job's collected rows, or why there is none.
pub type ResultsPage = Pin<
    Box<dyn Future<Output = Result<flinkrs_contract::rest::JobResultsResponse, String>> + Send>,
>;

/// The end of a savepoint: its location, or the failure's message.
pub type SavepointCompletion = Pin<Box<dyn Future<Output = Result<String, String>> + Send>>;

/// Why the JobManager refused a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// 404, as Flink answers for a job it does not know.
    #[error("Job {0} not found")]
    UnknownJob(String),
    /// 409: the job cannot do this now (it has ended, or takes no checkpoints).
    #[error("{0}")]
    NotPossible(String),
}

/// Why the JobManager did not take a submitted job.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// 400: the job cannot run as asked.
    #[error("{0}")]
    Invalid(String),
    /// 404: this JobManager takes no submissions (`flinkrs run` runs only its own job).
    #[error("{0}")]
    NotAccepted(String),
    /// 500: the JobManager could not start the job.
    #[error("{0}")]
    Failed(String),
}

/// What to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavepointTrigger {
    /// Where; `execution.checkpointing.savepoint-dir` when `None`.
    pub target_directory: Option<String>,
    pub kind: SavepointKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SavepointKind {
    /// `POST /jobs/:id/savepoints`; the job is cancelled after it when `cancel_job`.
    Savepoint { cancel_job: bool },
    /// `POST /jobs/:id/stop`: the job ends after the savepoint.
    Stop { drain: bool },
}

/// A TaskManager and its slots.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskManagerView {
    /// Flink's form: `host:port-<6 hex>`.
    pub id: String,
    /// Its control-plane address.
    pub address: String,
    pub data_port: i64,
    /// Milliseconds since the epoch.
    pub last_heartbeat: i64,
    pub slots: u32,
    /// Per slot in use: the job's id and how many subtasks run in it.
    pub allocated_slots: Vec<(String, u32)>,
    pub cpu_cores: u32,
    /// Bytes.
    pub physical_memory: i64,
}

/// A job.
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    /// 32 hex digits.
    pub id: String,
    pub name: String,
    pub state: JobState,
    /// `true` for a batch job (`execution.runtime-mode=batch`).
    pub batch: bool,
    /// When the job entered each state it went through, milliseconds since the epoch.
    pub state_times: Vec<(JobState, i64)>,
    /// `pipeline.max-parallelism` when the job sets it.
    pub max_parallelism: Option<u32>,
    /// `parallelism.default`.
    pub parallelism: u32,
    pub vertices: Vec<VertexView>,
    /// The job's own configuration, `(key, value)`.
    pub configuration: Vec<(String, String)>,
    /// The restart strategy, described.
    pub restart_strategy: String,
    /// Its failures, newest first.
    pub failures: Vec<FailureView>,
    /// `None` when the job takes no checkpoints.
    pub checkpoints: Option<CheckpointsView>,
}

impl JobView {
    /// When the job started (entered its first state).
    pub fn start_time(&self) -> i64 {
        self.state_times.first().map_or(0, |(_, time)| *time)
    }

    /// When the job ended; -1 while it runs.
    pub fn end_time(&self) -> i64 {
        if !self.state.is_terminal() {
            return -1;
        }
        self.state_times
            .iter()
            .find(|(state, _)| *state == self.state)
            .map_or(-1, |(_, time)| *time)
    }
}

/// A job failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureView {
    pub timestamp: i64,
    /// The error type, e.g. `JobException`.
    pub exception_name: String,
    /// The message with its causes.
    pub message: String,
}

/// A vertex: a chain of operators, run `parallelism` times.
#[derive(Debug, Clone, PartialEq)]
pub struct VertexView {
    /// 32 hex digits (its head operator's id, as Flink's JobVertexID).
    pub id: String,
    pub name: String,
    pub parallelism: u32,
    pub max_parallelism: u32,
    /// The vertices it reads from, with the partitioner (`FORWARD`, `HASH`, …).
    pub inputs: Vec<(String, String)>,
    pub subtasks: Vec<SubtaskView>,
}

/// One parallel subtask of a vertex, its current attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct SubtaskView {
    pub index: u32,
    pub attempt: u32,
    /// Its execution state (`RUNNING`, `FINISHED`, `CANCELED`, …).
    pub state: String,
    pub start_time: i64,
    pub end_time: i64,
    /// The TaskManager it runs in.
    pub taskmanager_id: String,
    pub endpoint: String,
    /// Every metric of the subtask and of its operators, by the name the REST API lists
    /// (`numRecordsIn`, `Source__words.numRecordsOut`, …).
    pub metrics: Vec<(String, f64)>,
}

/// The name under which the REST API lists a metric of a subtask: its own name
/// (`numRecordsIn`), or, for a metric of an operator in the subtask's chain, the operator's
/// name with every character but letters, digits and `_[]` as `_`, a dot, and the metric's
/// name (`Source__words.numRecordsOut`), as Flink's REST API lists them.
pub fn rest_metric_name(operator_name: Option<&str>, metric: &str) -> String {
    let Some(operator) = operator_name else {
        return metric.to_owned();
    };
    let prefix: String = operator
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_[]".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}.{metric}")
}

impl SubtaskView {
    /// A metric's value, if the subtask has it.
    pub fn metric(&self, name: &str) -> Option<f64> {
        self.metrics
            .iter()
            .find(|(metric, _)| metric == name)
            .map(|(_, value)| *value)
    }
}

/// A job's checkpoints: settings and statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckpointsView {
    /// Milliseconds.
    pub interval: i64,
    pub timeout: i64,
    pub min_pause: i64,
    pub tolerable_failed_checkpoints: u32,
    /// Whether checkpoints outlive the job, and whether a cancel deletes them.
    pub retained: bool,
    pub delete_on_cancellation: bool,
    /// `FileSystemCheckpointStorage`, … (Flink's class names, for its tools).
    pub checkpoint_storage: String,
    pub statistics: flinkrs_dataflow::checkpoint_stats::CheckpointStatsSnapshot,
}

impl CheckpointsView {
    /// The checkpoints of a job with `config`, if it takes any, with their `statistics`.
    pub fn of(
        config: &flinkrs_core::Configuration,
        statistics: impl FnOnce() -> flinkrs_dataflow::checkpoint_stats::CheckpointStatsSnapshot,
    ) -> Option<Self> {
        let interval = config.checkpoint_interval()?;
        let retention = config.externalized_checkpoint_retention();
        Some(CheckpointsView {
            interval: interval.as_millis() as i64,
            timeout: config.checkpoint_timeout().as_millis() as i64,
            min_pause: config.checkpoint_min_pause().as_millis() as i64,
            tolerable_failed_checkpoints: config.tolerable_failed_checkpoints(),
            retained: retention.retains_on_failure(),
            delete_on_cancellation: !retention.retains_on_cancellation(),
            checkpoint_storage: "FileSystemCheckpointStorage".to_owned(),
            statistics: statistics(),
        })
    }
}
