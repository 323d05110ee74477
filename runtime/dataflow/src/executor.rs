//! The in-process local cluster: places the JobGraph's subtasks into TaskManager slots and
//! runs each subtask on its own thread, with bounded channels between them.
//!
//! [`LocalExecutor::start`] returns a [`RunningJob`]: the handle that cancels the job, sends
//! checkpoint commands to its tasks' mailboxes, receives their acknowledgements, and waits for
//! the result. With `execution.checkpointing.interval` set, a checkpoint coordinator
//! ([`checkpointing`](crate::checkpointing)) takes periodic checkpoints into
//! `execution.checkpointing.dir`.
//!
//! Each subtask registers its metrics, and each operator of its chain its own, in a
//! [`MetricRegistry`] (architecture decision 12): the executor's own, or one shared with
//! [`LocalExecutor::with_metric_registry`]. A running job's metrics are read with
//! [`RunningJob::metrics`]; a finished job's are in its [`JobResult`].

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use flinkrs_checkpoint::{CheckpointSettings, TaskKey};
use flinkrs_core::{CheckpointBarrier, CheckpointId, Error, JobId, NodeId, Result, SubtaskIndex};

use crate::chain::build::{ChainBuilder, ExchangeEndpoints};
use crate::checkpointing::{
    self, CheckpointDriver, CompletedCheckpoint, DriverContext, checkpoint_storage,
};
use crate::graph::{NodeKind, OutputSlot, StreamGraph};
use crate::job_graph::{JobGraph, build_job_graph};
use crate::metrics::{JobMetricGroup, MetricRegistry, MetricSnapshot, MetricValue, names};
use crate::partition::BatchBounds;
use crate::restore::RestoredState;
use crate::schedule::{SlotAssignment, schedule, task_managers_needed};
use crate::task::{
    CancelToken, TaskAcknowledgement, TaskCommand, TaskHandle, TaskMetrics, TaskRunner, mailbox,
};

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
}

impl JobResult {
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

/// A job started by [`LocalExecutor::start`].
pub struct RunningJob {
    job_id: JobId,
    job_graph: JobGraph,
    graph: StreamGraph,
    started: Instant,
    metric_registry: Arc<MetricRegistry>,
    job_metrics: JobMetricGroup,
    placement: Vec<SlotAssignment>,
    task_managers: usize,
    cancel: CancelToken,
    /// Every task's mailbox handle, and whether the task is a source.
    tasks: Vec<(TaskHandle, bool)>,
    threads: Vec<(String, JoinHandle<Result<()>>)>,
    /// Task snapshots, when no checkpoint driver collects them.
    acknowledgements: Receiver<TaskAcknowledgement>,
    /// Periodic checkpoints, when `execution.checkpointing.interval` is set.
    checkpoints: Option<CheckpointDriver>,
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

