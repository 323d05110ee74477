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

use crate::job_spec::request_of;
use crate::rpc::jobmanager::job_manager_client::JobManagerClient;
use crate::rpc::messages::{
    Ack, Deployment, JobRef, NodeRecords, TaskMetricsReply, TasksEnded, TasksOutcome,
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
    /// The running jobs' executors, to cancel them.
    running: Mutex<HashMap<String, Arc<PlacedExecutor>>>,
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

    fn running(&self) -> MutexGuard<'_, HashMap<String, Arc<PlacedExecutor>>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The service over shared [`Deployments`].
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
        };
        let executor = Arc::new(PlacedExecutor::new(
            placement,
            Arc::clone(&deployments.registry),
        ));
        deployments
            .running()
            .insert(job.clone(), Arc::clone(&executor));
        let runtime = Handle::current();
        let attempt = deployment.attempt;
        let thread = std::thread::Builder::new()
            .name(format!("job {job}"))
            .spawn(move || {
                tracing::info!(%job, "running the job's subtasks placed here");
                let outcome = crate::run::run_request(&request_of(&spec), |env| {
                    env.set_executor(executor);
                });
                deployments.running().remove(&job);
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
                        report.failure = format!("{error:#}");
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
        Ok(Response::new(Ack {}))
    }

    async fn cancel_tasks(&self, request: Request<JobRef>) -> Result<Response<Ack>, Status> {
        let job = request.into_inner().job_id;
        if let Some(executor) = self.0.running().get(&job) {
            tracing::info!(%job, "cancelling the job's subtasks placed here");
            executor.cancel();
        }
        Ok(Response::new(Ack {}))
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
