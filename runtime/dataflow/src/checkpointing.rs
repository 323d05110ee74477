//! Periodic checkpoints of a local job: the [`CheckpointCoordinator`] driven on a thread of
//! its own, with checkpoint storage (a local folder or S3) at its edge.
//!
//! The driver waits for task acknowledgements and for the coordinator's next deadline. It
//! writes each acknowledged task snapshot to `chk-<n>/task-<vertex>-<subtask>` as it arrives
//! (off the task threads, which go on processing), writes `_metadata` once every task has
//! acknowledged, notifies the tasks, and deletes checkpoints that retention no longer keeps
//! or that were aborted. Too many failed checkpoints cancel the job with the reason. S3
//! requests run on the process's I/O runtime; the driver waits for them, each bounded in time,
//! so an unreachable store fails checkpoints instead of hanging the job.
//!
//! A bounded job ends with a final checkpoint (FLIP-147): tasks whose input ended stay until
//! a checkpoint they took after that completes (see the
//! task module's `final_checkpoint`). The driver triggers every task, not
//! only the sources, so that tasks whose upstream has ended still take part; it asks the
//! coordinator for a checkpoint as soon as every source has reported its end; and it
//! acknowledges each later checkpoint on behalf of the tasks that finished, with the state they
//! finished with, so a checkpoint taken while some subtasks are done is still complete.
//!
//! A job that fails over gets a new driver for its new attempt. The [`CheckpointHistory`]
//! goes from one to the next, so numbering goes on and retention keeps counting the
//! checkpoints of earlier attempts.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, select};
use flinkrs_checkpoint::CompletedCheckpoint as RetainedCheckpoint;
use flinkrs_checkpoint::{Action, CheckpointCoordinator, CheckpointSettings, TaskKey};
use flinkrs_core::config::{CHECKPOINTS_DIRECTORY, SAVEPOINT_DIRECTORY};
use flinkrs_core::element::SnapshotKind;
use flinkrs_core::{CheckpointBarrier, CheckpointId, Configuration, Error, Result};
use flinkrs_state::storage::{
    CheckpointLocation, CheckpointMetadata, CheckpointStorage, S3Settings, TaskStateFile,
    TaskStateHandle,
};

use crate::checkpoint_participants::{
    CheckpointCommand, CheckpointParticipants, WrittenAcknowledgement,
};
use crate::checkpoint_stats::CheckpointStatsTracker;
use crate::job_client::SavepointRequest;
use crate::metrics::{Gauge, JobManagerJobMetricGroup, names};
use crate::task::{CancelToken, TaskAcknowledgement};

/// A completed checkpoint of a running job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedCheckpoint {
    pub checkpoint: CheckpointId,
    /// Its `chk-<n>` folder or S3 prefix; printed, it is what `flinkrs run -s` resumes from.
    pub location: CheckpointLocation,
}

/// Where completed checkpoints are recorded before any task is told they completed, as Flink's
/// `CompletedCheckpointStore`: with JobManager high availability, a ConfigMap that a restarted
/// JobManager recovers the job from. A checkpoint the store cannot record fails, so a sink
/// never commits what a recovery would not start after.
pub trait CompletedCheckpointStore: Send + Sync {
    fn add(&self, checkpoint: &CompletedCheckpoint) -> Result<()>;
}

/// The checkpoint root of `config`: `execution.checkpointing.dir` (a path, a `file://` or an
/// `s3://` URI), or `flinkrs-checkpoints` in the system's temporary folder.
pub fn checkpoint_root(config: &Configuration) -> Result<CheckpointLocation> {
    match config.checkpoints_directory() {
        Some(dir) => CheckpointLocation::parse(CHECKPOINTS_DIRECTORY, dir),
        None => Ok(CheckpointLocation::local(
            std::env::temp_dir().join("flinkrs-checkpoints"),
        )),
    }
}

/// The checkpoint storage `config` names, reaching S3 with its `s3.*` keys.
pub fn checkpoint_storage(config: &Configuration) -> Result<CheckpointStorage> {
    let s3 = S3Settings::from_config(config)?;
    Ok(CheckpointStorage::new(checkpoint_root(config)?, &s3)?)
}

