//! [`Output`]: where an operator puts what it emits, on its main output and side outputs.

use std::any::Any;
use std::marker::PhantomData;

use flinkrs_core::{
    Batch, CheckpointBarrier, CheckpointId, Data, NO_TIMESTAMP, Record, Result, Watermark,
    WatermarkStatus,
};

use crate::batch::StreamBatch;
use crate::input::{ControlInput, Input, TaskSnapshot};
use crate::metrics::Gauge;

/// Names a side output of type `X`, as Flink's `OutputTag`. Tags with the same name are the
/// same output.
#[derive(Debug)]
pub struct OutputTag<X> {
    name: String,
    _type: PhantomData<fn() -> X>,
}

impl<X> Clone for OutputTag<X> {
    fn clone(&self) -> Self {
        OutputTag {
            name: self.name.clone(),
            _type: PhantomData,
        }
    }
}

impl<X> OutputTag<X> {
    pub fn new(name: impl Into<String>) -> Self {
        OutputTag {
            name: name.into(),
            _type: PhantomData,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A side output with its buffer, behind a trait so an [`Output`] can hold side outputs of
/// any batch type.
pub trait SideOutputSink: ControlInput {
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn flush(&mut self) -> Result<()>;
}

/// A side output carrying batches of type `B`.
pub struct SideOutput<B> {
    next: Box<dyn Input<B>>,
    buffer: B,
}

impl<B: StreamBatch> SideOutput<B> {
    pub fn new(next: Box<dyn Input<B>>) -> Self {
        SideOutput {
            next,
            buffer: B::default(),
        }
    }
}

impl<B: StreamBatch> ControlInput for SideOutput<B> {
    fn open(&mut self) -> Result<()> {
        self.next.open()
    }
    fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        self.flush()?;
        self.next.process_watermark(watermark)
    }
    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<()> {
        self.next.process_watermark_status(status)
    }
    fn process_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        snapshot: &mut TaskSnapshot,
    ) -> Result<()> {
        self.flush()?;
        self.next.process_barrier(barrier, snapshot)
    }
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.next.notify_checkpoint_complete(checkpoint)
    }
    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.next.notify_checkpoint_aborted(checkpoint)
    }
    fn on_processing_time(&mut self, now_millis: i64) -> Result<()> {
        self.next.on_processing_time(now_millis)
    }
    fn flush_buffers(&mut self) -> Result<()> {
        self.next.flush_buffers()
    }
    fn end_input(&mut self) -> Result<()> {
        self.flush()?;
        self.next.end_input()
    }
    fn close(&mut self) -> Result<()> {
        self.next.close()
    }
}

impl<B: StreamBatch> SideOutputSink for SideOutput<B> {
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn flush(&mut self) -> Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = self.next.process_batch(&mut self.buffer);
        self.buffer.clear();
        result
    }
}

/// Collects what an operator emits and passes it down the chain in batches.
pub struct Output<B> {
    next: Box<dyn Input<B>>,
    buffer: B,
    side_outputs: Vec<(String, Box<dyn SideOutputSink>)>,
    emitted: usize,
    /// While set, watermarks are kept back (batch mode's end of input): only the last is kept.
    holding: bool,
    held_watermark: Option<Watermark>,
    /// The operator's currentOutputWatermark: the last watermark passed downstream.
    watermark_gauge: Gauge,
}

impl<T: Data> Output<Batch<T>> {
    /// Emits a record with the given timestamp ([`NO_TIMESTAMP`] for none).
    #[inline]
    pub fn collect(&mut self, value: T, timestamp: i64) {
        self.buffer.push(Record { value, timestamp });
    }

    /// Emits a record without a timestamp.
    #[inline]
    pub fn collect_value(&mut self, value: T) {
        self.collect(value, NO_TIMESTAMP);
    }
}

impl<B: StreamBatch> Output<B> {
    pub fn new(
        next: Box<dyn Input<B>>,
        side_outputs: Vec<(String, Box<dyn SideOutputSink>)>,
    ) -> Self {
        Output {
            next,
            buffer: B::default(),
            side_outputs,
            emitted: 0,
            holding: false,
            held_watermark: None,
            watermark_gauge: Gauge::new(Watermark::MIN.0),
        }
    }

    /// Records buffered on the main output, not yet passed downstream.
    #[inline]
    pub fn buffered_rows(&self) -> usize {
        self.buffer.num_rows()
    }

