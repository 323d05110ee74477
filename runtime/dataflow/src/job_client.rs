//! [`JobClient`]: a handle on a running job that any thread may hold, as Flink's
//! `JobClient`; and [`JobListener`], through which whoever submits a job gets one, as Flink's
//! `StreamExecutionEnvironment.registerJobListener`.
//!
//! `flinkrs run` registers a listener to cancel the job on SIGINT or SIGTERM and to print where
//! each checkpoint lands, while the built-in job itself just calls `execute`.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crossbeam_channel::{Receiver, Sender};
use flinkrs_core::{Configuration, Error, JobId, Result};
use flinkrs_state::storage::CheckpointLocation;

use crate::checkpoint_stats::{CheckpointStatsSnapshot, CheckpointStatsTracker, now_millis};
use crate::checkpointing::CompletedCheckpoint;
use crate::job_graph::JobGraph;
use crate::metrics::MetricRegistry;
use crate::task::{CancelToken, TaskHandle};

/// Told when a job is submitted. Listeners are registered on the program's
/// [`StreamGraph`](crate::StreamGraph) (the environment's `register_job_listener`) and called
/// on the submitting thread, once the job's first attempt has started.
pub trait JobListener: Send + Sync {
    fn on_job_submitted(&self, client: &JobClient);
}

/// Where a job is in its life, with Flink's names for the states a local job goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    /// An attempt is running (or being cancelled).
    Running,
    /// An attempt failed; the job waits for the restart delay, then restarts.
    Restarting,
    Finished,
    /// Flink spells it `CANCELED`.
    Cancelled,
    /// Failed for good: the restart strategy gave up.
    Failed,
}

impl JobStatus {
    const ALL: [JobStatus; 5] = [
        JobStatus::Running,
        JobStatus::Restarting,
        JobStatus::Finished,
        JobStatus::Cancelled,
        JobStatus::Failed,
    ];

    /// Whether the job has ended.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Finished | JobStatus::Cancelled | JobStatus::Failed
        )
    }
}

/// A failure of the job: an attempt that failed, or the job's final failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobFailure {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The error, with its causes.
    pub message: String,
}

/// What a job is, for whoever watches it (the REST API): its graph, configuration, metrics and
/// checkpoint statistics. Fixed when the job starts.
#[derive(Clone, Debug)]
pub struct JobInfo {
    pub job_graph: Arc<JobGraph>,
    pub config: Arc<Configuration>,
    pub metric_registry: Arc<MetricRegistry>,
    pub checkpoint_statistics: CheckpointStatsTracker,
}

/// The tasks of the job's current attempt, and their cancellation.
struct CurrentAttempt {
    cancel: CancelToken,
    /// Every task's mailbox handle, and whether the task is a source.
    tasks: Vec<(TaskHandle, bool)>,
}

/// A request for a savepoint: into `target`, or `execution.checkpointing.savepoint-dir`
/// when `None`. The reply is the savepoint's folder once it is complete.
#[derive(Debug)]
pub struct SavepointRequest {
    pub target: Option<String>,
    pub reply: Sender<Result<CheckpointLocation>>,
}

/// What the job's handles share with its JobMaster thread.
pub(crate) struct JobControl {
    /// Savepoint requests, read by whichever attempt's checkpoint driver runs.
    savepoints: (Sender<SavepointRequest>, Receiver<SavepointRequest>),
    /// Whether the job takes checkpoints, and so can take savepoints.
    takes_checkpoints: AtomicBool,
    /// The user's cancel: it ends the job, whatever the restart strategy would do.
    cancel: CancelToken,
    current: Mutex<CurrentAttempt>,
    restarts: AtomicU32,
    /// A [`JobStatus`], as its index in [`JobStatus::ALL`].
    status: AtomicU8,
    /// Set when the job has ended: its latest checkpoint, if retention kept it.
    retained: Mutex<Option<CompletedCheckpoint>>,
    /// When the job entered each status, milliseconds since the epoch (the latest entry).
    status_times: Mutex<Vec<(JobStatus, i64)>>,
    /// The job's failures, oldest first.
    failures: Mutex<Vec<JobFailure>>,
}

