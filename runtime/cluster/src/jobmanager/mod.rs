//! The JobManager process (`flinkrs jobmanager`): it takes the registrations and heartbeats of
//! TaskManagers on its control plane (gRPC on `jobmanager.rpc.port`), keeps their slots in
//! its [`ResourceManager`], and counts a TaskManager as lost after `heartbeat.timeout` without
//! a heartbeat.
//!
//! [`JobManager::start`] runs it on the calling tokio runtime and returns a handle, so the
//! same code serves the `jobmanager` command, `flinkrs local` (a JobManager and TaskManagers
//! in one process) and tests.

pub mod jobs;
mod metrics;
mod participants;
mod query_results;
pub mod resource_manager;
mod rest_gateway;
mod scheduler;
mod service;
mod subtask_metrics;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use flinkrs_core::config::{JOBMANAGER_BIND_HOST, JOBMANAGER_RPC_PORT};
use flinkrs_core::{Configuration, JobId};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

pub use self::jobs::{JobEntry, JobStatus, Jobs};
pub use self::resource_manager::{RegisteredTaskManager, ResourceManager};
use self::scheduler::ClusterExecutor;
use self::service::JobManagerService;
use crate::prometheus::{ProcessLabels, SampleSource};
use crate::rpc::jobmanager::job_manager_server::JobManagerServer;
use crate::rpc::messages::JobSpec;

/// The flinkrs version every TaskManager must run to register.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// What the JobManager's service and its handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Identifies this run of the JobManager.
    pub session: String,
    pub heartbeat_interval: Duration,
    pub heartbeat_timeout: Duration,
    resource_manager: Mutex<ResourceManager>,
    /// How many TaskManagers are registered; changes whenever one registers or is lost.
    membership: watch::Sender<usize>,
    pub jobs: Jobs,
}

impl Shared {
    pub(crate) fn resource_manager(&self) -> MutexGuard<'_, ResourceManager> {
        // A panic while holding the lock leaves a consistent map: take it anyway.
        self.resource_manager
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn membership_changed(&self, resource_manager: &ResourceManager) {
        self.membership
            .send_replace(resource_manager.task_managers().count());
    }
}

/// A running JobManager.
#[derive(Debug)]
pub struct JobManager {
    rpc_address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
    monitor: JoinHandle<()>,
    rest: Option<crate::rest::HttpServer>,
}

