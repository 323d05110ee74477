//! Partitioners and the channel writer at the edge of a chain.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crossbeam_channel::Sender;
use flinkrs_core::key_group::{key_group_for_hash, operator_index_for_key_group};
use flinkrs_core::{
    Batch, CheckpointBarrier, CheckpointId, Data, Error, Result, StreamElement, Watermark,
    WatermarkStatus,
};
use serde::{Deserialize, Serialize};

use crate::chain::{ControlInput, Input, TaskSnapshot};

/// How records of an edge are spread over the consuming subtasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionerKind {
    /// Subtask i sends to subtask i; needs equal parallelism.
    Forward,
    /// Round robin over all consumers.
    Rebalance,
    /// By key: key → key group → the subtask owning that key group.
    Hash,
    /// Every record to every consumer.
    Broadcast,
}

impl fmt::Display for PartitionerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartitionerKind::Forward => "FORWARD",
            PartitionerKind::Rebalance => "REBALANCE",
            PartitionerKind::Hash => "HASH",
            PartitionerKind::Broadcast => "BROADCAST",
        })
    }
}

/// The key hash of a record ([`key_hash`](fn@flinkrs_core::key_hash)), for hash partitioning.
pub type KeyHashFn<T> = Arc<dyn Fn(&T) -> i32 + Send + Sync>;

/// A partitioner as the graph stores it: the kind, and for hash partitioning the typed key
/// hash function behind `Any` (a [`KeyHashFn`] of the edge's record type).
#[derive(Clone)]
pub struct PartitionerSpec {
    pub kind: PartitionerKind,
    pub key_hash: Option<Arc<dyn Any + Send + Sync>>,
    /// Chosen by default, not by the user: becomes rebalance when the parallelism changes.
    pub is_default: bool,
}

impl fmt::Debug for PartitionerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)
    }
}

impl PartitionerSpec {
    /// Forward if both sides have the same parallelism, else rebalance; as Flink chooses when
    /// the program names no partitioner.
    pub fn default_for_edge() -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Forward,
            key_hash: None,
            is_default: true,
        }
    }

    pub fn forward() -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Forward,
            key_hash: None,
            is_default: false,
        }
    }

    pub fn rebalance() -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Rebalance,
            key_hash: None,
            is_default: false,
        }
    }

    pub fn broadcast() -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Broadcast,
            key_hash: None,
            is_default: false,
        }
    }

    pub fn hash<T: 'static>(key_hash: KeyHashFn<T>) -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Hash,
            key_hash: Some(Arc::new(key_hash)),
            is_default: false,
        }
    }
}

enum Routing<T> {
    Single,
    RoundRobin {
        next: usize,
    },
    Hash {
        key_hash: KeyHashFn<T>,
        max_parallelism: usize,
    },
    Broadcast,
}

/// Bounds on a batch sent over a channel.
#[derive(Clone, Copy, Debug)]
pub struct BatchBounds {
    pub max_rows: usize,
    pub max_bytes: usize,
}

impl BatchBounds {
    /// Rows per batch for records of type `T`, honouring both bounds. Bytes are counted as the
    /// records' in-memory size.
    pub fn rows_for<T>(&self) -> usize {
        let record_size = size_of::<flinkrs_core::Record<T>>().max(1);
        self.max_rows.min(self.max_bytes / record_size).max(1)
    }
}

/// Writes a chain's output into the channels of one edge, split by the partitioner.
pub struct ChannelWriter<T> {
    senders: Vec<Sender<StreamElement<T>>>,
    buffers: Vec<Batch<T>>,
    routing: Routing<T>,
    rows_per_batch: usize,
    /// Scratch for cutting an oversized batch, reused.
    tails: Vec<Batch<T>>,
}

impl<T: Data> ChannelWriter<T> {
    /// `senders` holds one channel per consuming subtask (just one for forward edges).
    pub fn new(
        senders: Vec<Sender<StreamElement<T>>>,
        partitioner: &PartitionerSpec,
        bounds: BatchBounds,
        max_parallelism: usize,
        subtask_index: usize,
    ) -> Result<Self> {
        let routing = match partitioner.kind {
            PartitionerKind::Forward => Routing::Single,
            // One consumer: every key goes to it, so there is nothing to hash.
            PartitionerKind::Hash if senders.len() == 1 => Routing::Single,
            PartitionerKind::Rebalance => Routing::RoundRobin {
                next: subtask_index % senders.len().max(1),
            },
            PartitionerKind::Broadcast => Routing::Broadcast,
            PartitionerKind::Hash => {
                let key_hash = partitioner
                    .key_hash
                    .as_ref()
                    .and_then(|any| any.downcast_ref::<KeyHashFn<T>>())
                    .cloned()
                    .ok_or_else(|| {
                        Error::InvalidJob(
                            "hash partitioner without a key of the edge's type".into(),
                        )
                    })?;
                Routing::Hash {
                    key_hash,
                    max_parallelism,
                }
            }
        };
        let rows_per_batch = bounds.rows_for::<T>();
        let buffers = senders
            .iter()
            .map(|_| Vec::with_capacity(rows_per_batch))
            .collect();
        Ok(ChannelWriter {
            senders,
            buffers,
            routing,
            rows_per_batch,
            tails: Vec::new(),
        })
    }

    fn send(&mut self, channel: usize) -> Result<()> {
        let batch = std::mem::replace(
            &mut self.buffers[channel],
            Vec::with_capacity(self.rows_per_batch),
        );
        // A closed channel means the consumer stopped: it failed or the job was cancelled.
        self.senders[channel]
            .send(StreamElement::Records(batch))
            .map_err(|_| Error::Cancelled)
    }