    /// Builds every subtask's chain and starts one thread per subtask.
    pub fn start(self) -> Result<RunningJob> {
        let started = Instant::now();
        let job_id = JobId::generate();
        let job_graph = build_job_graph(&self.graph, job_id)?;
        let config = Arc::new(self.graph.config.clone());
        let slots_per_task_manager = config.slots_per_task_manager();
        let task_managers = task_managers_needed(&job_graph, slots_per_task_manager);
        tracing::info!(
            job = %job_graph.job_name, %job_id, task_managers, slots_per_task_manager,
            "starting local cluster"
        );
        let job_metrics = self
            .metric_registry
            .job_group(job_id, job_graph.job_name.clone());
        let bounds = BatchBounds {
            max_rows: config.batch_max_rows(),
            max_bytes: config.batch_max_bytes(),
        };
        let cancel = CancelToken::default();
        let mut endpoints =
            ExchangeEndpoints::create(&self.graph, &job_graph, config.channel_capacity())?;
        let (acknowledge, acknowledgements) = crossbeam_channel::unbounded();
        let restored = match config.state_recovery_path() {
            Some(path) => {
                let restored = RestoredState::read(path, &config)?;
                let operator_ids = job_graph
                    .vertices
                    .iter()
                    .flat_map(|vertex| vertex.operator_ids.iter().map(|id| id.to_string()))
                    .collect();
                restored.check_claimed(&operator_ids, config.ignore_unclaimed_state())?;
                tracing::info!(checkpoint = restored.checkpoint.0, %path, "restoring");
                Some(restored)
            }
            None => None,
        };
        let buffer_timeout = config.buffer_timeout();
        let tick = buffer_timeout
            .min(Duration::from_millis(50))
            .max(Duration::from_millis(1));

        let mut runners: Vec<(String, Box<dyn TaskRunner>, bool, TaskKey)> = Vec::new();
        for (vertex_index, vertex) in job_graph.vertices.iter().enumerate() {
            for subtask in 0..vertex.parallelism {
                let task_group =
                    job_metrics.task_group(vertex.name.clone(), SubtaskIndex(subtask), 0);
                let task_metrics = TaskMetrics::new(task_group.io_metrics());
                let output_metrics = task_metrics.output_metrics();
                let builder = ChainBuilder {
                    graph: &self.graph,
                    job_graph: &job_graph,
                    config: &config,
                    metrics: &task_group,
                    output_metrics: &output_metrics,
                    bounds,
                    subtask,
                    cancel: &cancel,
                    restored: restored.as_ref(),
                };
                let head = self.graph.node(vertex.head());
                let runner = match &head.kind {
                    NodeKind::Source(factory) => {
                        let info = builder.task_info(head.id);
                        let main =
                            builder.outputs_of(head.id, &OutputSlot::Main, &mut endpoints)?;
                        factory.create(
                            &info,
                            main,
                            builder.operator_metrics(&info),
                            task_metrics,
                            head.output_type.rows_per_batch(bounds),
                            builder.restored_state(&info)?,
                        )?
                    }
                    NodeKind::Operator(_) => {
                        let chain = builder.build_node(head.id, &mut endpoints)?;
                        let receivers = endpoints.take_receivers(vertex_index, subtask);
                        let input_edge = &head.inputs[0];
                        let input_type = self
                            .graph
                            .node(input_edge.source)
                            .slot_type(&input_edge.slot)
                            .ok_or_else(|| {
                                Error::InvalidJob(format!(
                                    "'{}' reads an undeclared output",
                                    head.name
                                ))
                            })?;
                        input_type.input_task(receivers, chain, task_metrics, &vertex.name)?
                    }
                };
                let name = format!("{} ({}/{})", vertex.name, subtask + 1, vertex.parallelism);
                let key = TaskKey {
                    vertex: vertex_index,
                    subtask,
                };
                runners.push((name, runner, head.is_source(), key));
            }
        }

        // Starts the meters' clocks: rates are per second from here.
        self.metric_registry.tick(started);
        let mut tasks = Vec::with_capacity(runners.len());
        let mut task_keys = Vec::with_capacity(runners.len());
        let mut threads = Vec::with_capacity(runners.len());
        for (task_index, (name, runner, is_source, key)) in runners.into_iter().enumerate() {
            let (handle, mut task_mailbox) = mailbox(
                name.clone(),
                cancel.clone(),
                Some(acknowledge.clone()),
                tick,
                buffer_timeout,
            );
            task_mailbox.task_index = task_index;
            task_keys.push(key);
            let job_cancel = cancel.clone();
            let thread = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || {
                    let result = runner.run(task_mailbox);
                    if result.is_err() {
                        // Stop every other task: no one waits for a neighbour that failed.
                        job_cancel.cancel();
                    }
                    result
                })
                .map_err(|source| {
                    cancel.cancel();
                    Error::InvalidJob(format!("cannot start a thread for '{name}': {source}"))
                })?;
            tasks.push((handle, is_source));
            threads.push((name, thread));
        }
        let (completed_sender, completed_checkpoints) = crossbeam_channel::unbounded();
        let (checkpoints, acknowledgements) = match CheckpointSettings::from_config(&config) {
            Some(settings) => {
                let context = DriverContext {
                    settings,
                    storage: checkpoint_storage(&config)?,
                    job_id: job_id.to_string(),
                    tasks: tasks
                        .iter()
                        .zip(&task_keys)
                        .map(|((handle, is_source), key)| (handle.clone(), *key, *is_source))
                        .collect(),
                    acknowledgements,
                    cancel: cancel.clone(),
                    completed: completed_sender,
                    restored_from: restored.as_ref().map(|restored| restored.checkpoint),
                };
                (
                    Some(checkpointing::start(context)?),
                    crossbeam_channel::never(),
                )
            }
            None => (None, acknowledgements),
        };
        Ok(RunningJob {
            job_id,
            placement: schedule(&job_graph, slots_per_task_manager),
            job_graph,
            graph: self.graph,
            started,
            metric_registry: self.metric_registry,
            job_metrics,
            task_managers,
            cancel,
            tasks,
            threads,
            acknowledgements,
            checkpoints,
            completed_checkpoints,
        })
    }
}

