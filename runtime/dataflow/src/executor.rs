//! The in-process local cluster: places the JobGraph's subtasks into TaskManager slots and
//! runs each subtask on its own thread, with bounded channels between them.
//!
//! [`LocalExecutor::start`] returns a [`RunningJob`]: the handle that cancels the job, sends
//! checkpoint commands to its tasks' mailboxes, receives their acknowledgements, and waits for
//! the result. With `execution.checkpointing.interval` set (in streaming mode; batch mode takes
//! no checkpoints), a checkpoint coordinator ([`checkpointing`](crate::checkpointing)) takes
//! periodic checkpoints into `execution.checkpointing.dir`, and a bounded job ends with a final
//! checkpoint, so what its sinks wrote last is committed.
//!
//! A JobMaster thread ([`job_master`](crate::job_master)) waits for the job's tasks. When one
//! fails, it restarts the whole job from the latest completed checkpoint as the restart
//! strategy allows (`restart-strategy.type`); the [`RunningJob`] and its [`JobClient`]s keep
//! working across the job's attempts.
//!
//! Each subtask registers its metrics, and each operator of its chain its own, in a
//! [`MetricRegistry`] (architecture decision 12): the executor's own, or one shared with
//! [`LocalExecutor::with_metric_registry`]. A running job's metrics are read with
//! [`RunningJob::metrics`]; a finished job's are in its [`JobResult`].

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use flinkrs_core::{CheckpointBarrier, CheckpointId, Error, JobId, NodeId, Result};

use crate::attempt::{JobContext, read_restored_state, start_attempt};
use crate::checkpointing::{CheckpointGauges, CheckpointHistory, CompletedCheckpoint};
use crate::graph::StreamGraph;
use crate::job_client::{JobClient, JobControl, JobInfo};
use crate::job_graph::{JobGraph, build_job_graph};
use crate::job_master::JobMaster;
use crate::metrics::{
    JobManagerJobMetricGroup, JobMetricGroup, MetricRegistry, MetricSnapshot, MetricValue, names,
};
use crate::restart_strategy::{RestartBackoff, RestartStrategy};
use crate::schedule::{SlotAssignment, schedule, task_managers_needed};
use crate::task::{TaskAcknowledgement, TaskCommand, TaskHandle};

/// Records counted at one node over all its subtasks: its operator's numRecordsIn and
/// numRecordsOut in the registry, summed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeMetrics {
    pub node: NodeId,
    pub name: String,
    pub records_in: u64,
    pub records_out: u64,
    pub is_source: bool,
    /// Nothing consumes this node's output.
    pub is_sink: bool,
}

/// What a finished job reports.
#[derive(Clone, Debug)]
pub struct JobResult {
    pub job_id: JobId,
    pub job_name: String,
    pub duration: Duration,
    pub nodes: Vec<NodeMetrics>,
    /// Every metric of the job's subtasks and operators, with Flink's names and labels, as
    /// they stood when the last task ended.
    pub metrics: Vec<MetricSnapshot>,
    pub placement: Vec<SlotAssignment>,
    pub task_managers: usize,
    /// How many times the job restarted after a failure (Flink's `numRestarts`).
    pub restarts: u32,
}

impl JobResult {
    /// The result of a finished job, with its node totals read from `metrics`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site, every field named there"
    )]
    pub(crate) fn build(
        graph: &StreamGraph,
        job_graph: &JobGraph,
        job_id: JobId,
        duration: Duration,
        metrics: Vec<MetricSnapshot>,
        placement: Vec<SlotAssignment>,
        task_managers: usize,
        restarts: u32,
    ) -> Self {
        let nodes = graph
            .nodes
            .iter()
            .map(|node| {
                let operator_id = job_graph
                    .vertex_of(node.id)
                    .and_then(|vertex| vertex.operator_id(node.id))
                    .map(|id| id.to_string())
                    .unwrap_or_default();
                let total = |name| operator_total(&metrics, &operator_id, name);
                NodeMetrics {
                    node: node.id,
                    name: node.name.clone(),
                    records_in: total(names::NUM_RECORDS_IN),
                    records_out: total(names::NUM_RECORDS_OUT),
                    is_source: node.is_source(),
                    is_sink: graph.out_edges(node.id).is_empty(),
                }
            })
            .collect();
        JobResult {
            job_id,
            job_name: job_graph.job_name.clone(),
            duration,
            nodes,
            metrics,
            placement,
            task_managers,
            restarts,
        }
    }

    /// Records the sources emitted: their operators' numRecordsOut, from the registry.
    pub fn records_in(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.is_source)
            .map(|n| n.records_out)
            .sum()
    }

    /// Records the sinks received: their operators' numRecordsIn, from the registry.
    pub fn records_out(&self) -> u64 {
        self.nodes
            .iter()
            .filter(|n| n.is_sink)
            .map(|n| n.records_in)
            .sum()
    }
}

/// Runs a StreamGraph on an in-process cluster sized to fit it.
pub struct LocalExecutor {
    graph: StreamGraph,
    metric_registry: Arc<MetricRegistry>,
}

