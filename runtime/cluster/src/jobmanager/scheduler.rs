//! How the JobManager runs a job: it builds the program's graph as every process does, waits
//! for enough free slots (at most `slot.request.timeout`), places subtask `i` of every vertex
//! into the job's `i`-th slot (Flink's slot sharing), deploys each TaskManager's share, and
//! follows their reports until every share has ended.
//!
//! A job that takes checkpoints gets a checkpoint coordinator per attempt
//! ([`cluster_checkpoints`]): it triggers the TaskManagers, which write their subtasks' state
//! and acknowledge with its handles.
//!
//! When a share fails, or a TaskManager is lost (`kill -9`, or no heartbeat within
//! `heartbeat.timeout`), every other share is cancelled and waited for, and the restart
//! strategy decides, as for a local job. A restart is a new attempt of the whole job
//! (architecture decision 10): new slots (from the TaskManagers that are registered then,
//! waiting at most `slot.request.timeout` for enough of them), every subtask restored from
//! the latest completed checkpoint (before the first one, from where the job started).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, select};
use flinkrs_core::config::SLOT_REQUEST_TIMEOUT;
use flinkrs_core::{Configuration, Error, JobId, Result};
use flinkrs_dataflow::checkpointing::{
    CheckpointGauges, CheckpointHistory, checkpoint_location, discard_retained,
};
use flinkrs_dataflow::cluster_checkpoints::{self, ClusterCheckpointSetup, ClusterCheckpoints};
use flinkrs_dataflow::job_client::SavepointRequest;
use flinkrs_dataflow::job_graph::{JobGraph, build_job_graph};
use flinkrs_dataflow::metrics::MetricRegistry;
use flinkrs_dataflow::restart_strategy::{RestartBackoff, RestartDecision, RestartStrategy};
use flinkrs_dataflow::restore::RestoredState;
use flinkrs_dataflow::{
    CompletedCheckpointStore, JobResult, NodeMetrics, PipelineExecutor, StreamGraph,
};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::runtime::Handle;

use super::Shared;
use super::jobs::{CheckpointRoutes, VertexInfo};
use super::participants::RemoteParticipants;
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
    /// Records each completed checkpoint before the tasks are notified (high availability).
    pub checkpoint_store: Option<Arc<dyn CompletedCheckpointStore>>,
}

/// How one attempt of a job ended.
enum AttemptEnd {
    /// Every share finished: the TaskManagers' reports.
    Finished(Vec<TasksEnded>),
    Cancelled,
    Failed(Error),
}

/// What every attempt of one job shares.
struct JobRun<'a> {
    job: String,
    graph: &'a StreamGraph,
    job_graph: &'a JobGraph,
    config: &'a Configuration,
    /// Savepoint requests and statistics, when the job takes checkpoints.
    checkpointing: Option<(Receiver<SavepointRequest>, CheckpointGauges)>,
}

