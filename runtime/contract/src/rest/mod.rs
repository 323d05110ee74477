//! Flink's REST API: its paths, and the request and response bodies with Flink's JSON field
//! names, as Flink 2.3 sends them (`tests/recordings/rest/` holds real responses, and
//! `tests/rest_conformance.rs` checks every type here against them, field by field).
//!
//! The JobManager's REST server serializes these; the operator's client deserializes them.
//! One path is flinkrs's own: `POST /flinkrs/jobs` submits a built-in job
//! ([`JobSubmitRequest`]), as Flink's jar endpoints would submit a jar.
//!
//! Fields Flink sends that have no meaning in flinkrs (JVM memory, Netty buffers) are kept with
//! their names so Flink's tools and scripts find them; their values are zero or empty.

mod checkpoints;
mod cluster;
mod error;
mod jobs;
pub mod paths;
mod results;
mod savepoints;
mod submission;
mod vertices;

pub use checkpoints::{
    CheckpointConfig, CheckpointCounts, CheckpointStatistics, CheckpointSummary,
    CheckpointingStatistics, Externalization, LatestCheckpoints, RestoredCheckpoint,
    StatisticsSummary,
};
pub use cluster::{
    ClusterOverview, ConfigurationEntry, DashboardConfiguration, DashboardFeatures,
    GarbageCollector, HardwareDescription, MemoryConfiguration, ResourceProfile, SlotInfo,
    TaskManagerDetails, TaskManagerInfo, TaskManagerMetrics, TaskManagersInfo,
};
pub use error::ErrorResponse;
pub use jobs::{
    ExceptionEntry, ExceptionHistory, ExecutionConfig, IoMetrics, JobConfig, JobDetails,
    JobExceptions, JobIdWithStatus, JobIdsWithStatus, JobPlan, JobPlanInfo, JobState, JobSummary,
    JobVertexSummary, MultipleJobsDetails, PlanInput, PlanNode, TaskCounts,
};
pub use results::JobResultsResponse;
pub use savepoints::{
    AsynchronousOperationResult, FailureCause, OperationStatus, QueueStatus, SavepointOperation,
    SavepointTriggerRequest, StopWithSavepointRequest, TriggerId, TriggerResponse,
};
pub use submission::{JobSubmitRequest, JobSubmitResponse};
pub use vertices::{
    AggregatedMetric, AggregatedStatistics, JobVertexDetails, MetricValue, SubtaskDetails,
    VertexAggregated,
};

/// The version flinkrs reports as `flink-version`: the Flink release whose REST API it follows.
pub const FLINK_VERSION: &str = "2.3.0";

/// Serde for Flink's doubles: a JSON number, or `"NaN"` / `"Infinity"` / `"-Infinity"` as a
/// string where Java's double is not finite (Jackson writes them so).
pub mod flink_double {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if value.is_nan() {
            serializer.serialize_str("NaN")
        } else if value.is_infinite() {
            serializer.serialize_str(if *value > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            })
        } else {
            serializer.serialize_f64(*value)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum NumberOrText {
            Number(f64),
            Text(String),
        }
        match NumberOrText::deserialize(deserializer)? {
            NumberOrText::Number(number) => Ok(number),
            NumberOrText::Text(text) => match text.as_str() {
                "NaN" => Ok(f64::NAN),
                "Infinity" => Ok(f64::INFINITY),
                "-Infinity" => Ok(f64::NEG_INFINITY),
                other => Err(serde::de::Error::custom(format!(
                    "'{other}' is not a number, NaN or Infinity"
                ))),
            },
        }
    }
}
