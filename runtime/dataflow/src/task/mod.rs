//! Tasks: one OS thread per subtask, each a mailbox loop.
//!
//! A task waits on its input channels (or polls its source) *and* on its [`Mailbox`]: commands
//! (trigger a checkpoint, checkpoint complete or aborted), cancellation, the processing-time
//! tick and the buffer timeout. Nothing in a task blocks without also watching cancellation:
//! a task stuck on a full output channel, or a source with no data, stops within milliseconds
//! of a cancel.

mod final_checkpoint;
mod input_task;
mod mailbox;
mod metrics;
mod source_task;

pub use input_task::{InputTaskRunner, run_input_task};
pub use mailbox::{CancelToken, Mailbox, TaskAcknowledgement, TaskCommand, TaskHandle, mailbox};
pub use metrics::{OutputMetrics, TaskMetrics};
pub use source_task::{SourceTaskRunner, run_source_task};

use flinkrs_core::Result;

/// A subtask ready to run on its thread.
pub trait TaskRunner: Send {
    fn run(self: Box<Self>, mailbox: Mailbox) -> Result<()>;
}
