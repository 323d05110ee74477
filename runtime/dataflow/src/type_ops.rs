//! Type-erased operations on streams of one record type.
//!
//! The graph holds nodes of many record types. When a job starts, the executor must create
//! typed channels, writers and fan-outs between them; a [`StreamType`] created where the type
//! was still known (in the API) does that.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use crossbeam_channel::{Receiver, Sender};
use flinkrs_core::{Data, Error, Result, StreamElement};

use crate::chain::{Discard, FanOut, Input};
use crate::executor::{InputTaskRunner, TaskRunner};
use crate::output::{SideOutput, SideOutputSink};
use crate::partition::{BatchBounds, ChannelWriter, PartitionerSpec};

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

/// Operations on streams of one record type.
pub trait StreamType: Send + Sync {
    fn type_name(&self) -> &'static str;
    /// Rows per batch for this record type under `bounds`.
    fn rows_per_batch(&self, bounds: BatchBounds) -> usize;
    /// Combines consumers (`Box<dyn Input<T>>` each) into one.
    fn fan_out(&self, consumers: Vec<AnyBox>) -> Result<AnyBox>;
    /// A bounded channel: (sender, receiver).
    fn channel(&self, capacity: usize) -> (AnyBox, AnyBox);
    /// A writer over `senders` with the given partitioner.
    fn writer(
        &self,
        senders: Vec<AnyBox>,
        partitioner: &PartitionerSpec,
        bounds: BatchBounds,
        max_parallelism: usize,
        subtask_index: usize,
    ) -> Result<AnyBox>;
    /// Wraps a consumer as a side output.
    fn side_output(&self, consumer: AnyBox) -> Result<Box<dyn SideOutputSink>>;
    /// A task that reads `receivers` and feeds `chain`.
    fn input_task(
        &self,
        receivers: Vec<AnyBox>,
        chain: AnyBox,
        name: &str,
    ) -> Result<Box<dyn TaskRunner>>;
}

/// The [`StreamType`] of records of type `T`.
pub struct TypeOps<T>(PhantomData<fn() -> T>);

/// The [`StreamType`] of `T`, shared.
pub fn type_ops<T: Data>() -> Arc<dyn StreamType> {
    Arc::new(TypeOps::<T>(PhantomData))
}

impl<T: Data> StreamType for TypeOps<T> {
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn rows_per_batch(&self, bounds: BatchBounds) -> usize {
        bounds.rows_for::<T>()
    }

    fn fan_out(&self, consumers: Vec<AnyBox>) -> Result<AnyBox> {
        let mut typed: Vec<Box<dyn Input<T>>> = Vec::with_capacity(consumers.len());
        for consumer in consumers {
            typed.push(take(consumer, "fan-out")?);
        }
        let combined: Box<dyn Input<T>> = match typed.len() {
            0 => Box::new(Discard),
            1 => typed.pop().expect("length checked"),
            _ => Box::new(FanOut::new(typed)),
        };
        Ok(Box::new(combined))
    }

    fn channel(&self, capacity: usize) -> (AnyBox, AnyBox) {
        let (sender, receiver) = crossbeam_channel::bounded::<StreamElement<T>>(capacity);
        (Box::new(sender), Box::new(receiver))
    }

    fn writer(
        &self,
        senders: Vec<AnyBox>,
        partitioner: &PartitionerSpec,
        bounds: BatchBounds,
        max_parallelism: usize,
        subtask_index: usize,
    ) -> Result<AnyBox> {
        let mut typed: Vec<Sender<StreamElement<T>>> = Vec::with_capacity(senders.len());
        for sender in senders {
            typed.push(take(sender, "channel writer")?);
        }
        let writer =
            ChannelWriter::new(typed, partitioner, bounds, max_parallelism, subtask_index)?;
        let input: Box<dyn Input<T>> = Box::new(writer);
        Ok(Box::new(input))
    }

    fn side_output(&self, consumer: AnyBox) -> Result<Box<dyn SideOutputSink>> {
        let next: Box<dyn Input<T>> = take(consumer, "side output")?;
        Ok(Box::new(SideOutput::new(next)))
    }

    fn input_task(
        &self,
        receivers: Vec<AnyBox>,
        chain: AnyBox,
        name: &str,
    ) -> Result<Box<dyn TaskRunner>> {
        let mut typed: Vec<Receiver<StreamElement<T>>> = Vec::with_capacity(receivers.len());
        for receiver in receivers {
            typed.push(take(receiver, name)?);
        }
        let chain: Box<dyn Input<T>> = take(chain, name)?;
        Ok(Box::new(InputTaskRunner {
            receivers: typed,
            chain,
        }))
    }
}
