//! Checkpoint statistics and configuration: `/jobs/:id/checkpoints` and
//! `/jobs/:id/checkpoints/config`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `GET /jobs/:id/checkpoints`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointingStatistics {
    pub counts: CheckpointCounts,
    pub summary: CheckpointSummary,
    pub latest: LatestCheckpoints,
    /// The most recent checkpoints and savepoints, newest first (Flink keeps 10).
    pub history: Vec<CheckpointStatistics>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointCounts {
    pub restored: u64,
    pub total: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub failed: u64,
}

/// Statistics over the completed checkpoints.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckpointSummary {
    pub checkpointed_size: StatisticsSummary,
    pub state_size: StatisticsSummary,
    pub end_to_end_duration: StatisticsSummary,
    pub alignment_buffered: StatisticsSummary,
    pub processed_data: StatisticsSummary,
    pub persisted_data: StatisticsSummary,
}

/// Minimum, maximum, mean and percentiles of one statistic.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatisticsSummary {
    pub min: i64,
    pub max: i64,
    pub avg: i64,
    #[serde(with = "super::flink_double")]
    pub p50: f64,
    #[serde(with = "super::flink_double")]
    pub p90: f64,
    #[serde(with = "super::flink_double")]
    pub p95: f64,
    #[serde(with = "super::flink_double")]
    pub p99: f64,
    #[serde(with = "super::flink_double")]
    pub p999: f64,
}

impl StatisticsSummary {
    /// The summary of `values` as Flink computes it (percentiles interpolated between the
    /// nearest ranks). With no values, Flink reports zeros and `NaN` percentiles.
    pub fn of(values: &[i64]) -> Self {
        if values.is_empty() {
            return StatisticsSummary {
                p50: f64::NAN,
                p90: f64::NAN,
                p95: f64::NAN,
                p99: f64::NAN,
                p999: f64::NAN,
                ..StatisticsSummary::default()
            };
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let percentile = |quantile: f64| {
            // Apache Commons Math's default estimation, which Flink's histogram uses.
            let count = sorted.len() as f64;
            let position = quantile * (count + 1.0);
            if position < 1.0 {
                return sorted[0] as f64;
            }
            if position >= count {
                return sorted[sorted.len() - 1] as f64;
            }
            let lower = position.floor();
            let fraction = position - lower;
            let below = sorted[lower as usize - 1] as f64;
            let above = sorted[lower as usize] as f64;
            below + fraction * (above - below)
        };
        StatisticsSummary {
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            avg: sorted.iter().sum::<i64>() / sorted.len() as i64,
            p50: percentile(0.5),
            p90: percentile(0.9),
            p95: percentile(0.95),
            p99: percentile(0.99),
            p999: percentile(0.999),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatestCheckpoints {
    pub completed: Option<CheckpointStatistics>,
    pub savepoint: Option<CheckpointStatistics>,
    pub failed: Option<CheckpointStatistics>,
    pub restored: Option<RestoredCheckpoint>,
}

/// One checkpoint or savepoint: completed (`className` `completed`, with `external_path` and
/// `discarded`), failed (`failed`, with `failure_timestamp` and `failure_message`) or in
/// progress (`in_progress`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointStatistics {
    #[serde(rename = "className")]
    pub class_name: String,
    pub id: u64,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub status: String,
    pub is_savepoint: bool,
    /// `CANONICAL` for a savepoint, null for a checkpoint.
    #[serde(rename = "savepointFormat")]
    pub savepoint_format: Option<String>,
    pub trigger_timestamp: i64,
    /// -1 before any subtask acknowledged.
    pub latest_ack_timestamp: i64,
    /// Bytes.
    pub checkpointed_size: i64,
    pub state_size: i64,
    /// Milliseconds.
    pub end_to_end_duration: i64,
    pub alignment_buffered: i64,
    pub processed_data: i64,
    pub persisted_data: i64,
    pub num_subtasks: u32,
    pub num_acknowledged_subtasks: u32,
    /// `CHECKPOINT`, `SAVEPOINT` or `SYNC_SAVEPOINT` (stop with savepoint).
    pub checkpoint_type: String,
    /// Per-vertex statistics by vertex id (Flink sends `{}` here).
    pub tasks: BTreeMap<String, serde_json::Value>,
    /// A completed one's folder, e.g. `file:/checkpoints/<job>/chk-13`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_path: Option<String>,
    /// A completed one: whether it was deleted since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discarded: Option<bool>,
    /// A failed one: when it failed, milliseconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_timestamp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

/// The checkpoint the job was restored from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoredCheckpoint {
    pub id: u64,
    pub restore_timestamp: i64,
    pub is_savepoint: bool,
    pub external_path: String,
}

/// `GET /jobs/:id/checkpoints/config`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointConfig {
    /// `exactly_once` or `at_least_once`.
    pub mode: String,
    /// Milliseconds.
    pub interval: i64,
    pub timeout: i64,
    pub min_pause: i64,
    pub max_concurrent: u32,
    pub externalization: Externalization,
    pub state_backend: String,
    pub checkpoint_storage: String,
    pub unaligned_checkpoints: bool,
    pub tolerable_failed_checkpoints: u32,
    pub aligned_checkpoint_timeout: i64,
    pub checkpoints_after_tasks_finish: bool,
    pub state_changelog_enabled: bool,
    pub changelog_periodic_materialization_interval: i64,
    pub changelog_storage: String,
}

/// Whether checkpoints outlive the job (`execution.checkpointing.externalized-checkpoint-retention`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Externalization {
    pub enabled: bool,
    pub delete_on_cancellation: bool,
}
