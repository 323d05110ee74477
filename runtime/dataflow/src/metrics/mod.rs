//! Metrics per subtask, with Flink's names and scopes (architecture decision 12).
//!
//! A process has one shared [`MetricRegistry`]. A job registers a [`JobMetricGroup`] in it;
//! each subtask attempt gets a [`TaskMetricGroup`], and each operator of its chain an
//! [`OperatorMetricGroup`]. [`TaskMetricGroup::io_metrics`] and
//! [`OperatorMetricGroup::io_metrics`] register Flink's standard set (numRecordsIn,
//! busyTimeMsPerSecond, currentInputWatermark, …) in one call and return the handles.
//!
//! The handles are what a task touches on its hot path: a [`Counter`] add or a [`Gauge`] set
//! is one relaxed atomic operation, with no lock and no allocation. Only registration and
//! [`MetricRegistry::snapshot`] take the registry's lock. [`Meter`]s turn counters into rates
//! when the registry [ticks](MetricRegistry::tick), so time is an argument and tests need no
//! sleeping.
//!
//! A snapshot lists every metric with its scope's labels, named as Flink's Prometheus reporter
//! names them (`job_name`, `task_name`, `subtask_index`, `operator_name`, `operator_id`, …).
//!
//! ```
//! use flinkrs_core::{JobId, SubtaskIndex};
//! use flinkrs_dataflow::metrics::{MetricRegistry, MetricValue};
//!
//! let registry = MetricRegistry::new();
//! let task = registry
//!     .job_group(JobId(7), "WordCount")
//!     .task_group("Source: words", SubtaskIndex(0), 0);
//! let io = task.io_metrics();
//! io.records.num_records_out.inc(512);
//!
//! let out = registry
//!     .snapshot()
//!     .into_iter()
//!     .find(|metric| metric.name == "numRecordsOut")
//!     .unwrap();
//! assert_eq!(out.value, MetricValue::Counter(512));
//! ```

mod counter;
mod gauge;
mod groups;
mod io;
mod meter;
pub mod names;
mod registry;
mod scope;

#[cfg(test)]
mod tests;

pub use counter::Counter;
pub use gauge::Gauge;
pub use groups::{JobManagerJobMetricGroup, JobMetricGroup, OperatorMetricGroup, TaskMetricGroup};
pub use io::{OperatorIoMetrics, TaskIoMetrics};
pub use meter::{DEFAULT_TIME_SPAN_SECONDS, MAX_TIME_SPAN_SECONDS, Meter, UPDATE_INTERVAL_SECONDS};
pub use registry::{MetricRegistry, MetricSnapshot, MetricValue};
pub use scope::{
    Component, LABEL_JOB_ID, LABEL_JOB_NAME, LABEL_OPERATOR_ID, LABEL_OPERATOR_NAME,
    LABEL_SUBTASK_INDEX, LABEL_TASK_ATTEMPT_NUM, LABEL_TASK_NAME, MetricScope, OperatorScope,
    TaskScope,
};
