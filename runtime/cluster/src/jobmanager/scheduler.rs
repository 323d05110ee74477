//! How the JobManager runs a job: it builds the program's graph as every process does, waits
//! for enough free slots (at most `slot.request.timeout`), places subtask `i` of every vertex
//! into the job's `i`-th slot (Flink's slot sharing), deploys each TaskManager's share, and
//! follows their reports until every share has ended.
//!
//! A failed share cancels the others and fails the job; a TaskManager lost during the job
//! fails it too. Restarting from a checkpoint comes with checkpoints in cluster mode.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flinkrs_core::config::SLOT_REQUEST_TIMEOUT;
use flinkrs_core::{Error, JobId, Result, RuntimeMode};
use flinkrs_dataflow::job_graph::build_job_graph;
use flinkrs_dataflow::{JobResult, NodeMetrics, PipelineExecutor, StreamGraph};
use tokio::runtime::Handle;

use super::Shared;
use super::jobs::VertexInfo;
use super::resource_manager::AllocatedSlot;
use crate::rpc::messages::{
    Deployment, JobRef, JobSpec, TasksEnded, TasksOutcome, VertexLocations,
};
use crate::rpc::taskmanager::task_manager_client::TaskManagerClient;

/// Runs a program's job on the cluster's TaskManagers.
pub(crate) struct ClusterExecutor {
    pub shared: Arc<Shared>,
    pub job_id: JobId,
    pub spec: JobSpec,
    pub runtime: Handle,
}

impl PipelineExecutor for ClusterExecutor {
    fn execute(&self, graph: StreamGraph) -> Result<JobResult> {
        let started = Instant::now();
        let job = self.job_id.to_string();
        let job_graph = build_job_graph(&graph, self.job_id)?;
        let config = &graph.config;
        if config.checkpoint_interval().is_some() && config.runtime_mode() == RuntimeMode::Streaming
        {
            return Err(Error::InvalidJob(
                "checkpoints are not taken in cluster mode yet: unset \
                 execution.checkpointing.interval, or run the job with `flinkrs run` on an \
                 in-process cluster"
                    .to_owned(),
            ));
        }
        let slots = self.allocate(
            &job,
            job_graph.required_slots(),
            config.duration_of(SLOT_REQUEST_TIMEOUT),
        )?;
        let locations: Vec<VertexLocations> = job_graph
            .vertices
            .iter()
            .map(|vertex| VertexLocations {
                subtasks: (0..vertex.parallelism)
                    .map(|subtask| slots[subtask].data_address.clone())
                    .collect(),
            })
            .collect();
        let mut task_managers: Vec<(String, String)> = slots
            .iter()
            .map(|slot| (slot.resource_id.clone(), slot.rpc_address.clone()))
            .collect();
        task_managers.dedup();
        let (reports, incoming) = crossbeam_channel::unbounded();
        let vertices = job_graph
            .vertices
            .iter()
            .map(|vertex| VertexInfo {
                id: vertex
                    .operator_ids
                    .first()
                    .map_or_else(|| format!("{:032x}", vertex.id.0), ToString::to_string),
                name: vertex.name.clone(),
                parallelism: vertex.parallelism,
                max_parallelism: vertex.max_parallelism,
            })
            .collect();
        if !self.shared.jobs.running(
            &job,
            (&job_graph.job_name, vertices),
            task_managers.clone(),
            reports,
        ) {
            self.shared.resource_manager().release(&job);
            return Err(Error::Cancelled);
        }
        let deployment = Deployment {
            job_id: job.clone(),
            attempt: 0,
            spec: Some(self.spec.clone()),
            locations,
            jobmanager_session: self.shared.session.clone(),
        };
        tracing::info!(
            %job, name = %job_graph.job_name, slots = slots.len(),
            task_managers = task_managers.len(), "deploying"
        );
        let mut outcome = Ok(());
        for (resource_id, address) in &task_managers {
            if let Err(error) = self.runtime.block_on(submit(address, deployment.clone())) {
                outcome = Err(Error::InvalidJob(format!(
                    "cannot deploy to TaskManager {resource_id} at {address}: {error}"
                )));
                break;
            }
        }
        let reported = match outcome {
            Ok(()) => {
                tracing::info!(%job, "deployed to every TaskManager: the job is running");
                self.follow(&job, &task_managers, &incoming)
            }
            Err(error) => {
                self.cancel_everywhere(&job, &task_managers);
                Err(error)
            }
        };
        self.shared.resource_manager().release(&job);
        let reports = reported?;
        let nodes = node_records(&graph, &reports);
        Ok(JobResult {
            job_id: self.job_id,
            job_name: job_graph.job_name.clone(),
            duration: started.elapsed(),
            nodes,
            metrics: Vec::new(),
            placement: Vec::new(),
            task_managers: task_managers.len(),
            restarts: 0,
        })
    }
}

