//! Chains: operators of one task call each other directly, batch by batch.
//!
//! Every element of a chain implements [`Input`]: an operator wrapped in an [`OperatorLink`],
//! a [`FanOut`] to several consumers, or a channel writer at the chain's edge.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flinkrs_core::{
    Batch, CheckpointBarrier, CheckpointId, Data, Error, Result, Watermark, WatermarkStatus,
};

use crate::operator::{Operator, OperatorSnapshot, TaskInfo};
use crate::output::Output;

/// The operator snapshots a task collected for one checkpoint, keyed by operator id.
pub type TaskSnapshot = Vec<(String, OperatorSnapshot)>;

/// Everything an input receives except records: control elements and lifecycle calls.
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
    fn on_processing_time(&mut self, now_millis: i64) -> Result<()>;
    fn end_input(&mut self) -> Result<()>;
    fn close(&mut self) -> Result<()>;
}

/// The receiving end of a chain link.
pub trait Input<T>: ControlInput {
    /// Processes a batch; the callee may take records out of it. The caller clears it after.
    fn process_batch(&mut self, batch: &mut Batch<T>) -> Result<()>;
}

/// Record counters of one StreamGraph node, summed over its subtasks.
#[derive(Debug, Default)]
pub struct Counters {
    pub records_in: AtomicU64,
    pub records_out: AtomicU64,
}

impl Counters {
    pub fn add_in(&self, count: usize) {
        self.records_in.fetch_add(count as u64, Ordering::Relaxed);
    }

    pub fn add_out(&self, count: usize) {
        self.records_out.fetch_add(count as u64, Ordering::Relaxed);
    }
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "unknown panic payload".to_owned()
    }
}

/// Runs one operator hook, turning a panic or an error of the operator itself into an error
/// that names the operator and subtask. Errors already attributed downstream pass through.
pub fn guarded<R>(info: &TaskInfo, hook: impl FnOnce() -> Result<R>) -> Result<R> {
    match panic::catch_unwind(AssertUnwindSafe(hook)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(error @ (Error::OperatorFailed { .. } | Error::Cancelled))) => Err(error),
        Ok(Err(error)) => Err(Error::OperatorFailed {
            operator: info.operator_name.clone(),
            subtask: info.subtask_label(),
            message: error.to_string(),
        }),
        Err(payload) => Err(Error::OperatorFailed {
            operator: info.operator_name.clone(),
            subtask: info.subtask_label(),
            message: format!(
                "user function panicked: {}",
                panic_message(payload.as_ref())
            ),
        }),
    }
}

/// An operator with its output: one link of a chain.
pub struct OperatorLink<I, O> {
    operator: Box<dyn Operator<I, O>>,
    output: Output<O>,
    info: TaskInfo,
    restored_state: Option<OperatorSnapshot>,
    counters: Arc<Counters>,
}

impl<I: Data, O: Data> OperatorLink<I, O> {
    pub fn new(
        operator: Box<dyn Operator<I, O>>,
        output: Output<O>,
        info: TaskInfo,
        restored_state: Option<OperatorSnapshot>,
        counters: Arc<Counters>,
    ) -> Self {
        OperatorLink {
            operator,
            output,
            info,
            restored_state,
            counters,
        }
    }
}

impl<I: Data, O: Data> ControlInput for OperatorLink<I, O> {
    fn open(&mut self) -> Result<()> {
        let state = self.restored_state.take();
        let (operator, info) = (&mut self.operator, &self.info);
        guarded(info, || operator.initialize_state(info, state))?;
        guarded(info, || operator.open(info))?;
        self.output.open()
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || operator.process_watermark(watermark, output))?;
        self.output.flush()
    }

    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<()> {
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || {
            operator.process_watermark_status(status, output)
        })?;
        self.output.flush()
    }

    fn process_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        snapshot: &mut TaskSnapshot,
    ) -> Result<()> {
        self.output.flush()?;
        let operator = &mut self.operator;
        let own = guarded(&self.info, || operator.snapshot_state(barrier.id))?;
        snapshot.push((self.info.operator_id.clone(), own));
        self.output.process_barrier(barrier, snapshot)
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        let operator = &mut self.operator;
        guarded(&self.info, || {
            operator.notify_checkpoint_complete(checkpoint)
        })?;
        self.output.notify_checkpoint_complete(checkpoint)
    }

    fn on_processing_time(&mut self, now_millis: i64) -> Result<()> {
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || {
            operator.on_processing_time(now_millis, output)
        })?;
        self.flush_and_count()?;
        self.output.on_processing_time(now_millis)
    }

    fn end_input(&mut self) -> Result<()> {
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || operator.end_input(output))?;
        self.flush_and_count()?;
        self.output.end_input()
    }

    fn close(&mut self) -> Result<()> {
        let operator = &mut self.operator;
        let own = guarded(&self.info, || operator.close());
        // Close downstream even when this operator failed to close, then report the first error.
        let downstream = self.output.close();
        own.and(downstream)
    }
}

