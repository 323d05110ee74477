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
//! prometheus crate; the series are [`Sample`]s taken per scrape: a
//! [`MetricRegistry`](flinkrs_dataflow::metrics::MetricRegistry) snapshot (the subtasks and
//! operators of a process), the JobManager's cluster and job series, and the process's own
//! [status](status_samples). [`serve`] starts the endpoint of a process on
//! `metrics.reporter.prom.port`.

use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use flinkrs_core::Configuration;
use flinkrs_core::config::PROMETHEUS_PORT;
use flinkrs_dataflow::metrics::{Component, MetricSnapshot, MetricValue};
use prometheus::TextEncoder;
use prometheus::proto::{Gauge, LabelPair, Metric, MetricFamily, MetricType};

use crate::rest::HttpServer;

/// Where a registry's snapshots come from: called once per scrape.
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

/// One series before it is named: Flink's logical scope (`jobmanager`, `jobmanager.job`,
/// `taskmanager.job.task`, `taskmanager.Status.JVM.CPU`, …), the metric's own name, every
/// label (values as they are; they are sanitized when rendered) and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub scope: String,
    pub name: String,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

/// Where a process's series come from: called once per scrape. A process may serve several
/// (`flinkrs local`: its JobManager's and each TaskManager's, each with its own labels).
pub type SampleSource = Arc<dyn Fn() -> Vec<Sample> + Send + Sync>;

fn value(snapshot: &MetricSnapshot) -> f64 {
    match snapshot.value {
        MetricValue::Counter(count) => count as f64,
        MetricValue::Gauge(gauge) => gauge as f64,
        MetricValue::Meter(rate) => rate,
    }
}

/// The samples of a registry's `snapshots`, labelled with the scope's variables and those of
/// `process` (`tm_id` on the series of a TaskManager's scopes only).
pub fn samples(snapshots: &[MetricSnapshot], process: &ProcessLabels) -> Vec<Sample> {
    snapshots
        .iter()
        .map(|snapshot| {
            let mut labels = snapshot.labels();
            labels.push(("host", process.host.clone()));
            if let (Component::TaskManager, Some(tm_id)) =
                (snapshot.scope.component(), &process.tm_id)
            {
                labels.push(("tm_id", tm_id.clone()));
            }
            Sample {
                scope: snapshot.scope.logical_scope().to_owned(),
                name: snapshot.name.clone(),
                labels,
                value: value(snapshot),
            }
        })
        .collect()
}

fn label(name: &str, value: &str) -> LabelPair {
    let mut pair = LabelPair::default();
    pair.set_name(name.to_owned());
    pair.set_value(sanitize(value));
    pair
}

/// The metric families of `samples`, sorted by name.
pub fn families(samples: &[Sample]) -> Vec<MetricFamily> {
    let mut by_name: std::collections::BTreeMap<String, (String, Vec<Metric>)> =
        std::collections::BTreeMap::new();
    for sample in samples {
        let scope = sanitize(&sample.scope.replace('.', "_"));
        let name = format!("flink_{scope}_{}", sanitize(&sample.name));
        let labels: Vec<LabelPair> = sample
            .labels
            .iter()
            .map(|(name, value)| label(name, value))
            .collect();
        let mut gauge = Gauge::default();
        gauge.set_value(sample.value);
        let mut metric = Metric::from_label(labels);
        metric.set_gauge(gauge);
        by_name
            .entry(name)
            .or_insert_with(|| (format!("{} (scope: {scope})", sample.name), Vec::new()))
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

/// The exposition text of `samples`.
pub fn render_samples(samples: &[Sample]) -> String {
    let mut text = String::new();
    if let Err(error) = TextEncoder::new().encode_utf8(&families(samples), &mut text) {
        tracing::warn!(%error, "cannot encode the metrics");
    }
    text
}

/// The exposition text of a registry's `snapshots`.
pub fn render(snapshots: &[MetricSnapshot], process: &ProcessLabels) -> String {
    render_samples(&samples(snapshots, process))
}

/// Serves the metrics of `source` at `/metrics` (and at `/`, as Flink's reporter answers on
/// any path).
pub fn router(source: MetricsSource, process: ProcessLabels) -> Router {
    router_of(vec![Arc::new(move || samples(&source(), &process))])
}

/// Serves the series of every one of `sources` at `/metrics` (and at `/`).
pub fn router_of(sources: Vec<SampleSource>) -> Router {
    let sources = Arc::new(sources);
    let scrape = move || {
        let sources = Arc::clone(&sources);
        async move {
            let samples: Vec<Sample> = sources.iter().flat_map(|source| source()).collect();
            (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    "text/plain; version=0.0.4; charset=utf-8",
                )],
                render_samples(&samples),
            )
                .into_response()
        }
    };
    Router::new()
        .route("/metrics", get(scrape.clone()))
        .route("/", get(scrape))
}

/// Serves `sources` on `bind_address` at the first free port of `metrics.reporter.prom.port`
/// (9249 by default, or a range such as 9249-9250, as Flink's reporter takes), and says where
/// in the log. When the key is not set and no port of the default is free (another process
/// of this machine has it), the process goes on without `/metrics` and says why; a port set
/// explicitly must be free, or this fails naming the key.
pub fn serve(
    config: &Configuration,
    bind_address: &str,
    sources: Vec<SampleSource>,
) -> anyhow::Result<Option<HttpServer>> {
    let app = router_of(sources);
    let mut last_error = None;
    for port in config.prometheus_ports() {
        match HttpServer::start(app.clone(), bind_address, port, "/metrics") {
            Ok(server) => {
                tracing::info!(address = %server.local_addr(), "metrics listening");
                return Ok(Some(server));
            }
            Err(error) => last_error = Some(error),
        }
    }
    match last_error {
        Some(error) if config.get(PROMETHEUS_PORT).is_some() => Err(error.context(format!(
            "{PROMETHEUS_PORT} is set, so /metrics must be served; no port of it is free"
        ))),
        Some(error) => {
            tracing::info!(
                error = %format!("{error:#}"),
                "running without /metrics; set {PROMETHEUS_PORT} to a free port or range"
            );
            Ok(None)
        }
        None => Ok(None),
    }
}