/// A job started by [`LocalExecutor::start`]. Its methods act on the job's current attempt:
/// after a restart, on the new one.
pub struct RunningJob {
    job_id: JobId,
    metric_registry: Arc<MetricRegistry>,
    job_metrics: JobMetricGroup,
    jobmanager_metrics: JobManagerJobMetricGroup,
    control: Arc<JobControl>,
    task_count: usize,
    job_master: JoinHandle<Result<JobResult>>,
    client: JobClient,
    /// Task snapshots, when no checkpoint driver collects them.
    acknowledgements: Receiver<TaskAcknowledgement>,
    /// Periodic checkpoints, over every attempt, when `execution.checkpointing.interval` is
    /// set.
    completed_checkpoints: Receiver<CompletedCheckpoint>,
}

impl LocalExecutor {
    pub fn new(graph: StreamGraph) -> Self {
        LocalExecutor {
            graph,
            metric_registry: MetricRegistry::new(),
        }
    }

    /// Registers the job's metrics in `registry` rather than in a registry of the executor's
    /// own, so that whoever holds it (a TaskManager serving `/metrics`) sees them. They are
    /// removed from it when the job ends.
    pub fn with_metric_registry(mut self, registry: Arc<MetricRegistry>) -> Self {
        self.metric_registry = registry;
        self
    }

    /// Chains the graph and returns the JobGraph without running it.
    pub fn job_graph(&self) -> Result<JobGraph> {
        build_job_graph(&self.graph, JobId(0))
    }

    /// Runs the job to completion (bounded input) or failure.
    pub fn execute(self) -> Result<JobResult> {
        self.start()?.wait()
    }

    /// Builds every subtask's chain, starts one thread per subtask and the JobMaster thread
    /// that restarts the job after a failure, then tells the graph's [`JobListener`]s.
    /// A job that cannot be set up is an error here and is not restarted.
    ///
    /// [`JobListener`]: crate::JobListener
    pub fn start(self) -> Result<RunningJob> {
        let started = Instant::now();
        let job_id = JobId::generate();
        let job_graph = build_job_graph(&self.graph, job_id)?;
        let config = Arc::new(self.graph.config.clone());
        let restart = RestartBackoff::new(RestartStrategy::from_config(&config)?);
        let slots_per_task_manager = config.slots_per_task_manager();
        let task_managers = task_managers_needed(&job_graph, slots_per_task_manager);
        tracing::info!(
            job = %job_graph.job_name, %job_id, task_managers, slots_per_task_manager,
            restart_strategy = %restart.strategy().describe(),
            "starting local cluster"
        );
        let restored = match config.state_recovery_path() {
            Some(path) => {
                let restored = read_restored_state(path, &job_graph, &config)?;
                tracing::info!(checkpoint = restored.checkpoint.0, %path, "restoring");
                Some(restored)
            }
            None => None,
        };
        let job_metrics = self
            .metric_registry
            .job_group(job_id, job_graph.job_name.clone());
        let jobmanager_metrics = self
            .metric_registry
            .jobmanager_job_group(job_id, job_graph.job_name.clone());
        let (acknowledge, acknowledgements) = crossbeam_channel::unbounded();
        let (completed, completed_checkpoints) = crossbeam_channel::unbounded();
        let control = Arc::new(JobControl::new());
        // As the attempts start their checkpoint drivers: streaming jobs with an interval.
        control.set_takes_checkpoints(
            flinkrs_checkpoint::CheckpointSettings::from_config(&config).is_some()
                && config.runtime_mode() == flinkrs_core::RuntimeMode::Streaming,
        );
        let listeners = self.graph.job_listeners.clone();
        let job = JobContext {
            job_id,
            graph: self.graph,
            job_graph,
            config,
            job_metrics: job_metrics.clone(),
            control: Arc::clone(&control),
            checkpoint_gauges: CheckpointGauges::register(&jobmanager_metrics),
            acknowledge,
            completed,
        };
        if let (Some(restored), Some(path)) = (&restored, job.config.state_recovery_path()) {
            let statistics = &job.checkpoint_gauges.statistics;
            statistics.restored(restored.checkpoint, path);
        }
        let history = CheckpointHistory::starting_after(
            restored.as_ref().map(|restored| restored.checkpoint),
        );
        // Starts the meters' clocks: rates are per second from here.
        self.metric_registry.tick(started);
        let first = match start_attempt(&job, 0, restored.as_ref(), history.clone()) {
            Ok(first) => first,
            Err(error) => {
                job_metrics.close();
                jobmanager_metrics.close();
                return Err(error);
            }
        };
        drop(restored);
        let task_count = job.job_graph.vertices.iter().map(|v| v.parallelism).sum();
        let info = JobInfo {
            job_graph: Arc::new(job.job_graph.clone()),
            config: Arc::clone(&job.config),
            metric_registry: Arc::clone(&self.metric_registry),
            checkpoint_statistics: job.checkpoint_gauges.statistics.clone(),
        };
        let client = JobClient::new(
            job_id,
            job.job_graph.job_name.clone(),
            Arc::clone(&control),
            completed_checkpoints.clone(),
            info,
        );
        let master = JobMaster {
            placement: schedule(&job.job_graph, slots_per_task_manager),
            job,
            restart,
            started,
            metric_registry: Arc::clone(&self.metric_registry),
            jobmanager_metrics: jobmanager_metrics.clone(),
            task_managers,
            initial_history: history,
        };
        let job_master = std::thread::Builder::new()
            .name(format!("JobMaster {job_id}"))
            .spawn(move || master.run(first))
            .map_err(|source| {
                control.cancel();
                Error::InvalidJob(format!("cannot start the JobMaster's thread: {source}"))
            })?;
        let running = RunningJob {
            job_id,
            metric_registry: self.metric_registry,
            job_metrics,
            jobmanager_metrics,
            control,
            task_count,
            job_master,
            client,
            acknowledgements,
            completed_checkpoints,
        };
        for listener in &listeners {
            listener.on_job_submitted(&running.client);
        }
        Ok(running)
    }
}