impl JobManager {
    /// Binds the control plane on `jobmanager.bind-host`:`jobmanager.rpc.port` and starts
    /// serving it and watching heartbeats on the current tokio runtime.
    pub async fn start(config: &Configuration) -> anyhow::Result<JobManager> {
        let bind = format!(
            "{}:{}",
            config.text(JOBMANAGER_BIND_HOST),
            config.port(JOBMANAGER_RPC_PORT)
        );
        let listener = tokio::net::TcpListener::bind(&bind)
            .await
            .with_context(|| {
                format!(
                    "the JobManager cannot listen on {bind} (set {JOBMANAGER_BIND_HOST} and \
                 {JOBMANAGER_RPC_PORT})"
                )
            })?;
        let rpc_address = listener.local_addr()?;
        let (membership, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            session: session_id(),
            heartbeat_interval: config.heartbeat_interval(),
            heartbeat_timeout: config.heartbeat_timeout(),
            resource_manager: Mutex::new(ResourceManager::new(VERSION)),
            membership,
            jobs: Jobs::default(),
        });
        let (shutdown, shutdown_signal) = oneshot::channel::<()>();
        let service = JobManagerServer::new(JobManagerService {
            shared: Arc::clone(&shared),
        });
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                    async {
                        let _ = shutdown_signal.await;
                    },
                ),
        );
        let monitor = tokio::spawn(watch_heartbeats(Arc::clone(&shared)));
        let gateway = Arc::new(rest_gateway::ClusterGateway {
            shared: Arc::clone(&shared),
            config: config.clone(),
            runtime: tokio::runtime::Handle::current(),
        });
        let rest =
            crate::rest::HttpServer::rest(gateway, config.rest_bind_address(), config.rest_port())
                .with_context(|| {
                    format!("set {} to a free port", flinkrs_core::config::REST_PORT)
                })?;
        tracing::info!(
            %rpc_address, session = %shared.session,
            heartbeat_interval = ?shared.heartbeat_interval,
            heartbeat_timeout = ?shared.heartbeat_timeout,
            "JobManager started"
        );
        Ok(JobManager {
            rpc_address,
            shared,
            shutdown: Some(shutdown),
            server,
            monitor,
            rest: Some(rest),
        })
    }

    /// The address the control plane listens on (with the port picked, if it was 0).
    pub fn rpc_address(&self) -> SocketAddr {
        self.rpc_address
    }

    /// Where the REST API listens.
    pub fn rest_address(&self) -> Option<SocketAddr> {
        self.rest.as_ref().map(crate::rest::HttpServer::local_addr)
    }

    /// This run's session id.
    pub fn session(&self) -> &str {
        &self.shared.session
    }

    /// The registered TaskManagers now, by resource id.
    pub fn task_managers(&self) -> Vec<RegisteredTaskManager> {
        self.shared
            .resource_manager()
            .task_managers()
            .cloned()
            .collect()
    }

    /// Slots over every registered TaskManager: (total, free).
    pub fn slots(&self) -> (usize, usize) {
        let resource_manager = self.shared.resource_manager();
        (
            resource_manager.slots_total(),
            resource_manager.slots_available(),
        )
    }

    /// Its series for `/metrics`, labelled `host`: the cluster's TaskManagers, slots and
    /// running jobs, each running job's uptime and restarts, and the process's status.
    pub fn metrics(&self) -> SampleSource {
        let shared = Arc::clone(&self.shared);
        let host = ProcessLabels::local(None).host;
        Arc::new(move || metrics::samples(&shared, &host))
    }

    /// Follows how many TaskManagers are registered: it changes when one registers or is
    /// lost.
    pub fn membership(&self) -> watch::Receiver<usize> {
        self.shared.membership.subscribe()
    }

    /// Submits a job: its program runs on a thread of its own, with this JobManager's
    /// scheduler as its executor. Returns the job's id.
    pub fn submit(&self, spec: JobSpec) -> anyhow::Result<JobId> {
        submit(
            &self.shared,
            spec,
            tokio::runtime::Handle::current(),
            Submission::default(),
        )
    }

    /// Submits a job as [`submit`](Self::submit) does, with the id and checkpoint store of
    /// `submission` (application mode with high availability).
    pub fn submit_with(&self, spec: JobSpec, submission: Submission) -> anyhow::Result<JobId> {
        submit(
            &self.shared,
            spec,
            tokio::runtime::Handle::current(),
            submission,
        )
    }

    /// A job's entry: its status, failure and records.
    pub fn job(&self, job_id: JobId) -> Option<JobEntry> {
        self.shared.jobs.get(&job_id.to_string())
    }

    /// Waits until the job has ended (or `timeout`), and returns its entry.
    pub async fn wait_for_job(&self, job_id: JobId, timeout: Duration) -> Option<JobEntry> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut ticks = tokio::time::interval(Duration::from_millis(20));
        loop {
            let job = self.job(job_id)?;
            if job.status.is_terminal() || tokio::time::Instant::now() >= deadline {
                return Some(job);
            }
            ticks.tick().await;
        }
    }

    /// Cancels a job; `false` if there is no such job.
    pub async fn cancel(&self, job_id: JobId) -> bool {
        cancel_job(&self.shared, &job_id.to_string()).await
    }

    /// Stops serving and waits until the control plane is closed.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.monitor.abort();
        drop(self.rest.take());
        (&mut self.server)
            .await
            .context("the JobManager's control plane stopped abnormally")?
            .context("the JobManager's control plane failed")?;
        tracing::info!(rpc_address = %self.rpc_address, "JobManager stopped");
        Ok(())
    }
}

