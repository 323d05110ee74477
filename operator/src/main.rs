//! The flinkrs operator binary: flags, logging and wiring only; the logic lives
//! in the library.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use flinkrs_operator::{
    OperatorConfig,
    config::{JobDefaults, LeaderElectionConfig, Timeouts},
    health::ControllerHealth,
    jobmanager_client::{HttpJobManagers, JobManagerClientFactory},
    metrics::Metrics,
};

#[derive(Debug, Parser)]
#[command(
    name = "flinkrs-operator",
    about = "Reconciles FlinkJob resources into Flink clusters"
)]
struct Flags {
    /// Namespaces to watch, comma separated; empty watches every namespace.
    #[arg(
        long,
        env = "FLINKRS_WATCH_NAMESPACES",
        value_delimiter = ',',
        default_value = ""
    )]
    watch_namespaces: Vec<String>,

    /// Where to serve /metrics and /healthz.
    #[arg(long, env = "FLINKRS_HTTP_ADDRESS", default_value = "0.0.0.0:8080")]
    http_address: SocketAddr,

    /// Take the `flinkrs-operator` Lease before reconciling (for more than one replica).
    #[arg(long, env = "FLINKRS_LEADER_ELECTION", default_value_t = false)]
    leader_election: bool,

    /// The namespace of the Lease (the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    lease_namespace: String,

    /// This replica's name in the Lease and in events.
    #[arg(long, env = "POD_NAME", default_value = "flinkrs-operator")]
    identity: String,

    /// Seconds a triggered savepoint may take before it counts as failed (and before a
    /// FlinkJob being deleted goes without its final savepoint).
    #[arg(long, env = "FLINKRS_SAVEPOINT_TIMEOUT_SECONDS", default_value_t = 600)]
    savepoint_timeout_seconds: u64,

    /// Seconds a deployed job may take to reach RUNNING before the FlinkJob reports it,
    /// with what its pods say, in the Degraded condition and a Warning event.
    #[arg(long, env = "FLINKRS_READINESS_TIMEOUT_SECONDS", default_value_t = 300)]
    readiness_timeout_seconds: u64,

    /// JobManager high availability (`high-availability.type: kubernetes`) for FlinkJobs
    /// that do not set `spec.highAvailability`, when their pods have a service account.
    #[arg(long, env = "FLINKRS_JOB_HIGH_AVAILABILITY", default_value_t = false)]
    job_high_availability: bool,

    /// The service account of job pods whose FlinkJob does not set `spec.serviceAccount`
    /// (the chart's `flinkrs-job`); empty: the namespace's default.
    #[arg(long, env = "FLINKRS_JOB_SERVICE_ACCOUNT", default_value = "")]
    job_service_account: String,

    /// Log lines as text or JSON.
    #[arg(long, env = "FLINKRS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match flags.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }

    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes configuration found (in-cluster or KUBECONFIG)")?;
    let config = OperatorConfig {
        namespaces: flags
            .watch_namespaces
            .into_iter()
            .filter(|namespace| !namespace.is_empty())
            .collect(),
        leader_election: flags
            .leader_election
            .then(|| LeaderElectionConfig::new(&flags.lease_namespace)),
        identity: flags.identity,
        http_address: Some(flags.http_address),
        metrics: Arc::new(Metrics::new()),
        health: Arc::new(ControllerHealth::default()),
        timeouts: Timeouts {
            savepoint: Duration::from_secs(flags.savepoint_timeout_seconds),
            readiness: Duration::from_secs(flags.readiness_timeout_seconds),
            ..Timeouts::default()
        },
        job_defaults: JobDefaults {
            high_availability: flags.job_high_availability,
            service_account: Some(flags.job_service_account)
                .filter(|account| !account.trim().is_empty()),
        },
    };
    tracing::info!(?config, "starting");
    let jobmanagers: Arc<dyn JobManagerClientFactory> = Arc::new(HttpJobManagers::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let signals = tokio::spawn(async move {
        match shutdown_signal().await {
            Ok(()) => {
                let _ = stop.send(());
            }
            Err(error) => tracing::error!(%error, "no graceful shutdown: {error:#}"),
        }
    });
    let shutdown = async move {
        let _ = stopped.await;
        tracing::info!("shutting down");
    };
    let result = flinkrs_operator::controller::run_until(client, config, jobmanagers, shutdown)
        .await
        .context("the operator stopped");
    signals.abort();
    result
}

/// SIGTERM (what Kubernetes sends) or Ctrl-C.
async fn shutdown_signal() -> anyhow::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("could not listen for SIGTERM")?;
    tokio::select! {
        _ = terminate.recv() => Ok(()),
        signal = tokio::signal::ctrl_c() => signal.context("could not listen for Ctrl-C"),
    }
}
