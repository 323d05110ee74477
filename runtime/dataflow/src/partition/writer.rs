//! [`ChannelWriter`]: the edge of a chain. It splits batches by the edge's partitioner into
//! per-channel buffers and sends them, bounded in rows and bytes, over the channels.

use std::time::Instant;

use flinkrs_core::key_group::{key_group_for_hash, operator_index_for_key_group};
use flinkrs_core::{
    CheckpointBarrier, CheckpointId, Error, Result, StreamElement, Watermark, WatermarkStatus,
};

use super::{BatchBounds, PartitionerKind, PartitionerSpec, SharedKeyHash};
use crate::batch::{BatchBuilder, StreamBatch};
use crate::channel::{ChannelSender, TrySendError};
use crate::input::{ControlInput, Input, TaskSnapshot};
use crate::task::{CancelToken, OutputMetrics};

enum Routing<B> {
    Single,
    RoundRobin {
        next: usize,
    },
    Hash {
        key_hash: SharedKeyHash<B>,
        max_parallelism: usize,
    },
    Broadcast,
}

/// Writes a chain's output into the channels of one edge, split by the partitioner.
pub struct ChannelWriter<B: StreamBatch> {
    senders: Vec<Box<dyn ChannelSender<B>>>,
    builders: Vec<B::Builder>,
    routing: Routing<B>,
    bounds: BatchBounds,
    cancel: CancelToken,
    /// Scratch, reused across batches: key hashes, then target channels, of one batch.
    hashes: Vec<i32>,
    targets: Vec<u32>,
    /// Scratch for cutting an oversized batch.
    chunks: Vec<B>,
    metrics: OutputMetrics,
    /// The end of input was sent: nothing follows it on a channel. A task that stays for the
    /// final checkpoint still passes barriers through its chain; they stop here.
    ended: bool,
}

impl<B: StreamBatch> ChannelWriter<B> {
    /// `senders` holds one channel per consuming subtask (just one for forward edges).
    pub fn new(
        senders: Vec<Box<dyn ChannelSender<B>>>,
        partitioner: &PartitionerSpec,
        bounds: BatchBounds,
        max_parallelism: usize,
        subtask_index: usize,
        cancel: CancelToken,
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
                    .and_then(|any| any.downcast_ref::<SharedKeyHash<B>>())
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
        let builders = senders.iter().map(|_| B::Builder::default()).collect();
        Ok(ChannelWriter {
            senders,
            builders,
            routing,
            bounds,
            cancel,
            hashes: Vec::new(),
            targets: Vec::new(),
            chunks: Vec::new(),
            metrics: OutputMetrics::default(),
            ended: false,
        })
    }

    /// Counts into the subtask's metrics: records and bytes sent, time blocked without
    /// credits.
    pub fn with_metrics(mut self, metrics: OutputMetrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Sends one element of `bytes` (a batch's true size, zero for an event); without credits
    /// (backpressure), waits for one or for cancellation, whichever comes first, and counts
    /// the wait as back-pressured time. A closed channel means the consumer stopped: it
    /// failed or the job was cancelled.
    fn send(&mut self, channel: usize, element: StreamElement<B>, bytes: usize) -> Result<()> {
        let sender = &mut self.senders[channel];
        match sender.try_send(element, bytes) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(_)) => Err(Error::Cancelled),
            Err(TrySendError::Full(element)) => {
                let blocked = Instant::now();
                let sent = sender.send(element, bytes, &self.cancel);
                let waited = u64::try_from(blocked.elapsed().as_nanos()).unwrap_or(u64::MAX);
                self.metrics.back_pressured_nanos.inc(waited);
                Ok(sent?)
            }
        }
    }

