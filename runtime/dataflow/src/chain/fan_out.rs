//! [`FanOut`] hands each batch to several consumers; [`Discard`] ends an unread output.

use flinkrs_core::{CheckpointBarrier, CheckpointId, Result, Watermark, WatermarkStatus};

use crate::batch::StreamBatch;
use crate::input::{ControlInput, Input, TaskSnapshot};

/// Hands each batch to several consumers: copies for all but the last, which gets the original.
pub struct FanOut<B> {
    consumers: Vec<Box<dyn Input<B>>>,
    scratch: B,
}

impl<B: StreamBatch> FanOut<B> {
    pub fn new(consumers: Vec<Box<dyn Input<B>>>) -> Self {
        FanOut {
            consumers,
            scratch: B::default(),
        }
    }

    fn each(&mut self, mut call: impl FnMut(&mut dyn Input<B>) -> Result<()>) -> Result<()> {
        let mut first_error = None;
        for consumer in &mut self.consumers {
            if let Err(error) = call(consumer.as_mut()) {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl<B: StreamBatch> ControlInput for FanOut<B> {
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

    fn notify_checkpoint_aborted(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.each(|c| c.notify_checkpoint_aborted(checkpoint))
    }

    fn on_processing_time(&mut self, now_millis: i64) -> Result<()> {
        self.each(|c| c.on_processing_time(now_millis))
    }

    fn flush_buffers(&mut self) -> Result<()> {
        self.each(|c| c.flush_buffers())
    }

    fn end_input(&mut self) -> Result<()> {
        self.each(|c| c.end_input())
    }

    fn close(&mut self) -> Result<()> {
        self.each(|c| c.close())
    }
}

impl<B: StreamBatch> Input<B> for FanOut<B> {
    fn process_batch(&mut self, batch: &mut B) -> Result<()> {
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

/// The end of an output nobody consumes: drops batches, ignores control elements.
#[derive(Debug, Default)]
pub struct Discard;

impl ControlInput for Discard {
    ignore_control_elements_but_watermarks!();

    fn process_watermark(&mut self, _: Watermark) -> Result<()> {
        Ok(())
    }
}

impl<B: StreamBatch> Input<B> for Discard {
    fn process_batch(&mut self, batch: &mut B) -> Result<()> {
        batch.clear();
        Ok(())
    }
}
