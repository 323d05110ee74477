//! Chains: operators of one task call each other directly, batch by batch.
//!
//! A chain is a tree of [`Input`](crate::input::Input)s: an operator wrapped in an
//! [`OperatorLink`], a [`FanOut`] to several consumers, [`Discard`] for an output nobody reads,
//! and channel writers at the chain's edges ([`Collect`] ends a chain in test harnesses).
//! [`build`] assembles one subtask's chain from the graphs.

/// The methods of a [`ControlInput`](crate::input::ControlInput) that ends a chain and has
/// nothing to do with control elements: all but `process_watermark`, which each end writes.
macro_rules! ignore_control_elements_but_watermarks {
    () => {
        fn open(&mut self) -> Result<()> {
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
        fn notify_checkpoint_aborted(&mut self, _: CheckpointId) -> Result<()> {
            Ok(())
        }
        fn on_processing_time(&mut self, _: i64) -> Result<()> {
            Ok(())
        }
        fn flush_buffers(&mut self) -> Result<()> {
            Ok(())
        }
        fn end_input(&mut self) -> Result<()> {
            Ok(())
        }
        fn close(&mut self) -> Result<()> {
            Ok(())
        }
    };
}

pub mod build;
mod collect;
mod fan_out;
mod link;

pub use collect::Collect;
pub use fan_out::{Discard, FanOut};
pub use link::OperatorLink;
