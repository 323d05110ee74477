//! A TaskManager's share of a job in a cluster (Flink's `TaskExecutor`): the subtasks the
//! JobManager placed in its slots, started from the same StreamGraph every process of the
//! job builds (architecture decision 10), with local channels between them and remote ones
//! to the subtasks of other TaskManagers.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use crossbeam_channel::Sender;
use flinkrs_core::{Error, Result};

use crate::attempt::{
    Attempt, AttemptOutcome, JobContext, read_restored_state, start_placed_attempt,
};
use crate::checkpoint_participants::CheckpointCommand;
use crate::checkpointing::{CheckpointGauges, CheckpointHistory};
use crate::executor::{JobResult, job_metrics};
use crate::graph::{PipelineExecutor, StreamGraph};
use crate::job_client::JobControl;
use crate::job_graph::{JobGraph, build_job_graph};
use crate::metrics::{JobManagerJobMetricGroup, JobMetricGroup, MetricRegistry};
use crate::placement::TaskPlacement;
use crate::snapshot_writer::FolderNotice;
use crate::task::TaskHandle;

/// What reaches the subtasks of a deployment while they run: cancellation and the
/// JobManager's checkpoint commands.
struct DeployedControl {
    control: Arc<JobControl>,
    /// The subtasks here, by task index.
    handles: BTreeMap<usize, TaskHandle>,
    /// The snapshot writer's notices, when the job takes checkpoints.
    notices: Option<Sender<FolderNotice>>,
}

impl DeployedControl {
    fn checkpoint_command(&self, task_indices: &[usize], command: &CheckpointCommand) {
        if let Some(notices) = &self.notices {
            let notice = match command {
                CheckpointCommand::Trigger { barrier, folder } => {
                    FolderNotice::Target(barrier.id, folder.clone())
                }
                CheckpointCommand::Complete(checkpoint)
                | CheckpointCommand::Aborted(checkpoint) => FolderNotice::Done(*checkpoint),
            };
            let _ = notices.send(notice);
        }
        let task_command = command.task_command();
        for task_index in task_indices {
            if let Some(handle) = self.handles.get(task_index) {
                handle.send(task_command);
            }
        }
    }
}

/// The subtasks of one attempt of a job that run in this process.
pub struct DeployedTasks {
    attempt: Attempt,
    control: Arc<DeployedControl>,
    task_count: usize,
    started: Instant,
    graph: StreamGraph,
    job_graph: JobGraph,
    registry: Arc<MetricRegistry>,
    job_metrics: JobMetricGroup,
    unreported: JobManagerJobMetricGroup,
}

/// Starts the subtasks `placement` puts in this process, one thread each, registering their
/// metrics in `registry`, restored from `placement.restore_from` if set. Fails when the graph
/// built here does not match the placement (the processes run different programs).
pub fn deploy(
    graph: StreamGraph,
    placement: &TaskPlacement,
    registry: &Arc<MetricRegistry>,
) -> Result<DeployedTasks> {
    let started = Instant::now();
    let job_graph = build_job_graph(&graph, placement.job_id)?;
    placement.check(&job_graph)?;
    let task_count = job_graph
        .vertices
        .iter()
        .enumerate()
        .map(|(vertex, v)| {
            (0..v.parallelism)
                .filter(|&subtask| placement.is_local(vertex, subtask))
                .count()
        })
        .sum();
    let config = Arc::new(graph.config.clone());
    let job_metrics = registry.job_group(placement.job_id, job_graph.job_name.clone());
    // Checkpoint statistics are the JobManager's: kept out of this process's registry.
    let unreported = MetricRegistry::new();
    let unreported = unreported.jobmanager_job_group(placement.job_id, job_graph.job_name.clone());
    let checkpoint_gauges = CheckpointGauges::register(&unreported);
    let (acknowledge, _) = crossbeam_channel::unbounded();
    let (completed, _) = crossbeam_channel::unbounded();
    let control = Arc::new(JobControl::new());
    let job = JobContext {
        job_id: placement.job_id,
        graph: graph.clone(),
        job_graph: job_graph.clone(),
        config,
        job_metrics: job_metrics.clone(),
        control: Arc::clone(&control),
        checkpoint_gauges,
        acknowledge,
        completed,
    };
    let restored = match &placement.restore_from {
        Some(path) => Some(read_restored_state(path, &job_graph, &job.config)?),
        None => None,
    };
    let attempt = start_placed_attempt(
        &job,
        placement.attempt,
        restored.as_ref(),
        CheckpointHistory::starting_after(None),
        Some(placement),
    )?;
    let control = Arc::new(DeployedControl {
        control,
        handles: attempt.handles.iter().cloned().collect(),
        notices: attempt.writer.as_ref().map(|writer| writer.notices.clone()),
    });
    Ok(DeployedTasks {
        attempt,
        control,
        task_count,
        started,
        graph,
        job_graph,
        registry: Arc::clone(registry),
        job_metrics,
        unreported,
    })
}

