//! The [`Operator`] trait: what every transformation implements. See the crate docs for the
//! lifecycle contract.

use std::sync::Arc;

use flinkrs_core::{CheckpointId, Configuration, JobId, Result, Watermark, WatermarkStatus};
use flinkrs_state::KeyedStateSnapshot;
use serde::{Deserialize, Serialize};

use crate::batch::StreamBatch;
use crate::output::Output;

/// Where a subtask runs and what it is: handed to operators and sources when they are built.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    pub job_name: String,
    /// The name of the chain (JobGraph vertex) this operator runs in.
    pub task_name: String,
    /// The name of this operator, as the user gave it or as derived from the transformation.
    pub operator_name: String,
    /// The operator's id, stable across runs of the same program: the key of its state in a
    /// checkpoint.
    pub operator_id: String,
    pub subtask_index: usize,
    pub parallelism: usize,
    pub max_parallelism: usize,
    pub config: Arc<Configuration>,
    /// The job the subtask belongs to.
    pub job_id: JobId,
    /// The job's attempt (restarts count up): Flink's attempt number.
    pub attempt_number: u32,
}

impl TaskInfo {
    /// `"2/4"`: the subtask's 1-based number out of the parallelism, as Flink prints it.
    pub fn subtask_label(&self) -> String {
        format!("{}/{}", self.subtask_index + 1, self.parallelism)
    }
}

/// One operator's part of a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorSnapshot {
    /// Keyed state, grouped by key group (keyed operators only).
    pub keyed: Option<KeyedStateSnapshot>,
    /// Operator list state (Flink's `ListState` of an operator, redistributed with
    /// `SPLIT_DISTRIBUTE`): independent items, each encoded by the operator, such as a source's
    /// splits with their positions or a sink's pending files. At the same parallelism a
    /// subtask gets back its own items; at another, all subtasks' items are dealt out in
    /// contiguous, nearly equal runs.
    pub operator_state: Vec<Vec<u8>>,
}

/// A one-input operator from batches of type `I` to batches of type `O`: typed rows
/// ([`Batch<T>`](flinkrs_core::Batch)) or Arrow batches. Two-input operators (connect) receive
/// an `Either` of both inputs.
pub trait Operator<I, O: StreamBatch>: Send {
    /// Restores state from a checkpoint or savepoint; `None` on a fresh start.
    fn initialize_state(
        &mut self,
        _info: &TaskInfo,
        _state: Option<OperatorSnapshot>,
    ) -> Result<()> {
        Ok(())
    }

    /// Called once before the first element.
    fn open(&mut self, _info: &TaskInfo) -> Result<()> {
        Ok(())
    }

    /// Processes a batch. The operator may take the records out of `batch`; whatever is left
    /// is discarded by the caller.
    fn process_batch(&mut self, batch: &mut I, out: &mut Output<O>) -> Result<()>;

    /// The input watermark advanced. The default forwards it.
    fn process_watermark(&mut self, watermark: Watermark, out: &mut Output<O>) -> Result<()> {
        out.emit_watermark(watermark)
    }

    /// All inputs went idle, or one became active again. The default forwards it.
    fn process_watermark_status(
        &mut self,
        status: WatermarkStatus,
        out: &mut Output<O>,
    ) -> Result<()> {
        out.emit_watermark_status(status)
    }

    /// The task's processing-time tick, in epoch milliseconds.
    fn on_processing_time(&mut self, _now_millis: i64, _out: &mut Output<O>) -> Result<()> {
        Ok(())
    }

    /// Takes this operator's part of checkpoint `checkpoint`, at an aligned barrier.
    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        Ok(OperatorSnapshot::default())
    }

    /// Checkpoint `checkpoint` is complete and durable.
    fn notify_checkpoint_complete(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }

    /// Checkpoint `checkpoint` was aborted: drop what was prepared for it.
    fn notify_checkpoint_aborted(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }

    /// Every input has ended. Emit final results here.
    fn end_input(&mut self, _out: &mut Output<O>) -> Result<()> {
        Ok(())
    }

    /// Called once at the end, also after a failure.
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}
