//! The tasks a checkpoint coordinator talks to, wherever they run.
//!
//! In a local job the coordinator's driver sends its commands straight into the tasks'
//! mailboxes ([`LocalTasks`]), and takes their snapshots to encode and write itself. On a
//! cluster the JobManager's driver reaches tasks through their TaskManagers: it sends each
//! command once per TaskManager, with the folder a checkpoint goes to, and the TaskManagers
//! write their tasks' state there and acknowledge with the handles
//! ([`WrittenAcknowledgement`]), as Flink's TaskExecutors do.
//!
//! Tasks are named by their *task index*: their position when every subtask of every
//! JobGraph vertex is counted in order (vertex by vertex, subtask by subtask). Every process
//! of a job computes the same indices from the same graph.

use flinkrs_core::{CheckpointBarrier, CheckpointId};
use flinkrs_state::storage::{CheckpointLocation, TaskStateHandle};

use crate::task::{TaskCommand, TaskHandle};

/// What the coordinator tells tasks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckpointCommand {
    /// Take a checkpoint (sources inject its barrier); its state files go into `folder`.
    Trigger {
        barrier: CheckpointBarrier,
        folder: CheckpointLocation,
    },
    /// The checkpoint is complete and durable.
    Complete(CheckpointId),
    /// The checkpoint was aborted.
    Aborted(CheckpointId),
}

impl CheckpointCommand {
    /// The command as a task's mailbox takes it.
    pub fn task_command(&self) -> TaskCommand {
        match self {
            CheckpointCommand::Trigger { barrier, .. } => TaskCommand::TriggerCheckpoint(*barrier),
            CheckpointCommand::Complete(checkpoint) => TaskCommand::CheckpointComplete(*checkpoint),
            CheckpointCommand::Aborted(checkpoint) => TaskCommand::CheckpointAborted(*checkpoint),
        }
    }
}

/// How a checkpoint driver reaches its tasks.
pub trait CheckpointParticipants: Send {
    /// Sends `command` to the tasks `task_indices` (in increasing order). A task that has
    /// ended, or cannot be reached, misses it: the checkpoint then times out or is declined.
    fn send(&self, task_indices: &[usize], command: &CheckpointCommand);
}

/// The tasks of a job in this process, by task index.
pub(crate) struct LocalTasks(pub Vec<TaskHandle>);

impl CheckpointParticipants for LocalTasks {
    fn send(&self, task_indices: &[usize], command: &CheckpointCommand) {
        let command = command.task_command();
        for &task_index in task_indices {
            if let Some(handle) = self.0.get(task_index) {
                handle.send(command);
            }
        }
    }
}

/// A task on a TaskManager acknowledged a checkpoint: its TaskManager has written the task's
/// state into the checkpoint's folder (or failed to).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrittenAcknowledgement {
    pub task_index: usize,
    pub checkpoint: CheckpointId,
    /// The state's handle, or why the task declines the checkpoint.
    pub state: Result<TaskStateHandle, String>,
    /// The snapshot was taken after the task's input ended (see
    /// [`TaskAcknowledgement::input_ended`](crate::task::TaskAcknowledgement::input_ended)).
    pub input_ended: bool,
}
