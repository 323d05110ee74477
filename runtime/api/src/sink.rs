//! Sinks: [`SinkFunction`], and the sinks every Flink user expects on a DataStream: print,
//! collect-to-client and discard.

use std::fmt::Display;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use flinkrs_core::{Batch, CheckpointId, Error, Result};
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};

/// Writes records out of the job. Each parallel subtask gets its own clone.
///
/// The lifecycle: `initialize_state` (with the state of the checkpoint the job restores from),
/// `open`, then batches, processing-time ticks and checkpoints, `finish` at the end of bounded
/// input, and `close`, also after a failure. A two-phase-commit sink prepares what it wrote
/// in `snapshot_state`, whose bytes go into the checkpoint, and makes it visible in
/// `notify_checkpoint_complete`; on restore it commits what the restored state names.
pub trait SinkFunction<T>: Send {
    /// Restores from a checkpoint: `state` holds the items `snapshot_state` returned for it
    /// that this subtask gets (its own at the same parallelism; a share of every subtask's
    /// on a rescaled restore, possibly none), or is `None` on a fresh start. Called before
    /// `open`.
    fn initialize_state(&mut self, _info: &TaskInfo, _state: Option<&[Vec<u8>]>) -> Result<()> {
        Ok(())
    }

    fn open(&mut self, _info: &TaskInfo) -> Result<()> {
        Ok(())
    }

    /// Writes a batch. The sink may take the records out of it.
    fn write_batch(&mut self, batch: &mut Batch<T>) -> Result<()>;

    /// Snapshot hook: flush what must be durable for checkpoint `checkpoint`, and return the
    /// sink's state as a list of independent items (for example its pending files). On a
    /// rescaled restore the items of all subtasks are dealt out among the new subtasks.
    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<Vec<Vec<u8>>> {
        Ok(Vec::new())
    }

    /// The checkpoint is complete: a two-phase-commit sink commits here.
    fn notify_checkpoint_complete(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }

    /// The checkpoint was aborted: what was prepared for it waits for the next one.
    fn notify_checkpoint_aborted(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }

    /// The task's processing-time tick, in epoch milliseconds: for time-based decisions such
    /// as rolling a part file.
    fn on_processing_time(&mut self, _now_millis: i64) -> Result<()> {
        Ok(())
    }

    /// All input has arrived: flush.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Runs a [`SinkFunction`] as an operator with no output.
pub(crate) struct SinkOperator<S> {
    pub sink: S,
}

impl<T, S: SinkFunction<T>> Operator<Batch<T>, Batch<()>> for SinkOperator<S> {
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        let state = state.map(|snapshot| snapshot.operator_state);
        self.sink.initialize_state(info, state.as_deref())
    }

    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        self.sink.open(info)
    }

    fn process_batch(&mut self, batch: &mut Batch<T>, _out: &mut Output<Batch<()>>) -> Result<()> {
        self.sink.write_batch(batch)
    }

    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        Ok(OperatorSnapshot {
            keyed: None,
            operator_state: self.sink.snapshot_state(checkpoint)?,
        })
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.sink.notify_checkpoint_complete(checkpoint)
    }

    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.sink.notify_checkpoint_aborted(checkpoint)
    }

    fn on_processing_time(&mut self, now_millis: i64, _out: &mut Output<Batch<()>>) -> Result<()> {
        self.sink.on_processing_time(now_millis)
    }

    fn end_input(&mut self, _out: &mut Output<Batch<()>>) -> Result<()> {
        self.sink.finish()
    }

    fn close(&mut self) -> Result<()> {
        self.sink.close()
    }
}

/// Prints each record on its own line, as Flink's `print()`: with the prefix `N> ` (the
/// 1-based subtask number) when the sink runs with parallelism above 1, and `id:` before it
/// when an identifier is given.
#[derive(Clone, Debug, Default)]
pub struct PrintSink {
    identifier: Option<String>,
    to_stderr: bool,
    prefix: String,
    line: String,
}

impl PrintSink {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_identifier(identifier: impl Into<String>) -> Self {
        PrintSink {
            identifier: Some(identifier.into()),
            ..Self::default()
        }
    }

    pub fn to_stderr(mut self) -> Self {
        self.to_stderr = true;
        self
    }
}

impl<T: Display> SinkFunction<T> for PrintSink {
    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        let subtask = (info.parallelism > 1).then(|| (info.subtask_index + 1).to_string());
        self.prefix = match (&self.identifier, subtask) {
            (Some(id), Some(n)) => format!("{id}:{n}> "),
            (Some(id), None) => format!("{id}> "),
            (None, Some(n)) => format!("{n}> "),
            (None, None) => String::new(),
        };
        Ok(())
    }

    fn write_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        use std::fmt::Write as _;
        self.line.clear();
        for record in batch.iter() {
            // Writing to a String cannot fail.
            let _ = writeln!(self.line, "{}{}", self.prefix, record.value);
        }
        let written = if self.to_stderr {
            std::io::stderr().lock().write_all(self.line.as_bytes())
        } else {
            std::io::stdout().lock().write_all(self.line.as_bytes())
        };
        written.map_err(|source| Error::io("print to", "standard output", source))
    }
}

/// Drops every record. For benchmarks and for jobs run only for their side effects.
#[derive(Clone, Copy, Debug, Default)]
pub struct DiscardingSink;

impl<T> SinkFunction<T> for DiscardingSink {
    fn write_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        batch.clear();
        Ok(())
    }
}

/// Collects every record into memory, to read back in the client after the job ends: the
/// counterpart of Flink's `executeAndCollect`, for tests and the CLI.
#[derive(Debug)]
pub struct CollectSink<T> {
    results: Arc<Mutex<Vec<T>>>,
}

impl<T> Clone for CollectSink<T> {
    fn clone(&self) -> Self {
        CollectSink {
            results: Arc::clone(&self.results),
        }
    }
}

/// Reads what a [`CollectSink`] gathered.
#[derive(Debug)]
pub struct CollectHandle<T> {
    results: Arc<Mutex<Vec<T>>>,
}

impl<T> CollectHandle<T> {
    /// Takes every collected record, in arrival order per subtask.
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.results.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<T> CollectSink<T> {
    pub fn new() -> (Self, CollectHandle<T>) {
        let results = Arc::new(Mutex::new(Vec::new()));
        (
            CollectSink {
                results: Arc::clone(&results),
            },
            CollectHandle { results },
        )
    }
}

impl<T: Send> SinkFunction<T> for CollectSink<T> {
    fn write_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        // One lock per batch, not per record.
        let mut results = self.results.lock().unwrap_or_else(PoisonError::into_inner);
        results.extend(batch.drain(..).map(|record| record.value));
        Ok(())
    }
}
