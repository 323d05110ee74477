//! Sources: [`SourceFunction`] and the loop of a source task.

use std::time::{Duration, Instant};

use flinkrs_core::time::now_millis;
use flinkrs_core::{Batch, Data, Error, Result, Watermark};

use crate::chain::{Counters, Input, guarded};
use crate::executor::TaskControl;
use crate::operator::TaskInfo;

/// What a source says after a poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceStatus {
    /// More records are available now: poll again at once.
    MoreAvailable,
    /// Nothing to read right now (rate limit, no data on a socket): poll again after at most
    /// this long.
    Wait(Duration),
    /// The bounded input is exhausted.
    Finished,
}

/// Where a source subtask runs: which share of the input it reads.
#[derive(Clone, Debug)]
pub struct SourceContext {
    pub info: TaskInfo,
    /// Largest number of records to put in one batch.
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

/// A parallel source. Each subtask gets its own instance and reads its own share.
pub trait SourceFunction<T>: Send {
    /// Called once before the first poll.
    fn open(&mut self, _context: &SourceContext) -> Result<()> {
        Ok(())
    }

    /// Appends up to `context.batch_rows` records to `batch` and says whether more follow.
    fn poll_batch(&mut self, batch: &mut Batch<T>, context: &SourceContext)
    -> Result<SourceStatus>;

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

/// Runs a source subtask: polls the source, pushes batches into the chain, ticks processing
/// time, and at the end of bounded input sends the final watermark and end-of-input.
pub fn run_source_task<T: Data>(
    source: &mut dyn SourceFunction<T>,
    context: &SourceContext,
    chain: &mut dyn Input<T>,
    control: &TaskControl,
    counters: &Counters,
) -> Result<()> {
    let info = &context.info;
    guarded(info, || source.open(context))?;
    chain.open()?;
    let mut batch: Batch<T> = Vec::with_capacity(context.batch_rows);
    let tick = control.tick_interval;
    let mut next_tick = Instant::now() + tick;
    loop {
        if control.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let status = guarded(info, || source.poll_batch(&mut batch, context))?;
        if !batch.is_empty() {
            counters.add_out(batch.len());
            chain.process_batch(&mut batch)?;
            batch.clear();
        }
        match status {
            SourceStatus::MoreAvailable => {}
            SourceStatus::Wait(pause) => {
                // Waiting for data that is not there yet; the tick below still runs.
                std::thread::sleep(pause.min(next_tick.saturating_duration_since(Instant::now())));
            }
            SourceStatus::Finished => {
                chain.process_watermark(Watermark::MAX)?;
                chain.end_input()?;
                return guarded(info, || source.close());
            }
        }
        if Instant::now() >= next_tick {
            chain.on_processing_time(now_millis())?;
            next_tick = Instant::now() + tick;
        }
    }
}
