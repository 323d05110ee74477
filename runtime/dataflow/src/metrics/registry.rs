//! [`MetricRegistry`]: every metric of a process, by scope and name, and their snapshot.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use flinkrs_core::JobId;

use super::counter::Counter;
use super::gauge::Gauge;
use super::groups::{JobManagerJobMetricGroup, JobMetricGroup};
use super::meter::Meter;
use super::scope::MetricScope;

/// A registered metric: a handle that shares its value with the code that updates it.
#[derive(Clone, Debug)]
pub(crate) enum Metric {
    Counter(Counter),
    Gauge(Gauge),
    Meter(Meter),
}

impl Metric {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Metric::Counter(_) => "counter",
            Metric::Gauge(_) => "gauge",
            Metric::Meter(_) => "meter",
        }
    }

    fn value(&self) -> MetricValue {
        match self {
            Metric::Counter(counter) => MetricValue::Counter(counter.count()),
            Metric::Gauge(gauge) => MetricValue::Gauge(gauge.get()),
            Metric::Meter(meter) => MetricValue::Meter(meter.rate()),
        }
    }
}

/// The value of one metric when the snapshot was taken.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    Counter(u64),
    Gauge(i64),
    /// Events per second over the meter's time span.
    Meter(f64),
}

/// One metric, where it belongs and its value.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSnapshot {
    pub scope: Arc<MetricScope>,
    pub name: String,
    pub value: MetricValue,
}

impl MetricSnapshot {
    /// The scope's labels under Flink's Prometheus label names.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        self.scope.labels()
    }
}

/// Every metric of a process, shared (`Arc`) by the groups that register into it and by the
/// readers of its [`snapshot`](MetricRegistry::snapshot): the job's summary line, a REST or
/// Prometheus endpoint.
///
/// Registering and reading a snapshot take the registry's lock; updating a metric never
/// does, since the groups hand out handles that share the value directly.
#[derive(Debug, Default)]
pub struct MetricRegistry {
    metrics: Mutex<BTreeMap<(Arc<MetricScope>, String), Metric>>,
}

impl MetricRegistry {
    pub fn new() -> Arc<Self> {
        Arc::new(MetricRegistry::default())
    }

    /// The group of one job's metrics in this process.
    pub fn job_group(
        self: &Arc<Self>,
        job_id: JobId,
        job_name: impl Into<String>,
    ) -> JobMetricGroup {
        JobMetricGroup::new(
            Arc::clone(self),
            Arc::new(MetricScope::job(job_id, job_name.into())),
        )
    }

    /// The group of one job's metrics on the JobManager, such as `numRestarts`.
    pub fn jobmanager_job_group(
        self: &Arc<Self>,
        job_id: JobId,
        job_name: impl Into<String>,
    ) -> JobManagerJobMetricGroup {
        JobManagerJobMetricGroup::new(
            Arc::clone(self),
            Arc::new(MetricScope::jobmanager_job(job_id, job_name.into())),
        )
    }

    /// Every metric with its scope and current value, ordered by scope and then by name: the
    /// same registrations always give the same order, whatever order they came in.
    pub fn snapshot(&self) -> Vec<MetricSnapshot> {
        self.lock()
            .iter()
            .map(|((scope, name), metric)| MetricSnapshot {
                scope: Arc::clone(scope),
                name: name.clone(),
                value: metric.value(),
            })
            .collect()
    }

    /// Runs the updates of every meter due by `now` (see [`Meter::tick`]). Whoever owns the
    /// registry calls this every second or so, as Flink's `ViewUpdater` does every five.
    pub fn tick(&self, now: Instant) {
        for metric in self.lock().values() {
            if let Metric::Meter(meter) = metric {
                meter.tick(now);
            }
        }
    }

    /// Registers `make()` under `scope` and `name` and returns it, or returns the metric
    /// already there: registering twice shares one metric rather than losing updates.
    pub(crate) fn register(
        &self,
        scope: &Arc<MetricScope>,
        name: &str,
        make: impl FnOnce() -> Metric,
    ) -> Metric {
        self.lock()
            .entry((Arc::clone(scope), name.to_owned()))
            .or_insert_with(make)
            .clone()
    }

    /// Removes every metric of `scope` and of the scopes inside it.
    pub(crate) fn remove_within(&self, scope: &MetricScope) {
        self.lock()
            .retain(|(metric_scope, _), _| !scope.contains(metric_scope));
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<(Arc<MetricScope>, String), Metric>> {
        // The map is only ever changed by single insert/retain calls, which leave it whole
        // even if a thread panicked while holding the lock.
        self.metrics.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