impl PipelineExecutor for ClusterExecutor {
    fn execute(&self, graph: StreamGraph) -> Result<JobResult> {
        let started = Instant::now();
        let job = self.job_id.to_string();
        let job_graph = build_job_graph(&graph, self.job_id)?;
        let config = &graph.config;
        let strategy = RestartStrategy::from_config(config)?;
        // Where the job starts from: `-s`, else nothing.
        let initial_restore = config.state_recovery_path().map(str::to_owned);
        let mut history = match &initial_restore {
            Some(path) => {
                let restored = RestoredState::read(path, config)?;
                CheckpointHistory::starting_after(Some(restored.checkpoint))
            }
            None => CheckpointHistory::starting_after(None),
        };
        let checkpointing = cluster_checkpoints::takes_checkpoints(config).then(|| {
            // The gauges serve the JobManager's /metrics, the statistics its REST API.
            let registry = MetricRegistry::new();
            let group = registry.jobmanager_job_group(self.job_id, job_graph.job_name.clone());
            let gauges = CheckpointGauges::register(&group);
            let (savepoints, savepoint_requests) = crossbeam_channel::unbounded();
            self.shared
                .jobs
                .takes_checkpoints(&job, savepoints, gauges.clone());
            (savepoint_requests, gauges)
        });
        let run = JobRun {
            job: job.clone(),
            graph: &graph,
            job_graph: &job_graph,
            config,
            checkpointing,
        };
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        let mut random = SmallRng::seed_from_u64(seed ^ self.job_id.0 as u64);
        let mut restart = RestartBackoff::new(strategy);
        let mut restore_from = initial_restore.clone();
        let mut attempt = 0u32;
        loop {
            let (end, attempt_history) =
                self.run_attempt(&run, attempt, restore_from.as_deref(), history);
            history = attempt_history;
            let retention = config.externalized_checkpoint_retention();
            let failure = match end {
                AttemptEnd::Finished(reports) => {
                    let task_managers: BTreeSet<&str> = reports
                        .iter()
                        .map(|report| report.resource_id.as_str())
                        .collect();
                    return Ok(JobResult {
                        job_id: self.job_id,
                        job_name: job_graph.job_name.clone(),
                        duration: started.elapsed(),
                        nodes: node_records(&graph, &reports),
                        metrics: Vec::new(),
                        placement: Vec::new(),
                        task_managers: task_managers.len(),
                        restarts: attempt,
                    });
                }
                AttemptEnd::Cancelled => {
                    self.retain(&run, &history, retention.retains_on_cancellation());
                    return Err(Error::Cancelled);
                }
                AttemptEnd::Failed(error) if self.cancel_requested(&job) => {
                    tracing::info!(%job, %error, "a subtask failed while the job was being cancelled");
                    self.retain(&run, &history, retention.retains_on_cancellation());
                    return Err(Error::Cancelled);
                }
                AttemptEnd::Failed(error) => error,
            };
            let delay = match restart.on_failure(Instant::now(), random.random()) {
                RestartDecision::GiveUp => {
                    self.retain(&run, &history, retention.retains_on_failure());
                    if attempt == 0 {
                        return Err(failure);
                    }
                    return Err(Error::RestartsExhausted {
                        restarts: attempt,
                        strategy: restart.strategy().describe(),
                        cause: Box::new(failure),
                    });
                }
                RestartDecision::Restart { delay } => delay,
            };
            attempt += 1;
            restore_from = match history.latest() {
                Some(latest) => Some(checkpoint_location(config, &job, latest)?.to_string()),
                None => initial_restore.clone(),
            };
            tracing::warn!(
                %job, attempt, delay_ms = delay.as_millis() as u64,
                restore_from = ?restore_from, cause = %failure,
                "the job failed; restarting it after the delay from its latest checkpoint"
            );
            self.shared.jobs.restarting(&job, &failure.to_string());
            if self.wait_out(&job, delay) {
                self.retain(&run, &history, retention.retains_on_cancellation());
                return Err(Error::Cancelled);
            }
        }
    }
}

impl ClusterExecutor {
    /// Runs attempt `attempt` of the job, restored from `restore_from`, with its checkpoints
    /// going on from `history`; returns how it ended and where its checkpoints stand.
    fn run_attempt(
        &self,
        run: &JobRun<'_>,
        attempt: u32,
        restore_from: Option<&str>,
        history: CheckpointHistory,
    ) -> (AttemptEnd, CheckpointHistory) {
        let job = &run.job;
        let slots = match self.allocate(
            job,
            run.job_graph.required_slots(),
            run.config.duration_of(SLOT_REQUEST_TIMEOUT),
        ) {
            Ok(slots) => slots,
            Err(Error::Cancelled) => return (AttemptEnd::Cancelled, history),
            Err(error) => return (AttemptEnd::Failed(error), history),
        };
        let end = self.run_on_slots(run, attempt, restore_from, &slots, history);
        self.shared.jobs.attempt_started(job, attempt, None);
        self.shared.resource_manager().release(job);
        end
    }

