//! A TaskManager's metrics, read two ways: its `/metrics` series (the subtasks and operators
//! of the jobs deployed here, from its registry, and the process's status), labelled `host`
//! and `tm_id` as Flink's reporter labels a TaskManager's; and one job's subtask metrics for
//! the JobManager, which answers the REST API's per-subtask metrics with them.

use std::sync::Arc;
use std::time::Instant;

use flinkrs_core::JobId;
use flinkrs_dataflow::metrics::{Component, MetricRegistry, MetricValue};
use tonic::Status;

use crate::prometheus::{ProcessLabels, Sample, samples, status_samples};
use crate::rpc::messages::{TaskMetric, TaskMetricsReply};

/// Every series of the TaskManager `tm_id` on `host` now, its meters brought up to date.
pub(crate) fn series(registry: &MetricRegistry, host: &str, tm_id: &str) -> Vec<Sample> {
    registry.tick(Instant::now());
    let process = ProcessLabels {
        host: host.to_owned(),
        tm_id: Some(tm_id.to_owned()),
    };
    let mut series = samples(&registry.snapshot(), &process);
    series.extend(status_samples(
        "taskmanager",
        &[("host", process.host), ("tm_id", tm_id.to_owned())],
    ));
    series
}

/// The metrics of the subtasks of `job` (32 hex digits) that run here now, and of their
/// operators: none when none of its subtasks runs here (any more).
pub(crate) fn task_metrics(
    registry: &Arc<MetricRegistry>,
    resource_id: &str,
    job: &str,
) -> Result<TaskMetricsReply, Status> {
    let job_id = u128::from_str_radix(job, 16)
        .ok()
        .filter(|_| job.len() == 32)
        .map(JobId)
        .ok_or_else(|| {
            Status::invalid_argument(format!("'{job}' is not a job id (32 hex digits)"))
        })?;
    registry.tick(Instant::now());
    let metrics = registry
        .snapshot()
        .into_iter()
        .filter(|metric| {
            metric.scope.component() == Component::TaskManager && metric.scope.job_id() == job_id
        })
        .filter_map(|metric| {
            let task = metric.scope.task()?;
            let (operator_id, operator_name) = metric
                .scope
                .operator()
                .map(|operator| (operator.operator_id.clone(), operator.operator_name.clone()))
                .unwrap_or_default();
            Some(TaskMetric {
                task_name: task.task_name.clone(),
                subtask_index: u32::try_from(task.subtask_index.0).unwrap_or(u32::MAX),
                attempt_number: task.attempt_number,
                operator_id,
                operator_name,
                name: metric.name.clone(),
                value: match metric.value {
                    MetricValue::Counter(count) => count as f64,
                    MetricValue::Gauge(gauge) => gauge as f64,
                    MetricValue::Meter(rate) => rate,
                },
            })
        })
        .collect();
    Ok(TaskMetricsReply {
        resource_id: resource_id.to_owned(),
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use flinkrs_core::SubtaskIndex;

    use super::*;

    #[test]
    fn a_jobs_subtask_and_operator_metrics_are_answered_and_no_other_jobs() {
        let registry = MetricRegistry::new();
        let task = registry.job_group(JobId(0xab), "WordCount").task_group(
            "Tokenizer",
            SubtaskIndex(1),
            0,
        );
        task.io_metrics().records.num_records_in.inc(7);
        task.operator_group("cafe", "Tokenizer")
            .counter("numRecordsOut")
            .inc(21);
        registry
            .job_group(JobId(0xcd), "Other")
            .task_group("Source", SubtaskIndex(0), 0)
            .counter("numRecordsOut")
            .inc(5);
        let job = format!("{:032x}", 0xab);
        let reply = task_metrics(&registry, "tm-1", &job).unwrap();
        assert_eq!(reply.resource_id, "tm-1");
        let find = |operator: &str, name: &str| {
            reply
                .metrics
                .iter()
                .find(|metric| metric.operator_name == operator && metric.name == name)
                .cloned()
        };
        assert_eq!(
            find("", "numRecordsIn"),
            Some(TaskMetric {
                task_name: "Tokenizer".to_owned(),
                subtask_index: 1,
                attempt_number: 0,
                operator_id: String::new(),
                operator_name: String::new(),
                name: "numRecordsIn".to_owned(),
                value: 7.0,
            })
        );
        assert_eq!(
            find("Tokenizer", "numRecordsOut").map(|metric| (metric.operator_id, metric.value)),
            Some(("cafe".to_owned(), 21.0))
        );
        assert!(
            reply
                .metrics
                .iter()
                .all(|metric| metric.task_name == "Tokenizer")
        );
        let none = task_metrics(&registry, "tm-1", &format!("{:032x}", 0xef)).unwrap();
        assert_eq!(none.metrics, []);
    }

    #[test]
    fn a_malformed_job_id_is_refused_naming_it() {
        let registry = MetricRegistry::new();
        for job in ["xyz", "ab"] {
            let status = task_metrics(&registry, "tm-1", job).unwrap_err();
            assert_eq!(status.code(), tonic::Code::InvalidArgument);
            assert_eq!(
                status.message(),
                format!("'{job}' is not a job id (32 hex digits)")
            );
        }
    }
}