/// What a job's checkpoints leave for its next attempt after a failover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointHistory {
    /// The number the next checkpoint gets.
    pub next_checkpoint: CheckpointId,
    /// The completed checkpoints retained, oldest first.
    pub retained: Vec<RetainedCheckpoint>,
}

impl CheckpointHistory {
    /// A job's first attempt: numbering starts after the checkpoint it restores from, if any.
    pub fn starting_after(restored: Option<CheckpointId>) -> Self {
        CheckpointHistory {
            next_checkpoint: CheckpointId(restored.map_or(1, |restored| restored.0 + 1)),
            retained: Vec::new(),
        }
    }

    /// The latest completed checkpoint still retained: where a restart resumes from.
    pub fn latest(&self) -> Option<CheckpointId> {
        self.retained.last().map(|retained| retained.checkpoint)
    }
}

/// The running driver: stop it when the job's tasks are done.
pub(crate) struct CheckpointDriver {
    stop: Sender<()>,
    thread: JoinHandle<(Option<Error>, CheckpointHistory)>,
    /// What the next attempt starts from if the thread is lost.
    started_from: CheckpointHistory,
}

impl CheckpointDriver {
    /// Stops the driver; returns why it failed the job, if it did, and where the checkpoints
    /// stand for a next attempt.
    pub(crate) fn stop(self) -> (Option<Error>, CheckpointHistory) {
        drop(self.stop);
        let started_from = self.started_from;
        self.thread.join().unwrap_or_else(|_| {
            let failure = Error::InvalidJob("the checkpoint coordinator's thread panicked".into());
            (Some(failure), started_from)
        })
    }
}

/// The folder of checkpoint `checkpoint` of job `job_id` under `config`'s checkpoint root.
pub fn checkpoint_location(
    config: &Configuration,
    job_id: &str,
    checkpoint: CheckpointId,
) -> Result<CheckpointLocation> {
    Ok(checkpoint_root(config)?.checkpoint_folder(job_id, checkpoint.0))
}

/// Deletes the checkpoints job `job_id` retained, and its folder once empty: what retention
/// asks for when the job is cancelled or fails for good. Failures are logged: the job's
/// outcome stands either way.
pub fn discard_retained(config: &Configuration, job_id: &str, history: &CheckpointHistory) {
    let storage = match checkpoint_storage(config) {
        Ok(storage) => storage,
        Err(error) => {
            tracing::warn!(%error, "cannot delete the job's checkpoints");
            return;
        }
    };
    for retained in &history.retained {
        if let Err(error) = storage.discard(job_id, retained.checkpoint.0) {
            tracing::warn!(checkpoint = retained.checkpoint.0, %error, "cannot delete a checkpoint");
        }
    }
    // Only an empty local folder is removed; anything else in it is not ours to delete. In
    // S3 a prefix with no objects left does not exist.
    if let Ok(CheckpointLocation::Local(root)) = checkpoint_root(config) {
        let _ = std::fs::remove_dir(root.join(job_id));
    }
}

/// What the driver talks to.
pub(crate) struct DriverContext {
    pub settings: CheckpointSettings,
    pub storage: CheckpointStorage,
    pub job_id: String,
    /// Every task, by task index, with its key and whether it is a source.
    pub tasks: Vec<(TaskKey, bool)>,
    /// How commands reach the tasks.
    pub participants: Box<dyn CheckpointParticipants>,
    /// Snapshots of tasks in this process, to encode and write.
    pub acknowledgements: Receiver<TaskAcknowledgement>,
    /// Acknowledgements of tasks whose TaskManager wrote their state.
    pub written: Receiver<WrittenAcknowledgement>,
    /// Source tasks report here (with their task index) that their input ended.
    pub input_ended: Receiver<usize>,
    pub cancel: CancelToken,
    pub completed: Sender<CompletedCheckpoint>,
    /// Records each completed checkpoint before the tasks are notified; none for a local job.
    pub checkpoint_store: Option<Arc<dyn CompletedCheckpointStore>>,
    /// Where the checkpoints of the job's earlier attempts (or the one it restored from)
    /// leave numbering and retention.
    pub history: CheckpointHistory,
    /// Savepoints asked for through the job's clients.
    pub savepoint_requests: Receiver<SavepointRequest>,
    /// `execution.checkpointing.savepoint-dir`, and the `s3.*` settings to reach it.
    pub config_savepoint_dir: Option<String>,
    pub s3: S3Settings,
    /// The savepoint asked for and not complete yet: at most one.
    pub pending_savepoint: RefCell<Option<PendingSavepoint>>,
    pub gauges: CheckpointGauges,
}