    fn run_on_slots(
        &self,
        run: &JobRun<'_>,
        attempt: u32,
        restore_from: Option<&str>,
        slots: &[AllocatedSlot],
        history: CheckpointHistory,
    ) -> (AttemptEnd, CheckpointHistory) {
        let (job, job_graph) = (&run.job, run.job_graph);
        let locations: Vec<VertexLocations> = job_graph
            .vertices
            .iter()
            .map(|vertex| VertexLocations {
                subtasks: (0..vertex.parallelism)
                    .map(|subtask| slots[subtask].data_address.clone())
                    .collect(),
            })
            .collect();
        let mut task_managers: Vec<(String, String)> = Vec::new();
        let mut data_addresses: Vec<String> = Vec::new();
        for slot in slots {
            let task_manager = (slot.resource_id.clone(), slot.rpc_address.clone());
            if !task_managers.contains(&task_manager) {
                task_managers.push(task_manager);
                data_addresses.push(slot.data_address.clone());
            }
        }
        let (reports, incoming) = crossbeam_channel::unbounded();
        let vertices = job_graph
            .vertices
            .iter()
            .map(|vertex| VertexInfo {
                id: vertex_rest_id(vertex),
                name: vertex.name.clone(),
                parallelism: vertex.parallelism,
                max_parallelism: vertex.max_parallelism,
                inputs: job_graph
                    .edges
                    .iter()
                    .filter(|edge| edge.target == vertex.id)
                    .filter_map(|edge| {
                        let source = job_graph.vertices.iter().find(|v| v.id == edge.source)?;
                        Some((
                            vertex_rest_id(source),
                            crate::rest::ship_strategy(edge.partitioner).to_owned(),
                        ))
                    })
                    .collect(),
            })
            .collect();
        // The checkpoint reports of this attempt go to its coordinator.
        let (written, written_in) = crossbeam_channel::unbounded();
        let (input_ended, input_ended_in) = crossbeam_channel::unbounded();
        let routes = run.checkpointing.as_ref().map(|_| CheckpointRoutes {
            attempt,
            written,
            input_ended,
        });
        self.shared.jobs.attempt_started(job, attempt, routes);
        if !self.shared.jobs.running(
            job,
            (&job_graph.job_name, vertices),
            (task_managers.clone(), data_addresses),
            reports,
        ) {
            return (AttemptEnd::Cancelled, history);
        }
        let deployment = Deployment {
            job_id: job.clone(),
            attempt,
            spec: Some(self.spec.clone()),
            locations,
            jobmanager_session: self.shared.session.clone(),
            restore_from: restore_from.unwrap_or_default().to_owned(),
            graph_fingerprint: job_graph.fingerprint(),
        };
        tracing::info!(
            %job, name = %job_graph.job_name, attempt, slots = slots.len(),
            task_managers = task_managers.len(), restore_from = ?restore_from, "deploying"
        );
        let (deployed, failure) = self.deploy(&task_managers, &deployment);
        if let Some(failure) = failure {
            self.cancel_everywhere(job, &task_managers);
            let _ = self.follow(job, attempt, &deployed, &incoming, None);
            return (AttemptEnd::Failed(failure), history);
        }
        tracing::info!(%job, attempt, "deployed to every TaskManager: the job is running");
        let coordinator = match run.checkpointing.as_ref() {
            Some((savepoint_requests, gauges)) => {
                let task_addresses: Vec<String> = job_graph
                    .vertices
                    .iter()
                    .flat_map(|vertex| {
                        (0..vertex.parallelism).map(|subtask| slots[subtask].rpc_address.clone())
                    })
                    .collect();
                let setup = ClusterCheckpointSetup {
                    job_id: self.job_id,
                    tasks: cluster_checkpoints::job_tasks(run.graph, job_graph),
                    participants: Box::new(RemoteParticipants::start(
                        &self.runtime,
                        job,
                        attempt,
                        &task_addresses,
                    )),
                    written: written_in,
                    input_ended: input_ended_in,
                    savepoint_requests: savepoint_requests.clone(),
                    history: history.clone(),
                    gauges: gauges.clone(),
                    completed: crossbeam_channel::unbounded().0,
                    checkpoint_store: self.checkpoint_store.clone(),
                };
                match cluster_checkpoints::start(run.config, setup) {
                    Ok(coordinator) => coordinator,
                    Err(error) => {
                        self.cancel_everywhere(job, &task_managers);
                        let _ = self.follow(job, attempt, &deployed, &incoming, None);
                        return (AttemptEnd::Failed(error), history);
                    }
                }
            }
            None => None,
        };
        let followed = self.follow(job, attempt, &deployed, &incoming, coordinator.as_ref());
        let (checkpoint_failure, history) = match coordinator {
            Some(coordinator) => coordinator.stop(),
            None => (None, history),
        };
        let end = match (checkpoint_failure, followed) {
            (Some(failure), _) => AttemptEnd::Failed(failure),
            (None, Ok(reports)) => AttemptEnd::Finished(reports),
            (None, Err(Error::Cancelled)) => AttemptEnd::Cancelled,
            (None, Err(error)) => AttemptEnd::Failed(error),
        };
        (end, history)
    }

