//! The TaskManager process (`flinkrs taskmanager --jobmanager HOST:PORT`): it registers its
//! slots at the JobManager and keeps sending heartbeats with its slot report.
//!
//! A registration that fails (the JobManager is not up yet, or the address is wrong) is
//! retried with a growing delay, from `cluster.registration.initial-timeout` doubling up to
//! `cluster.registration.max-timeout`, and every failure is logged with the address tried. A
//! JobManager that answers no heartbeat for `heartbeat.timeout`, or that no longer knows this
//! TaskManager (it restarted), is registered with again.
//!
//! [`TaskManager::start`] runs it on the calling tokio runtime and returns a handle, so the
//! same code serves the `taskmanager` command, `flinkrs local` and tests.

mod checkpoints;
mod deployments;
mod hardware;
mod metrics;
mod registration;

use std::time::Duration;

use flinkrs_core::Configuration;
use std::sync::Arc;

use anyhow::Context as _;
use flinkrs_core::config::{
    REGISTRATION_INITIAL_TIMEOUT, REGISTRATION_MAX_TIMEOUT, TASKMANAGER_BIND_HOST,
    TASKMANAGER_DATA_PORT, TASKMANAGER_HOST, TASKMANAGER_RESOURCE_ID, TASKMANAGER_RPC_PORT,
};
use flinkrs_dataflow::channel::remote::NetworkEnvironment;
use flinkrs_dataflow::metrics::MetricRegistry;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use self::deployments::{DeploymentService, Deployments};
use crate::jobmanager::VERSION;
use crate::prometheus::SampleSource;
use crate::rpc::messages::TaskManagerRegistration;
use crate::rpc::taskmanager::task_manager_server::TaskManagerServer;

/// Where a TaskManager stands with its JobManager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskManagerState {
    /// Not registered yet, or registering again; `attempts` have failed so far.
    Registering { attempts: u32 },
    /// Registered with the JobManager run `jobmanager_session`, for the `registrations`-th
    /// time since the TaskManager started.
    Registered {
        jobmanager_session: String,
        registrations: u32,
    },
    /// Shut down.
    Stopped,
}

/// How a TaskManager finds and greets its JobManager.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// The JobManager's control plane, `host:port`.
    pub jobmanager: String,
    pub registration: TaskManagerRegistration,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Used until the JobManager sends its own.
    pub heartbeat_timeout: Duration,
}

/// A running TaskManager.
#[derive(Debug)]
pub struct TaskManager {
    resource_id: String,
    /// The host it advertises: the `host` label of its metrics.
    host: String,
    /// The metrics of the subtasks deployed here.
    registry: Arc<MetricRegistry>,
    state: watch::Receiver<TaskManagerState>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    server: JoinHandle<Result<(), tonic::transport::Error>>,
}

impl TaskManager {
    /// Listens on `taskmanager.bind-host` for the JobManager's calls (`taskmanager.rpc.port`)
    /// and other TaskManagers' records (`taskmanager.data.port`), then starts registering at
    /// `jobmanager` (`host:port`) with `taskmanager.numberOfTaskSlots` slots, on the current
    /// tokio runtime.
    pub async fn start(config: &Configuration, jobmanager: &str) -> anyhow::Result<TaskManager> {
        let host = match config.text(TASKMANAGER_HOST) {
            "" => hardware::host_name(),
            host => host.to_owned(),
        };
        let bind_host = config.text(TASKMANAGER_BIND_HOST);
        let rpc_bind = format!("{bind_host}:{}", config.port(TASKMANAGER_RPC_PORT));
        let listener = tokio::net::TcpListener::bind(&rpc_bind)
            .await
            .with_context(|| {
                format!(
                    "the TaskManager cannot listen on {rpc_bind} (set {TASKMANAGER_BIND_HOST} \
                     and {TASKMANAGER_RPC_PORT})"
                )
            })?;
        let rpc_port = listener.local_addr()?.port();
        let network = Arc::new(NetworkEnvironment::start(&format!(
            "{bind_host}:{}",
            config.port(TASKMANAGER_DATA_PORT)
        ))?);
        let data_port = network.address().port();
        let resource_id = match config.text(TASKMANAGER_RESOURCE_ID) {
            "" => format!(
                "{host}:{rpc_port}-{}",
                &flinkrs_core::JobId::generate().to_string()[..6]
            ),
            id => id.to_owned(),
        };
        let settings = Settings {
            jobmanager: jobmanager.to_owned(),
            registration: TaskManagerRegistration {
                resource_id: resource_id.clone(),
                rpc_address: format!("{host}:{rpc_port}"),
                data_address: format!("{host}:{data_port}"),
                slots: u32::try_from(config.slots_per_task_manager()).unwrap_or(u32::MAX),
                cpu_cores: hardware::cpu_cores(),
                physical_memory_bytes: hardware::physical_memory_bytes(),
                version: VERSION.to_owned(),
            },
            initial_backoff: config.duration_of(REGISTRATION_INITIAL_TIMEOUT),
            max_backoff: config.duration_of(REGISTRATION_MAX_TIMEOUT),
            heartbeat_timeout: config.heartbeat_timeout(),
        };
        let client = registration::client(&settings).with_context(|| {
            format!("'{jobmanager}' is not a JobManager address; pass --jobmanager HOST:PORT")
        })?;
        let (shutdown, shutdown_signal) = watch::channel(false);
        let deployments = Arc::new(Deployments::new(
            resource_id.clone(),
            settings.registration.data_address.clone(),
            network,
            client.clone(),
        ));
        let registry = Arc::clone(&deployments.registry);
        let mut server_shutdown = shutdown_signal.clone();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TaskManagerServer::new(DeploymentService(Arc::clone(
                    &deployments,
                ))))
                .serve_with_incoming_shutdown(
                    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                    async move {
                        let _ = server_shutdown.changed().await;
                    },
                ),
        );
        let (state_sender, state) = watch::channel(TaskManagerState::Registering { attempts: 0 });
        tracing::info!(
            %resource_id, jobmanager, slots = settings.registration.slots,
            rpc_address = %settings.registration.rpc_address,
            data_address = %settings.registration.data_address,
            "TaskManager started"
        );
        let task = tokio::spawn(registration::run(
            settings,
            client,
            state_sender,
            deployments,
            shutdown_signal,
        ));
        Ok(TaskManager {
            resource_id,
            host,
            registry,
            state,
            shutdown,
            task,
            server,
        })
    }

    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }

    /// Its series for `/metrics`, labelled `host` and `tm_id`: the subtasks and operators of
    /// the jobs deployed here, and the process's status.
    pub fn metrics(&self) -> SampleSource {
        let (registry, host, tm_id) = (
            Arc::clone(&self.registry),
            self.host.clone(),
            self.resource_id.clone(),
        );
        Arc::new(move || metrics::series(&registry, &host, &tm_id))
    }

    /// Follows where the TaskManager stands with its JobManager.
    pub fn state(&self) -> watch::Receiver<TaskManagerState> {
        self.state.clone()
    }

    /// Stops registering and sending heartbeats, and waits until it has.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let _ = (&mut self.task).await;
        let _ = (&mut self.server).await;
        tracing::info!(resource_id = %self.resource_id, "TaskManager stopped");
    }
}

impl Drop for TaskManager {
    fn drop(&mut self) {
        self.task.abort();
        self.server.abort();
    }
}