impl JobControl {
    pub(crate) fn new() -> Self {
        JobControl {
            savepoints: crossbeam_channel::unbounded(),
            takes_checkpoints: AtomicBool::new(false),
            cancel: CancelToken::default(),
            current: Mutex::new(CurrentAttempt {
                cancel: CancelToken::default(),
                tasks: Vec::new(),
            }),
            restarts: AtomicU32::new(0),
            status: AtomicU8::new(0),
            retained: Mutex::new(None),
            status_times: Mutex::new(vec![(JobStatus::Running, now_millis())]),
            failures: Mutex::new(Vec::new()),
        }
    }

    /// Records a failure of the job, for its exception history.
    pub(crate) fn record_failure(&self, failure: &Error) {
        lock(&self.failures).push(JobFailure {
            timestamp: now_millis(),
            message: failure.to_string(),
        });
    }

    /// Cancels the job: the current attempt's tasks stop, and no other attempt starts.
    pub(crate) fn cancel(&self) {
        self.cancel.cancel();
        lock(&self.current).cancel.cancel();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The job's cancel, for a `select` (the restart delay waits on it).
    pub(crate) fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }

    /// Makes `tasks` the current attempt's. A cancel that came before is applied to them, so
    /// no attempt outlives a cancel: [`cancel`](Self::cancel) sets the flag before it takes
    /// the lock, and this checks it after.
    pub(crate) fn install(&self, cancel: CancelToken, tasks: Vec<(TaskHandle, bool)>) {
        let mut current = lock(&self.current);
        if self.cancel.is_cancelled() {
            cancel.cancel();
        }
        *current = CurrentAttempt { cancel, tasks };
    }

    /// Runs `action` on the current attempt's tasks.
    pub(crate) fn with_tasks<R>(&self, action: impl FnOnce(&[(TaskHandle, bool)]) -> R) -> R {
        action(&lock(&self.current).tasks)
    }

    pub(crate) fn restarts(&self) -> u32 {
        self.restarts.load(Ordering::Acquire)
    }

    pub(crate) fn count_restart(&self) -> u32 {
        self.restarts.fetch_add(1, Ordering::AcqRel) + 1
    }

    pub(crate) fn status(&self) -> JobStatus {
        let index = usize::from(self.status.load(Ordering::Acquire));
        JobStatus::ALL
            .get(index)
            .copied()
            .unwrap_or(JobStatus::Running)
    }

    pub(crate) fn set_status(&self, status: JobStatus) {
        let index = JobStatus::ALL
            .iter()
            .position(|candidate| *candidate == status)
            .unwrap_or(0);
        self.status.store(index as u8, Ordering::Release);
        let mut times = lock(&self.status_times);
        times.retain(|(entered, _)| *entered != status);
        times.push((status, now_millis()));
    }

    pub(crate) fn set_retained(&self, checkpoint: Option<CompletedCheckpoint>) {
        *lock(&self.retained) = checkpoint;
    }

    pub(crate) fn set_takes_checkpoints(&self, takes_checkpoints: bool) {
        self.takes_checkpoints
            .store(takes_checkpoints, Ordering::Release);
    }

    /// The queue the checkpoint driver reads savepoint requests from.
    pub(crate) fn savepoint_requests(&self) -> Receiver<SavepointRequest> {
        self.savepoints.1.clone()
    }
}

/// The data behind these locks is replaced whole, so a panic elsewhere cannot leave it torn.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A handle on a running job: cancel it, follow its checkpoints, and, once it has ended, find
/// the checkpoint it left behind. Cheap to clone and usable from any thread.
#[derive(Clone)]
pub struct JobClient {
    job_id: JobId,
    job_name: String,
    control: Arc<JobControl>,
    completed_checkpoints: Receiver<CompletedCheckpoint>,
    info: JobInfo,
}

