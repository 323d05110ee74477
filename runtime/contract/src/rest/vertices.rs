//! One vertex of a job: `/jobs/:id/vertices/:vid`, its watermarks and its subtasks' metrics.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::IoMetrics;

/// `GET /jobs/:id/vertices/:vid`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobVertexDetails {
    pub id: String,
    pub name: String,
    pub parallelism: u32,
    #[serde(rename = "maxParallelism")]
    pub max_parallelism: i64,
    pub now: i64,
    pub subtasks: Vec<SubtaskDetails>,
    pub aggregated: VertexAggregated,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubtaskDetails {
    pub subtask: u32,
    /// The subtask's execution state (`RUNNING`, …).
    pub status: String,
    pub attempt: u32,
    /// The TaskManager's data address, `host:port`.
    pub endpoint: String,
    #[serde(rename = "start-time")]
    pub start_time: i64,
    #[serde(rename = "end-time")]
    pub end_time: i64,
    pub duration: i64,
    pub metrics: IoMetrics,
    #[serde(rename = "taskmanager-id")]
    pub taskmanager_id: String,
    /// Milliseconds spent in each execution state.
    #[serde(rename = "status-duration")]
    pub status_duration: BTreeMap<String, i64>,
    /// The same as `start-time` (Flink sends both spellings).
    #[serde(rename = "start_time")]
    pub start_time_again: i64,
}

/// Statistics of the vertex's subtasks, by metric and by state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexAggregated {
    pub metrics: BTreeMap<String, AggregatedStatistics>,
    #[serde(rename = "status-duration")]
    pub status_duration: BTreeMap<String, AggregatedStatistics>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregatedStatistics {
    pub p25: i64,
    pub min: i64,
    pub avg: i64,
    pub median: i64,
    pub max: i64,
    pub sum: i64,
    pub p95: i64,
    pub p75: i64,
}

impl AggregatedStatistics {
    /// The statistics of `values` (one per subtask).
    pub fn of(values: &[i64]) -> Self {
        if values.is_empty() {
            return AggregatedStatistics::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let at = |quantile: f64| {
            let index = ((sorted.len() - 1) as f64 * quantile).round() as usize;
            sorted[index.min(sorted.len() - 1)]
        };
        let sum: i64 = sorted.iter().sum();
        AggregatedStatistics {
            p25: at(0.25),
            min: sorted[0],
            avg: sum / sorted.len() as i64,
            median: at(0.5),
            max: sorted[sorted.len() - 1],
            sum,
            p95: at(0.95),
            p75: at(0.75),
        }
    }
}

/// One entry of `GET /jobs/:id/vertices/:vid/watermarks`: `{"id": "<subtask>.currentInputWatermark",
/// "value": "<millis>"}`. Flink sends the value as a string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricValue {
    pub id: String,
    pub value: String,
}

/// One entry of `GET /jobs/:id/vertices/:vid/subtasks/metrics`: only `id` when listing the
/// metrics, and the statistics over the subtasks with `?get=name,…`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AggregatedMetric {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skew: Option<f64>,
}