    /// Sends `batch` on `channel`, cut into chunks of similar size that each stay within the
    /// row and byte bounds. Cuts are taken from the tail, so each copies only what it cuts.
    /// Each chunk carries its share of `bytes` by rows; the shares add up to `bytes`.
    fn send_bounded(&mut self, channel: usize, mut batch: B, bytes: usize) -> Result<()> {
        self.metrics.num_bytes_out.inc(bytes as u64);
        let rows = batch.num_rows();
        let pieces = rows
            .div_ceil(self.bounds.max_rows.max(1))
            .max(bytes.div_ceil(self.bounds.max_bytes.max(1)))
            .clamp(1, rows.max(1));
        if pieces == 1 {
            return self.send(channel, StreamElement::Records(batch), bytes);
        }
        let piece_rows = rows.div_ceil(pieces);
        let share = |piece: &B| bytes * piece.num_rows() / rows;
        let mut chunks = std::mem::take(&mut self.chunks);
        let mut cut_bytes = 0;
        while batch.num_rows() > piece_rows {
            let cut = (batch.num_rows() - 1) / piece_rows * piece_rows;
            let chunk = batch.split_off(cut);
            cut_bytes += share(&chunk);
            chunks.push(chunk);
        }
        let mut result = self.send(channel, StreamElement::Records(batch), bytes - cut_bytes);
        // `chunks` holds the pieces last-first.
        while let Some(chunk) = chunks.pop() {
            if result.is_ok() {
                let chunk_bytes = share(&chunk);
                result = self.send(channel, StreamElement::Records(chunk), chunk_bytes);
            }
        }
        self.chunks = chunks;
        result
    }

    fn is_full(&self, channel: usize) -> bool {
        let builder = &self.builders[channel];
        builder.num_rows() >= self.bounds.max_rows || builder.byte_size() >= self.bounds.max_bytes
    }

    fn send_buffer(&mut self, channel: usize) -> Result<()> {
        let bytes = self.builders[channel].byte_size();
        let batch = self.builders[channel].finish();
        self.send_bounded(channel, batch, bytes)
    }

    fn send_full_buffers(&mut self) -> Result<()> {
        for channel in 0..self.builders.len() {
            if self.is_full(channel) {
                self.send_buffer(channel)?;
            }
        }
        Ok(())
    }

    fn flush_all(&mut self) -> Result<()> {
        for channel in 0..self.builders.len() {
            if self.builders[channel].num_rows() > 0 {
                self.send_buffer(channel)?;
            }
        }
        Ok(())
    }

    fn broadcast_element(&mut self, make: impl Fn() -> StreamElement<B>) -> Result<()> {
        if self.ended {
            return Ok(());
        }
        self.flush_all()?;
        for channel in 0..self.senders.len() {
            self.send(channel, make(), 0)?;
        }
        Ok(())
    }

    /// Fills `targets` with the consuming subtask of every row, by key group.
    fn hash_targets(&mut self, batch: &B) {
        let Routing::Hash {
            key_hash,
            max_parallelism,
        } = &self.routing
        else {
            return;
        };
        let (max_parallelism, parallelism) = (*max_parallelism, self.senders.len());
        key_hash.hash_rows(batch, &mut self.hashes);
        self.targets.clear();
        self.targets.extend(self.hashes.iter().map(|&hash| {
            let key_group = key_group_for_hash(hash, max_parallelism);
            operator_index_for_key_group(max_parallelism, parallelism, key_group) as u32
        }));
    }
}

impl<B: StreamBatch> ControlInput for ChannelWriter<B> {
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

    fn notify_checkpoint_aborted(&mut self, _checkpoint: CheckpointId) -> Result<()> {
        Ok(())
    }

    fn on_processing_time(&mut self, _now_millis: i64) -> Result<()> {
        Ok(())
    }

    fn flush_buffers(&mut self) -> Result<()> {
        self.flush_all()
    }