impl<I: Data, O: Data> OperatorLink<I, O> {
    fn flush_and_count(&mut self) -> Result<()> {
        let emitted = self.output.take_emitted_count();
        if emitted > 0 {
            self.counters.add_out(emitted);
        }
        self.output.flush()
    }
}

impl<I: Data, O: Data> Input<I> for OperatorLink<I, O> {
    fn process_batch(&mut self, batch: &mut Batch<I>) -> Result<()> {
        self.counters.add_in(batch.len());
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || operator.process_batch(batch, output))?;
        self.flush_and_count()
    }
}

/// Hands each batch to several consumers: copies for all but the last, which gets the original.
pub struct FanOut<T> {
    consumers: Vec<Box<dyn Input<T>>>,
    scratch: Batch<T>,
}

impl<T: Data> FanOut<T> {
    pub fn new(consumers: Vec<Box<dyn Input<T>>>) -> Self {
        FanOut {
            consumers,
            scratch: Vec::new(),
        }
    }

    fn each(&mut self, mut call: impl FnMut(&mut dyn Input<T>) -> Result<()>) -> Result<()> {
        let mut first_error = None;
        for consumer in &mut self.consumers {
            if let Err(error) = call(consumer.as_mut()) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl<T: Data> ControlInput for FanOut<T> {
    fn open(&mut self) -> Result<()> {
        self.each(|c| c.open())
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        self.each(|c| c.process_watermark(watermark))
    }

    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<()> {
        self.each(|c| c.process_watermark_status(status))
    }

    fn process_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        snapshot: &mut TaskSnapshot,
    ) -> Result<()> {
        self.each(|c| c.process_barrier(barrier, snapshot))
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.each(|c| c.notify_checkpoint_complete(checkpoint))
    }

    fn on_processing_time(&mut self, now_millis: i64) -> Result<()> {
        self.each(|c| c.on_processing_time(now_millis))
    }

    fn end_input(&mut self) -> Result<()> {
        self.each(|c| c.end_input())
    }

    fn close(&mut self) -> Result<()> {
        self.each(|c| c.close())
    }
}

impl<T: Data> Input<T> for FanOut<T> {
    fn process_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        let Some((last, rest)) = self.consumers.split_last_mut() else {
            return Ok(());
        };
        for consumer in rest {
            self.scratch.clone_from(batch);
            consumer.process_batch(&mut self.scratch)?;
            self.scratch.clear();
        }
        last.process_batch(batch)
    }
}

/// The end of an output nobody consumes: drops records, ignores control elements.
#[derive(Debug, Default)]
pub struct Discard;

impl ControlInput for Discard {
    fn open(&mut self) -> Result<()> {
        Ok(())
    }
    fn process_watermark(&mut self, _: Watermark) -> Result<()> {
        Ok(())
    }
    fn process_watermark_status(&mut self, _: WatermarkStatus) -> Result<()> {
        Ok(())
    }
    fn process_barrier(&mut self, _: CheckpointBarrier, _: &mut TaskSnapshot) -> Result<()> {
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _: CheckpointId) -> Result<()> {
        Ok(())
    }
    fn on_processing_time(&mut self, _: i64) -> Result<()> {
        Ok(())
    }
    fn end_input(&mut self) -> Result<()> {
        Ok(())
    }
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<T: Data> Input<T> for Discard {
    fn process_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        batch.clear();
        Ok(())
    }
}
