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

use std::thread::JoinHandle;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, Sender, select};
use flinkrs_checkpoint::{Action, CheckpointCoordinator, CheckpointSettings, TaskKey};
use flinkrs_core::config::CHECKPOINTS_DIRECTORY;
use flinkrs_core::element::SnapshotKind;
use flinkrs_core::{CheckpointBarrier, CheckpointId, Configuration, Error, Result};
use flinkrs_state::storage::{
    CheckpointLocation, CheckpointMetadata, CheckpointStorage, S3Settings, TaskStateHandle,
};

use crate::task::{CancelToken, TaskAcknowledgement, TaskCommand, TaskHandle};

/// A completed checkpoint of a running job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedCheckpoint {
    pub checkpoint: CheckpointId,
    /// Its `chk-<n>` folder or S3 prefix; printed, it is what `flinkrs run -s` resumes from.
    pub location: CheckpointLocation,
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
    pub storage: CheckpointStorage,
    pub job_id: String,
    /// Every task, with its key and whether it is a source.
    pub tasks: Vec<(TaskHandle, TaskKey, bool)>,
    pub acknowledgements: Receiver<TaskAcknowledgement>,
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
    loop {
        let wakeup = coordinator.next_wakeup()?;
        let actions = select! {
            recv(stopped) -> _ => break,
            recv(context.acknowledgements) -> acknowledgement => match acknowledgement {
                Ok(acknowledgement) => acknowledged(&context, &mut coordinator, acknowledgement),
                Err(_) => break,
            },
            default(wakeup.saturating_duration_since(Instant::now())) => {
                coordinator.on_time(Instant::now())
            }
        };
        if let Some(failure) = carry_out(&context, &mut coordinator, actions) {
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

/// Writes the task's state; acknowledges it, or declines the checkpoint if the write failed.
fn acknowledged(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    acknowledgement: TaskAcknowledgement,
) -> Vec<Action<TaskStateHandle>> {
    let Some((_, key, _)) = context.tasks.get(acknowledgement.task_index) else {
        return Vec::new();
    };
    let checkpoint = acknowledgement.checkpoint;
    let written = postcard::to_allocvec(&acknowledgement.snapshot)
        .map_err(|e| {
            format!(
                "cannot encode the snapshot of '{}': {e}",
                acknowledgement.task
            )
        })
        .and_then(|payload| {
            context
                .storage
                .write_task_state(
                    &context.job_id,
                    checkpoint.0,
                    key.vertex,
                    key.subtask,
                    &payload,
                )
                .map_err(|e| e.to_string())
        });
    match written {
        Ok(handle) => coordinator.acknowledge(checkpoint, *key, handle),
        Err(reason) => coordinator.decline(checkpoint, *key, &reason, Instant::now()),
    }
}

/// Carries out the coordinator's actions, and those they lead to; returns the job's failure.
fn carry_out(
    context: &DriverContext,
    coordinator: &mut CheckpointCoordinator<TaskStateHandle>,
    mut actions: Vec<Action<TaskStateHandle>>,
) -> Option<Error> {
    while !actions.is_empty() {
        let mut next = Vec::new();
        for action in actions {
            match action {
                Action::TriggerCheckpoint { checkpoint } => trigger(context, checkpoint),
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
                    broadcast(context, TaskCommand::CheckpointComplete(checkpoint));
                    let _ = context.completed.send(CompletedCheckpoint {
                        checkpoint,
                        location: context
                            .storage
                            .checkpoint_location(&context.job_id, checkpoint.0),
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

fn trigger(context: &DriverContext, checkpoint: CheckpointId) {
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64);
    let barrier = CheckpointBarrier {
        id: checkpoint,
        timestamp,
        kind: SnapshotKind::Checkpoint,
    };
    for (handle, _, is_source) in &context.tasks {
        if *is_source {
            handle.send(TaskCommand::TriggerCheckpoint(barrier));
        }
    }
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
