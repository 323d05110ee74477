//! FLIP-147's final checkpoint: what a task does between the end of its input and its exit,
//! when the job takes checkpoints.
//!
//! A task whose input has ended (an exhausted bounded source, or a task all of whose input
//! channels delivered their end) has already ended its chain: every operator emitted its last
//! results and every sink flushed. It does not exit yet, or the last output of a
//! two-phase-commit sink would never be committed. It keeps serving its mailbox instead:
//!
//! - each checkpoint triggered now is snapshotted at once (a source with its final position).
//!   Nothing can arrive any more, so there is no barrier to wait for, and the snapshot is
//!   acknowledged as taken after the end;
//! - once such a checkpoint completes, the task hands the notification to its chain (sinks
//!   commit) and exits;
//! - an aborted checkpoint changes nothing: the task waits for the next one.

use crossbeam_channel::select;
use flinkrs_core::{CheckpointBarrier, CheckpointId, Error, Result};

use super::mailbox::{Mailbox, TaskCommand};
use crate::input::{ControlInput, TaskSnapshot};

/// Serves `mailbox` until a checkpoint snapshotted after the end of input completes, or the
/// job is cancelled. `untaken` is a checkpoint triggered before the end that the task has not
/// snapshotted: it is taken first. `head_state` gives the snapshot's start: a source's
/// position, or nothing for a task that reads channels.
pub(crate) fn wait_for_final_checkpoint<C: ControlInput + ?Sized>(
    chain: &mut C,
    mailbox: &Mailbox,
    untaken: Option<CheckpointBarrier>,
    mut head_state: impl FnMut() -> Result<TaskSnapshot>,
) -> Result<()> {
    // The first checkpoint snapshotted after the end: its completion, or a later one's,
    // releases the task. And the latest, so a trigger is never taken twice.
    let mut first_after_end: Option<CheckpointId> = None;
    let mut latest_taken: Option<CheckpointId> = None;
    let mut snapshot = |barrier: CheckpointBarrier, chain: &mut C| -> Result<()> {
        let mut snapshot = head_state()?;
        chain.process_barrier(barrier, &mut snapshot)?;
        mailbox.acknowledge_after_end(barrier, snapshot);
        Ok(())
    };
    if let Some(barrier) = untaken {
        snapshot(barrier, chain)?;
        first_after_end = Some(barrier.id);
        latest_taken = Some(barrier.id);
    }
    loop {
        if mailbox.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let command = select! {
            recv(mailbox.commands) -> command => command,
            recv(mailbox.cancel.watch()) -> _ => return Err(Error::Cancelled),
        };
        // The mailbox keeps its channel open, so it never disconnects while the task runs.
        let Ok(command) = command else {
            return Err(Error::Cancelled);
        };
        match command {
            TaskCommand::TriggerCheckpoint(barrier) => {
                if latest_taken.is_none_or(|latest| barrier.id > latest) {
                    snapshot(barrier, chain)?;
                    first_after_end.get_or_insert(barrier.id);
                    latest_taken = Some(barrier.id);
                }
            }
            TaskCommand::CheckpointComplete(checkpoint) => {
                chain.notify_checkpoint_complete(checkpoint)?;
                if first_after_end.is_some_and(|first| checkpoint >= first) {
                    return Ok(());
                }
            }
            TaskCommand::CheckpointAborted(checkpoint) => {
                chain.notify_checkpoint_aborted(checkpoint)?;
            }
        }
    }
}
