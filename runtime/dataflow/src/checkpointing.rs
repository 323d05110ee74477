//! Periodic checkpoints of a local job: the [`CheckpointCoordinator`] driven on a thread of
//! its own, with the file checkpoint storage at its edge.
//!
//! The driver waits for task acknowledgements and for the coordinator's next deadline. It
//! writes each acknowledged task snapshot to `chk-<n>/task-<vertex>-<subtask>` as it arrives
//! (off the task threads, which go on processing), writes `_metadata` once every task has
//! acknowledged, notifies the tasks, and deletes checkpoints that retention no longer keeps
//! or that were aborted. Too many failed checkpoints cancel the job with the reason.
//!
//! A bounded job ends with a final checkpoint (FLIP-147): tasks whose input ended stay until
//! a checkpoint they took after that completes (see the
//! task module's `final_checkpoint`). The driver triggers every task, not
//! only the sources, so that tasks whose upstream has ended still take part; it asks the
//! coordinator for a checkpoint as soon as every source has reported its end; and it
//! acknowledges each later checkpoint on behalf of the tasks that finished, with the state they
//! finished with, so a checkpoint taken while some subtasks are done is still complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, select};
use flinkrs_checkpoint::{Action, CheckpointCoordinator, CheckpointSettings, TaskKey};
use flinkrs_core::element::SnapshotKind;
use flinkrs_core::{CheckpointBarrier, CheckpointId, Configuration, Error, Result};
use flinkrs_state::storage::{CheckpointMetadata, FileCheckpointStorage, TaskStateHandle};

use crate::task::{CancelToken, TaskAcknowledgement, TaskCommand, TaskHandle};

/// A completed checkpoint of a running job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedCheckpoint {
    pub checkpoint: CheckpointId,
    /// Its `chk-<n>` folder: what `flinkrs run -s` resumes from.
    pub dir: PathBuf,
}

/// The checkpoint root of `config`: `execution.checkpointing.dir` (a path or a `file://`
/// URI), or `flinkrs-checkpoints` in the system's temporary folder.
pub fn checkpoint_root(config: &Configuration) -> Result<PathBuf> {
    let Some(dir) = config.checkpoints_directory() else {
        return Ok(std::env::temp_dir().join("flinkrs-checkpoints"));
    };
    if let Some(path) = dir.strip_prefix("file://") {
        return Ok(PathBuf::from(path));
    }
    if dir.contains("://") {
        return Err(Error::config(
            "execution.checkpointing.dir",
            format!("'{dir}': only local paths and file:// URIs are supported yet"),
        ));
    }
    Ok(PathBuf::from(dir))
}

/// The running driver: stop it when the job's tasks are done.
pub(crate) struct CheckpointDriver {
    stop: Sender<()>,
    thread: JoinHandle<Option<Error>>,
}

impl CheckpointDriver {
    /// Stops the driver; returns why it failed the job, if it did.
    pub(crate) fn stop(self) -> Option<Error> {
        drop(self.stop);
        self.thread.join().unwrap_or_else(|_| {
            Some(Error::InvalidJob(
                "the checkpoint coordinator's thread panicked".into(),
            ))
        })
    }
}

/// What the driver talks to.
pub(crate) struct DriverContext {
    pub settings: CheckpointSettings,
    pub storage: FileCheckpointStorage,
    pub job_id: String,
    /// Every task, with its key and whether it is a source.
    pub tasks: Vec<(TaskHandle, TaskKey, bool)>,
    pub acknowledgements: Receiver<TaskAcknowledgement>,
    /// Source tasks report here (with their task index) that their input ended.
    pub input_ended: Receiver<usize>,
    pub cancel: CancelToken,
    pub completed: Sender<CompletedCheckpoint>,
    /// The checkpoint the job restored from: numbering continues after it.
    pub restored_from: Option<CheckpointId>,
}

pub(crate) fn start(context: DriverContext) -> Result<CheckpointDriver> {
    let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
    let thread = std::thread::Builder::new()
        .name("Checkpoint Coordinator".into())
        .spawn(move || run(context, stopped))
        .map_err(|source| {
            Error::InvalidJob(format!(
                "cannot start the checkpoint coordinator's thread: {source}"
            ))
        })?;
    Ok(CheckpointDriver { stop, thread })
}

