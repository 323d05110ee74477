//! The TaskManager's side of its relationship with the JobManager: register (retrying with a
//! growing delay), then send heartbeats until the JobManager is lost or the TaskManager shuts
//! down, and register again after a loss.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

use super::deployments::Deployments;
use super::{Settings, TaskManagerState};
use crate::rpc::jobmanager::job_manager_client::JobManagerClient;
use crate::rpc::messages::{RegistrationSuccess, TaskManagerHeartbeat};

/// Why a heartbeat loop ended.
enum Ended {
    /// The JobManager is gone or forgot this TaskManager: register again.
    Lost,
    ShutDown,
}

pub(crate) async fn run(
    settings: Settings,
    client: JobManagerClient<Channel>,
    state: watch::Sender<TaskManagerState>,
    deployments: Arc<Deployments>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut registrations = 0;
    loop {
        let Some(success) = register(&settings, client.clone(), &state, &mut shutdown).await else {
            break;
        };
        registrations += 1;
        state.send_replace(TaskManagerState::Registered {
            jobmanager_session: success.jobmanager_session.clone(),
            registrations,
        });
        match send_heartbeats(&settings, client.clone(), &success, &mut shutdown).await {
            Ended::Lost => {
                deployments.cancel_all();
                state.send_replace(TaskManagerState::Registering { attempts: 0 })
            }
            Ended::ShutDown => break,
        };
    }
    state.send_replace(TaskManagerState::Stopped);
}

/// How long one TCP connect to the JobManager may take. A connect to a Service whose
/// routing kube-proxy has not set up yet is never answered; with the heartbeat timeout (50 s)
/// as its limit, a TaskManager started with its JobManager waited that long before its
/// second attempt, and its jobs with it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client on a lazily connected channel: an unreachable JobManager fails each call, and the
/// channel connects again by itself when it is back.
pub(crate) fn client(
    settings: &Settings,
) -> Result<JobManagerClient<Channel>, tonic::transport::Error> {
    let endpoint = Endpoint::from_shared(format!("http://{}", settings.jobmanager))?
        .connect_timeout(CONNECT_TIMEOUT.min(settings.heartbeat_timeout))
        .timeout(settings.heartbeat_timeout)
        .tcp_nodelay(true);
    Ok(JobManagerClient::new(endpoint.connect_lazy()))
}

/// Registers, retrying after each failure with a delay that doubles from the initial backoff
/// up to the maximum. `None` if the TaskManager shut down first.
async fn register(
    settings: &Settings,
    mut client: JobManagerClient<Channel>,
    state: &watch::Sender<TaskManagerState>,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<RegistrationSuccess> {
    let mut delay = settings.initial_backoff;
    let mut attempts = 0;
    loop {
        let call = client.register_task_manager(settings.registration.clone());
        let outcome = tokio::select! {
            outcome = call => outcome,
            _ = shutdown.changed() => return None,
        };
        match outcome {
            Ok(success) => {
                let success = success.into_inner();
                tracing::info!(
                    jobmanager = %settings.jobmanager,
                    resource_id = %settings.registration.resource_id,
                    slots = settings.registration.slots,
                    session = %success.jobmanager_session,
                    "registered at the JobManager"
                );
                return Some(success);
            }
            Err(status) => {
                attempts += 1;
                state.send_replace(TaskManagerState::Registering { attempts });
                tracing::warn!(
                    jobmanager = %settings.jobmanager,
                    attempts,
                    "cannot register at the JobManager at {}: {}; retrying in {delay:?}",
                    settings.jobmanager,
                    describe(&status)
                );
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    _ = shutdown.changed() => return None,
                }
                delay = (delay * 2).min(settings.max_backoff);
            }
        }
    }
}

/// Sends a heartbeat every interval the JobManager asked for, until it answers none for the
/// heartbeat timeout or says it does not know this TaskManager.
async fn send_heartbeats(
    settings: &Settings,
    mut client: JobManagerClient<Channel>,
    registered: &RegistrationSuccess,
    shutdown: &mut watch::Receiver<bool>,
) -> Ended {
    let interval = Duration::from_millis(registered.heartbeat_interval_ms.max(1));
    let timeout = Duration::from_millis(registered.heartbeat_timeout_ms.max(1));
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_answer = Instant::now();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => return Ended::ShutDown,
        }
        let heartbeat = TaskManagerHeartbeat {
            resource_id: settings.registration.resource_id.clone(),
            jobmanager_session: registered.jobmanager_session.clone(),
        };
        let outcome = tokio::select! {
            outcome = client.heartbeat(heartbeat) => outcome,
            _ = shutdown.changed() => return Ended::ShutDown,
        };
        match outcome {
            Ok(_) => last_answer = Instant::now(),
            Err(status) if status.code() == Code::NotFound => {
                tracing::warn!(
                    jobmanager = %settings.jobmanager,
                    "the JobManager no longer knows this TaskManager ({}); registering again",
                    status.message()
                );
                return Ended::Lost;
            }
            Err(status) => {
                let silent_for = last_answer.elapsed();
                if silent_for > timeout {
                    tracing::warn!(
                        jobmanager = %settings.jobmanager,
                        "lost the JobManager: no heartbeat answered for {silent_for:?} \
                         (heartbeat.timeout is {timeout:?}), the last failure: {}; registering \
                         again",
                        describe(&status)
                    );
                    return Ended::Lost;
                }
                tracing::debug!(jobmanager = %settings.jobmanager, "heartbeat failed: {}", describe(&status));
            }
        }
    }
}

/// A status with the chain of causes behind it (a refused connection says so).
fn describe(status: &Status) -> String {
    let mut text = status.message().to_owned();
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