/// The job's checkpoint statistics, on the JobManager's job scope, over every attempt.
#[derive(Clone, Debug)]
pub struct CheckpointGauges {
    pub completed: Gauge,
    pub failed: Gauge,
    pub in_progress: Gauge,
    pub last_duration: Gauge,
    pub last_size: Gauge,
    /// The statistics behind `/jobs/:id/checkpoints`.
    pub statistics: CheckpointStatsTracker,
}

impl CheckpointGauges {
    pub fn register(group: &JobManagerJobMetricGroup) -> Self {
        CheckpointGauges {
            completed: group.gauge(names::NUMBER_OF_COMPLETED_CHECKPOINTS, 0),
            failed: group.gauge(names::NUMBER_OF_FAILED_CHECKPOINTS, 0),
            in_progress: group.gauge(names::NUMBER_OF_IN_PROGRESS_CHECKPOINTS, 0),
            last_duration: group.gauge(names::LAST_CHECKPOINT_DURATION, -1),
            last_size: group.gauge(names::LAST_CHECKPOINT_SIZE, -1),
            statistics: CheckpointStatsTracker::default(),
        }
    }
}

/// A savepoint being taken: where it goes, and who waits for it.
pub(crate) struct PendingSavepoint {
    /// Its number, once triggered.
    checkpoint: Option<CheckpointId>,
    storage: CheckpointStorage,
    folder: CheckpointLocation,
    reply: Sender<Result<CheckpointLocation>>,
}

impl DriverContext {
    /// Records completed checkpoint `checkpoint` (not a savepoint) in the store, if any.
    fn record(&self, checkpoint: CheckpointId) -> Result<()> {
        let Some(store) = &self.checkpoint_store else {
            return Ok(());
        };
        let savepoint = self
            .pending_savepoint
            .borrow()
            .as_ref()
            .is_some_and(|savepoint| savepoint.checkpoint == Some(checkpoint));
        if savepoint {
            return Ok(());
        }
        store.add(&CompletedCheckpoint {
            checkpoint,
            location: self.storage.checkpoint_location(&self.job_id, checkpoint.0),
        })
    }

    /// Where `checkpoint`'s files go: the savepoint's folder when it is the savepoint.
    fn target(&self, checkpoint: CheckpointId) -> (CheckpointStorage, CheckpointLocation) {
        if let Some(savepoint) = self.pending_savepoint.borrow().as_ref()
            && savepoint.checkpoint == Some(checkpoint)
        {
            return (savepoint.storage.clone(), savepoint.folder.clone());
        }
        (
            self.storage.clone(),
            self.storage.checkpoint_location(&self.job_id, checkpoint.0),
        )
    }

    /// Takes the pending savepoint if it is `checkpoint`.
    fn take_savepoint(&self, checkpoint: CheckpointId) -> Option<PendingSavepoint> {
        let mut pending = self.pending_savepoint.borrow_mut();
        if pending.as_ref()?.checkpoint == Some(checkpoint) {
            pending.take()
        } else {
            None
        }
    }
}

pub(crate) fn start(context: DriverContext) -> Result<CheckpointDriver> {
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    let started_from = context.history.clone();
    let thread = std::thread::Builder::new()
        .name("Checkpoint Coordinator".into())
        .spawn(move || run(context, stopped))
        .map_err(|source| {
            Error::InvalidJob(format!(
                "cannot start the checkpoint coordinator's thread: {source}"
            ))
        })?;
    Ok(CheckpointDriver {
        stop,
        thread,
        started_from,
    })
}