fn run(context: DriverContext, stopped: Receiver<()>) -> Option<Error> {
    let keys = context.tasks.iter().map(|(_, key, _)| *key);
    let mut coordinator: CheckpointCoordinator<TaskStateHandle> =
        CheckpointCoordinator::new(context.settings, keys, Instant::now());
    if let Some(restored) = context.restored_from {
        coordinator = coordinator.continue_after(restored);
    }
    let mut finishing = Finishing::default();
    loop {
        if finishing.finished.len() == context.tasks.len() {
            // Every task took part in a checkpoint after its end, and it completed.
            break;
        }
        let wakeup = coordinator.next_wakeup()?;
        let actions = select! {
            recv(stopped) -> _ => break,
            recv(context.acknowledgements) -> acknowledgement => match acknowledgement {
                Ok(acknowledgement) => {
                    acknowledged(&context, &mut coordinator, &mut finishing, acknowledgement)
                }
                Err(_) => break,
            },
            recv(context.input_ended) -> report => match report {
                Ok(task_index) => {
                    finishing.ended_sources.insert(task_index);
                    let sources = context.tasks.iter().filter(|(_, _, source)| *source).count();
                    if finishing.ended_sources.len() == sources {
                        tracing::info!("every source has ended: taking the final checkpoint");
                        coordinator.request_checkpoint(Instant::now())
                    } else {
                        Vec::new()
                    }
                }
                // Every task is gone.
                Err(_) => break,
            },
            default(wakeup.saturating_duration_since(Instant::now())) => {
                coordinator.on_time(Instant::now())
            }
        };
        if let Some(failure) = carry_out(&context, &mut coordinator, &mut finishing, actions) {
            context.cancel.cancel();
            return Some(failure);
        }
    }
    // The job ended with a checkpoint in flight: it will never complete.
    if let Some(pending) = coordinator.pending() {
        discard(&context, pending);
    }
    None
}

/// Encoded task snapshots by task index.
type TaskPayloads = Vec<(usize, Vec<u8>)>;

/// What the driver keeps for the final checkpoint of a bounded job.
#[derive(Debug, Default)]
struct Finishing {
    /// Source tasks whose input ended, by task index.
    ended_sources: BTreeSet<usize>,
    /// The checkpoint pending, and the snapshots tasks took for it after their input ended
    /// (task index, encoded snapshot): those tasks exit once it completes.
    after_end: Option<(CheckpointId, TaskPayloads)>,
    /// Tasks that exited, by task index, with the snapshot they finished with.
    finished: BTreeMap<usize, Vec<u8>>,
}

