//! Sources: the [`SourceFunction`] contract. The loop that drives one lives in
//! [`task`](crate::task).

use std::time::Duration;

use flinkrs_core::{Error, Result};

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

    /// Encodes the read position (offsets) for a checkpoint.
    fn snapshot_state(&mut self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// Restores the read position from a checkpoint, before `open`.
    fn restore_state(&mut self, _state: &[u8]) -> Result<()> {
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Encodes a source's read position (the index of the next row or element) for a checkpoint:
/// eight bytes, little-endian.
pub fn encode_position(position: u64) -> Vec<u8> {
    position.to_le_bytes().to_vec()
}

/// Decodes a position written by [`encode_position`]; `source` names the source in the error a
/// malformed state gets.
pub fn decode_position(state: &[u8], source: &str) -> Result<u64> {
    let bytes = <[u8; 8]>::try_from(state).map_err(|_| {
        Error::state(format!(
            "{source}: the checkpointed state has {} bytes; expected 8 (the next row index)",
            state.len()
        ))
    })?;
    Ok(u64::from_le_bytes(bytes))
}
