//! `/metrics` in Prometheus's text format, named and labelled as Flink's `PrometheusReporter`
//! names them, so Flink's dashboards and alerts find the series:
//!
//! - the name is `flink_` + the logical scope with `_` for `.` + `_` + the metric's name:
//!   `flink_taskmanager_job_task_numRecordsIn`, `flink_jobmanager_job_lastCheckpointDuration`;
//! - every metric is a `gauge` (Flink exports counters as gauges too), with `# HELP <name>
//!   (scope: <scope>)`;
//! - the labels are the scope's variables (`job_id`, `job_name`, `task_name`,
//!   `subtask_index`, `task_attempt_num`, `operator_id`, `operator_name`), plus `host` and, on a
//!   TaskManager, `tm_id`; in a label value every character but `[a-zA-Z0-9:_]` becomes `_`.
//!
//! `flink-reference/metrics/` holds what Flink 2.3 serves. The text is encoded by the
//! prometheus crate; the series come from a [`MetricRegistry`] snapshot taken per scrape.

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use flinkrs_dataflow::metrics::{Component, MetricSnapshot, MetricValue};
use prometheus::TextEncoder;
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};

/// Where the series come from: called once per scrape.
pub type MetricsSource = Arc<dyn Fn() -> Vec<MetricSnapshot> + Send + Sync>;

/// The labels of the process itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessLabels {
    /// `host`: the machine's name.
    pub host: String,
    /// `tm_id`: the TaskManager's id, on TaskManagers.
    pub tm_id: Option<String>,
}

impl ProcessLabels {
    /// This machine's host name (from `HOSTNAME` or `/etc/hostname`; `localhost` otherwise).
    pub fn local(tm_id: Option<String>) -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|name| name.trim().to_owned())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "localhost".to_owned());
        ProcessLabels { host, tm_id }
    }
}

/// A label value or name part as Flink's reporter writes it: `[a-zA-Z0-9:_]` kept, the rest `_`.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == ':' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn scope_prefix(snapshot: &MetricSnapshot) -> String {
    snapshot.scope.logical_scope().replace('.', "_")
}

fn value(snapshot: &MetricSnapshot) -> f64 {
    match snapshot.value {
        MetricValue::Counter(count) => count as f64,
        MetricValue::Gauge(gauge) => gauge as f64,
        MetricValue::Meter(rate) => rate,
    }
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut pair = LabelPair::default();
    pair.set_name(name.to_owned());
    pair.set_value(sanitize(value));
    pair
}

/// The metric families of `snapshots`, sorted by name.
pub fn families(snapshots: &[MetricSnapshot], process: &ProcessLabels) -> Vec<MetricFamily> {
    let mut by_name: std::collections::BTreeMap<String, (String, Vec<Metric>)> =
        std::collections::BTreeMap::new();
    for snapshot in snapshots {
        let scope = scope_prefix(snapshot);
        let name = format!("flink_{scope}_{}", sanitize(&snapshot.name));
        let mut labels: Vec<LabelPair> = snapshot
            .labels()
            .iter()
            .map(|(name, value)| label(name, value))
            .collect();
        labels.push(label("host", &process.host));
        if let (Component::TaskManager, Some(tm_id)) = (snapshot.scope.component(), &process.tm_id)
        {
            labels.push(label("tm_id", tm_id));
        }
        let mut gauge = Gauge::default();
        gauge.set_value(value(snapshot));
        let mut metric = Metric::from_label(labels);
        metric.set_gauge(gauge);
        by_name
            .entry(name)
            .or_insert_with(|| (format!("{} (scope: {scope})", snapshot.name), Vec::new()))
            .1
            .push(metric);
    }
    by_name
        .into_iter()
        .map(|(name, (help, metrics))| {
            let mut family = MetricFamily::default();
            family.set_name(name);
            family.set_help(help);
            family.set_field_type(MetricType::GAUGE);
            family.set_metric(metrics);
            family
        })
        .collect()
}

/// The exposition text of `snapshots`.
pub fn render(snapshots: &[MetricSnapshot], process: &ProcessLabels) -> String {
    let mut text = String::new();
    if let Err(error) = TextEncoder::new().encode_utf8(&families(snapshots, process), &mut text) {
        tracing::warn!(%error, "cannot encode the metrics");
    }
    text
}

/// Serves the metrics at `/metrics` (and at `/`, as Flink's reporter answers on any path).
pub fn router(source: MetricsSource, process: ProcessLabels) -> Router {
    let scrape = move || {
        let source = Arc::clone(&source);
        let process = process.clone();
        async move {
            (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                render(&source(), &process),
            )
                .into_response()
        }
    };
    Router::new()
        .route("/metrics", get(scrape.clone()))
        .route("/", get(scrape))
}

#[cfg(test)]
mod tests {
    use flinkrs_core::{JobId, SubtaskIndex};
    use flinkrs_dataflow::metrics::MetricRegistry;

    use super::*;

    #[test]
    fn series_are_named_and_labelled_as_flinks_reporter_does() {
        let registry = MetricRegistry::new();
        let task = registry
            .job_group(JobId(0xab), "rec-keyed groupby")
            .task_group("Source: src[1]", SubtaskIndex(1), 0);
        task.io_metrics().records.num_records_in.inc(19033);
        registry
            .jobmanager_job_group(JobId(0xab), "rec-keyed groupby")
            .gauge("lastCheckpointDuration", 0)
            .set(48);
        let process = ProcessLabels {
            host: "localhost".into(),
            tm_id: Some("localhost:35291-b18b61".into()),
        };
        let text = render(&registry.snapshot(), &process);
        let job_id = format!("{:032x}", 0xab);
        assert!(text.contains(
            "# HELP flink_taskmanager_job_task_numRecordsIn numRecordsIn (scope: taskmanager_job_task)\n\
             # TYPE flink_taskmanager_job_task_numRecordsIn gauge\n"
        ), "{text}");
        assert!(text.contains(&format!(
            "flink_taskmanager_job_task_numRecordsIn{{job_id=\"{job_id}\",job_name=\"rec_keyed_groupby\",\
             task_name=\"Source:_src_1_\",subtask_index=\"1\",task_attempt_num=\"0\",host=\"localhost\",\
             tm_id=\"localhost:35291_b18b61\"}} 19033\n"
        )), "{text}");
        assert!(
            text.contains(&format!(
                "flink_jobmanager_job_lastCheckpointDuration{{job_id=\"{job_id}\",\
             job_name=\"rec_keyed_groupby\",host=\"localhost\"}} 48\n"
            )),
            "{text}"
        );
    }
}