fn run(context: DriverContext, stopped: Receiver<()>) -> (Option<Error>, CheckpointHistory) {
    let keys = context.tasks.iter().map(|(key, _)| *key);
    let mut coordinator: CheckpointCoordinator<TaskStateHandle> =
        CheckpointCoordinator::new(context.settings, keys, Instant::now()).resume(
            context.history.next_checkpoint,
            context.history.retained.iter().copied(),
        );
    // A panic of the coordinator (or of a checkpoint store it calls) fails the job, as too
    // many failed checkpoints do; otherwise a bounded job would wait for its final
    // checkpoint forever.
    let driven = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drive(&context, &mut coordinator, &stopped)
    }));
    let failure = driven.unwrap_or_else(|payload| {
        context.cancel.cancel();
        Some(Error::InvalidJob(format!(
            "the checkpoint coordinator panicked: {}",
            crate::guard::panic_message(payload.as_ref())
        )))
    });
    // The job ended with a checkpoint in flight: it will never complete.
    if let Some(pending) = coordinator.pending() {
        discard(&context, pending);
    }
    if let Some(savepoint) = context.pending_savepoint.borrow_mut().take() {
        let _ = savepoint.reply.send(Err(Error::InvalidJob(
            "the savepoint did not complete: the job's tasks ended first".into(),
        )));
    }
    let history = CheckpointHistory {
        next_checkpoint: coordinator.next_checkpoint_id(),
        retained: coordinator.completed().copied().collect(),
    };
    (failure, history)
}

/// Runs the coordinator until the job's tasks are done; returns the job's failure, if
/// checkpointing failed it.
fn drive(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    stopped: &Receiver<()>,
) -> Option<Error> {
    let mut finishing = Finishing::default();
    loop {
        if finishing.finished.len() == context.tasks.len() {
            // Every task took part in a checkpoint after its end, and it completed.
            return None;
        }
        // None once the coordinator failed the job: it has nothing more to do.
        let wakeup = coordinator.next_wakeup()?;
        let actions = select! {
            recv(stopped) -> _ => return None,
            recv(context.acknowledgements) -> acknowledgement => match acknowledgement {
                Ok(acknowledgement) => {
                    acknowledged(context, coordinator, &mut finishing, acknowledgement)
                }
                Err(_) => return None,
            },
            recv(context.written) -> acknowledgement => match acknowledgement {
                Ok(acknowledgement) => {
                    written(context, coordinator, &mut finishing, acknowledgement)
                }
                Err(_) => return None,
            },
            recv(context.savepoint_requests) -> request => match request {
                Ok(request) => savepoint_requested(context, coordinator, request),
                Err(_) => Vec::new(),
            },
            recv(context.input_ended) -> report => match report {
                Ok(task_index) => {
                    finishing.ended_sources.insert(task_index);
                    let sources = context.tasks.iter().filter(|(_, source)| *source).count();
                    if finishing.ended_sources.len() == sources {
                        tracing::info!("every source has ended: taking the final checkpoint");
                        coordinator.request_checkpoint(Instant::now())
                    } else {
                        Vec::new()
                    }
                }
                // Every task is gone.
                Err(_) => return None,
            },
            default(wakeup.saturating_duration_since(Instant::now())) => {
                coordinator.on_time(Instant::now())
            }
        };
        if let Some(failure) = carry_out(context, coordinator, &mut finishing, actions) {
            context.cancel.cancel();
            return Some(failure);
        }
    }
}

/// The state a task finished with, which every later checkpoint of the job holds again.
#[derive(Debug)]
enum FinishedState {
    /// Encoded here, by the driver.
    Encoded(TaskStateFile),
    /// Written by the task's TaskManager, and read back here while its checkpoint was
    /// pending: the checkpoint holding the file may be deleted by retention later.
    Written {
        handle: TaskStateHandle,
        bytes: Vec<u8>,
    },
}

/// Task snapshots by task index.
type TaskPayloads = Vec<(usize, FinishedState)>;

/// What the driver keeps for the final checkpoint of a bounded job.
#[derive(Debug, Default)]
struct Finishing {
    /// Source tasks whose input ended, by task index.
    ended_sources: BTreeSet<usize>,
    /// The checkpoint pending, and the snapshots tasks took for it after their input ended
    /// (task index, encoded snapshot): those tasks exit once it completes.
    after_end: Option<(CheckpointId, TaskPayloads)>,
    /// Tasks that exited, by task index, with the snapshot they finished with.
    finished: BTreeMap<usize, FinishedState>,
}

