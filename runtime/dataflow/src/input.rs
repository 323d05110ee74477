//! What every element of a chain implements: [`ControlInput`] for control elements and
//! lifecycle calls, [`Input`] for batches.
//!
//! An operator wrapped in a link, a fan-out to several consumers, a side output and a channel
//! writer at the chain's edge are all inputs of the element before them.

use flinkrs_core::{CheckpointBarrier, CheckpointId, Result, Watermark, WatermarkStatus};
use flinkrs_state::storage::{OperatorStateParts, TaskStateFile};

use crate::operator::OperatorSnapshot;

/// The operator snapshots a task collected for one checkpoint, keyed by operator id.
pub type TaskSnapshot = Vec<(String, OperatorSnapshot)>;

/// The asynchronous phase of a task's snapshot: encodes the keyed state its operators froze
/// at the barrier. Runs wherever the checkpoint is written, not on the task thread.
pub fn materialize(snapshot: &mut TaskSnapshot) -> Result<()> {
    for (operator_id, operator) in snapshot.iter_mut() {
        if let Some(keyed) = &mut operator.keyed {
            keyed.materialize().map_err(|error| {
                flinkrs_core::Error::state(format!(
                    "cannot encode the keyed state of operator {operator_id}: {error}"
                ))
            })?;
        }
    }
    Ok(())
}

/// Lays out a materialized task snapshot as its state file: each operator's list state, then
/// its keyed state key group by key group, with where each part is for `_metadata`.
pub fn encode(snapshot: &TaskSnapshot) -> Result<TaskStateFile> {
    let parts = snapshot
        .iter()
        .map(|(operator_id, operator)| OperatorStateParts {
            operator_id,
            operator_state: &operator.operator_state,
            keyed: operator.keyed.as_ref(),
        });
    Ok(TaskStateFile::encode(parts)?)
}

/// Everything an input receives except batches: control elements and lifecycle calls.
pub trait ControlInput: Send {
    fn open(&mut self) -> Result<()>;
    fn process_watermark(&mut self, watermark: Watermark) -> Result<()>;
    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<()>;
    /// Snapshots, then forwards the barrier. Called only once the barrier is aligned.
    fn process_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        snapshot: &mut TaskSnapshot,
    ) -> Result<()>;
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()>;
    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<()>;
    fn on_processing_time(&mut self, now_millis: i64) -> Result<()>;
    /// The buffer timeout (`execution.buffer-timeout.interval`) passed: send partly filled
    /// channel buffers.
    fn flush_buffers(&mut self) -> Result<()>;
    /// The input has ended. Links fire what is left (the final watermark, and in batch mode
    /// every timer) and emit final results before passing the end on.
    fn end_input(&mut self) -> Result<()>;
    fn close(&mut self) -> Result<()>;
}

/// The receiving end of a chain link, for batches of type `B`.
pub trait Input<B>: ControlInput {
    /// Processes a batch; the callee may take rows out of it. The caller clears it after.
    fn process_batch(&mut self, batch: &mut B) -> Result<()>;
}
