//! A TaskManager's part of a checkpoint: it writes the snapshots of the subtasks placed here
//! into the checkpoint's folder, off their threads, and acknowledges each to the JobManager
//! with its handle (or declines with the reason), as Flink's TaskExecutor does. It also
//! passes on the reports of sources whose input ended, for the final checkpoint.
//!
//! The folder of a checkpoint comes with the JobManager's trigger. A subtask that is not a
//! source takes its snapshot when the barrier reaches it over the data plane, which may be
//! before the trigger reached this TaskManager: its snapshot waits here for the folder.

use std::collections::BTreeMap;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender, select};
use flinkrs_checkpoint::TaskKey;
use flinkrs_core::{CheckpointId, Error, Result};
use flinkrs_state::storage::{CheckpointLocation, CheckpointStorage, S3Settings};

use crate::checkpoint_participants::WrittenAcknowledgement;
use crate::task::TaskAcknowledgement;

/// Where a TaskManager's acknowledgements go: its JobManager.
pub trait CheckpointReports: Send + Sync {
    /// A subtask's state for a checkpoint is written (or could not be).
    fn acknowledge(&self, acknowledgement: WrittenAcknowledgement);
    /// The input of the source subtask `task_index` ended.
    fn input_ended(&self, task_index: usize);
}

/// What the writer learns of a checkpoint from the JobManager.
#[derive(Debug)]
pub(crate) enum FolderNotice {
    /// The checkpoint's state files go into this folder.
    Target(CheckpointId, CheckpointLocation),
    /// The checkpoint completed or was aborted: nothing more is written for it.
    Done(CheckpointId),
}

/// The running writer of one attempt's subtasks here. Its thread ends once every subtask
/// here has ended, or once this handle is dropped.
pub(crate) struct SnapshotWriter {
    pub notices: Sender<FolderNotice>,
}

/// What the writer thread owns.
struct Writer {
    /// The subtasks here: task index → their vertex and subtask.
    keys: BTreeMap<usize, TaskKey>,
    s3: S3Settings,
    reports: Arc<dyn CheckpointReports>,
    /// Checkpoints triggered and not done, with their folder.
    folders: BTreeMap<CheckpointId, (CheckpointStorage, CheckpointLocation)>,
    /// The storage reaching local folders and the one reaching S3, once connected: the
    /// folders of every checkpoint share them.
    local: Option<CheckpointStorage>,
    s3_storage: Option<CheckpointStorage>,
    /// Snapshots that arrived before their checkpoint's folder.
    waiting: Vec<TaskAcknowledgement>,
}

/// Starts the writer for the subtasks `keys` (task index → vertex and subtask).
pub(crate) fn start(
    keys: BTreeMap<usize, TaskKey>,
    s3: S3Settings,
    reports: Arc<dyn CheckpointReports>,
    acknowledgements: Receiver<TaskAcknowledgement>,
    input_ended: Receiver<usize>,
) -> Result<SnapshotWriter> {
    let (notices, notices_in) = crossbeam_channel::unbounded();
    let writer = Writer {
        keys,
        s3,
        reports,
        folders: BTreeMap::new(),
        local: None,
        s3_storage: None,
        waiting: Vec::new(),
    };
    std::thread::Builder::new()
        .name("Checkpoint writer".into())
        .spawn(move || writer.run(&acknowledgements, &input_ended, &notices_in))
        .map_err(|source| {
            Error::InvalidJob(format!(
                "cannot start the checkpoint writer's thread: {source}"
            ))
        })?;
    Ok(SnapshotWriter { notices })
}

impl Writer {
    fn run(
        mut self,
        acknowledgements: &Receiver<TaskAcknowledgement>,
        input_ended: &Receiver<usize>,
        notices: &Receiver<FolderNotice>,
    ) {
        let never_acknowledged = crossbeam_channel::never();
        let never_ended = crossbeam_channel::never();
        let (mut acknowledgements, mut input_ended) = (acknowledgements, input_ended);
        loop {
            select! {
                recv(acknowledgements) -> acknowledgement => match acknowledgement {
                    Ok(acknowledgement) => self.acknowledged(acknowledgement),
                    // Every subtask here has ended.
                    Err(_) => acknowledgements = &never_acknowledged,
                },
                recv(input_ended) -> report => match report {
                    Ok(task_index) => self.reports.input_ended(task_index),
                    Err(_) => input_ended = &never_ended,
                },
                recv(notices) -> notice => match notice {
                    Ok(FolderNotice::Target(checkpoint, folder)) => {
                        self.triggered(checkpoint, folder);
                    }
                    Ok(FolderNotice::Done(checkpoint)) => {
                        self.folders.remove(&checkpoint);
                        self.waiting.retain(|waiting| waiting.checkpoint != checkpoint);
                    }
                    // The deployment is gone.
                    Err(_) => return,
                },
            }
            if std::ptr::eq(acknowledgements, &never_acknowledged)
                && std::ptr::eq(input_ended, &never_ended)
            {
                return;
            }
        }
    }

    /// The storage of `folder`'s kind, connected at its first use.
    fn storage_for(&mut self, folder: &CheckpointLocation) -> Result<CheckpointStorage> {
        let cached = match folder {
            CheckpointLocation::Local(_) => &mut self.local,
            CheckpointLocation::S3(_) => &mut self.s3_storage,
        };
        if let Some(storage) = cached {
            return Ok(storage.clone());
        }
        let storage = CheckpointStorage::new(folder.clone(), &self.s3)?;
        *cached = Some(storage.clone());
        Ok(storage)
    }

    fn triggered(&mut self, checkpoint: CheckpointId, folder: CheckpointLocation) {
        let storage = match self.storage_for(&folder) {
            Ok(storage) => storage,
            Err(error) => {
                // Every subtask here declines: the JobManager aborts the checkpoint.
                let reason = format!("cannot reach the checkpoint's folder {folder}: {error}");
                for &task_index in self.keys.keys() {
                    self.reports.acknowledge(WrittenAcknowledgement {
                        task_index,
                        checkpoint,
                        state: Err(reason.clone()),
                        input_ended: false,
                    });
                }
                return;
            }
        };
        self.folders.insert(checkpoint, (storage, folder));
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|waiting| waiting.checkpoint == checkpoint);
        self.waiting = waiting;
        for acknowledgement in ready {
            self.acknowledged(acknowledgement);
        }
    }

    fn acknowledged(&mut self, mut acknowledgement: TaskAcknowledgement) {
        let checkpoint = acknowledgement.checkpoint;
        let Some((storage, folder)) = self.folders.get(&checkpoint) else {
            self.waiting.push(acknowledgement);
            return;
        };
        let Some(key) = self.keys.get(&acknowledgement.task_index) else {
            return;
        };
        let task = &acknowledgement.task;
        let state = crate::input::materialize(&mut acknowledgement.snapshot)
            .map_err(|e| format!("task '{task}': {e}"))
            .and_then(|()| {
                crate::input::encode(&acknowledgement.snapshot)
                    .map_err(|e| format!("cannot encode the snapshot of '{task}': {e}"))
            })
            .and_then(|state| {
                storage
                    .write_task_state_in(folder, key.vertex, key.subtask, &state)
                    .map_err(|e| format!("cannot write the state of '{task}': {e}"))
            });
        self.reports.acknowledge(WrittenAcknowledgement {
            task_index: acknowledgement.task_index,
            checkpoint,
            state,
            input_ended: acknowledgement.input_ended,
        });
    }
}