impl Finishing {
    fn ended_snapshot(
        &mut self,
        checkpoint: CheckpointId,
        task_index: usize,
        state: FinishedState,
    ) {
        match &mut self.after_end {
            Some((pending, snapshots)) if *pending == checkpoint => {
                snapshots.push((task_index, state));
            }
            _ => self.after_end = Some((checkpoint, vec![(task_index, state)])),
        }
    }

    /// `checkpoint` completed: the tasks that took it after their end are finishing.
    fn completed(&mut self, checkpoint: CheckpointId) {
        if let Some((pending, snapshots)) = self.after_end.take() {
            if pending == checkpoint {
                self.finished.extend(snapshots);
            } else {
                self.after_end = Some((pending, snapshots));
            }
        }
    }
}

/// Writes the task's state; acknowledges it, or declines the checkpoint if the write failed.
fn acknowledged(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    finishing: &mut Finishing,
    acknowledgement: TaskAcknowledgement,
) -> Vec<Action<TaskStateHandle>> {
    let Some((key, _)) = context.tasks.get(acknowledgement.task_index) else {
        return Vec::new();
    };
    let checkpoint = acknowledgement.checkpoint;
    let mut snapshot = acknowledgement.snapshot;
    let written = crate::input::materialize(&mut snapshot)
        .map_err(|e| format!("task '{}': {e}", acknowledgement.task))
        .and_then(|()| {
            crate::input::encode(&snapshot).map_err(|e| {
                format!(
                    "cannot encode the snapshot of '{}': {e}",
                    acknowledgement.task
                )
            })
        })
        .and_then(|state| {
            let handle = write_task_state(context, checkpoint, key, &state)?;
            if acknowledgement.input_ended && coordinator.pending() == Some(checkpoint) {
                let state = FinishedState::Encoded(state);
                finishing.ended_snapshot(checkpoint, acknowledgement.task_index, state);
            }
            Ok(handle)
        });
    match written {
        Ok(handle) => coordinator.acknowledge(checkpoint, *key, handle),
        Err(reason) => coordinator.decline(checkpoint, *key, &reason, Instant::now()),
    }
}

/// A TaskManager wrote a task's state (or could not): acknowledges it, or declines.
fn written(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    finishing: &mut Finishing,
    acknowledgement: WrittenAcknowledgement,
) -> Vec<Action<TaskStateHandle>> {
    let Some((key, _)) = context.tasks.get(acknowledgement.task_index) else {
        return Vec::new();
    };
    let checkpoint = acknowledgement.checkpoint;
    match acknowledgement.state {
        Ok(handle) => {
            if acknowledgement.input_ended && coordinator.pending() == Some(checkpoint) {
                let (storage, folder) = context.target(checkpoint);
                match storage.read_task_state_bytes(&folder, &handle) {
                    Ok(bytes) => {
                        let state = FinishedState::Written {
                            handle: handle.clone(),
                            bytes,
                        };
                        finishing.ended_snapshot(checkpoint, acknowledgement.task_index, state);
                    }
                    Err(error) => {
                        let reason = format!("cannot read back a finished task's state: {error}");
                        return coordinator.decline(checkpoint, *key, &reason, Instant::now());
                    }
                }
            }
            coordinator.acknowledge(checkpoint, *key, handle)
        }
        Err(reason) => coordinator.decline(checkpoint, *key, &reason, Instant::now()),
    }
}

fn write_task_state(
    context: &DriverContext,
    checkpoint: CheckpointId,
    key: &TaskKey,
    state: &TaskStateFile,
) -> Result<TaskStateHandle, String> {
    let (storage, folder) = context.target(checkpoint);
    storage
        .write_task_state_in(&folder, key.vertex, key.subtask, state)
        .map_err(|e| e.to_string())
}

