//! The flinkrs Kubernetes operator.
//!
//! It reconciles `FlinkJob` custom resources (`flinkjobs.flinkrs.dev`) into a
//! ConfigMap, a JobManager Deployment and Service, and a TaskManager Deployment
//! that run the flinkrs runtime, and it carries job state across upgrades,
//! rescales and suspensions with savepoints and checkpoints.
//!
//! Where it sits: beside the runtime, not on top of it. It talks to a
//! JobManager only through Flink's REST API ([`jobmanager_client`]) and must not
//! depend on the runtime crates.
//!
//! The reconcile loop is observe → validate → decide → apply → patch status.
//! [`decide`] is a pure state machine and [`resources`] builds the children as
//! plain data; everything with I/O sits in [`reconcile`].

pub mod config;
pub mod controller;
pub mod crd;
pub mod decide;
pub mod health;
pub mod http_server;
pub mod jobmanager_client;
pub mod leader_election;
pub mod metrics;
pub mod reconcile;
pub mod resources;

pub use config::OperatorConfig;
pub use controller::run;

use jobmanager_client::JobManagerError;

/// Errors of the operator library. Each names the resource it concerns.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{action} failed: {source}")]
    Kubernetes {
        action: String,
        #[source]
        source: kube::Error,
    },
    #[error(transparent)]
    JobManager(#[from] JobManagerError),
    #[error("FlinkJob {resource} is invalid: {field}: {message}")]
    InvalidSpec {
        resource: String,
        field: String,
        message: String,
    },
    #[error(
        "could not encode the spec of FlinkJob {resource} for status.lastReconciledSpec: {source}"
    )]
    EncodeSpec {
        resource: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the HTTP endpoint on {address} failed: {source}")]
    HttpServer {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("lost the Lease {lease} to another replica")]
    LeaderLost { lease: String },
    #[error("leader election on Lease {lease} failed: {source}")]
    LeaderElection {
        lease: String,
        #[source]
        source: kube::Error,
    },
}

impl Error {
    /// A short, stable label for the failures metric.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Kubernetes { .. } => "kubernetes_api",
            Self::JobManager(_) => "jobmanager",
            Self::InvalidSpec { .. } => "invalid_spec",
            Self::EncodeSpec { .. } => "encode_spec",
            Self::HttpServer { .. } => "http_server",
            Self::LeaderElection { .. } | Self::LeaderLost { .. } => "leader_election",
        }
    }

    /// Wraps a Kubernetes API error with what the operator was doing.
    pub fn kubernetes(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Self {
        let action = action.into();
        move |source| Self::Kubernetes { action, source }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
