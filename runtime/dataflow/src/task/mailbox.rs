//! The control side of a task: its command channel, the job's cancellation, and its clocks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use flinkrs_core::{CheckpointBarrier, CheckpointId};

use crate::input::TaskSnapshot;

/// What the JobManager (or the local executor) asks of a running task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskCommand {
    /// Sources only: snapshot the read position and inject this barrier into the stream.
    TriggerCheckpoint(CheckpointBarrier),
    /// The checkpoint is complete and durable: two-phase-commit sinks commit now.
    CheckpointComplete(CheckpointId),
    /// The checkpoint was aborted: drop what was prepared for it.
    CheckpointAborted(CheckpointId),
}

/// A task's snapshot for one checkpoint, sent when its barrier has passed the whole chain.
#[derive(Debug)]
pub struct TaskAcknowledgement {
    /// `"<vertex name> (<subtask>/<parallelism>)"`.
    pub task: String,
    /// The task's index among the job's tasks, in the order the executor started them.
    pub task_index: usize,
    pub checkpoint: CheckpointId,
    pub snapshot: TaskSnapshot,
    /// The snapshot was taken after the task's input ended: the task exits once this
    /// checkpoint completes, and its state stays this snapshot from then on.
    pub input_ended: bool,
}

/// Cancellation shared by every task of a job. Cancelling drops the only sender of a channel
/// nobody writes to, so every task blocked on it (in a `select`) wakes at once.
#[derive(Clone, Debug)]
pub struct CancelToken {
    cancelled: Arc<AtomicBool>,
    wake: Arc<Mutex<Option<Sender<()>>>>,
    watch: Receiver<()>,
}

impl Default for CancelToken {
    fn default() -> Self {
        let (sender, watch) = crossbeam_channel::bounded(0);
        CancelToken {
            cancelled: Arc::new(AtomicBool::new(false)),
            wake: Arc::new(Mutex::new(Some(sender))),
            watch,
        }
    }
}

impl CancelToken {
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        // A poisoned lock still holds the sender; dropping it is all that matters.
        let mut wake = self
            .wake
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        wake.take();
    }

    #[inline]
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }

    /// Becomes ready (disconnected) once the job is cancelled: for `select`.
    pub fn watch(&self) -> &Receiver<()> {
        &self.watch
    }
}

/// What the owner of a task keeps to talk to it.
#[derive(Clone, Debug)]
pub struct TaskHandle {
    pub name: String,
    commands: Sender<TaskCommand>,
}

impl TaskHandle {
    /// Sends a command; false when the task has already finished.
    pub fn send(&self, command: TaskCommand) -> bool {
        self.commands.send(command).is_ok()
    }
}

/// A task's side of its control channel.
#[derive(Debug)]
pub struct Mailbox {
    pub name: String,
    /// The task's index among the job's tasks (0 unless the executor sets it).
    pub task_index: usize,
    pub commands: Receiver<TaskCommand>,
    pub cancel: CancelToken,
    /// Where snapshots go once a barrier passed the task; `None` drops them.
    pub acknowledgements: Option<Sender<TaskAcknowledgement>>,
    /// How often processing-time timers are checked.
    pub processing_time_tick: Duration,
    /// `execution.buffer-timeout.interval`: partly filled channel buffers leave this often.
    pub buffer_timeout: Duration,
    /// Set when the job takes checkpoints, for FLIP-147's final checkpoint: once its input has
    /// ended, the task stays until a checkpoint it took part in after that completes, so what
    /// its sinks wrote last is committed. A source task reports its end here (with its task
    /// index), so that checkpoint is taken as soon as every source has ended. `None`: the
    /// task exits at the end of its input.
    pub final_checkpoint: Option<Sender<usize>>,
    /// Keeps the command channel open after every handle is dropped, so a task waiting on it
    /// keeps waiting instead of seeing a disconnected channel on every turn of its loop.
    _open: Sender<TaskCommand>,
}

impl Mailbox {
    /// Hands the task's snapshot for `barrier` to whoever collects them.
    pub fn acknowledge(&self, barrier: CheckpointBarrier, snapshot: TaskSnapshot) {
        self.send_acknowledgement(barrier, snapshot, false);
    }

    /// Hands over a snapshot taken after the task's input ended (see
    /// [`TaskAcknowledgement::input_ended`]).
    pub fn acknowledge_after_end(&self, barrier: CheckpointBarrier, snapshot: TaskSnapshot) {
        self.send_acknowledgement(barrier, snapshot, true);
    }

    fn send_acknowledgement(
        &self,
        barrier: CheckpointBarrier,
        snapshot: TaskSnapshot,
        input_ended: bool,
    ) {
        if let Some(acknowledgements) = &self.acknowledgements {
            // The collector is gone only when the job is shutting down.
            let _ = acknowledgements.send(TaskAcknowledgement {
                task: self.name.clone(),
                task_index: self.task_index,
                checkpoint: barrier.id,
                snapshot,
                input_ended,
            });
        }
    }

    /// Reports that the task's input ended, when the job takes a final checkpoint.
    pub(crate) fn report_end_of_input(&self) {
        if let Some(reports) = &self.final_checkpoint {
            // The coordinator is gone only when the job is shutting down.
            let _ = reports.send(self.task_index);
        }
    }
}

/// A mailbox and the handle that feeds it.
pub fn mailbox(
    name: String,
    cancel: CancelToken,
    acknowledgements: Option<Sender<TaskAcknowledgement>>,
    processing_time_tick: Duration,
    buffer_timeout: Duration,
) -> (TaskHandle, Mailbox) {
    let (sender, receiver) = crossbeam_channel::unbounded();
    (
        TaskHandle {
            name: name.clone(),
            commands: sender.clone(),
        },
        Mailbox {
            name,
            task_index: 0,
            commands: receiver,
            cancel,
            acknowledgements,
            processing_time_tick,
            buffer_timeout,
            final_checkpoint: None,
            _open: sender,
        },
    )
}

/// The two clocks of a task loop: the processing-time tick and the buffer timeout.
#[derive(Debug)]
pub(crate) struct Deadlines {
    tick: Duration,
    flush: Duration,
    pub next_tick: Instant,
    pub next_flush: Instant,
}

impl Deadlines {
    pub fn new(mailbox: &Mailbox) -> Self {
        let now = Instant::now();
        Deadlines {
            tick: mailbox.processing_time_tick,
            flush: mailbox.buffer_timeout,
            next_tick: now + mailbox.processing_time_tick,
            next_flush: now + mailbox.buffer_timeout,
        }
    }

    /// The earliest deadline.
    pub fn next(&self) -> Instant {
        self.next_tick.min(self.next_flush)
    }

    /// Whether the tick is due (and re-arms it).
    pub fn tick_due(&mut self, now: Instant) -> bool {
        let due = now >= self.next_tick;
        if due {
            self.next_tick = now + self.tick;
        }
        due
    }

    /// Whether the buffer timeout passed (and re-arms it).
    pub fn flush_due(&mut self, now: Instant) -> bool {
        let due = now >= self.next_flush;
        if due {
            self.next_flush = now + self.flush;
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mailbox_waits_for_commands_after_every_handle_is_gone() {
        let (handle, mailbox) = mailbox(
            "task".into(),
            CancelToken::default(),
            None,
            Duration::from_millis(1),
            Duration::from_millis(1),
        );
        drop(handle);
        assert_eq!(
            mailbox.commands.recv_timeout(Duration::from_millis(5)),
            Err(crossbeam_channel::RecvTimeoutError::Timeout)
        );
    }
}