impl Drop for JobManager {
    fn drop(&mut self) {
        self.monitor.abort();
        self.server.abort();
    }
}

/// Removes TaskManagers that have been silent for longer than `heartbeat.timeout`, checking
/// several times per timeout so a loss is noticed soon after it is due.
async fn watch_heartbeats(shared: Arc<Shared>) {
    let period =
        (shared.heartbeat_timeout / 5).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let mut resource_manager = shared.resource_manager();
        let lost = resource_manager.expire(Instant::now(), shared.heartbeat_timeout);
        if lost.is_empty() {
            continue;
        }
        drop(resource_manager);
        for task_manager in &lost {
            shared.jobs.task_manager_lost(&task_manager.resource_id);
            tracing::warn!(
                resource_id = %task_manager.resource_id,
                rpc_address = %task_manager.rpc_address,
                silent_for = ?task_manager.silent_for,
                "TaskManager lost: no heartbeat within heartbeat.timeout ({:?})",
                shared.heartbeat_timeout
            );
        }
        shared.membership_changed(&shared.resource_manager());
    }
}

/// How a job is submitted: by a client, with a fresh id; or in application mode with high
/// availability, with the cluster's job id and its checkpoints recorded for recovery.
#[derive(Default)]
pub struct Submission {
    pub job_id: Option<JobId>,
    pub checkpoint_store: Option<Arc<dyn flinkrs_dataflow::CompletedCheckpointStore>>,
}

/// Submits `spec` (see [`JobManager::submit`]).
pub(crate) fn submit(
    shared: &Arc<Shared>,
    spec: JobSpec,
    runtime: tokio::runtime::Handle,
    submission: Submission,
) -> anyhow::Result<JobId> {
    crate::program::check(&spec)?;
    let job_id = submission.job_id.unwrap_or_else(JobId::generate);
    let job = job_id.to_string();
    let name = if spec.program {
        "program"
    } else {
        &spec.example
    };
    shared.jobs.add(&job, name, spec.properties.clone());
    let executor = Arc::new(ClusterExecutor {
        shared: Arc::clone(shared),
        job_id,
        spec: spec.clone(),
        runtime,
        checkpoint_store: submission.checkpoint_store,
    });
    let shared = Arc::clone(shared);
    std::thread::Builder::new()
        .name(format!("job {job}"))
        .spawn(move || {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                crate::program::run_spec(&spec, |env| {
                    env.set_executor(executor);
                })
            }))
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the job's thread panicked")));
            let (status, failure, records) = match outcome {
                Ok(result) => (
                    JobStatus::Finished,
                    None,
                    (result.records_in(), result.records_out()),
                ),
                Err(error) if crate::cli::is_cancelled(&error) => {
                    (JobStatus::Canceled, None, (0, 0))
                }
                Err(error) => (JobStatus::Failed, Some(format!("{error:#}")), (0, 0)),
            };
            tracing::info!(%job, status = status.name(), failure = ?failure, "job ended");
            shared.jobs.ended(&job, status, failure, records);
        })
        .context("cannot start the job's thread")?;
    Ok(job_id)
}

/// Cancels the job `job` on every TaskManager that runs a share of it.
pub(crate) async fn cancel_job(shared: &Shared, job: &str) -> bool {
    let Some(addresses) = shared.jobs.request_cancel(job) else {
        return false;
    };
    for address in addresses {
        if let Err(error) = scheduler::cancel(&address, job).await {
            tracing::warn!(%job, %address, %error, "cannot cancel the job's tasks");
        }
    }
    true
}

/// A fresh id for a run of the JobManager: 32 hex digits, as Flink's ids.
fn session_id() -> String {
    JobId::generate().to_string()
}
