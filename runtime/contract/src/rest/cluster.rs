//! The cluster's resources: `/config`, `/overview`, `/jobmanager/config` and the TaskManagers.

use serde::{Deserialize, Serialize};

/// `GET /config`: what the web UI needs to know about the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardConfiguration {
    #[serde(rename = "refresh-interval")]
    pub refresh_interval: i64,
    #[serde(rename = "timezone-name")]
    pub timezone_name: String,
    /// Milliseconds east of UTC.
    #[serde(rename = "timezone-offset")]
    pub timezone_offset: i64,
    #[serde(rename = "flink-version")]
    pub flink_version: String,
    #[serde(rename = "flink-revision")]
    pub flink_revision: String,
    pub features: DashboardFeatures,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardFeatures {
    #[serde(rename = "web-submit")]
    pub web_submit: bool,
    #[serde(rename = "web-cancel")]
    pub web_cancel: bool,
    #[serde(rename = "web-rescale")]
    pub web_rescale: bool,
    #[serde(rename = "web-history")]
    pub web_history: bool,
}

/// `GET /overview`: TaskManagers, slots and jobs by state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterOverview {
    pub taskmanagers: u32,
    #[serde(rename = "slots-total")]
    pub slots_total: u32,
    #[serde(rename = "slots-available")]
    pub slots_available: u32,
    #[serde(rename = "jobs-running")]
    pub jobs_running: u32,
    #[serde(rename = "jobs-finished")]
    pub jobs_finished: u32,
    #[serde(rename = "jobs-cancelled")]
    pub jobs_cancelled: u32,
    #[serde(rename = "jobs-failed")]
    pub jobs_failed: u32,
    #[serde(rename = "flink-version")]
    pub flink_version: String,
    #[serde(rename = "flink-commit")]
    pub flink_commit: String,
}

/// One entry of `GET /jobmanager/config` (an array of these): an effective configuration value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigurationEntry {
    pub key: String,
    pub value: String,
}

/// `GET /taskmanagers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskManagersInfo {
    pub taskmanagers: Vec<TaskManagerInfo>,
}

/// One TaskManager, as `GET /taskmanagers` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskManagerInfo {
    pub id: String,
    /// Flink's RPC path of the TaskManager; flinkrs gives its control-plane address.
    pub path: String,
    pub data_port: i64,
    pub jmx_port: i64,
    /// Milliseconds since the epoch of the last heartbeat (Flink's name says otherwise).
    pub time_since_last_heartbeat: i64,
    pub slots_number: u32,
    pub free_slots: u32,
    pub assigned_tasks: u32,
    pub total_resource: ResourceProfile,
    pub free_resource: ResourceProfile,
    pub hardware: HardwareDescription,
    pub memory_configuration: MemoryConfiguration,
}

/// `GET /taskmanagers/:id`: the listing's fields, the slots given to jobs, and JVM metrics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskManagerDetails {
    #[serde(flatten)]
    pub info: TaskManagerInfo,
    pub allocated_slots: Vec<SlotInfo>,
    pub metrics: TaskManagerMetrics,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceProfile {
    #[serde(with = "super::flink_double")]
    pub cpu_cores: f64,
    /// Mebibytes.
    pub task_heap_memory: i64,
    pub task_off_heap_memory: i64,
    pub managed_memory: i64,
    pub network_memory: i64,
    pub extended_resources: std::collections::BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HardwareDescription {
    pub cpu_cores: u32,
    /// Bytes.
    pub physical_memory: i64,
    pub free_memory: i64,
    pub managed_memory: i64,
}

/// A TaskManager's memory, in bytes, as Flink's memory model splits it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemoryConfiguration {
    pub framework_heap: i64,
    pub task_heap: i64,
    pub framework_off_heap: i64,
    pub task_off_heap: i64,
    pub network_memory: i64,
    pub managed_memory: i64,
    pub jvm_metaspace: i64,
    pub jvm_overhead: i64,
    pub total_flink_memory: i64,
    pub total_process_memory: i64,
}

/// A slot given to a job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SlotInfo {
    pub job_id: String,
    pub resource: ResourceProfile,
    pub assigned_tasks: u32,
}

/// A TaskManager's process metrics, with Flink's (JVM) names; bytes and counts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskManagerMetrics {
    pub heap_used: i64,
    pub heap_committed: i64,
    pub heap_max: i64,
    pub non_heap_used: i64,
    pub non_heap_committed: i64,
    pub non_heap_max: i64,
    pub direct_count: i64,
    pub direct_used: i64,
    pub direct_max: i64,
    pub mapped_count: i64,
    pub mapped_used: i64,
    pub mapped_max: i64,
    pub netty_shuffle_memory_segments_available: i64,
    pub netty_shuffle_memory_segments_used: i64,
    pub netty_shuffle_memory_segments_total: i64,
    pub netty_shuffle_memory_available: i64,
    pub netty_shuffle_memory_used: i64,
    pub netty_shuffle_memory_total: i64,
    pub garbage_collectors: Vec<GarbageCollector>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GarbageCollector {
    pub name: String,
    pub count: i64,
    pub time: i64,
}