/// Puts the state a task finished with into `checkpoint` again.
fn rewrite_finished_state(
    context: &DriverContext,
    checkpoint: CheckpointId,
    key: &TaskKey,
    state: &FinishedState,
) -> Result<TaskStateHandle, String> {
    match state {
        FinishedState::Encoded(state) => write_task_state(context, checkpoint, key, state),
        FinishedState::Written { handle, bytes } => {
            let (storage, folder) = context.target(checkpoint);
            storage
                .write_task_state_bytes(&folder, handle, bytes.clone())
                .map_err(|e| e.to_string())
        }
    }
}

/// A client asked for a savepoint: it is taken as soon as no checkpoint is in flight, into
/// `savepoint-<job>-<n>` under the target folder.
fn savepoint_requested(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    request: SavepointRequest,
) -> Vec<Action<TaskStateHandle>> {
    let refuse = |message: String| {
        let _ = request.reply.send(Err(Error::InvalidJob(message)));
        Vec::new()
    };
    if context.pending_savepoint.borrow().is_some() || coordinator.savepoint_pending() {
        return refuse("a savepoint of this job is in progress already; wait for it".into());
    }
    let target = request
        .target
        .as_deref()
        .or(context.config_savepoint_dir.as_deref());
    let Some(target) = target else {
        return refuse(
            "no folder for the savepoint: name one, or set \
             execution.checkpointing.savepoint-dir"
                .into(),
        );
    };
    let storage = CheckpointLocation::parse(SAVEPOINT_DIRECTORY, target)
        .and_then(|root| Ok(CheckpointStorage::new(root, &context.s3)?));
    let storage = match storage {
        Ok(storage) => storage,
        Err(error) => return refuse(error.to_string()),
    };
    // Flink's name: the job id's first six characters and a random part.
    let short_id: String = context.job_id.chars().take(6).collect();
    // The clock's nanoseconds are random enough to tell a job's savepoints apart.
    let random = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    let folder = storage.root().join(&format!(
        "savepoint-{short_id}-{:012x}",
        random & 0xFFFF_FFFF_FFFF
    ));
    *context.pending_savepoint.borrow_mut() = Some(PendingSavepoint {
        checkpoint: None,
        storage,
        folder,
        reply: request.reply,
    });
    coordinator.request_savepoint(Instant::now())
}