    fn end_input(&mut self) -> Result<()> {
        self.broadcast_element(|| StreamElement::EndOfInput)?;
        self.ended = true;
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<B: StreamBatch> Input<B> for ChannelWriter<B> {
    fn process_batch(&mut self, batch: &mut B) -> Result<()> {
        self.metrics.num_records_out.inc(batch.num_rows() as u64);
        match &mut self.routing {
            Routing::Single => {
                if batch.num_rows() >= self.bounds.max_rows / 2 {
                    // Large enough to travel on its own: no copy into the buffer. What the
                    // buffer holds (the small rest of an earlier batch) goes first, on its
                    // own, rather than growing it with a copy of this batch to cut again.
                    if self.builders[0].num_rows() > 0 {
                        self.send_buffer(0)?;
                    }
                    let whole = batch.take();
                    let bytes = whole.byte_size();
                    return self.send_bounded(0, whole, bytes);
                }
                batch.move_into(&mut self.builders[0]);
            }
            Routing::RoundRobin { next } => {
                let channels = self.senders.len() as u32;
                let mut channel = *next as u32;
                self.targets.clear();
                self.targets.extend((0..batch.num_rows()).map(|_| {
                    let target = channel;
                    channel = if channel + 1 == channels {
                        0
                    } else {
                        channel + 1
                    };
                    target
                }));
                *next = channel as usize;
                batch.scatter_into(&self.targets, &mut self.builders);
            }
            Routing::Hash { .. } => {
                self.hash_targets(batch);
                batch.scatter_into(&self.targets, &mut self.builders);
            }
            Routing::Broadcast => {
                for builder in &mut self.builders {
                    batch.copy_into(builder);
                }
                batch.clear();
            }
        }
        self.send_full_buffers()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use flinkrs_core::assign_to_key_group;
    use flinkrs_core::{Batch, Record};

    use super::*;
    use crate::channel::local::{LocalReceiver, LocalSender, channel};
    use crate::channel::{ChannelReceiver, TryRecv};
    use crate::metrics::Counter;

    /// Room for every batch these tests send, so no writer blocks.
    const CAPACITY: usize = 1024;

    fn drain<T: flinkrs_core::Data>(
        receiver: &mut LocalReceiver<Batch<T>>,
    ) -> (Vec<usize>, Vec<T>) {
        let (mut sizes, mut values) = (Vec::new(), Vec::new());
        while let TryRecv::Element(element) = receiver.try_recv() {
            match element {
                StreamElement::Records(batch) => {
                    sizes.push(batch.len());
                    values.extend(batch.into_iter().map(|record| record.value));
                }
                StreamElement::EndOfInput => break,
                _ => panic!("unexpected control element"),
            }
        }
        (sizes, values)
    }

    fn writer<T: flinkrs_core::Data>(
        senders: Vec<LocalSender<Batch<T>>>,
        partitioner: &PartitionerSpec,
        max_rows: usize,
        max_bytes: usize,
    ) -> ChannelWriter<Batch<T>> {
        let bounds = BatchBounds {
            max_rows,
            max_bytes,
        };
        let senders = senders
            .into_iter()
            .map(|sender| Box::new(sender) as Box<dyn ChannelSender<Batch<T>>>)
            .collect();
        ChannelWriter::new(senders, partitioner, bounds, 128, 0, CancelToken::default()).unwrap()
    }

    #[test]
    fn batches_sent_over_a_channel_stay_within_the_row_bound() {
        for partitioner in [PartitionerSpec::forward(), PartitionerSpec::rebalance()] {
            let (sender, mut receiver) = channel(CAPACITY);
            let mut writer = writer(vec![sender], &partitioner, 100, 1 << 20);
            // One oversized batch, as a flat_map emits, then a small one.
            let mut big: Batch<u32> = (0..250).map(Record::new).collect();
            writer.process_batch(&mut big).unwrap();
            let mut small: Batch<u32> = (250..260).map(Record::new).collect();
            writer.process_batch(&mut small).unwrap();
            writer.end_input().unwrap();
            let (sizes, values) = drain(&mut receiver);
            assert_eq!(sizes, vec![84, 84, 82, 10], "{partitioner:?}");
            assert_eq!(values, (0..260).collect::<Vec<_>>(), "{partitioner:?}");
        }
    }

    #[test]
    fn a_large_batch_after_a_small_one_travels_whole_and_after_it() {
        let (sender, mut receiver) = channel(CAPACITY);
        let mut writer = writer(vec![sender], &PartitionerSpec::forward(), 100, 1 << 20);
        let mut small: Batch<u32> = (0..10).map(Record::new).collect();
        writer.process_batch(&mut small).unwrap();
        let mut full: Batch<u32> = (10..110).map(Record::new).collect();
        writer.process_batch(&mut full).unwrap();
        writer.end_input().unwrap();
        let (sizes, values) = drain(&mut receiver);
        assert_eq!(sizes, vec![10, 100]);
        assert_eq!(values, (0..110).collect::<Vec<_>>());
    }

    #[test]
    fn the_byte_bound_counts_string_contents() {
        let (sender, mut receiver) = channel(CAPACITY);
        let inline = size_of::<Record<String>>();
        // Room for 10 records of 1 KiB each, though the row bound would allow 1000.
        let metrics = OutputMetrics::default();
        let mut writer = writer(
            vec![sender],
            &PartitionerSpec::rebalance(),
            1000,
            10 * (inline + 1024),
        )
        .with_metrics(metrics.clone());
        let bytes_in = Counter::new();
        receiver.count_bytes_into(bytes_in.clone());
        let mut batch: Batch<String> = (0..25)
            .map(|i| Record::new(format!("{i:0>1024}")))
            .collect();
        writer.process_batch(&mut batch).unwrap();
        writer.end_input().unwrap();
        let (sizes, values) = drain(&mut receiver);
        assert_eq!(sizes, vec![9, 9, 7]);
        assert_eq!(values.len(), 25);
        // The pieces' shares of the batch's size add up to what was sent.
        let total = 25 * (inline + 1024) as u64;
        assert_eq!(metrics.num_bytes_out.count(), total);
        assert_eq!(bytes_in.count(), total);
    }

    #[test]
    fn hash_partitioning_sends_each_key_to_the_owner_of_its_key_group() {
        let (senders, mut receivers): (Vec<_>, Vec<_>) = (0..3).map(|_| channel(CAPACITY)).unzip();
        let key_hash: super::super::KeyHashFn<u64> =
            std::sync::Arc::new(|value: &u64| flinkrs_core::key_hash(value));
        let mut writer = writer(senders, &PartitionerSpec::hash(key_hash), 64, 1 << 20);
        let mut batch: Batch<u64> = (0..1000).map(Record::new).collect();
        writer.process_batch(&mut batch).unwrap();
        writer.end_input().unwrap();
        let mut total = 0;
        for (subtask, receiver) in receivers.iter_mut().enumerate() {
            let (sizes, values) = drain(receiver);
            assert!(sizes.iter().all(|&rows| rows <= 64), "{sizes:?}");
            for value in &values {
                let key_group = assign_to_key_group(value, 128);
                assert_eq!(operator_index_for_key_group(128, 3, key_group), subtask);
            }
            total += values.len();
        }
        assert_eq!(total, 1000);
    }

    #[test]
    fn nothing_follows_the_end_of_input_on_a_channel() {
        let (sender, mut receiver) = channel(CAPACITY);
        let mut writer = writer(vec![sender], &PartitionerSpec::forward(), 64, 1 << 20);
        writer.end_input().unwrap();
        // A task staying for the final checkpoint still passes its barriers down the chain.
        let barrier = CheckpointBarrier {
            id: CheckpointId(4),
            timestamp: 0,
            kind: flinkrs_core::element::SnapshotKind::Checkpoint,
        };
        writer.process_barrier(barrier, &mut Vec::new()).unwrap();
        writer.process_watermark(Watermark::MAX).unwrap();
        assert!(matches!(
            receiver.try_recv(),
            TryRecv::Element(StreamElement::<Batch<u32>>::EndOfInput)
        ));
        assert!(matches!(receiver.try_recv(), TryRecv::Empty));
    }

    #[test]
    fn a_writer_blocked_on_a_full_channel_stops_on_cancel() {
        let (sender, _receiver) = channel::<Batch<u32>>(1);
        let cancel = CancelToken::default();
        let bounds = BatchBounds {
            max_rows: 1,
            max_bytes: 1 << 20,
        };
        let mut writer = ChannelWriter::new(
            vec![Box::new(sender)],
            &PartitionerSpec::forward(),
            bounds,
            128,
            0,
            cancel.clone(),
        )
        .unwrap();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            cancel.cancel();
            Instant::now()
        });
        // The second batch finds the channel full and blocks until the cancel.
        let mut batch: Batch<u32> = (0..2).map(Record::new).collect();
        let result = writer.process_batch(&mut batch);
        let returned = Instant::now();
        let cancelled_at = canceller.join().unwrap();
        assert!(matches!(result, Err(Error::Cancelled)), "{result:?}");
        assert!(returned.duration_since(cancelled_at) < Duration::from_millis(100));
    }
}