impl JobClient {
    pub(crate) fn new(
        job_id: JobId,
        job_name: String,
        control: Arc<JobControl>,
        completed_checkpoints: Receiver<CompletedCheckpoint>,
        info: JobInfo,
    ) -> Self {
        JobClient {
            job_id,
            job_name,
            control,
            completed_checkpoints,
            info,
        }
    }

    /// The job's graph, configuration, metric registry and checkpoint statistics.
    pub fn info(&self) -> &JobInfo {
        &self.info
    }

    /// The job's checkpoint statistics now.
    pub fn checkpoint_statistics(&self) -> CheckpointStatsSnapshot {
        self.info.checkpoint_statistics.snapshot()
    }

    /// When the job entered each status it went through (the latest time for each),
    /// milliseconds since the epoch, in order.
    pub fn status_times(&self) -> Vec<(JobStatus, i64)> {
        lock(&self.control.status_times).clone()
    }

    /// The job's failures so far, oldest first: each failed attempt and the final failure.
    pub fn failures(&self) -> Vec<JobFailure> {
        lock(&self.control.failures).clone()
    }

    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    pub fn job_name(&self) -> &str {
        &self.job_name
    }

    /// Cancels the job, as [`RunningJob::cancel`](crate::RunningJob::cancel) does.
    pub fn cancel(&self) {
        self.control.cancel();
    }

    /// Each periodic checkpoint as it completes, over every attempt of the job. The queue is
    /// the job's one queue: a checkpoint is received once, by whichever clone reads it first.
    /// It disconnects when the job has ended.
    pub fn completed_checkpoints(&self) -> &Receiver<CompletedCheckpoint> {
        &self.completed_checkpoints
    }

    /// How many times the job has restarted so far.
    pub fn restarts(&self) -> u32 {
        self.control.restarts()
    }

    /// Where the job is now.
    pub fn status(&self) -> JobStatus {
        self.control.status()
    }

    /// Triggers a savepoint into `target` (a path, `file://` or `s3://` URI), or into
    /// `execution.checkpointing.savepoint-dir` when `None`, as Flink's
    /// `triggerSavepoint(targetDirectory)`. The receiver gets the savepoint's folder once it is
    /// complete (`savepoint-<job>-<id>` under the target, self-contained: it can be moved and
    /// restored with `-s`), or why it failed. The job goes on either way.
    pub fn trigger_savepoint(&self, target: Option<&str>) -> Receiver<Result<CheckpointLocation>> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let refused = if self.control.status().is_terminal() {
            Some("the job has ended")
        } else if !self.control.takes_checkpoints.load(Ordering::Acquire) {
            Some(
                "savepoints need checkpointing on in streaming mode: set \
                 execution.checkpointing.interval",
            )
        } else {
            None
        };
        let request = SavepointRequest {
            target: target.map(str::to_owned),
            reply: reply.clone(),
        };
        match refused {
            Some(reason) => {
                let _ = reply.send(Err(Error::InvalidJob(format!(
                    "cannot take a savepoint of job {}: {reason}",
                    self.job_id
                ))));
            }
            None => {
                let _ = self.control.savepoints.0.send(request);
            }
        }
        answer
    }

    /// Once the job has ended: its latest completed checkpoint, if it is still in storage
    /// (`execution.checkpointing.externalized-checkpoint-retention` kept it), to resume from
    /// with `execution.state-recovery.path`. `None` while the job runs.
    pub fn retained_checkpoint(&self) -> Option<CompletedCheckpoint> {
        lock(&self.control.retained).clone()
    }
}

impl std::fmt::Debug for JobClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobClient")
            .field("job_id", &self.job_id)
            .field("job_name", &self.job_name)
            .finish_non_exhaustive()
    }
}