impl RunningJob {
    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    /// Cancels every task; [`wait`](Self::wait) then returns [`Error::Cancelled`].
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Asks every source task to inject `barrier`; returns how many sources were reached (a
    /// finished source is not).
    pub fn trigger_checkpoint(&self, barrier: CheckpointBarrier) -> usize {
        self.sources()
            .filter(|handle| handle.send(TaskCommand::TriggerCheckpoint(barrier)))
            .count()
    }

    /// Tells every task that `checkpoint` is complete.
    pub fn notify_checkpoint_complete(&self, checkpoint: CheckpointId) {
        for (handle, _) in &self.tasks {
            handle.send(TaskCommand::CheckpointComplete(checkpoint));
        }
    }

    /// Task snapshots, one per task and checkpoint, as their barriers pass. Empty when
    /// periodic checkpoints are on: the checkpoint coordinator collects them then.
    pub fn acknowledgements(&self) -> &Receiver<TaskAcknowledgement> {
        &self.acknowledgements
    }

    /// Each periodic checkpoint as it completes, with its folder.
    pub fn completed_checkpoints(&self) -> &Receiver<CompletedCheckpoint> {
        &self.completed_checkpoints
    }

    /// The job's metrics now: those of every subtask and of every operator in it, with
    /// Flink's names and labels. Meters' rates are brought up to date first.
    pub fn metrics(&self) -> Vec<MetricSnapshot> {
        self.metric_registry.tick(Instant::now());
        let job = self.job_metrics.scope();
        self.metric_registry
            .snapshot()
            .into_iter()
            .filter(|metric| job.contains(&metric.scope))
            .collect()
    }

    /// The registry the job's metrics are in, shared with whoever passed it to
    /// [`LocalExecutor::with_metric_registry`].
    pub fn metric_registry(&self) -> &Arc<MetricRegistry> {
        &self.metric_registry
    }

    /// How many tasks the job runs.
    pub fn task_count(&self) -> usize {
        self.tasks.len()
    }

    fn sources(&self) -> impl Iterator<Item = &TaskHandle> {
        self.tasks
            .iter()
            .filter(|(_, is_source)| *is_source)
            .map(|(handle, _)| handle)
    }

    /// Waits for every task to finish; the first failure is the job's error.
    pub fn wait(mut self) -> Result<JobResult> {
        let mut root_cause: Option<Error> = None;
        let mut cancelled = false;
        for (name, thread) in std::mem::take(&mut self.threads) {
            match thread.join() {
                Ok(Ok(())) => {}
                Ok(Err(Error::Cancelled)) => cancelled = true,
                Ok(Err(error)) => {
                    tracing::error!(task = %name, %error, "task failed");
                    root_cause.get_or_insert(error);
                }
                Err(_) => {
                    root_cause.get_or_insert(Error::OperatorFailed {
                        operator: name,
                        subtask: String::new(),
                        message: "the task thread panicked outside an operator".into(),
                    });
                }
            }
        }
        // A checkpointing failure cancels the tasks: it is the job's root cause.
        if let Some(failure) = self.checkpoints.take().and_then(CheckpointDriver::stop) {
            root_cause.get_or_insert(failure);
        }
        let metrics = self.metrics();
        // As Flink closes a job's metric group when its tasks are gone.
        self.job_metrics.close();
        if let Some(error) = root_cause {
            return Err(error);
        }
        if cancelled {
            return Err(Error::Cancelled);
        }
        let graph = &self.graph;
        let nodes = graph
            .nodes
            .iter()
            .map(|node| {
                let operator_id = self
                    .job_graph
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
        Ok(JobResult {
            job_id: self.job_id,
            job_name: self.job_graph.job_name.clone(),
            duration: self.started.elapsed(),
            nodes,
            metrics,
            placement: self.placement,
            task_managers: self.task_managers,
        })
    }
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
