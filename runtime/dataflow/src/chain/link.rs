//! [`OperatorLink`]: an operator with its output, one link of a chain.

use flinkrs_core::{
    CheckpointBarrier, CheckpointId, Result, RuntimeMode, Watermark, WatermarkStatus,
};

use crate::batch::StreamBatch;
use crate::guard::guarded;
use crate::input::{ControlInput, Input, TaskSnapshot};
use crate::metrics::OperatorIoMetrics;
use crate::operator::{Operator, OperatorSnapshot, TaskInfo};
use crate::output::Output;

/// An operator with its output: one link of a chain.
///
/// The link, not the operator, applies the runtime mode. In batch mode
/// (`execution.runtime-mode: batch`) it drops every intermediate watermark; at the end of
/// input it fires every timer once (event time at `Watermark::MAX`, processing time at the end
/// of time), lets the operator emit its final results, and only then passes `Watermark::MAX`
/// and the end of input on, so downstream event-time operators see those results before the
/// final watermark.
///
/// The link keeps the operator's metrics: numRecordsIn per batch handed in, numRecordsOut per
/// batch that leaves (whichever hook emitted it, timers included), and the input and output
/// watermarks.
pub struct OperatorLink<I, O> {
    operator: Box<dyn Operator<I, O>>,
    output: Output<O>,
    info: TaskInfo,
    restored_state: Option<OperatorSnapshot>,
    metrics: OperatorIoMetrics,
    batch_mode: bool,
    /// The last watermark handed to the operator.
    watermark: i64,
}

impl<I: StreamBatch, O: StreamBatch> OperatorLink<I, O> {
    pub fn new(
        operator: Box<dyn Operator<I, O>>,
        output: Output<O>,
        info: TaskInfo,
        restored_state: Option<OperatorSnapshot>,
        metrics: OperatorIoMetrics,
    ) -> Self {
        let batch_mode = info.config.runtime_mode() == RuntimeMode::Batch;
        let mut output = output;
        output.report_watermarks_to(metrics.current_output_watermark.clone());
        OperatorLink {
            operator,
            output,
            info,
            restored_state,
            metrics,
            batch_mode,
            watermark: i64::MIN,
        }
    }

    /// Counts what the operator emitted (from any hook) and sends it down the chain.
    fn flush_and_count(&mut self) -> Result<()> {
        let flushed = self.output.flush();
        let emitted = self.output.take_emitted_count();
        if emitted > 0 {
            self.metrics.records.num_records_out.inc(emitted as u64);
        }
        flushed
    }

    fn advance_watermark(&mut self, watermark: Watermark) -> Result<()> {
        self.watermark = watermark.0;
        self.metrics.current_input_watermark.set(watermark.0);
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || operator.process_watermark(watermark, output))?;
        self.flush_and_count()
    }
}

impl<I: StreamBatch, O: StreamBatch> ControlInput for OperatorLink<I, O> {
    fn open(&mut self) -> Result<()> {
        let state = self.restored_state.take();
        let (operator, info) = (&mut self.operator, &self.info);
        guarded(info, || operator.initialize_state(info, state))?;
        guarded(info, || operator.open(info))?;
        self.output.open()
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        if self.batch_mode {
            // Batch mode has no event-time progress until the end of input.
            return Ok(());
        }
        self.advance_watermark(watermark)
    }

    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<()> {
        if self.batch_mode {
            return Ok(());
        }
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || {
            operator.process_watermark_status(status, output)
        })?;
        self.flush_and_count()
    }

    fn process_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        snapshot: &mut TaskSnapshot,
    ) -> Result<()> {
        self.flush_and_count()?;
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

    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<()> {
        let operator = &mut self.operator;
        guarded(&self.info, || {
            operator.notify_checkpoint_aborted(checkpoint)
        })?;
        self.output.notify_checkpoint_aborted(checkpoint)
    }

    fn on_processing_time(&mut self, now_millis: i64) -> Result<()> {
        if !self.batch_mode {
            let (operator, output) = (&mut self.operator, &mut self.output);
            guarded(&self.info, || {
                operator.on_processing_time(now_millis, output)
            })?;
            self.flush_and_count()?;
        }
        self.output.on_processing_time(now_millis)
    }

    fn flush_buffers(&mut self) -> Result<()> {
        self.output.flush_buffers()
    }

    fn end_input(&mut self) -> Result<()> {
        if self.batch_mode {
            // Fire every timer once, holding the final watermark back until the operator's
            // final results are out.
            self.output.hold_watermarks(true)?;
            self.advance_watermark(Watermark::MAX)?;
            let (operator, output) = (&mut self.operator, &mut self.output);
            guarded(&self.info, || operator.on_processing_time(i64::MAX, output))?;
        } else if self.watermark < Watermark::MAX.0 {
            self.advance_watermark(Watermark::MAX)?;
        }
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || operator.end_input(output))?;
        self.flush_and_count()?;
        self.output.hold_watermarks(false)?;
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

impl<I: StreamBatch, O: StreamBatch> Input<I> for OperatorLink<I, O> {
    fn process_batch(&mut self, batch: &mut I) -> Result<()> {
        self.metrics
            .records
            .num_records_in
            .inc(batch.num_rows() as u64);
        let (operator, output) = (&mut self.operator, &mut self.output);
        guarded(&self.info, || operator.process_batch(batch, output))?;
        self.flush_and_count()
    }
}
