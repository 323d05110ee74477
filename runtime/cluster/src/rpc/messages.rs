//! The control plane's messages, as protobuf messages declared in Rust.
//!
//! Field numbers are part of the wire format: never reuse or renumber one; add new fields
//! with new numbers.

/// A TaskManager introduces itself to the JobManager.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskManagerRegistration {
    /// The TaskManager's id (`taskmanager.resource-id`).
    #[prost(string, tag = "1")]
    pub resource_id: String,
    /// Where the JobManager reaches the TaskManager's control plane: `host:port`.
    #[prost(string, tag = "2")]
    pub rpc_address: String,
    /// Where other TaskManagers send it records: `host:port`.
    #[prost(string, tag = "3")]
    pub data_address: String,
    /// Its slots (`taskmanager.numberOfTaskSlots`).
    #[prost(uint32, tag = "4")]
    pub slots: u32,
    /// The CPU cores of its machine or container.
    #[prost(uint32, tag = "5")]
    pub cpu_cores: u32,
    /// The physical memory of its machine, in bytes.
    #[prost(uint64, tag = "6")]
    pub physical_memory_bytes: u64,
    /// The flinkrs version it runs; the JobManager refuses another.
    #[prost(string, tag = "7")]
    pub version: String,
}

/// The JobManager accepted a registration.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RegistrationSuccess {
    /// Identifies this run of the JobManager process: heartbeats carry it, so a TaskManager
    /// notices a JobManager that restarted and registers again.
    #[prost(string, tag = "1")]
    pub jobmanager_session: String,
    /// How often the TaskManager is to send heartbeats, in milliseconds.
    #[prost(uint64, tag = "2")]
    pub heartbeat_interval_ms: u64,
    /// How long without a heartbeat before either side counts the other as lost.
    #[prost(uint64, tag = "3")]
    pub heartbeat_timeout_ms: u64,
}

/// What a TaskManager's slot holds now.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SlotStatus {
    #[prost(uint32, tag = "1")]
    pub index: u32,
    /// The job the slot is allocated to; empty when it is free.
    #[prost(string, tag = "2")]
    pub job_id: String,
}

/// A TaskManager's periodic sign of life. (Tag 3 is reserved: it carried a slot report the
/// JobManager, which keeps the allocations itself, never read.)
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskManagerHeartbeat {
    #[prost(string, tag = "1")]
    pub resource_id: String,
    /// The session of the JobManager it registered with.
    #[prost(string, tag = "2")]
    pub jobmanager_session: String,
}

/// The JobManager's answer to a heartbeat.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeartbeatReply {
    #[prost(string, tag = "1")]
    pub jobmanager_session: String,
}

/// What every process of a job turns into the same program: a built-in job and its options,
/// with the job's configuration (`key=value` properties, Flink's keys).
#[derive(Clone, PartialEq, prost::Message)]
pub struct JobSpec {
    /// The built-in job (`flinkrs examples`).
    #[prost(string, tag = "1")]
    pub example: String,
    /// `--input`, empty for the job's built-in data.
    #[prost(string, tag = "2")]
    pub input: String,
    /// `--output`, empty to print the results.
    #[prost(string, tag = "3")]
    pub output: String,
    /// `--rate`, 0 for unthrottled.
    #[prost(uint64, tag = "4")]
    pub records_per_second: u64,
    /// The job's configuration as `key=value` properties.
    #[prost(string, repeated, tag = "5")]
    pub properties: Vec<String>,
    /// The job is the program of the process's own binary (application mode with `-- ARGS`),
    /// not a built-in example.
    #[prost(bool, tag = "6")]
    pub program: bool,
    /// The program's arguments.
    #[prost(string, repeated, tag = "7")]
    pub program_args: Vec<String>,
    /// A SQL job: its script (`--sql-file`), empty for a built-in example or a program.
    #[prost(string, tag = "8")]
    pub sql: String,
    /// Where the script came from (its file), for error messages.
    #[prost(string, tag = "9")]
    pub sql_origin: String,
    /// The script ends with a `SELECT`, whose rows go into a collect sink for the client
    /// that submitted it.
    #[prost(bool, tag = "10")]
    pub sql_collect: bool,
}

/// The TaskManagers running each subtask of one vertex, by subtask index: their data
/// addresses.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VertexLocations {
    #[prost(string, repeated, tag = "1")]
    pub subtasks: Vec<String>,
}

/// The JobManager deploys a job's subtasks: the TaskManager builds the job from `spec` and
/// starts the subtasks `locations` put at its data address.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Deployment {
    /// The job's id, 32 hex digits.
    #[prost(string, tag = "1")]
    pub job_id: String,
    #[prost(uint32, tag = "2")]
    pub attempt: u32,
    #[prost(message, optional, tag = "3")]
    pub spec: Option<JobSpec>,
    /// Per vertex, in JobGraph order.
    #[prost(message, repeated, tag = "4")]
    pub locations: Vec<VertexLocations>,
    /// The JobManager session that deploys: reports go back to it.
    #[prost(string, tag = "5")]
    pub jobmanager_session: String,
    /// The checkpoint or savepoint the subtasks restore from (a path or URI); empty for a
    /// fresh start.
    #[prost(string, tag = "6")]
    pub restore_from: String,
    /// The fingerprint of the JobManager's graph of the job: a TaskManager whose graph
    /// differs refuses the deployment.
    #[prost(string, tag = "7")]
    pub graph_fingerprint: String,
}