impl ClusterExecutor {
    /// Takes `count` slots for `job`, waiting for TaskManagers to register or other jobs to
    /// free theirs, at most `timeout`.
    fn allocate(&self, job: &str, count: usize, timeout: Duration) -> Result<Vec<AllocatedSlot>> {
        let deadline = Instant::now() + timeout;
        let mut membership = self.shared.membership.subscribe();
        loop {
            if let Some(slots) = self.shared.resource_manager().allocate(job, count) {
                return Ok(slots);
            }
            let now = Instant::now();
            if now >= deadline {
                let (total, free) = {
                    let resource_manager = self.shared.resource_manager();
                    (
                        resource_manager.slots_total(),
                        resource_manager.slots_available(),
                    )
                };
                return Err(Error::InvalidJob(format!(
                    "the job needs {count} slots and got none within slot.request.timeout \
                     ({timeout:?}): the cluster has {free} free of {total}; start more \
                     TaskManagers, give them more slots (taskmanager.numberOfTaskSlots), or \
                     lower the parallelism"
                )));
            }
            if self
                .shared
                .jobs
                .get(job)
                .is_some_and(|job| job.cancel_requested)
            {
                return Err(Error::Cancelled);
            }
            // A TaskManager registering, or a slot freed by a job that ended.
            let wait = (deadline - now).min(Duration::from_millis(100));
            self.runtime.block_on(async {
                let _ = tokio::time::timeout(wait, membership.changed()).await;
            });
        }
    }

    /// Collects one report per TaskManager; the first failure cancels the other shares.
    fn follow(
        &self,
        job: &str,
        task_managers: &[(String, String)],
        incoming: &crossbeam_channel::Receiver<TasksEnded>,
    ) -> Result<Vec<TasksEnded>> {
        let mut reports: BTreeMap<String, TasksEnded> = BTreeMap::new();
        let mut failure: Option<String> = None;
        while reports.len() < task_managers.len() {
            let Ok(report) = incoming.recv() else {
                return Err(Error::InvalidJob("the JobManager stopped".to_owned()));
            };
            if reports.contains_key(&report.resource_id) {
                continue;
            }
            if report.outcome == TasksOutcome::Failed as i32 && failure.is_none() {
                tracing::warn!(%job, task_manager = %report.resource_id, failure = %report.failure, "job failed");
                failure = Some(format!(
                    "on TaskManager {}: {}",
                    report.resource_id, report.failure
                ));
                self.cancel_everywhere(job, task_managers);
            }
            reports.insert(report.resource_id.clone(), report);
        }
        if let Some(failure) = failure {
            return Err(Error::InvalidJob(failure));
        }
        if reports
            .values()
            .any(|report| report.outcome == TasksOutcome::Cancelled as i32)
        {
            return Err(Error::Cancelled);
        }
        Ok(reports.into_values().collect())
    }

    fn cancel_everywhere(&self, job: &str, task_managers: &[(String, String)]) {
        for (_, address) in task_managers {
            let (address, job) = (address.clone(), job.to_owned());
            self.runtime.spawn(async move {
                if let Err(error) = cancel(&address, &job).await {
                    tracing::warn!(%job, %address, %error, "cannot cancel the job's tasks");
                }
            });
        }
    }
}

/// Sends a deployment to the TaskManager at `address`.
pub(crate) async fn submit(address: &str, deployment: Deployment) -> anyhow::Result<()> {
    let mut client = TaskManagerClient::connect(format!("http://{address}")).await?;
    client.submit_tasks(deployment).await?;
    Ok(())
}

/// Asks the TaskManager at `address` to cancel its tasks of `job`.
pub(crate) async fn cancel(address: &str, job: &str) -> anyhow::Result<()> {
    let mut client = TaskManagerClient::connect(format!("http://{address}")).await?;
    client
        .cancel_tasks(JobRef {
            job_id: job.to_owned(),
        })
        .await?;
    Ok(())
}

/// The job's nodes with their records summed over every TaskManager's report.
fn node_records(graph: &StreamGraph, reports: &[TasksEnded]) -> Vec<NodeMetrics> {
    graph
        .nodes
        .iter()
        .map(|node| {
            let (records_in, records_out) = reports
                .iter()
                .flat_map(|report| &report.nodes)
                .filter(|records| records.node == node.id.0)
                .fold((0, 0), |(i, o), records| {
                    (i + records.records_in, o + records.records_out)
                });
            NodeMetrics {
                node: node.id,
                name: node.name.clone(),
                records_in,
                records_out,
                is_source: node.is_source(),
                is_sink: graph.out_edges(node.id).is_empty(),
            }
        })
        .collect()
}
