//! One execution attempt of a job on the local cluster: every subtask built from the
//! StreamGraph's reusable factories and started on its own thread, with a checkpoint driver
//! when checkpointing is on. A job runs one attempt, and one more after each restart
//! ([`job_master`](crate::job_master)); each gets fresh tasks, channels, metric groups (with
//! its attempt number) and cancellation.

use std::cell::RefCell;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::Sender;
use flinkrs_checkpoint::{CheckpointSettings, TaskKey};
use flinkrs_core::{Configuration, Error, JobId, Result, RuntimeMode, SubtaskIndex};
use flinkrs_state::storage::S3Settings;

use crate::chain::build::{ChainBuilder, ExchangeEndpoints};
use crate::checkpoint_participants::LocalTasks;
use crate::checkpointing::{
    self, CheckpointDriver, CheckpointGauges, CheckpointHistory, CompletedCheckpoint,
    DriverContext, checkpoint_storage,
};
use crate::graph::{NodeKind, OutputSlot, StreamGraph};
use crate::job_client::JobControl;
use crate::job_graph::JobGraph;
use crate::metrics::{JobMetricGroup, TaskMetricGroup};
use crate::partition::BatchBounds;
use crate::placement::TaskPlacement;
use crate::restore::RestoredState;
use crate::snapshot_writer::{self, SnapshotWriter};
use crate::task::{CancelToken, TaskAcknowledgement, TaskHandle, TaskMetrics, TaskRunner, mailbox};

/// What every attempt of one job shares.
pub(crate) struct JobContext {
    pub job_id: JobId,
    pub graph: StreamGraph,
    pub job_graph: JobGraph,
    pub config: Arc<Configuration>,
    pub job_metrics: JobMetricGroup,
    pub control: Arc<JobControl>,
    /// Where task snapshots go when no checkpoint driver collects them.
    pub acknowledge: Sender<TaskAcknowledgement>,
    /// Where completed checkpoints are announced, over every attempt.
    pub completed: Sender<CompletedCheckpoint>,
    /// The job's checkpoint statistics on the JobManager, over every attempt.
    pub checkpoint_gauges: CheckpointGauges,
}

/// How an attempt ended.
#[derive(Debug)]
pub(crate) enum AttemptOutcome {
    /// Every task finished (bounded input).
    Finished,
    /// The tasks were cancelled and none failed.
    Cancelled,
    /// A task failed, or checkpointing failed the job: the first failure.
    Failed(Error),
}

/// A running attempt.
pub(crate) struct Attempt {
    threads: Vec<(String, JoinHandle<Result<()>>)>,
    task_groups: Vec<TaskMetricGroup>,
    checkpoints: Option<CheckpointDriver>,
    history: CheckpointHistory,
    /// The tasks started here, by task index.
    pub handles: Vec<(usize, TaskHandle)>,
    /// On a TaskManager of a job that takes checkpoints: what writes its tasks' snapshots.
    pub writer: Option<SnapshotWriter>,
}

/// A subtask built and not started yet.
struct BuiltTask {
    /// Its index among all the job's subtasks (vertex by vertex, subtask by subtask).
    task_index: usize,
    name: String,
    runner: Box<dyn TaskRunner>,
    is_source: bool,
    key: TaskKey,
}

/// Reads the checkpoint at `location` (a path or URI, as `-s` takes it) and checks that the
/// job claims all of its state.
pub(crate) fn read_restored_state(
    location: &str,
    job_graph: &JobGraph,
    config: &Configuration,
) -> Result<RestoredState> {
    let restored = RestoredState::read(location, config)?;
    let operator_ids = job_graph
        .vertices
        .iter()
        .flat_map(|vertex| vertex.operator_ids.iter().map(|id| id.to_string()))
        .collect();
    restored.check_claimed(&operator_ids, config.ignore_unclaimed_state())?;
    Ok(restored)
}

/// Builds every subtask of attempt `attempt_number` and starts one thread per subtask, with
/// `restored` handed to the operators and sources, and the checkpoint driver going on from
/// `history`.
pub(crate) fn start_attempt(
    job: &JobContext,
    attempt_number: u32,
    restored: Option<&RestoredState>,
    history: CheckpointHistory,
) -> Result<Attempt> {
    start_placed_attempt(job, attempt_number, restored, history, None)
}

