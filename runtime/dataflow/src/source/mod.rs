//! Sources: the [`SourceFunction`] contract. The loop that drives one lives in
//! [`task`](crate::task).

use std::time::Duration;

use flinkrs_core::{CheckpointId, Result, Watermark, WatermarkStatus};

use crate::operator::TaskInfo;

/// What a source says after a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceStatus {
    /// More records are available now: poll again at once.
    MoreAvailable,
    /// Nothing to read right now (rate limit, no data on a socket): poll again after at most
    /// this long. The task watches its mailbox meanwhile, so it still reacts to cancel and
    /// checkpoint triggers at once.
    Wait(Duration),
    /// The bounded input is exhausted.
    Finished,
}

/// Whether a source ends, as Flink's `Boundedness`. Batch mode accepts bounded sources only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Boundedness {
    Bounded,
    ContinuousUnbounded,
}

/// Where a source subtask runs: which share of the input it reads.
#[derive(Clone, Debug)]
pub struct SourceContext {
    pub info: TaskInfo,
    /// Largest number of records to put in one batch, derived from the record type and the
    /// batch bounds.
    pub batch_rows: usize,
}

impl SourceContext {
    pub fn subtask_index(&self) -> usize {
        self.info.subtask_index
    }

    pub fn parallelism(&self) -> usize {
        self.info.parallelism
    }
}

/// A parallel source emitting batches of type `B`. Each subtask gets its own instance and reads
/// its own share. `poll_batch` must not block for long: return [`SourceStatus::Wait`] instead.
pub trait SourceFunction<B>: Send {
    /// Called once before the first poll.
    fn open(&mut self, _context: &SourceContext) -> Result<()> {
        Ok(())
    }

    /// Appends up to `context.batch_rows` records to `batch` and says whether more follow.
    fn poll_batch(&mut self, batch: &mut B, context: &SourceContext) -> Result<SourceStatus>;

    /// Whether this source ends. As in Flink, a source that does not say is taken as
    /// unbounded, and batch mode rejects it.
    fn boundedness(&self) -> Boundedness {
        Boundedness::ContinuousUnbounded
    }

    /// The reader's splits for a checkpoint: one item per split it has not finished, each
    /// encoding the split and the position in it (FLIP-27's reader state).
    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// Hands the reader the splits it reads after a restore, before `open`. At the same
    /// parallelism they are the ones this subtask had; at another, the splits of all old
    /// subtasks are dealt out among the new ones, so a subtask may get several or none. It
    /// is called whenever the job restores and the checkpoint has this source, with an empty
    /// list when this subtask gets no split: it then reads nothing rather than starting over.
    fn restore_state(&mut self, _splits: Vec<Vec<u8>>) -> Result<()> {
        Ok(())
    }

    /// A checkpoint this reader snapshotted for is complete: for side effects that must
    /// wait for it, such as committing offsets back to an external system for monitoring.
    fn notify_checkpoint_complete(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }

    /// For a source that generates watermarks itself (Flink's watermarks per split, inside
    /// the source): after each poll the task takes the status the source changed to, if any,
    /// then sends it down the chain after the polled records. Other sources keep the default.
    fn take_watermark_status(&mut self) -> Option<WatermarkStatus> {
        None
    }

    /// Like [`take_watermark_status`](Self::take_watermark_status): a watermark the source
    /// advanced to since the last poll, sent after the polled records.
    fn take_watermark(&mut self) -> Option<Watermark> {
        None
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

mod sequence;

pub use sequence::{RowRun, SequenceSplit, SequenceSplits};
