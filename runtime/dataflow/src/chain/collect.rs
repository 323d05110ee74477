//! [`Collect`]: the end of a chain that keeps the batches and watermarks reaching it, for
//! harnesses that drive an operator directly through an [`Output`](crate::Output).

use std::sync::{Arc, Mutex, PoisonError};

use flinkrs_core::{CheckpointBarrier, CheckpointId, Result, Watermark, WatermarkStatus};

use crate::batch::StreamBatch;
use crate::input::{ControlInput, Input, TaskSnapshot};

/// Keeps what reaches it; clones share the same buffers, so a test keeps one clone and hands
/// the other to the output under test.
#[derive(Debug)]
pub struct Collect<B> {
    batches: Arc<Mutex<Vec<B>>>,
    watermarks: Arc<Mutex<Vec<Watermark>>>,
}

impl<B> Clone for Collect<B> {
    fn clone(&self) -> Self {
        Collect {
            batches: Arc::clone(&self.batches),
            watermarks: Arc::clone(&self.watermarks),
        }
    }
}

impl<B> Default for Collect<B> {
    fn default() -> Self {
        Collect {
            batches: Arc::default(),
            watermarks: Arc::default(),
        }
    }
}

impl<B> Collect<B> {
    /// The batches received since the last call, in order.
    pub fn take_batches(&self) -> Vec<B> {
        std::mem::take(&mut *self.batches.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The watermarks received since the last call, in order.
    pub fn take_watermarks(&self) -> Vec<Watermark> {
        std::mem::take(
            &mut *self
                .watermarks
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

impl<B: Send> ControlInput for Collect<B> {
    ignore_control_elements_but_watermarks!();

    fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        let mut watermarks = self
            .watermarks
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        watermarks.push(watermark);
        Ok(())
    }
}

impl<B: StreamBatch> Input<B> for Collect<B> {
    fn process_batch(&mut self, batch: &mut B) -> Result<()> {
        let mut batches = self.batches.lock().unwrap_or_else(PoisonError::into_inner);
        batches.push(batch.take());
        Ok(())
    }
}