impl DeployedTasks {
    /// How many subtasks run here.
    pub fn task_count(&self) -> usize {
        self.task_count
    }

    /// Cancels every subtask here.
    pub fn cancel(&self) {
        self.control.control.cancel();
    }

    /// Passes a checkpoint command of the JobManager to the subtasks `task_indices` here.
    pub fn checkpoint_command(&self, task_indices: &[usize], command: &CheckpointCommand) {
        self.control.checkpoint_command(task_indices, command);
    }

    /// Waits for every subtask here to end: `Ok` when all finished, [`Error::Cancelled`]
    /// when they were cancelled, or the first failure.
    pub fn wait(self) -> Result<()> {
        self.wait_for_result().map(|_| ())
    }

    /// Waits as [`wait`](Self::wait) does, and reports what the subtasks here did: their
    /// records and metrics.
    pub fn wait_for_result(self) -> Result<JobResult> {
        let outcome = self.attempt.wait().0;
        let metrics = job_metrics(&self.registry, &self.job_metrics, &self.unreported);
        self.job_metrics.close();
        match outcome {
            AttemptOutcome::Finished => Ok(JobResult::build(
                &self.graph,
                &self.job_graph,
                self.job_graph.job_id,
                self.started.elapsed(),
                metrics,
                Vec::new(),
                1,
                0,
            )),
            AttemptOutcome::Cancelled => Err(Error::Cancelled),
            AttemptOutcome::Failed(error) => Err(error),
        }
    }
}

/// Runs a program's job as one TaskManager's share of it: the subtasks `placement` puts
/// here. [`cancel`](Self::cancel) stops them, also before they started.
pub struct PlacedExecutor {
    placement: TaskPlacement,
    registry: Arc<MetricRegistry>,
    cancelled: AtomicBool,
    running: Mutex<Option<Arc<DeployedControl>>>,
    /// Told once whether the subtasks started, or why not.
    started: Mutex<Option<Sender<std::result::Result<(), String>>>>,
}

impl PlacedExecutor {
    pub fn new(placement: TaskPlacement, registry: Arc<MetricRegistry>) -> Self {
        PlacedExecutor {
            placement,
            registry,
            cancelled: AtomicBool::new(false),
            running: Mutex::new(None),
            started: Mutex::new(None),
        }
    }

    /// Says on `started`, once, whether the subtasks started, or why not.
    pub fn reporting_start(self, started: Sender<std::result::Result<(), String>>) -> Self {
        *self.started.lock().unwrap_or_else(PoisonError::into_inner) = Some(started);
        self
    }

    /// Reports that the subtasks did not start, unless their start was reported already:
    /// for a program that failed before it ran its job.
    pub fn report_failed_start(&self, reason: String) {
        self.report_start(Err(reason));
    }

    fn report_start(&self, outcome: std::result::Result<(), String>) {
        let started = self
            .started
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(started) = started {
            let _ = started.send(outcome);
        }
    }

    /// Cancels the subtasks here: those running, or those about to start.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(deployed) = running.as_ref() {
            deployed.control.cancel();
        }
    }

    /// Passes a checkpoint command of the JobManager to the subtasks `task_indices` here;
    /// `false` when they are not running (yet, or any more).
    pub fn checkpoint_command(&self, task_indices: &[usize], command: &CheckpointCommand) -> bool {
        let running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        match running.as_ref() {
            Some(deployed) => {
                deployed.checkpoint_command(task_indices, command);
                true
            }
            None => false,
        }
    }

    /// Whether the subtasks here have been started.
    pub fn is_running(&self) -> bool {
        self.running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}

impl PipelineExecutor for PlacedExecutor {
    fn execute(&self, graph: StreamGraph) -> Result<JobResult> {
        let tasks = match deploy(graph, &self.placement, &self.registry) {
            Ok(tasks) => tasks,
            Err(error) => {
                self.report_start(Err(error.to_string()));
                return Err(error);
            }
        };
        {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            *running = Some(Arc::clone(&tasks.control));
        }
        self.report_start(Ok(()));
        // A cancel between the deployment and the line above: its flag is set first.
        if self.cancelled.load(Ordering::SeqCst) {
            tasks.cancel();
        }
        let result = tasks.wait_for_result();
        *self.running.lock().unwrap_or_else(PoisonError::into_inner) = None;
        result
    }
}
