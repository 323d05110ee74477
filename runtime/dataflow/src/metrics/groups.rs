//! Metric groups, as Flink's: a job's group, a subtask's [`TaskMetricGroup`] inside it, and an
//! [`OperatorMetricGroup`] per operator of the subtask's chain. A group registers metrics
//! under its scope and hands out handles to update them.

use std::sync::Arc;

use flinkrs_core::{JobId, SubtaskIndex};

use super::counter::Counter;
use super::gauge::Gauge;
use super::io::{OperatorIoMetrics, TaskIoMetrics};
use super::meter::Meter;
use super::registry::{Metric, MetricRegistry};
use super::scope::{MetricScope, OperatorScope, TaskScope};

/// What every group does: register under its scope.
#[derive(Clone, Debug)]
pub(crate) struct ScopedGroup {
    registry: Arc<MetricRegistry>,
    scope: Arc<MetricScope>,
}

impl ScopedGroup {
    pub(crate) fn counter(&self, name: &str) -> Counter {
        match self
            .registry
            .register(&self.scope, name, || Metric::Counter(Counter::new()))
        {
            Metric::Counter(counter) => counter,
            other => {
                self.name_collision(name, &other, "counter");
                Counter::new()
            }
        }
    }

    pub(crate) fn gauge(&self, name: &str, initial: i64) -> Gauge {
        match self
            .registry
            .register(&self.scope, name, || Metric::Gauge(Gauge::new(initial)))
        {
            Metric::Gauge(gauge) => gauge,
            other => {
                self.name_collision(name, &other, "gauge");
                Gauge::new(initial)
            }
        }
    }

    pub(crate) fn meter(&self, name: &str, meter: Meter) -> Meter {
        let candidate = meter.clone();
        match self
            .registry
            .register(&self.scope, name, || Metric::Meter(candidate))
        {
            Metric::Meter(registered) => registered,
            other => {
                self.name_collision(name, &other, "meter");
                meter
            }
        }
    }

    /// Metrics must never fail a job, so a name taken by a metric of another kind is logged
    /// (as Flink does) and the caller gets a working metric that nobody reports.
    fn name_collision(&self, name: &str, registered: &Metric, wanted: &str) {
        tracing::warn!(
            scope = ?self.scope.labels(),
            metric = name,
            registered = registered.kind(),
            wanted,
            "metric name already registered as another kind; the new {wanted} is not reported"
        );
    }

    fn child(&self, scope: MetricScope) -> ScopedGroup {
        ScopedGroup {
            registry: Arc::clone(&self.registry),
            scope: Arc::new(scope),
        }
    }

    fn close(&self) {
        self.registry.remove_within(&self.scope);
    }
}

/// The methods every group shares, written once.
macro_rules! metric_group_methods {
    () => {
        pub fn scope(&self) -> &MetricScope {
            &self.group.scope
        }

        /// The counter `name` of this group, registered on first use.
        pub fn counter(&self, name: &str) -> Counter {
            self.group.counter(name)
        }

        /// The gauge `name` of this group, registered with `initial` on first use.
        pub fn gauge(&self, name: &str, initial: i64) -> Gauge {
            self.group.gauge(name, initial)
        }

        /// Registers `meter` as `name`, or returns the meter already registered as `name`.
        pub fn meter(&self, name: &str, meter: Meter) -> Meter {
            self.group.meter(name, meter)
        }

        /// Unregisters this group's metrics and those of the groups inside it; handles
        /// already given out keep working but are no longer reported.
        pub fn close(&self) {
            self.group.close();
        }
    };
}

/// The metrics of one job in this process (Flink's `TaskManagerJobMetricGroup`).
#[derive(Clone, Debug)]
pub struct JobMetricGroup {
    group: ScopedGroup,
}

impl JobMetricGroup {
    pub(crate) fn new(registry: Arc<MetricRegistry>, scope: Arc<MetricScope>) -> Self {
        JobMetricGroup {
            group: ScopedGroup { registry, scope },
        }
    }

    /// The group of one attempt of one subtask of the task `task_name`.
    pub fn task_group(
        &self,
        task_name: impl Into<String>,
        subtask_index: SubtaskIndex,
        attempt_number: u32,
    ) -> TaskMetricGroup {
        let task = TaskScope {
            task_name: task_name.into(),
            subtask_index,
            attempt_number,
        };
        TaskMetricGroup {
            group: self.group.child(self.group.scope.with_task(task)),
        }
    }

    pub fn job_id(&self) -> JobId {
        self.group.scope.job_id()
    }

    metric_group_methods!();
}

/// The metrics of one job on the JobManager (Flink's `JobManagerJobMetricGroup`):
/// `numRestarts` and the like.
#[derive(Clone, Debug)]
pub struct JobManagerJobMetricGroup {
    group: ScopedGroup,
}

impl JobManagerJobMetricGroup {
    pub(crate) fn new(registry: Arc<MetricRegistry>, scope: Arc<MetricScope>) -> Self {
        JobManagerJobMetricGroup {
            group: ScopedGroup { registry, scope },
        }
    }

    metric_group_methods!();
}

/// The metrics of one attempt of one subtask (Flink's `TaskMetricGroup`).
#[derive(Clone, Debug)]
pub struct TaskMetricGroup {
    group: ScopedGroup,
}

impl TaskMetricGroup {
    /// The group of one operator of this subtask's chain.
    pub fn operator_group(
        &self,
        operator_id: impl Into<String>,
        operator_name: impl Into<String>,
    ) -> OperatorMetricGroup {
        let operator = OperatorScope {
            operator_name: operator_name.into(),
            operator_id: operator_id.into(),
        };
        OperatorMetricGroup {
            group: self.group.child(self.group.scope.with_operator(operator)),
        }
    }

    /// Registers the standard metrics of a task (Flink's `TaskIOMetricGroup`) in one call.
    pub fn io_metrics(&self) -> TaskIoMetrics {
        TaskIoMetrics::register(&self.group)
    }

    metric_group_methods!();
}

/// The metrics of one operator in one subtask (Flink's `OperatorMetricGroup`).
#[derive(Clone, Debug)]
pub struct OperatorMetricGroup {
    group: ScopedGroup,
}

impl OperatorMetricGroup {
    /// Registers the standard metrics of an operator (Flink's `OperatorIOMetricGroup`) in one
    /// call.
    pub fn io_metrics(&self) -> OperatorIoMetrics {
        OperatorIoMetrics::register(&self.group)
    }

    metric_group_methods!();
}