impl Finishing {
    fn ended_snapshot(&mut self, checkpoint: CheckpointId, task_index: usize, payload: Vec<u8>) {
        match &mut self.after_end {
            Some((pending, snapshots)) if *pending == checkpoint => {
                snapshots.push((task_index, payload));
            }
            _ => self.after_end = Some((checkpoint, vec![(task_index, payload)])),
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
    let Some((_, key, _)) = context.tasks.get(acknowledgement.task_index) else {
        return Vec::new();
    };
    let checkpoint = acknowledgement.checkpoint;
    let mut snapshot = acknowledgement.snapshot;
    let written = crate::input::materialize(&mut snapshot)
        .map_err(|e| format!("task '{}': {e}", acknowledgement.task))
        .and_then(|()| {
            postcard::to_allocvec(&snapshot).map_err(|e| {
                format!(
                    "cannot encode the snapshot of '{}': {e}",
                    acknowledgement.task
                )
            })
        })
        .and_then(|payload| {
            let handle = write_task_state(context, checkpoint, key, &payload)?;
            if acknowledgement.input_ended && coordinator.pending() == Some(checkpoint) {
                finishing.ended_snapshot(checkpoint, acknowledgement.task_index, payload);
            }
            Ok(handle)
        });
    match written {
        Ok(handle) => coordinator.acknowledge(checkpoint, *key, handle),
        Err(reason) => coordinator.decline(checkpoint, *key, &reason, Instant::now()),
    }
}

fn write_task_state(
    context: &DriverContext,
    checkpoint: CheckpointId,
    key: &TaskKey,
    payload: &[u8],
) -> Result<TaskStateHandle, String> {
    context
        .storage
        .write_task_state(
            &context.job_id,
            checkpoint.0,
            key.vertex,
            key.subtask,
            payload,
        )
        .map_err(|e| e.to_string())
}

/// Carries out the coordinator's actions, and those they lead to; returns the job's failure.
fn carry_out(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    finishing: &mut Finishing,
    mut actions: Vec<Action<TaskStateHandle>>,
) -> Option<Error> {
    while !actions.is_empty() {
        let mut next = Vec::new();
        for action in actions {
            match action {
                Action::TriggerCheckpoint { checkpoint } => {
                    next.extend(trigger(context, coordinator, finishing, checkpoint));
                }
                Action::Persist {
                    checkpoint,
                    acknowledgements,
                } => {
                    let metadata = CheckpointMetadata {
                        job_id: context.job_id.clone(),
                        checkpoint: checkpoint.0,
                        tasks: acknowledgements
                            .into_iter()
                            .map(|(_, handle)| handle)
                            .collect(),
                    };
                    let result = context.storage.write_metadata(&metadata).map(|_| ());
                    let result = result.map_err(|e| e.to_string());
                    next.extend(coordinator.persisted(checkpoint, result, Instant::now()));
                }
                Action::NotifyComplete { checkpoint } => {
                    tracing::info!(checkpoint = checkpoint.0, "checkpoint complete");
                    finishing.completed(checkpoint);
                    broadcast(context, TaskCommand::CheckpointComplete(checkpoint));
                    let _ = context.completed.send(CompletedCheckpoint {
                        checkpoint,
                        dir: context
                            .storage
                            .checkpoint_dir(&context.job_id, checkpoint.0),
                    });
                }
                Action::NotifyAborted { checkpoint, reason } => {
                    tracing::warn!(checkpoint = checkpoint.0, %reason, "checkpoint aborted");
                    broadcast(context, TaskCommand::CheckpointAborted(checkpoint));
                    discard(context, checkpoint);
                }
                Action::Discard { checkpoint } => discard(context, checkpoint),
                Action::FailJob { reason } => {
                    return Some(Error::InvalidJob(format!("checkpointing failed: {reason}")));
                }
            }
        }
        actions = next;
    }
    None
}

/// Triggers `checkpoint` at every task that is still running, and acknowledges it on behalf of
/// the finished ones with the snapshot each finished with.
fn trigger(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    finishing: &Finishing,
    checkpoint: CheckpointId,
) -> Vec<Action<TaskStateHandle>> {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    let barrier = CheckpointBarrier {
        id: checkpoint,
        timestamp,
        kind: SnapshotKind::Checkpoint,
    };
    for (task_index, (handle, _, _)) in context.tasks.iter().enumerate() {
        if !finishing.finished.contains_key(&task_index) {
            // Sources inject the barrier; the others take part only once their input ended.
            handle.send(TaskCommand::TriggerCheckpoint(barrier));
        }
    }
    let mut actions = Vec::new();
    for (task_index, payload) in &finishing.finished {
        let Some((_, key, _)) = context.tasks.get(*task_index) else {
            continue;
        };
        actions.extend(match write_task_state(context, checkpoint, key, payload) {
            Ok(handle) => coordinator.acknowledge(checkpoint, *key, handle),
            Err(reason) => coordinator.decline(checkpoint, *key, &reason, Instant::now()),
        });
    }
    actions
}

fn broadcast(context: &DriverContext, command: TaskCommand) {
    for (handle, _, _) in &context.tasks {
        handle.send(command);
    }
}

fn discard(context: &DriverContext, checkpoint: CheckpointId) {
    if let Err(error) = context.storage.discard(&context.job_id, checkpoint.0) {
        tracing::warn!(checkpoint = checkpoint.0, %error, "cannot delete a checkpoint");
    }
}