    /// Sends `deployment` to every TaskManager at once; returns those that took it (and so
    /// will report), and the first failure.
    fn deploy(
        &self,
        task_managers: &[(String, String)],
        deployment: &Deployment,
    ) -> (Vec<(String, String)>, Option<Error>) {
        let outcomes = self.runtime.block_on(async {
            let mut sends = tokio::task::JoinSet::new();
            for (index, (_, address)) in task_managers.iter().enumerate() {
                let (address, deployment) = (address.clone(), deployment.clone());
                sends.spawn(async move { (index, submit(&address, deployment).await) });
            }
            let mut outcomes = Vec::new();
            while let Some(outcome) = sends.join_next().await {
                if let Ok(outcome) = outcome {
                    outcomes.push(outcome);
                }
            }
            outcomes.sort_by_key(|(index, _)| *index);
            outcomes
        });
        let mut deployed = Vec::new();
        let mut failure = None;
        for (index, outcome) in outcomes {
            let (resource_id, address) = &task_managers[index];
            match outcome {
                Ok(()) => deployed.push(task_managers[index].clone()),
                Err(error) => {
                    // Its program ran and failed: it reports how.
                    if error.ran_program {
                        deployed.push(task_managers[index].clone());
                    }
                    failure.get_or_insert_with(|| {
                        Error::InvalidJob(format!(
                            "cannot deploy to TaskManager {resource_id} at {address}: {}",
                            error.message
                        ))
                    });
                }
            }
        }
        (deployed, failure)
    }

    /// Keeps the job's checkpoints, or deletes them, as retention says for how it ended.
    fn retain(&self, run: &JobRun<'_>, history: &CheckpointHistory, keep: bool) {
        if !keep && run.checkpointing.is_some() {
            discard_retained(run.config, &run.job, history);
        }
    }

    fn cancel_requested(&self, job: &str) -> bool {
        self.shared
            .jobs
            .get(job)
            .is_some_and(|job| job.cancel_requested)
    }

    /// Waits out a restart's delay; `true` when the job was cancelled meanwhile.
    fn wait_out(&self, job: &str, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        let mut membership = self.shared.membership.subscribe();
        loop {
            if self.cancel_requested(job) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // A cancel is checked at least every 100 ms.
            let wait = (deadline - now).min(Duration::from_millis(100));
            self.runtime.block_on(async {
                let _ = tokio::time::timeout(wait, membership.changed()).await;
            });
        }
    }

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