impl RunningJob {
    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// Cancels every task and any restart to come; [`wait`](Self::wait) then returns
    /// [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.control.cancel();
    }

    /// A handle on the job for other threads: cancel it, follow its checkpoints.
    pub fn client(&self) -> JobClient {
        self.client.clone()
    }

    /// Asks every source task of the current attempt to inject `barrier`; returns how many
    /// sources were reached (a finished source is not).
    pub fn trigger_checkpoint(&self, barrier: CheckpointBarrier) -> usize {
        self.control.with_tasks(|tasks| {
            sources(tasks)
                .filter(|handle| handle.send(TaskCommand::TriggerCheckpoint(barrier)))
                .count()
        })
    }

    /// Tells every task of the current attempt that `checkpoint` is complete.
    pub fn notify_checkpoint_complete(&self, checkpoint: CheckpointId) {
        self.control.with_tasks(|tasks| {
            for (handle, _) in tasks {
                handle.send(TaskCommand::CheckpointComplete(checkpoint));
            }
        });
    }

    /// Task snapshots, one per task and checkpoint, as their barriers pass. Empty when
    /// periodic checkpoints are on: the checkpoint coordinator collects them then.
    pub fn acknowledgements(&self) -> &Receiver<TaskAcknowledgement> {
        &self.acknowledgements
    }

    /// Each periodic checkpoint as it completes, with its folder, over every attempt of the
    /// job. [`JobClient::completed_checkpoints`] reads the same queue.
    pub fn completed_checkpoints(&self) -> &Receiver<CompletedCheckpoint> {
        &self.completed_checkpoints
    }

    /// How many times the job has restarted so far.
    pub fn restarts(&self) -> u32 {
        self.control.restarts()
    }

    /// The job's metrics now: the JobManager's (`numRestarts`) and those of every subtask of
    /// the current attempt and of every operator in it, with Flink's names and labels.
    /// Meters' rates are brought up to date first.
    pub fn metrics(&self) -> Vec<MetricSnapshot> {
        job_metrics(
            &self.metric_registry,
            &self.job_metrics,
            &self.jobmanager_metrics,
        )
    }

    /// The registry the job's metrics are in, shared with whoever passed it to
    /// [`LocalExecutor::with_metric_registry`].
    pub fn metric_registry(&self) -> &Arc<MetricRegistry> {
        &self.metric_registry
    }

    /// How many tasks each attempt of the job runs.
    pub fn task_count(&self) -> usize {
        self.task_count
    }

    /// Waits for the job to end: finished, cancelled, or failed once its restart strategy
    /// gave up (the last failure, with how many restarts there were).
    pub fn wait(self) -> Result<JobResult> {
        self.job_master.join().unwrap_or_else(|_| {
            Err(Error::InvalidJob(
                "the JobMaster's thread panicked".to_owned(),
            ))
        })
    }
}

fn sources(tasks: &[(TaskHandle, bool)]) -> impl Iterator<Item = &TaskHandle> {
    tasks
        .iter()
        .filter(|(_, is_source)| *is_source)
        .map(|(handle, _)| handle)
}

/// The metrics of one job: its JobManager group's and its TaskManager group's, rates brought
/// up to date.
pub(crate) fn job_metrics(
    registry: &MetricRegistry,
    tasks: &JobMetricGroup,
    jobmanager: &JobManagerJobMetricGroup,
) -> Vec<MetricSnapshot> {
    registry.tick(Instant::now());
    let (tasks, jobmanager) = (tasks.scope(), jobmanager.scope());
    registry
        .snapshot()
        .into_iter()
        .filter(|metric| tasks.contains(&metric.scope) || jobmanager.contains(&metric.scope))
        .collect()
}

/// The counter `name` of the operator `operator_id`, summed over its subtasks.
fn operator_total(metrics: &[MetricSnapshot], operator_id: &str, name: &str) -> u64 {
    metrics
        .iter()
        .filter(|metric| metric.name == name)
        .filter(|metric| {
            let operator = metric.scope.operator();
            operator.is_some_and(|operator| operator.operator_id == operator_id)
        })
        .map(|metric| match metric.value {
            MetricValue::Counter(count) => count,
            _ => 0,
        })
        .sum()
}
