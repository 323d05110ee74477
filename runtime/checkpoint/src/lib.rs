//! # flinkrs-checkpoint
//!
//! The CheckpointCoordinator: Flink's checkpoint protocol as a pure state machine. It does no
//! I/O and reads no clock. The JobManager feeds it events (time passing, acknowledgements and
//! declines from tasks, the result of writing `_metadata`) and carries out the [`Action`]s it
//! returns (trigger the sources, persist, notify the tasks, delete old checkpoints, fail the
//! job). Every rule of the protocol can therefore be tested without threads, timers or
//! storage.
//!
//! ## The protocol
//!
//! 1. **Trigger.** Every `execution.checkpointing.interval` a checkpoint is due. It starts only
//!    when no other checkpoint is pending (at most one at a time) and at least
//!    `execution.checkpointing.min-pause` has passed since the previous one ended. Starting
//!    asks the edge to inject barriers at the sources ([`Action::TriggerCheckpoint`]). A
//!    checkpoint may also be requested ahead of the interval
//!    ([`CheckpointCoordinator::request_checkpoint`]): the JobManager does so once every source
//!    of a bounded job has ended, for the final checkpoint of FLIP-147. A requested checkpoint
//!    obeys the same two rules.
//! 2. **Acknowledge.** Each task acknowledges with its state handle once its snapshot is
//!    written. When every task has, the checkpoint is ready to persist
//!    ([`Action::Persist`]): the edge writes `_metadata`, last, and reports the result.
//! 3. **Complete.** A persisted checkpoint is complete: tasks are notified
//!    ([`Action::NotifyComplete`], where two-phase-commit sinks commit), and completed
//!    checkpoints beyond `execution.checkpointing.num-retained` are deleted
//!    ([`Action::Discard`]).
//! 4. **Abort.** A checkpoint is aborted when a task declines it, when it is not complete after
//!    `execution.checkpointing.timeout`, or when persisting fails. Tasks are told
//!    ([`Action::NotifyAborted`]). Consecutive failures beyond
//!    `execution.checkpointing.tolerable-failed-checkpoints` fail the job
//!    ([`Action::FailJob`]); a completed checkpoint resets the count, as Flink's
//!    `CheckpointFailureManager` does.

mod coordinator;
mod settings;
#[cfg(test)]
mod tests;

pub use coordinator::{Action, CheckpointCoordinator, CompletedCheckpoint, TaskKey};
pub use settings::CheckpointSettings;