    /// Collects one report of attempt `attempt` per TaskManager in `task_managers`; the first
    /// failure, or the coordinator failing the job, cancels the other shares.
    fn follow(
        &self,
        job: &str,
        attempt: u32,
        task_managers: &[(String, String)],
        incoming: &Receiver<TasksEnded>,
        coordinator: Option<&ClusterCheckpoints>,
    ) -> Result<Vec<TasksEnded>> {
        let never = crossbeam_channel::never();
        let mut checkpointing_failed = coordinator.map_or(&never, ClusterCheckpoints::failed);
        let mut reports: BTreeMap<String, TasksEnded> = BTreeMap::new();
        let mut failure: Option<String> = None;
        let mut cancelled_alone: Option<String> = None;
        while reports.len() < task_managers.len() {
            let report = select! {
                recv(incoming) -> report => match report {
                    Ok(report) => report,
                    Err(_) => return Err(Error::InvalidJob("the JobManager stopped".to_owned())),
                },
                recv(checkpointing_failed) -> _ => {
                    // The coordinator's stop says why.
                    checkpointing_failed = &never;
                    self.cancel_everywhere(job, task_managers);
                    continue;
                }
            };
            if report.attempt != attempt || reports.contains_key(&report.resource_id) {
                continue;
            }
            // Subtasks cancelled while nobody cancelled the job: their TaskManager shut down,
            // or lost the JobManager that deployed them (a report of that JobManager's
            // attempt can reach its successor, which runs the job under the same id with high
            // availability). That is a failure to recover from, not the job's cancellation;
            // the other subtasks are cancelled so the attempt ends, and a real failure that
            // reports meanwhile is the one named.
            if report.outcome == TasksOutcome::Cancelled as i32
                && !self.cancel_requested(job)
                && cancelled_alone.is_none()
            {
                tracing::warn!(%job, attempt, task_manager = %report.resource_id, "subtasks were cancelled, but the job was not");
                cancelled_alone = Some(format!(
                    "on TaskManager {}: its subtasks were cancelled, but the job was not (the \
                     TaskManager shut down or lost its JobManager)",
                    report.resource_id
                ));
                self.cancel_everywhere(job, task_managers);
            }
            if report.outcome == TasksOutcome::Failed as i32 && failure.is_none() {
                tracing::warn!(%job, attempt, task_manager = %report.resource_id, failure = %report.failure, "the job failed");
                failure = Some(format!(
                    "on TaskManager {}: {}",
                    report.resource_id, report.failure
                ));
                self.cancel_everywhere(job, task_managers);
            }
            reports.insert(report.resource_id.clone(), report);
        }
        if let Some(failure) = failure.or(cancelled_alone) {
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

/// Why a deployment did not start.
pub(crate) struct DeployError {
    pub message: String,
    /// The TaskManager ran the job's program (which failed): it reports how it ended.
    pub ran_program: bool,
}

/// Sends a deployment to the TaskManager at `address`; answered once its subtasks started.
pub(crate) async fn submit(address: &str, deployment: Deployment) -> Result<(), DeployError> {
    let mut client = TaskManagerClient::connect(format!("http://{address}"))
        .await
        .map_err(|error| DeployError {
            message: error.to_string(),
            ran_program: false,
        })?;
    client
        .submit_tasks(deployment)
        .await
        .map(|_| ())
        .map_err(|status| DeployError {
            message: status.message().to_owned(),
            ran_program: status.code() == tonic::Code::FailedPrecondition,
        })
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

/// A vertex's id as the REST API shows it: its head operator's id, as Flink's JobVertexID.
fn vertex_rest_id(vertex: &flinkrs_dataflow::job_graph::JobVertex) -> String {
    vertex
        .operator_ids
        .first()
        .map_or_else(|| format!("{:032x}", vertex.id.0), ToString::to_string)
}