    /// Sends a large batch on the single channel while nothing is pending: a batch within
    /// bounds goes as it is; a larger one (a flat_map's output) is cut into bounded chunks by
    /// bulk copies from its tail, and its last partial chunk stays buffered for what follows.
    fn send_whole(&mut self, batch: &mut Batch<T>) -> Result<()> {
        let rows = self.rows_per_batch;
        let mut tails = std::mem::take(&mut self.tails);
        while batch.len() > rows {
            let cut = (batch.len() - 1) / rows * rows;
            tails.push(batch.split_off(cut));
        }
        std::mem::swap(&mut self.buffers[0], batch);
        let mut result = self.send(0);
        // `tails` holds the chunks last-first.
        while let Some(chunk) = tails.pop() {
            if result.is_err() {
                continue;
            }
            if chunk.len() == rows {
                result = self.senders[0]
                    .send(StreamElement::Records(chunk))
                    .map_err(|_| Error::Cancelled);
            } else {
                self.buffers[0] = chunk;
            }
        }
        self.tails = tails;
        result
    }

    /// Buffers one record for `channel`, sending the buffer once it is full.
    #[inline]
    fn push(&mut self, channel: usize, record: flinkrs_core::Record<T>) -> Result<()> {
        let buffer = &mut self.buffers[channel];
        buffer.push(record);
        if buffer.len() >= self.rows_per_batch {
            self.send(channel)?;
        }
        Ok(())
    }

    fn flush_all(&mut self) -> Result<()> {
        for channel in 0..self.buffers.len() {
            if !self.buffers[channel].is_empty() {
                self.send(channel)?;
            }
        }
        Ok(())
    }

    fn broadcast_element(&mut self, make: impl Fn() -> StreamElement<T>) -> Result<()> {
        self.flush_all()?;
        for sender in &self.senders {
            sender.send(make()).map_err(|_| Error::Cancelled)?;
        }
        Ok(())
    }
}

impl<T: Data> ControlInput for ChannelWriter<T> {
    fn open(&mut self) -> Result<()> {
        Ok(())
    }

    fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        self.broadcast_element(|| StreamElement::Watermark(watermark))
    }

    fn process_watermark_status(&mut self, status: WatermarkStatus) -> Result<()> {
        self.broadcast_element(|| StreamElement::WatermarkStatus(status))
    }

    fn process_barrier(
        &mut self,
        barrier: CheckpointBarrier,
        _snapshot: &mut TaskSnapshot,
    ) -> Result<()> {
        self.broadcast_element(|| StreamElement::Barrier(barrier))
    }

    fn notify_checkpoint_complete(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }

    fn on_processing_time(&mut self, _now_millis: i64) -> Result<()> {
        // The buffer timeout: partly filled batches leave at every tick.
        self.flush_all()
    }

    fn end_input(&mut self) -> Result<()> {
        self.broadcast_element(|| StreamElement::EndOfInput)
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<T: Data> Input<T> for ChannelWriter<T> {
    fn process_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        match &self.routing {
            Routing::Single => {
                if self.buffers[0].is_empty() && batch.len() >= self.rows_per_batch / 2 {
                    return self.send_whole(batch);
                }
                for record in batch.drain(..) {
                    self.push(0, record)?;
                }
            }
            Routing::RoundRobin { next } => {
                let channels = self.buffers.len();
                let mut channel = *next;
                for record in batch.drain(..) {
                    self.push(channel, record)?;
                    channel = if channel + 1 == channels {
                        0
                    } else {
                        channel + 1
                    };
                }
                self.routing = Routing::RoundRobin { next: channel };
            }
            Routing::Hash {
                key_hash,
                max_parallelism,
            } => {
                // Taken out of `routing` once per batch, so records can be pushed through `self`.
                let (key_hash, max_parallelism) = (Arc::clone(key_hash), *max_parallelism);
                let parallelism = self.buffers.len();
                for record in batch.drain(..) {
                    let key_group = key_group_for_hash(key_hash(&record.value), max_parallelism);
                    let channel =
                        operator_index_for_key_group(max_parallelism, parallelism, key_group);
                    self.push(channel, record)?;
                }
            }
            Routing::Broadcast => {
                for channel in 0..self.buffers.len() {
                    self.buffers[channel].extend(batch.iter().cloned());
                    if self.buffers[channel].len() >= self.rows_per_batch {
                        self.send(channel)?;
                    }
                }
                batch.clear();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use flinkrs_core::Record;

    use super::*;

    #[test]
    fn batches_sent_over_a_channel_stay_within_the_row_bound() {
        let (sender, receiver) = crossbeam_channel::unbounded();
        let bounds = BatchBounds {
            max_rows: 100,
            max_bytes: 1 << 20,
        };
        for partitioner in [PartitionerSpec::forward(), PartitionerSpec::rebalance()] {
            let mut writer =
                ChannelWriter::new(vec![sender.clone()], &partitioner, bounds, 128, 0).unwrap();
            // One oversized batch, as a flat_map emits, then a small one.
            let mut big: Batch<u32> = (0..250).map(Record::new).collect();
            writer.process_batch(&mut big).unwrap();
            let mut small: Batch<u32> = (250..260).map(Record::new).collect();
            writer.process_batch(&mut small).unwrap();
            writer.end_input().unwrap();
            let mut sizes = Vec::new();
            let mut values = Vec::new();
            while let Ok(element) = receiver.try_recv() {
                match element {
                    StreamElement::Records(batch) => {
                        sizes.push(batch.len());
                        values.extend(batch.into_iter().map(|record| record.value));
                    }
                    StreamElement::EndOfInput => break,
                    other => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(sizes, vec![100, 100, 60], "{partitioner:?}");
            assert_eq!(values, (0..260).collect::<Vec<_>>(), "{partitioner:?}");
        }
    }
}
