//! The operator's settings (flags and environment variables in `main.rs`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use crate::{health::ControllerHealth, metrics::Metrics};

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
