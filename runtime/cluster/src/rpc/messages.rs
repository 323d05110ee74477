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

/// A TaskManager's periodic sign of life, with its slot report.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaskManagerHeartbeat {
    #[prost(string, tag = "1")]
    pub resource_id: String,
    /// The session of the JobManager it registered with.
    #[prost(string, tag = "2")]
    pub jobmanager_session: String,
    #[prost(message, repeated, tag = "3")]
    pub slots: Vec<SlotStatus>,
}

/// The JobManager's answer to a heartbeat.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeartbeatReply {
    #[prost(string, tag = "1")]
    pub jobmanager_session: String,
}