/// Carries out the coordinator's actions, and those they lead to; returns the job's failure.
fn carry_out(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    finishing: &mut Finishing,
    mut actions: Vec<Action<TaskStateHandle>>,
) -> Option<Error> {
    // The size of the checkpoint persisted last: its tasks' state, from its handles.
    let mut persisted_size = 0;
    while !actions.is_empty() {
        let mut next = Vec::new();
        for action in actions {
            match action {
                Action::TriggerCheckpoint { checkpoint } => {
                    let statistics = &context.gauges.statistics;
                    statistics.triggered(checkpoint, false, context.tasks.len());
                    let kind = SnapshotKind::Checkpoint;
                    next.extend(trigger(context, coordinator, finishing, checkpoint, kind));
                }
                Action::TriggerSavepoint { checkpoint } => {
                    if let Some(savepoint) = context.pending_savepoint.borrow_mut().as_mut() {
                        savepoint.checkpoint = Some(checkpoint);
                    }
                    let statistics = &context.gauges.statistics;
                    statistics.triggered(checkpoint, true, context.tasks.len());
                    let kind = SnapshotKind::Savepoint;
                    next.extend(trigger(context, coordinator, finishing, checkpoint, kind));
                }
                Action::Persist {
                    checkpoint,
                    acknowledgements,
                } => {
                    persisted_size = acknowledgements
                        .iter()
                        .map(|(_, handle)| handle.length)
                        .sum();
                    let metadata = CheckpointMetadata {
                        job_id: context.job_id.clone(),
                        checkpoint: checkpoint.0,
                        tasks: acknowledgements
                            .into_iter()
                            .map(|(_, handle)| handle)
                            .collect(),
                    };
                    let (storage, folder) = context.target(checkpoint);
                    let result = storage
                        .write_metadata_in(&folder, &metadata)
                        .map_err(Error::from)
                        .and_then(|()| context.record(checkpoint));
                    let result = result.map_err(|e| e.to_string());
                    next.extend(coordinator.persisted(checkpoint, result, Instant::now()));
                }
                Action::NotifyComplete { checkpoint } => {
                    finishing.completed(checkpoint);
                    broadcast(context, &CheckpointCommand::Complete(checkpoint));
                    if let Some(savepoint) = context.take_savepoint(checkpoint) {
                        let statistics = &context.gauges.statistics;
                        statistics.completed(checkpoint, persisted_size as i64, &savepoint.folder);
                        tracing::info!(folder = %savepoint.folder, "savepoint complete");
                        let _ = savepoint.reply.send(Ok(savepoint.folder));
                        continue;
                    }
                    tracing::info!(checkpoint = checkpoint.0, "checkpoint complete");
                    let gauges = &context.gauges;
                    gauges.completed.set(gauges.completed.get() + 1);
                    gauges.last_size.set(persisted_size as i64);
                    if let Some(completed) = coordinator.completed().last() {
                        gauges
                            .last_duration
                            .set(completed.duration.as_millis() as i64);
                    }
                    let location = context
                        .storage
                        .checkpoint_location(&context.job_id, checkpoint.0);
                    let statistics = &gauges.statistics;
                    statistics.completed(checkpoint, persisted_size as i64, &location);
                    let _ = context.completed.send(CompletedCheckpoint {
                        checkpoint,
                        location,
                    });
                }
                Action::NotifyAborted { checkpoint, reason } => {
                    broadcast(context, &CheckpointCommand::Aborted(checkpoint));
                    discard(context, checkpoint);
                    context.gauges.statistics.failed(checkpoint, &reason);
                    if let Some(savepoint) = context.take_savepoint(checkpoint) {
                        tracing::warn!(folder = %savepoint.folder, %reason, "savepoint failed");
                        let _ = savepoint.reply.send(Err(Error::InvalidJob(format!(
                            "the savepoint into {} failed: {reason}",
                            savepoint.folder
                        ))));
                        continue;
                    }
                    tracing::warn!(checkpoint = checkpoint.0, %reason, "checkpoint aborted");
                    let gauges = &context.gauges;
                    gauges.failed.set(gauges.failed.get() + 1);
                }
                Action::Discard { checkpoint } => discard(context, checkpoint),
                Action::FailJob { reason } => {
                    return Some(Error::InvalidJob(format!("checkpointing failed: {reason}")));
                }
            }
        }
        actions = next;
    }
    let in_progress = coordinator.pending().is_some();
    context.gauges.in_progress.set(i64::from(in_progress));
    None
}

/// Triggers `checkpoint` at every task that is still running, and acknowledges it on behalf of
/// the finished ones with the snapshot each finished with.
fn trigger(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    finishing: &Finishing,
    checkpoint: CheckpointId,
    kind: SnapshotKind,
) -> Vec<Action<TaskStateHandle>> {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    let barrier = CheckpointBarrier {
        id: checkpoint,
        timestamp,
        kind,
    };
    // Sources inject the barrier; the others take part only once their input ended.
    let running: Vec<usize> = (0..context.tasks.len())
        .filter(|task_index| !finishing.finished.contains_key(task_index))
        .collect();
    let (_, folder) = context.target(checkpoint);
    let command = CheckpointCommand::Trigger { barrier, folder };
    context.participants.send(&running, &command);
    let mut actions = Vec::new();
    for (task_index, state) in &finishing.finished {
        let Some((key, _)) = context.tasks.get(*task_index) else {
            continue;
        };
        actions.extend(
            match rewrite_finished_state(context, checkpoint, key, state) {
                Ok(handle) => coordinator.acknowledge(checkpoint, *key, handle),
                Err(reason) => coordinator.decline(checkpoint, *key, &reason, Instant::now()),
            },
        );
    }
    actions
}

fn broadcast(context: &DriverContext, command: &CheckpointCommand) {
    let every_task: Vec<usize> = (0..context.tasks.len()).collect();
    context.participants.send(&every_task, command);
}

/// Deletes what was written for `checkpoint`: its folder, or the savepoint's.
fn discard(context: &DriverContext, checkpoint: CheckpointId) {
    let (storage, folder) = context.target(checkpoint);
    if let Err(error) = storage.discard_folder(&folder) {
        tracing::warn!(checkpoint = checkpoint.0, %error, "cannot delete a checkpoint");
    }
}
