//! Type-erased operations on streams of one batch type.
//!
//! The graph holds nodes of many batch types. When a job starts, the executor must create
//! typed channels, writers and fan-outs between them; a [`StreamType`] created where the type
//! was still known (in the API) does that.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use flinkrs_core::{Error, Result};

use crate::batch::StreamBatch;
use crate::chain::{Discard, FanOut};
use crate::channel::remote::{ChannelId, NetworkEnvironment};
use crate::channel::{ChannelReceiver, ChannelSender, local};
use crate::input::Input;
use crate::output::{SideOutput, SideOutputSink};
use crate::partition::{BatchBounds, ChannelWriter, PartitionerSpec};
use crate::task::{CancelToken, InputTaskRunner, OutputMetrics, TaskMetrics, TaskRunner};

/// A value whose type is known only to the code that made it.
pub type AnyBox = Box<dyn Any + Send>;

/// Takes a typed value back out of an [`AnyBox`].
pub fn take<X: 'static>(any: AnyBox, context: &str) -> Result<X> {
    any.downcast::<X>().map(|boxed| *boxed).map_err(|_| {
        Error::InvalidJob(format!(
            "record types do not line up at '{context}': expected {}",
            std::any::type_name::<X>()
        ))
    })
}

/// Operations on streams of one batch type.
pub trait StreamType: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// Rows per batch for this record type under `bounds`.
    fn rows_per_batch(&self, bounds: BatchBounds) -> usize;
    /// Combines consumers (`Box<dyn Input<T>>` each) into one.
    fn fan_out(&self, consumers: Vec<AnyBox>) -> Result<AnyBox>;
    /// A [local channel](crate::channel::local) of `capacity` buffers: (sender, receiver), as
    /// `Box<dyn ChannelSender<B>>` and `Box<dyn ChannelReceiver<B>>`.
    fn channel(&self, capacity: usize) -> (AnyBox, AnyBox);
    /// The sending half of a [remote channel](crate::channel::remote) to the TaskManager
    /// whose data address is `peer`, as `Box<dyn ChannelSender<B>>`.
    fn remote_sender(
        &self,
        network: &NetworkEnvironment,
        channel: ChannelId,
        peer: &str,
    ) -> Result<AnyBox>;
    /// The receiving half of a [remote channel](crate::channel::remote) with `buffers`
    /// buffers, as `Box<dyn ChannelReceiver<B>>`.
    fn remote_receiver(
        &self,
        network: &NetworkEnvironment,
        channel: ChannelId,
        buffers: usize,
    ) -> Result<AnyBox>;
    /// A writer over `senders` (`Box<dyn ChannelSender<B>>` each) with the given partitioner,
    /// counting into `metrics`.
    #[expect(
        clippy::too_many_arguments,
        reason = "one per property of an edge's writer"
    )]
    fn writer(
        &self,
        senders: Vec<AnyBox>,
        partitioner: &PartitionerSpec,
        bounds: BatchBounds,
        max_parallelism: usize,
        subtask_index: usize,
        cancel: CancelToken,
        metrics: OutputMetrics,
    ) -> Result<AnyBox>;
    /// Wraps a consumer as a side output.
    fn side_output(&self, consumer: AnyBox) -> Result<Box<dyn SideOutputSink>>;
    /// A task that reads `receivers` (`Box<dyn ChannelReceiver<B>>` each) and feeds `chain`.
    fn input_task(
        &self,
        receivers: Vec<AnyBox>,
        chain: AnyBox,
        metrics: TaskMetrics,
        name: &str,
    ) -> Result<Box<dyn TaskRunner>>;
}

/// The [`StreamType`] of batches of type `B`.
pub struct TypeOps<B>(PhantomData<fn() -> B>);

/// The [`StreamType`] of batches of type `B`, shared. For typed records `T`, `B` is
/// [`Batch<T>`](flinkrs_core::Batch).
pub fn type_ops<B: StreamBatch>() -> Arc<dyn StreamType> {
    Arc::new(TypeOps::<B>(PhantomData))
}

impl<B: StreamBatch> StreamType for TypeOps<B> {
    fn type_name(&self) -> &'static str {
        std::any::type_name::<B>()
    }

    fn rows_per_batch(&self, bounds: BatchBounds) -> usize {
        bounds.rows_for_size(B::inline_row_size())
    }

    fn fan_out(&self, consumers: Vec<AnyBox>) -> Result<AnyBox> {
        let mut typed: Vec<Box<dyn Input<B>>> = Vec::with_capacity(consumers.len());
        for consumer in consumers {
            typed.push(take(consumer, "fan-out")?);
        }
        let combined: Box<dyn Input<B>> = match typed.len() {
            0 => Box::new(Discard),
            1 => typed.pop().expect("length checked"),
            _ => Box::new(FanOut::new(typed)),
        };
        Ok(Box::new(combined))
    }

    fn channel(&self, capacity: usize) -> (AnyBox, AnyBox) {
        let (sender, receiver) = local::channel::<B>(capacity);
        let sender: Box<dyn ChannelSender<B>> = Box::new(sender);
        let receiver: Box<dyn ChannelReceiver<B>> = Box::new(receiver);
        (Box::new(sender), Box::new(receiver))
    }

    fn remote_sender(
        &self,
        network: &NetworkEnvironment,
        channel: ChannelId,
        peer: &str,
    ) -> Result<AnyBox> {
        let sender: Box<dyn ChannelSender<B>> = Box::new(network.sender::<B>(channel, peer)?);
        Ok(Box::new(sender))
    }

    fn remote_receiver(
        &self,
        network: &NetworkEnvironment,
        channel: ChannelId,
        buffers: usize,
    ) -> Result<AnyBox> {
        let receiver: Box<dyn ChannelReceiver<B>> =
            Box::new(network.receiver::<B>(channel, buffers)?);
        Ok(Box::new(receiver))
    }

    fn writer(
        &self,
        senders: Vec<AnyBox>,
        partitioner: &PartitionerSpec,
        bounds: BatchBounds,
        max_parallelism: usize,
        subtask_index: usize,
        cancel: CancelToken,
        metrics: OutputMetrics,
    ) -> Result<AnyBox> {
        let mut typed: Vec<Box<dyn ChannelSender<B>>> = Vec::with_capacity(senders.len());
        for sender in senders {
            typed.push(take(sender, "channel writer")?);
        }
        let writer = ChannelWriter::new(
            typed,
            partitioner,
            bounds,
            max_parallelism,
            subtask_index,
            cancel,
        )?
        .with_metrics(metrics);
        let input: Box<dyn Input<B>> = Box::new(writer);
        Ok(Box::new(input))
    }

    fn side_output(&self, consumer: AnyBox) -> Result<Box<dyn SideOutputSink>> {
        let next: Box<dyn Input<B>> = take(consumer, "side output")?;
        Ok(Box::new(SideOutput::new(next)))
    }

    fn input_task(
        &self,
        receivers: Vec<AnyBox>,
        chain: AnyBox,
        metrics: TaskMetrics,
        name: &str,
    ) -> Result<Box<dyn TaskRunner>> {
        let mut typed: Vec<Box<dyn ChannelReceiver<B>>> = Vec::with_capacity(receivers.len());
        for receiver in receivers {
            typed.push(take(receiver, name)?);
        }
        let chain: Box<dyn Input<B>> = take(chain, name)?;
        Ok(Box::new(InputTaskRunner {
            receivers: typed,
            chain,
            metrics,
        }))
    }
}