/// Starts the subtasks of attempt `attempt_number` that `placement` puts in this process
/// (every subtask without a placement), with channels to the others over the network.
/// A placed attempt has no checkpoint driver: the JobManager's drives its checkpoints, and
/// a [`SnapshotWriter`] writes the snapshots of the subtasks here.
pub(crate) fn start_placed_attempt(
    job: &JobContext,
    attempt_number: u32,
    restored: Option<&RestoredState>,
    history: CheckpointHistory,
    placement: Option<&TaskPlacement>,
) -> Result<Attempt> {
    let config = &job.config;
    let graph = &job.graph;
    let job_graph = &job.job_graph;
    let bounds = BatchBounds {
        max_rows: config.batch_max_rows(),
        max_bytes: config.batch_max_bytes(),
    };
    let cancel = CancelToken::default();
    let mut endpoints =
        ExchangeEndpoints::create_placed(graph, job_graph, config.channel_capacity(), placement)?;
    // Batch mode takes no checkpoints (architecture decision 11).
    let settings = CheckpointSettings::from_config(config)
        .filter(|_| config.runtime_mode() == RuntimeMode::Streaming)
        .filter(|_| placement.is_none_or(|placement| placement.checkpoints.is_some()));
    // With checkpoints, tasks stay for the final checkpoint once their input ended.
    let (input_ended, input_ended_reports) = crossbeam_channel::unbounded();
    let mut input_ended_reports = Some(input_ended_reports);
    // With periodic checkpoints, this attempt's driver collects its tasks' snapshots; no
    // snapshot of an earlier attempt can reach it.
    let (acknowledge, acknowledgements) = match settings {
        Some(_) => {
            let (sender, receiver) = crossbeam_channel::unbounded();
            (sender, Some(receiver))
        }
        None => (job.acknowledge.clone(), None),
    };
    let buffer_timeout = config.buffer_timeout();
    let tick = buffer_timeout
        .min(Duration::from_millis(50))
        .max(Duration::from_millis(1));

    let mut runners: Vec<BuiltTask> = Vec::new();
    let mut task_groups = Vec::new();
    let mut task_index = 0;
    for (vertex_index, vertex) in job_graph.vertices.iter().enumerate() {
        for subtask in 0..vertex.parallelism {
            task_index += 1;
            if placement.is_some_and(|placement| !placement.is_local(vertex_index, subtask)) {
                continue;
            }
            let task_group = job.job_metrics.task_group(
                vertex.name.clone(),
                SubtaskIndex(subtask),
                attempt_number,
            );
            let task_metrics = TaskMetrics::new(task_group.io_metrics());
            let output_metrics = task_metrics.output_metrics();
            let builder = ChainBuilder {
                graph,
                job_graph,
                config,
                metrics: &task_group,
                output_metrics: &output_metrics,
                bounds,
                subtask,
                attempt: attempt_number,
                cancel: &cancel,
                restored,
            };
            let head = graph.node(vertex.head());
            let runner = match &head.kind {
                NodeKind::Source(factory) => {
                    let info = builder.task_info(head.id);
                    let main = builder.outputs_of(head.id, &OutputSlot::Main, &mut endpoints)?;
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
                    let input_type = graph
                        .node(input_edge.source)
                        .slot_type(&input_edge.slot)
                        .ok_or_else(|| {
                            Error::InvalidJob(format!("'{}' reads an undeclared output", head.name))
                        })?;
                    input_type.input_task(receivers, chain, task_metrics, &vertex.name)?
                }
            };
            let name = format!("{} ({}/{})", vertex.name, subtask + 1, vertex.parallelism);
            let key = TaskKey {
                vertex: vertex_index,
                subtask,
            };
            runners.push(BuiltTask {
                task_index: task_index - 1,
                name,
                runner,
                is_source: head.is_source(),
                key,
            });
            task_groups.push(task_group);
        }
    }

    // On a TaskManager, the snapshots of the subtasks here are written here.
    let (acknowledge, acknowledgements, writer) = match (
        settings,
        placement.and_then(|placement| placement.checkpoints.as_ref()),
    ) {
        (Some(_), Some(reports)) => {
            let (sender, receiver) = crossbeam_channel::unbounded();
            let keys = runners
                .iter()
                .map(|task| (task.task_index, task.key))
                .collect();
            let writer = snapshot_writer::start(
                keys,
                S3Settings::from_config(config)?,
                Arc::clone(reports),
                receiver,
                input_ended_reports
                    .take()
                    .unwrap_or_else(crossbeam_channel::never),
            )?;
            (sender, None, Some(writer))
        }
        _ => (acknowledge, acknowledgements, None),
    };
    let mut tasks = Vec::with_capacity(runners.len());
    let mut handles = Vec::with_capacity(runners.len());
    let mut task_keys = Vec::with_capacity(runners.len());
    let mut threads = Vec::with_capacity(runners.len());
    for BuiltTask {
        task_index,
        name,
        runner,
        is_source,
        key,
    } in runners
    {
        let (handle, mut task_mailbox) = mailbox(
            name.clone(),
            cancel.clone(),
            Some(acknowledge.clone()),
            tick,
            buffer_timeout,
        );
        task_mailbox.task_index = task_index;
        if settings.is_some() {
            task_mailbox.final_checkpoint = Some(input_ended.clone());
        }
        task_keys.push(key);
        let attempt_cancel = cancel.clone();
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                let result = runner.run(task_mailbox);
                if result.is_err() {
                    // Stop every other task: no one waits for a neighbour that failed.
                    attempt_cancel.cancel();
                }
                result
            })
            .map_err(|source| {
                cancel.cancel();
                Error::InvalidJob(format!("cannot start a thread for '{name}': {source}"))
            })?;
        handles.push((task_index, handle.clone()));
        tasks.push((handle, is_source));
        threads.push((name, thread));
    }
    drop(input_ended);
    let checkpoints = match (settings, acknowledgements) {
        (Some(settings), Some(acknowledgements)) => {
            let context = DriverContext {
                settings,
                storage: checkpoint_storage(config)?,
                job_id: job.job_id.to_string(),
                tasks: tasks
                    .iter()
                    .zip(&task_keys)
                    .map(|((_, is_source), key)| (*key, *is_source))
                    .collect(),
                participants: Box::new(LocalTasks(
                    tasks.iter().map(|(handle, _)| handle.clone()).collect(),
                )),
                acknowledgements,
                written: crossbeam_channel::never(),
                input_ended: input_ended_reports
                    .take()
                    .unwrap_or_else(crossbeam_channel::never),
                savepoint_requests: job.control.savepoint_requests(),
                config_savepoint_dir: config.savepoint_directory().map(str::to_owned),
                s3: S3Settings::from_config(config)?,
                pending_savepoint: RefCell::new(None),
                gauges: job.checkpoint_gauges.clone(),
                cancel: cancel.clone(),
                completed: job.completed.clone(),
                checkpoint_store: None,
                history: history.clone(),
            };
            match checkpointing::start(context) {
                Ok(driver) => Some(driver),
                Err(error) => {
                    cancel.cancel();
                    return Err(error);
                }
            }
        }
        _ => None,
    };
    job.control.install(cancel, tasks);
    Ok(Attempt {
        threads,
        task_groups,
        checkpoints,
        history,
        handles,
        writer,
    })
}

impl Attempt {
    /// Waits for every task of the attempt to end, then stops its checkpoint driver. The
    /// first failure is the attempt's. Returns where the checkpoints stand for a next attempt.
    pub(crate) fn wait(mut self) -> (AttemptOutcome, CheckpointHistory) {
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
        // A checkpointing failure cancels the tasks: it is the attempt's root cause.
        let history = match self.checkpoints.take() {
            Some(driver) => {
                let (failure, history) = driver.stop();
                if let Some(failure) = failure {
                    root_cause.get_or_insert(failure);
                }
                history
            }
            None => self.history.clone(),
        };
        let outcome = match root_cause {
            Some(error) => AttemptOutcome::Failed(error),
            None if cancelled => AttemptOutcome::Cancelled,
            None => AttemptOutcome::Finished,
        };
        (outcome, history)
    }

    /// The attempt's task metric groups: closed when the attempt is replaced.
    pub(crate) fn take_task_groups(&mut self) -> Vec<TaskMetricGroup> {
        std::mem::take(&mut self.task_groups)
    }
}
