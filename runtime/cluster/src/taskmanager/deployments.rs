//! The TaskManager's gRPC service: the JobManager deploys a job's subtasks here and cancels
//! them. Each deployed job runs its program on a thread of its own, with a
//! [`PlacedExecutor`] that starts only the subtasks placed here; when they have all ended,
//! the TaskManager reports how to the JobManager.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flinkrs_core::JobId;
use flinkrs_dataflow::channel::remote::NetworkEnvironment;
use flinkrs_dataflow::metrics::MetricRegistry;
use flinkrs_dataflow::placement::TaskPlacement;
use flinkrs_dataflow::task_executor::PlacedExecutor;
use tokio::runtime::Handle;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use super::checkpoints::JobManagerReports;
use crate::rpc::checkpoints::command_of;
use crate::rpc::jobmanager::job_manager_client::JobManagerClient;
use crate::rpc::messages::{
    Ack, CheckpointCommandRequest, Deployment, JobRef, NodeRecords, TaskMetricsReply, TasksEnded,
    TasksOutcome,
};
use crate::rpc::taskmanager::task_manager_server::TaskManager;

/// What the service needs of its TaskManager.
pub(crate) struct Deployments {
    pub resource_id: String,
    /// The data address this TaskManager advertises.
    pub data_address: String,
    pub network: Arc<NetworkEnvironment>,
    pub registry: Arc<MetricRegistry>,
    pub jobmanager: JobManagerClient<Channel>,
    /// The running jobs' executors with their attempt, to cancel them and pass on
    /// checkpoint commands.
    running: Mutex<HashMap<String, (u32, Arc<PlacedExecutor>)>>,
}

impl Deployments {
    pub(crate) fn new(
        resource_id: String,
        data_address: String,
        network: Arc<NetworkEnvironment>,
        jobmanager: JobManagerClient<Channel>,
    ) -> Self {
        Deployments {
            resource_id,
            data_address,
            network,
            registry: MetricRegistry::new(),
            jobmanager,
            running: Mutex::new(HashMap::new()),
        }
    }

    /// Cancels the subtasks of every job placed here: the JobManager that deployed them is
    /// lost, and the one that replaces it (after a restart, or in high availability, another
    /// JobManager) deploys its jobs afresh from their latest checkpoints, as Flink's
    /// TaskManagers fail their tasks when they lose a job's leader.
    pub(crate) fn cancel_all(&self) {
        for (job, (_, executor)) in self.running().iter() {
            tracing::warn!(%job, "cancelling the job's subtasks placed here: its JobManager is lost");
            executor.cancel();
            release_results(job);
        }
    }