    /// Emits a whole batch at once; the batch is left empty or partly consumed.
    pub fn push_batch(&mut self, batch: &mut B) -> Result<()> {
        self.flush()?;
        self.emitted += batch.num_rows();
        self.next.process_batch(batch)
    }

    /// Emits a record to the side output `tag`. Dropped when nobody consumes that side output.
    pub fn side_output<X: Data>(&mut self, tag: &OutputTag<X>, value: X, timestamp: i64) {
        for (name, sink) in &mut self.side_outputs {
            if name == tag.name() {
                if let Some(side) = sink.as_any_mut().downcast_mut::<SideOutput<Batch<X>>>() {
                    side.buffer.push(Record { value, timestamp });
                }
                return;
            }
        }
    }

    pub fn emit_watermark(&mut self, watermark: Watermark) -> Result<()> {
        if self.holding {
            self.held_watermark = Some(watermark);
            return Ok(());
        }
        self.flush()?;
        self.watermark_gauge.set(watermark.0);
        for (_, side) in &mut self.side_outputs {
            side.process_watermark(watermark)?;
        }
        self.next.process_watermark(watermark)
    }

    pub fn emit_watermark_status(&mut self, status: WatermarkStatus) -> Result<()> {
        self.flush()?;
        for (_, side) in &mut self.side_outputs {
            side.process_watermark_status(status)?;
        }
        self.next.process_watermark_status(status)
    }

    /// Sets `gauge` to every watermark this output passes downstream.
    pub(crate) fn report_watermarks_to(&mut self, gauge: Gauge) {
        self.watermark_gauge = gauge;
    }

    /// Keeps watermarks back while `hold` is set; releasing emits the last one kept.
    pub(crate) fn hold_watermarks(&mut self, hold: bool) -> Result<()> {
        self.holding = hold;
        match (hold, self.held_watermark.take()) {
            (false, Some(watermark)) => self.emit_watermark(watermark),
            _ => Ok(()),
        }
    }

    /// Records sent downstream since the last call (for the operator's records-out counter).
    /// Counted when they leave, so records flushed by a watermark count too.
    pub(crate) fn take_emitted_count(&mut self) -> usize {
        std::mem::take(&mut self.emitted)
    }

    /// Sends buffered records downstream.
    pub fn flush(&mut self) -> Result<()> {
        for (_, side) in &mut self.side_outputs {
            side.flush()?;
        }
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.emitted += self.buffer.num_rows();
        let result = self.next.process_batch(&mut self.buffer);
        self.buffer.clear();
        result
    }

    pub(crate) fn open(&mut self) -> Result<()> {
        for (_, side) in &mut self.side_outputs {
            side.open()?;
        }
        self.next.open()
    }

    pub(crate) fn process_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        snapshot: &mut TaskSnapshot,
    ) -> Result<()> {
        self.flush()?;
        for (_, side) in &mut self.side_outputs {
            side.process_barrier(barrier, snapshot)?;
        }
        self.next.process_barrier(barrier, snapshot)
    }

    /// Calls `call` on every side output, then on the main output, and reports the first error.
    fn each(&mut self, mut call: impl FnMut(&mut dyn ControlInput) -> Result<()>) -> Result<()> {
        let mut result = Ok(());
        for (_, side) in &mut self.side_outputs {
            if let Err(error) = call(side.as_mut()) {
                result = result.and(Err(error));
            }
        }
        let main = call(self.next.as_mut());
        result.and(main)
    }

    pub(crate) fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.each(|c| c.notify_checkpoint_complete(checkpoint))
    }

    pub(crate) fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.each(|c| c.notify_checkpoint_aborted(checkpoint))
    }

    pub(crate) fn on_processing_time(&mut self, now_millis: i64) -> Result<()> {
        self.each(|c| c.on_processing_time(now_millis))
    }

    pub(crate) fn flush_buffers(&mut self) -> Result<()> {
        self.each(|c| c.flush_buffers())
    }

    pub(crate) fn end_input(&mut self) -> Result<()> {
        self.flush()?;
        for (_, side) in &mut self.side_outputs {
            side.end_input()?;
        }
        self.next.end_input()
    }

    pub(crate) fn close(&mut self) -> Result<()> {
        self.each(|c| c.close())
    }
}