/// The process's own state under the names Flink's dashboards look up for a JVM's, where they
/// mean the same for any process: `<component>.Status.JVM.CPU.Time` (the CPU time of the whole
/// process, in nanoseconds) and `<component>.Status.JVM.Threads.Count`. Series of a JVM's heap
/// or garbage collector have no counterpart here and are not served.
pub fn status_samples(component: &str, labels: &[(&'static str, String)]) -> Vec<Sample> {
    let mut status = Vec::new();
    let sample = |group: &str, name: &str, value: f64| Sample {
        scope: format!("{component}.Status.JVM.{group}"),
        name: name.to_owned(),
        labels: labels.to_vec(),
        value,
    };
    if let Some(nanos) = process_cpu_nanos() {
        status.push(sample("CPU", "Time", nanos));
    }
    if let Some(threads) = process_threads() {
        status.push(sample("Threads", "Count", threads));
    }
    status
}

/// CPU time of the whole process, user and system, in nanoseconds (`/proc/self/stat`, which
/// counts it in ticks of 1/100 s: Linux's `USER_HZ` on x86-64 and aarch64).
fn process_cpu_nanos() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces:
    // utime and stime are the 12th and 13th of them.
    let (_, after_name) = stat.rsplit_once(')')?;
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 * 1e7)
}

/// The process's threads (`Threads:` of `/proc/self/status`).
fn process_threads() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
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

    #[test]
    fn process_series_are_named_by_their_scope_and_labelled_with_the_host_only() {
        let host = vec![("host", "jm-0.example".to_owned())];
        let sample = |scope: &str, name: &str, value: f64| Sample {
            scope: scope.to_owned(),
            name: name.to_owned(),
            labels: host.clone(),
            value,
        };
        let text = render_samples(&[
            sample("jobmanager", "taskSlotsTotal", 4.0),
            sample("jobmanager", "numRegisteredTaskManagers", 2.0),
        ]);
        assert_eq!(
            text,
            "# HELP flink_jobmanager_numRegisteredTaskManagers numRegisteredTaskManagers \
             (scope: jobmanager)\n\
             # TYPE flink_jobmanager_numRegisteredTaskManagers gauge\n\
             flink_jobmanager_numRegisteredTaskManagers{host=\"jm_0_example\"} 2\n\
             # HELP flink_jobmanager_taskSlotsTotal taskSlotsTotal (scope: jobmanager)\n\
             # TYPE flink_jobmanager_taskSlotsTotal gauge\n\
             flink_jobmanager_taskSlotsTotal{host=\"jm_0_example\"} 4\n"
        );
    }

    #[test]
    fn the_process_status_is_served_under_the_names_of_flinks_dashboards() {
        let labels = [("host", "h".to_owned()), ("tm_id", "tm".to_owned())];
        let status = status_samples("taskmanager", &labels);
        let names: Vec<(&str, &str)> = status
            .iter()
            .map(|sample| (sample.scope.as_str(), sample.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("taskmanager.Status.JVM.CPU", "Time"),
                ("taskmanager.Status.JVM.Threads", "Count")
            ]
        );
        // This test's process has at least its own thread, and its CPU time follows the work
        // it does.
        assert!(status[1].value >= 1.0, "{status:?}");
        let before = status[0].value;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut work = 0u64;
        while status_samples("taskmanager", &labels)[0].value <= before {
            assert!(
                std::time::Instant::now() < deadline,
                "the CPU time stays {before}"
            );
            for step in 0..100_000u64 {
                work = std::hint::black_box(work.wrapping_mul(31).wrapping_add(step));
            }
        }
        assert!(status.iter().all(|sample| sample.labels == labels));
        let text = render_samples(&status);
        assert!(
            text.contains("\nflink_taskmanager_Status_JVM_Threads_Count{host=\"h\",tm_id=\"tm\"} "),
            "{text}"
        );
    }

    #[test]
    fn a_port_set_explicitly_must_be_free_and_the_default_may_be_taken() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port().to_string();
        let mut config = Configuration::new();
        config.set(PROMETHEUS_PORT, &port).unwrap();
        let error = serve(&config, "127.0.0.1", Vec::new()).unwrap_err();
        assert_eq!(
            format!("{error:#}").split(": cannot serve").next(),
            Some(
                "metrics.reporter.prom.port is set, so /metrics must be served; no port of it is \
                 free"
            ),
            "{error:#}"
        );
        // A list or range: the first free port of it is taken (0: any free one).
        config.set(PROMETHEUS_PORT, format!("{port},0")).unwrap();
        let server = serve(&config, "127.0.0.1", Vec::new()).unwrap().unwrap();
        assert_ne!(server.local_addr().port().to_string(), port);
        // Not set: a taken default is no error, the process runs without /metrics. After this
        // bind, 9249 is taken on loopback: by this test, or by whoever had it already.
        let _default = std::net::TcpListener::bind("127.0.0.1:9249");
        assert!(
            serve(&Configuration::new(), "127.0.0.1", Vec::new())
                .unwrap()
                .is_none()
        );
    }
}
