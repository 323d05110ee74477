//! The operator's Prometheus metrics, served on `/metrics`.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

use crate::crd::JobPhase;

/// Reconcile counters, a duration histogram and the number of jobs per phase.
pub struct Metrics {
    registry: Registry,
    reconciles: IntCounter,
    failures: IntCounterVec,
    duration: Histogram,
    jobs_by_phase: IntGaugeVec,
    phases: Mutex<HashMap<String, JobPhase>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let reconciles = IntCounter::new(
            "flinkrs_operator_reconciles_total",
            "FlinkJob reconciles started",
        )
        .expect("a valid metric definition");
        let failures = IntCounterVec::new(
            Opts::new(
                "flinkrs_operator_reconcile_failures_total",
                "FlinkJob reconciles that failed, by reason",
            ),
            &["reason"],
        )
        .expect("a valid metric definition");
        let duration = Histogram::with_opts(
            HistogramOpts::new(
                "flinkrs_operator_reconcile_duration_seconds",
                "How long a FlinkJob reconcile took",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
        )
        .expect("a valid metric definition");
        let jobs_by_phase = IntGaugeVec::new(
            Opts::new("flinkrs_operator_jobs", "FlinkJobs by lifecycle phase"),
            &["phase"],
        )
        .expect("a valid metric definition");
        for collector in [
            Box::new(reconciles.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(failures.clone()),
            Box::new(duration.clone()),
            Box::new(jobs_by_phase.clone()),
        ] {
            registry
                .register(collector)
                .expect("metric names are unique");
        }
        for phase in JobPhase::ALL {
            jobs_by_phase.with_label_values(&[phase.as_str()]).set(0);
        }
        Self {
            registry,
            reconciles,
            failures,
            duration,
            jobs_by_phase,
            phases: Mutex::default(),
        }
    }

    pub fn reconcile_started(&self) {
        self.reconciles.inc();
    }

    pub fn reconcile_finished(&self, took: Duration) {
        self.duration.observe(took.as_secs_f64());
    }

    pub fn reconcile_failed(&self, reason: &str) {
        self.failures.with_label_values(&[reason]).inc();
    }

    /// Records a FlinkJob's phase (`None` once it is gone).
    pub fn set_phase(&self, job_key: &str, phase: Option<JobPhase>) {
        let mut phases = self
            .phases
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        match phase {
            Some(phase) => phases.insert(job_key.to_owned(), phase),
            None => phases.remove(job_key),
        };
        for each in JobPhase::ALL {
            let count = phases.values().filter(|phase| **phase == each).count();
            self.jobs_by_phase
                .with_label_values(&[each.as_str()])
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
    }

    /// The Prometheus text format.
    pub fn encode(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_counted_by_phase_and_forgotten_when_gone() {
        let metrics = Metrics::new();
        metrics.set_phase("ns/a", Some(JobPhase::Running));
        metrics.set_phase("ns/b", Some(JobPhase::Running));
        metrics.set_phase("ns/b", Some(JobPhase::Suspended));
        metrics.set_phase("ns/c", Some(JobPhase::Running));
        metrics.set_phase("ns/c", None);
        let text = metrics.encode();
        assert!(
            text.contains("flinkrs_operator_jobs{phase=\"Running\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("flinkrs_operator_jobs{phase=\"Suspended\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("flinkrs_operator_jobs{phase=\"Deploying\"} 0\n"),
            "{text}"
        );
    }

    #[test]
    fn failures_are_counted_by_reason() {
        let metrics = Metrics::new();
        metrics.reconcile_started();
        metrics.reconcile_failed("jobmanager");
        metrics.reconcile_finished(Duration::from_millis(20));
        let text = metrics.encode();
        assert!(
            text.contains("flinkrs_operator_reconciles_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains("flinkrs_operator_reconcile_failures_total{reason=\"jobmanager\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("flinkrs_operator_reconcile_duration_seconds_count 1\n"),
            "{text}"
        );
    }
}