/// Names a job.
#[derive(Clone, PartialEq, prost::Message)]
pub struct JobRef {
    #[prost(string, tag = "1")]
    pub job_id: String,
}

/// An empty answer.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ack {}

/// How a TaskManager's subtasks of a job ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
pub enum TasksOutcome {
    Finished = 0,
    Cancelled = 1,
    Failed = 2,
}

/// Records counted at one node of the job over a TaskManager's subtasks.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeRecords {
    #[prost(uint32, tag = "1")]
    pub node: u32,
    #[prost(uint64, tag = "2")]
    pub records_in: u64,
    #[prost(uint64, tag = "3")]
    pub records_out: u64,
}

/// A TaskManager tells the JobManager that its subtasks of a job have all ended.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TasksEnded {
    #[prost(string, tag = "1")]
    pub resource_id: String,
    #[prost(string, tag = "2")]
    pub job_id: String,
    #[prost(uint32, tag = "3")]
    pub attempt: u32,
    #[prost(enumeration = "TasksOutcome", tag = "4")]
    pub outcome: i32,
    /// The failure, when the outcome is `Failed`.
    #[prost(string, tag = "5")]
    pub failure: String,
    #[prost(message, repeated, tag = "6")]
    pub nodes: Vec<NodeRecords>,
}

/// What a checkpoint command asks of a TaskManager's subtasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
pub enum CheckpointAction {
    /// Take the checkpoint: sources inject its barrier, state files go into `folder`.
    Trigger = 0,
    /// The checkpoint is complete.
    Complete = 1,
    /// The checkpoint was aborted.
    Abort = 2,
}

/// The JobManager's checkpoint coordinator tells some subtasks on a TaskManager about a
/// checkpoint.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CheckpointCommandRequest {
    #[prost(string, tag = "1")]
    pub job_id: String,
    #[prost(uint32, tag = "2")]
    pub attempt: u32,
    #[prost(enumeration = "CheckpointAction", tag = "3")]
    pub action: i32,
    #[prost(uint64, tag = "4")]
    pub checkpoint: u64,
    /// When the checkpoint was triggered, milliseconds since the epoch.
    #[prost(int64, tag = "5")]
    pub timestamp: i64,
    /// A savepoint rather than a checkpoint.
    #[prost(bool, tag = "6")]
    pub savepoint: bool,
    /// Where the state files go (a path or URI), for a trigger.
    #[prost(string, tag = "7")]
    pub folder: String,
    /// The subtasks, by task index (vertex by vertex, subtask by subtask).
    #[prost(uint32, repeated, tag = "8")]
    pub task_indices: Vec<u32>,
}

/// A TaskManager wrote a subtask's state for a checkpoint, or declines it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CheckpointAcknowledgement {
    #[prost(string, tag = "1")]
    pub job_id: String,
    #[prost(uint32, tag = "2")]
    pub attempt: u32,
    #[prost(uint32, tag = "3")]
    pub task_index: u32,
    #[prost(uint64, tag = "4")]
    pub checkpoint: u64,
    /// The state's handle as JSON; empty when the subtask declines.
    #[prost(bytes = "vec", tag = "5")]
    pub handle: Vec<u8>,
    /// Why the subtask declines the checkpoint; empty when it acknowledges.
    #[prost(string, tag = "6")]
    pub decline_reason: String,
    /// The snapshot was taken after the subtask's input ended.
    #[prost(bool, tag = "7")]
    pub input_ended: bool,
}

/// The input of a source subtask ended: the job's final checkpoint waits for every source.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SourceInputEnded {
    #[prost(string, tag = "1")]
    pub job_id: String,
    #[prost(uint32, tag = "2")]
    pub attempt: u32,
    #[prost(uint32, tag = "3")]
    pub task_index: u32,
}

/// One metric of a subtask on a TaskManager, or of an operator in its chain, as the
/// JobManager asks for them to answer `/jobs/:id/vertices/:vid/subtasks/metrics`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskMetric {
    /// The task (its vertex's name) and the subtask's index and attempt.
    #[prost(string, tag = "1")]
    pub task_name: String,
    #[prost(uint32, tag = "2")]
    pub subtask_index: u32,
    #[prost(uint32, tag = "3")]
    pub attempt_number: u32,
    /// The operator, for an operator's metric; empty for the subtask's own.
    #[prost(string, tag = "4")]
    pub operator_id: String,
    #[prost(string, tag = "5")]
    pub operator_name: String,
    /// Flink's name: `numRecordsIn`, `busyTimeMsPerSecond`, ….
    #[prost(string, tag = "6")]
    pub name: String,
    #[prost(double, tag = "7")]
    pub value: f64,
}

/// A TaskManager's metrics of the subtasks of one job that run there now.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskMetricsReply {
    #[prost(string, tag = "1")]
    pub resource_id: String,
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<TaskMetric>,
}