    fn running(&self) -> MutexGuard<'_, HashMap<String, (u32, Arc<PlacedExecutor>)>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Releases the rows a cancelled job's collect sink holds here: a sink waiting for its client
/// stops waiting.
fn release_results(job: &str) {
    if let Ok(job) = u128::from_str_radix(job, 16) {
        flinkrs_dataflow::collect::release(JobId(job));
    }
}

/// The service over shared [`Deployments`]. A deployment is answered once its subtasks have
/// started (or failed to), so the JobManager's first checkpoint finds them running.
pub(crate) struct DeploymentService(pub Arc<Deployments>);

#[tonic::async_trait]
impl TaskManager for DeploymentService {
    async fn submit_tasks(&self, request: Request<Deployment>) -> Result<Response<Ack>, Status> {
        let deployment = request.into_inner();
        let deployments = Arc::clone(&self.0);
        let job = deployment.job_id.clone();
        let job_id = u128::from_str_radix(&job, 16)
            .map(JobId)
            .map_err(|_| Status::invalid_argument(format!("'{job}' is not a job id")))?;
        let spec = deployment.spec.ok_or_else(|| {
            Status::invalid_argument(format!("the deployment of {job} has no job"))
        })?;
        let placement = TaskPlacement {
            job_id,
            attempt: deployment.attempt,
            locations: deployment
                .locations
                .into_iter()
                .map(|vertex| vertex.subtasks)
                .collect(),
            own_address: deployments.data_address.clone(),
            network: Arc::clone(&deployments.network),
            checkpoints: Some(Arc::new(JobManagerReports {
                job_id: job.clone(),
                attempt: deployment.attempt,
                jobmanager: deployments.jobmanager.clone(),
                runtime: Handle::current(),
            })),
            restore_from: Some(deployment.restore_from).filter(|path| !path.is_empty()),
            graph_fingerprint: Some(deployment.graph_fingerprint)
                .filter(|fingerprint| !fingerprint.is_empty()),
        };
        let (started, start) = crossbeam_channel::bounded(1);
        let executor = Arc::new(
            PlacedExecutor::new(placement, Arc::clone(&deployments.registry))
                .reporting_start(started),
        );
        let attempt = deployment.attempt;
        deployments
            .running()
            .insert(job.clone(), (attempt, Arc::clone(&executor)));
        let runtime = Handle::current();
        let job_executor = Arc::clone(&executor);
        let thread = std::thread::Builder::new()
            .name(format!("job {job}"))
            .spawn(move || {
                tracing::info!(%job, "running the job's subtasks placed here");
                let outcome = crate::program::run_spec(&spec, |env| {
                    env.set_executor(job_executor.clone());
                });
                if let Err(error) = &outcome {
                    job_executor.report_failed_start(cause(error));
                }
                {
                    let mut running = deployments.running();
                    if running.get(&job).is_some_and(|(running, _)| *running == attempt) {
                        running.remove(&job);
                    }
                }
                let mut report = TasksEnded {
                    resource_id: deployments.resource_id.clone(),
                    job_id: job.clone(),
                    attempt,
                    outcome: TasksOutcome::Finished as i32,
                    failure: String::new(),
                    nodes: Vec::new(),
                };
                match outcome {
                    Ok(result) => {
                        report.nodes = result
                            .nodes
                            .iter()
                            .map(|node| NodeRecords {
                                node: node.node.0,
                                records_in: node.records_in,
                                records_out: node.records_out,
                            })
                            .collect();
                    }
                    Err(error) if crate::cli::is_cancelled(&error) => {
                        report.outcome = TasksOutcome::Cancelled as i32;
                    }
                    Err(error) => {
                        report.outcome = TasksOutcome::Failed as i32;
                        report.failure = cause(&error);
                    }
                }
                tracing::info!(%job, outcome = report.outcome, failure = %report.failure, "the job's subtasks here ended");
                let mut jobmanager = deployments.jobmanager.clone();
                if let Err(status) = runtime.block_on(jobmanager.tasks_ended(report)) {
                    tracing::warn!(%job, "cannot report to the JobManager: {}", status.message());
                }
            });
        if let Err(error) = thread {
            return Err(Status::internal(format!(
                "cannot start a thread for job {}: {error}",
                deployment.job_id
            )));
        }
        let started = tokio::task::spawn_blocking(move || start.recv())
            .await
            .map_err(|error| {
                Status::internal(format!("the deployment's waiter failed: {error}"))
            })?;
        match started {
            Ok(Ok(())) => Ok(Response::new(Ack {})),
            Ok(Err(reason)) => Err(Status::failed_precondition(format!(
                "the subtasks of job {} did not start: {reason}",
                deployment.job_id
            ))),
            // The program ended without running its job.
            Err(_) => Err(Status::failed_precondition(format!(
                "the program of job {} ended without running its job",
                deployment.job_id
            ))),
        }
    }

    async fn cancel_tasks(&self, request: Request<JobRef>) -> Result<Response<Ack>, Status> {
        let job = request.into_inner().job_id;
        if let Some((_, executor)) = self.0.running().get(&job) {
            tracing::info!(%job, "cancelling the job's subtasks placed here");
            executor.cancel();
        }
        release_results(&job);
        Ok(Response::new(Ack {}))
    }

    async fn checkpoint_command(
        &self,
        request: Request<CheckpointCommandRequest>,
    ) -> Result<Response<Ack>, Status> {
        let request = request.into_inner();
        let (command, task_indices) = command_of(&request).map_err(Status::invalid_argument)?;
        let executor = match self.0.running().get(&request.job_id) {
            Some((attempt, executor)) if *attempt == request.attempt => Arc::clone(executor),
            _ => {
                return Err(Status::not_found(format!(
                    "attempt {} of job {} does not run here",
                    request.attempt, request.job_id
                )));
            }
        };
        if executor.checkpoint_command(&task_indices, &command) {
            Ok(Response::new(Ack {}))
        } else {
            Err(Status::unavailable(format!(
                "the subtasks of job {} are not running here",
                request.job_id
            )))
        }
    }

    async fn task_metrics(
        &self,
        request: Request<JobRef>,
    ) -> Result<Response<TaskMetricsReply>, Status> {
        super::metrics::task_metrics(
            &self.0.registry,
            &self.0.resource_id,
            &request.into_inner().job_id,
        )
        .map(Response::new)
    }
}

/// What failed the job's subtasks here, for the JobManager: the error's chain without the
/// outermost "job '…' failed", which the JobManager's own report of the job says once.
fn cause(error: &anyhow::Error) -> String {
    let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
    match chain.split_first() {
        Some((outer, causes)) if outer.starts_with("job '") && !causes.is_empty() => {
            causes.join(": ")
        }
        _ => chain.join(": "),
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Context as _;

    use super::cause;

    #[test]
    fn a_subtask_failure_is_reported_without_the_job_wrapper_the_jobmanager_adds_once() {
        let failed: anyhow::Result<()> = Err(anyhow::anyhow!("division by zero"))
            .context("operator 'Map' (1/2) failed")
            .context("job 'wordcount' failed");
        assert_eq!(
            cause(&failed.unwrap_err()),
            "operator 'Map' (1/2) failed: division by zero"
        );
        assert_eq!(cause(&anyhow::anyhow!("job 'x' failed")), "job 'x' failed");
    }
}
