//! The operator's settings (flags and environment variables in `main.rs`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use crate::{crd::FlinkJobSpec, health::ControllerHealth, metrics::Metrics};

/// How the operator runs.
#[derive(Clone)]
pub struct OperatorConfig {
    /// Namespaces to watch; empty means every namespace.
    pub namespaces: Vec<String>,
    /// Take a Lease before reconciling, so only one replica acts at a time.
    pub leader_election: Option<LeaderElectionConfig>,
    /// This replica's name in events and the Lease (usually the pod name).
    pub identity: String,
    /// Where to serve `/metrics` and `/healthz`; `None` serves nothing.
    pub http_address: Option<SocketAddr>,
    pub metrics: Arc<Metrics>,
    /// What `/healthz` reports: the controller loop's liveness.
    pub health: Arc<ControllerHealth>,
    pub timeouts: Timeouts,
    /// What a FlinkJob's pods get when its spec leaves it open.
    pub job_defaults: JobDefaults,
}

/// What a FlinkJob's pods get when its spec does not say (the chart's `jobDefaults`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobDefaults {
    /// JobManager high availability for FlinkJobs without `spec.highAvailability`.
    pub high_availability: bool,
    /// The service account of job pods without `spec.serviceAccount`: the chart's
    /// `flinkrs-job`, whose Role allows what high availability does with ConfigMaps.
    pub service_account: Option<String>,
}

impl JobDefaults {
    /// The service account `spec`'s pods run as.
    pub fn service_account<'a>(&'a self, spec: &'a FlinkJobSpec) -> Option<&'a str> {
        spec.service_account
            .as_deref()
            .or(self.service_account.as_deref())
    }

    /// Whether `spec`'s cluster runs with JobManager high availability: as the spec says;
    /// unset, as the operator's default says, when the pods have a service account to do it
    /// with (without one, the JobManager could not write its ConfigMap).
    pub fn high_availability(&self, spec: &FlinkJobSpec) -> bool {
        match spec.high_availability {
            Some(enabled) => enabled,
            None => self.high_availability && self.service_account(spec).is_some(),
        }
    }
}

/// How long the operator waits before it reports that something is stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A triggered savepoint that has not completed by then counts as failed; a FlinkJob
    /// being deleted then goes without its final savepoint.
    pub savepoint: Duration,
    /// A deployed cluster whose job is not RUNNING by then is reported (with what its pods
    /// say) in the Degraded condition and a Warning event.
    pub readiness: Duration,
    /// After a failed savepoint, the operator waits this long before it triggers the next
    /// one for the same upgrade or suspension.
    pub savepoint_retry: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            savepoint: Duration::from_secs(600),
            readiness: Duration::from_secs(300),
            savepoint_retry: Duration::from_secs(30),
        }
    }
}

impl OperatorConfig {
    /// Every namespace, no leader election, no HTTP endpoint: what tests use.
    pub fn for_tests(identity: &str) -> Self {
        Self {
            namespaces: Vec::new(),
            leader_election: None,
            identity: identity.to_owned(),
            http_address: None,
            metrics: Arc::new(Metrics::new()),
            health: Arc::new(ControllerHealth::default()),
            timeouts: Timeouts::default(),
            job_defaults: JobDefaults::default(),
        }
    }
}

impl std::fmt::Debug for OperatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorConfig")
            .field("namespaces", &self.namespaces)
            .field("leader_election", &self.leader_election)
            .field("identity", &self.identity)
            .field("http_address", &self.http_address)
            .field("timeouts", &self.timeouts)
            .field("job_defaults", &self.job_defaults)
            .finish_non_exhaustive()
    }
}

/// Where the Lease lives and how long it lasts.
#[derive(Debug, Clone)]
pub struct LeaderElectionConfig {
    pub lease_name: String,
    pub lease_namespace: String,
    /// A leader that has not renewed for this long loses the Lease.
    pub lease_duration: Duration,
    /// How often the leader renews (well under `lease_duration`).
    pub renew_every: Duration,
}

impl LeaderElectionConfig {
    pub fn new(lease_namespace: &str) -> Self {
        Self {
            lease_name: "flinkrs-operator".to_owned(),
            lease_namespace: lease_namespace.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(extra: serde_json::Value) -> FlinkJobSpec {
        let mut spec = serde_json::json!({
            "image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1
        });
        if let (Some(spec), Some(extra)) = (spec.as_object_mut(), extra.as_object()) {
            spec.extend(extra.clone());
        }
        serde_json::from_value(spec).expect("a spec")
    }

    #[test]
    fn high_availability_is_on_by_default_only_with_a_service_account_to_do_it_with() {
        let chart = JobDefaults {
            high_availability: true,
            service_account: Some("flinkrs-job".to_owned()),
        };
        let no_account = JobDefaults {
            high_availability: true,
            service_account: None,
        };
        let off = JobDefaults::default();
        let unset = spec(serde_json::json!({}));
        assert!(chart.high_availability(&unset));
        assert!(!no_account.high_availability(&unset));
        assert!(!off.high_availability(&unset));
        assert!(no_account.high_availability(&spec(serde_json::json!({"serviceAccount": "mine"}))));
        // The spec decides when it says.
        let turned_off = spec(serde_json::json!({"highAvailability": false}));
        assert!(!chart.high_availability(&turned_off));
        let turned_on = spec(serde_json::json!({"highAvailability": true}));
        assert!(off.high_availability(&turned_on));
        assert_eq!(chart.service_account(&unset), Some("flinkrs-job"));
        assert_eq!(
            chart.service_account(&spec(serde_json::json!({"serviceAccount": "mine"}))),
            Some("mine")
        );
    }
}
