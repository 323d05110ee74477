//! One subtask's reader: a librdkafka consumer assigned its partitions at explicit offsets
//! (no group rebalancing: the splits decide who reads what, as in Flink).
//!
//! **Partition discovery.** Every `partition.discovery.interval.ms` the reader lists its
//! topics' partitions. Kafka numbers a topic's partitions from 0 and only ever adds some, so
//! the job's assignment is one count per topic: every partition below it has a split in some
//! reader. The partitions at or above it are new; each is read from its earliest offset by
//! its owner ([`split_owner`], the subtask Flink's enumerator picks), which every reader
//! computes alike, so no reader has to ask the others. The counts are part of the
//! checkpoint, so a restore at the same parallelism picks up exactly the partitions that
//! were not yet assigned. A restore at another parallelism deals the counts out with the
//! splits: a reader takes the highest count it got for a topic, or the partitions the topic
//! has when it opens if it got none; a partition added within one discovery interval
//! before the checkpoint may then be read by two readers or by none.
//! The listing is a metadata request on the task thread, once per interval; a failed one is
//! logged and tried again at the next interval.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flinkrs_api::watermark::WatermarkStrategy;
use flinkrs_core::{Batch, CheckpointId, Data, Error, Record, Result, Watermark, WatermarkStatus};
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

use super::offsets::{discover_partitions, share_of_subtask, split_owner, starting_splits};
use super::split::{PartitionSplit, ReaderStateItem};
use super::watermarks::PartitionWatermarks;
use super::{SourceSettings, StartupMode};
use crate::client::kafka_error;
use crate::deserializer::{KafkaRecord, KafkaRecordDeserializer};

const ROLE: &str = "Kafka source";
/// How long the task waits before polling again when no record is buffered.
const IDLE_WAIT: Duration = Duration::from_millis(10);
/// The consumer group of a reader that was given none.
const UNNAMED_GROUP: &str = "flinkrs-kafka-source";

/// Reads its splits; see [`KafkaSource`](super::KafkaSource).
pub struct KafkaSourceReader<T> {
    settings: Arc<SourceSettings>,
    deserializer: Arc<dyn KafkaRecordDeserializer<T>>,
    consumer: Option<BaseConsumer>,
    splits: Vec<PartitionSplit>,
    /// Set by a restore: these items replace the fresh-start assignment.
    restored: Option<Vec<ReaderStateItem>>,
    /// Per topic, how many partitions the job has assigned (see the module docs).
    assigned: BTreeMap<String, i32>,
    /// When to look for new partitions next; `None` without discovery.
    next_discovery: Option<Instant>,
    subtask: usize,
    parallelism: usize,
    /// The split of the previous record, checked first: records come in runs per partition.
    last_split: usize,
    /// The offsets of the last snapshot, committed to the group when a checkpoint completes.
    snapshot_offsets: Vec<(String, i32, i64)>,
    /// The watermark strategy, until `open` makes a clock per split of it.
    strategy: Option<WatermarkStrategy<T>>,
    watermarks: Option<PartitionWatermarks<T>>,
    /// Set by [`defer_timestamps`](Self::defer_timestamps): the split of each record of the
    /// last poll, whose event times the caller hands over after the poll.
    polled_splits: Option<Vec<usize>>,
}

impl<T> KafkaSourceReader<T> {
    pub(super) fn new(
        settings: Arc<SourceSettings>,
        deserializer: Arc<dyn KafkaRecordDeserializer<T>>,
        strategy: Option<WatermarkStrategy<T>>,
    ) -> Self {
        KafkaSourceReader {
            settings,
            deserializer,
            consumer: None,
            splits: Vec::new(),
            restored: None,
            assigned: BTreeMap::new(),
            next_discovery: None,
            subtask: 0,
            parallelism: 1,
            last_split: 0,
            snapshot_offsets: Vec::new(),
            strategy,
            watermarks: None,
            polled_splits: None,
        }
    }

    /// Event times come from the caller after each poll, through
    /// [`assign_timestamps`](Self::assign_timestamps), instead of from the watermark
    /// strategy's timestamp assigner: for a time computed over a whole batch at once, as a
    /// SQL table's computed rowtime column is. The strategy's generators still run per
    /// partition, so the reader's watermark stays the minimum over its partitions.
    pub fn defer_timestamps(&mut self) {
        self.polled_splits = Some(Vec::new());
    }

    /// The splits this reader reads, with their next offsets.
    pub fn splits(&self) -> &[PartitionSplit] {
        &self.splits
    }

    fn servers(&self) -> &str {
        self.settings.properties.bootstrap_servers()
    }

    fn create_consumer(&self) -> Result<BaseConsumer> {
        // Offsets live in checkpoints: no automatic commits or offset stores.
        let mut config = self.settings.properties.client_config(&[
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
        ]);
        // librdkafka wants a group even for explicitly assigned partitions; without
        // `group.id` the reader uses one of its own and commits nothing to it.
        if self.settings.properties.get("group.id").is_none() {
            config.set("group.id", UNNAMED_GROUP);
        }
        config
            .create()
            .map_err(|error| kafka_error(ROLE, self.servers(), "creating the consumer", error))
    }

    /// Assigns the unfinished splits at their next offsets.
    fn assign(&self, consumer: &BaseConsumer) -> Result<()> {
        let mut list = TopicPartitionList::with_capacity(self.splits.len());
        for split in self.splits.iter().filter(|split| !split.is_finished()) {
            list.add_partition_offset(
                &split.topic,
                split.partition,
                Offset::Offset(split.next_offset),
            )
            .map_err(|error| kafka_error(ROLE, self.servers(), "assigning partitions", error))?;
        }
        consumer
            .assign(&list)
            .map_err(|error| kafka_error(ROLE, self.servers(), "assigning partitions", error))
    }

    fn split_index(&mut self, topic: &str, partition: i32) -> Option<usize> {
        let matches = |split: &PartitionSplit| split.partition == partition && split.topic == topic;
        if self.splits.get(self.last_split).is_some_and(matches) {
            return Some(self.last_split);
        }
        let index = self.splits.iter().position(matches)?;
        self.last_split = index;
        Some(index)
    }

    /// For a bounded source: moves splits past control records (transaction markers) that
    /// end a partition, using the consumer's position, and says whether all are finished.
    fn all_finished(&mut self, consumer: &BaseConsumer) -> Result<bool> {
        if self.splits.iter().all(PartitionSplit::is_finished) {
            return Ok(true);
        }
        let positions = consumer
            .position()
            .map_err(|error| kafka_error(ROLE, self.servers(), "reading positions", error))?;
        for split in &mut self.splits {
            if let Some(Offset::Offset(position)) = positions
                .find_partition(&split.topic, split.partition)
                .map(|element| element.offset())
            {
                split.next_offset = split.next_offset.max(position);
            }
        }
        Ok(self.splits.iter().all(PartitionSplit::is_finished))
    }
}

impl<T: Data> SourceFunction<Batch<T>> for KafkaSourceReader<T> {
    fn boundedness(&self) -> Boundedness {
        if self.settings.bounded {
            Boundedness::Bounded
        } else {
            Boundedness::ContinuousUnbounded
        }
    }

    fn restore_state(&mut self, items: Vec<Vec<u8>>) -> Result<()> {
        let items = items
            .iter()
            .map(|bytes| ReaderStateItem::decode(bytes))
            .collect::<Result<Vec<_>>>()?;
        self.restored = Some(items);
        Ok(())
    }

    fn open(&mut self, context: &SourceContext) -> Result<()> {
        let consumer = self.create_consumer()?;
        self.subtask = context.subtask_index();
        self.parallelism = context.parallelism();
        match self.restored.take() {
            Some(items) => self.restore_items(&consumer, items)?,
            None => {
                let partitions = discover_partitions(&consumer, &self.settings)?;
                self.note_assigned(&partitions);
                let share = share_of_subtask(&partitions, self.subtask, self.parallelism);
                self.splits =
                    starting_splits(&consumer, &self.settings, &self.settings.startup, &share)?;
            }
        }
        self.assign(&consumer)?;
        self.next_discovery = self
            .settings
            .discovery_interval
            .map(|interval| Instant::now() + interval);
        if let Some(strategy) = self.strategy.take() {
            let mut watermarks =
                PartitionWatermarks::new(strategy, context.info.config.auto_watermark_interval());
            watermarks.track(self.splits.len());
            self.watermarks = Some(watermarks);
        }
        self.consumer = Some(consumer);
        Ok(())
    }

    fn poll_batch(
        &mut self,
        batch: &mut Batch<T>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        let Some(consumer) = self.consumer.take() else {
            return Err(Error::function(format!("{ROLE}: polled before open")));
        };
        if let Some(splits) = &mut self.polled_splits {
            splits.clear();
        }
        if self.next_discovery.is_some_and(|due| Instant::now() >= due)
            && let Err(error) = self.discover_new_partitions(&consumer)
        {
            self.consumer = Some(consumer);
            return Err(error);
        }
        let polled = self.poll_into(&consumer, batch, context.batch_rows);
        let status = match polled {
            Ok(true) => Ok(SourceStatus::MoreAvailable),
            Ok(false) if self.settings.bounded => match self.all_finished(&consumer) {
                Ok(true) => Ok(SourceStatus::Finished),
                Ok(false) => Ok(SourceStatus::Wait(IDLE_WAIT)),
                Err(error) => Err(error),
            },
            Ok(false) => Ok(SourceStatus::Wait(IDLE_WAIT)),
            Err(error) => Err(error),
        };
        self.consumer = Some(consumer);
        if self.polled_splits.is_none() {
            self.advance_watermarks();
        }
        status
    }

    fn take_watermark_status(&mut self) -> Option<WatermarkStatus> {
        self.watermarks.as_mut()?.take_status()
    }

    fn take_watermark(&mut self) -> Option<Watermark> {
        self.watermarks.as_mut()?.take_watermark()
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        self.snapshot_offsets.clear();
        self.snapshot_offsets.extend(
            self.splits
                .iter()
                .map(|split| (split.topic.clone(), split.partition, split.next_offset)),
        );
        let splits = self
            .splits
            .iter()
            .map(|split| ReaderStateItem::Split(split.clone()).encode());
        let counts = self.assigned.iter().map(|(topic, count)| {
            ReaderStateItem::AssignedPartitions {
                topic: topic.clone(),
                count: *count,
            }
            .encode()
        });
        Ok(splits.chain(counts).collect())
    }

    /// Commits the offsets of the last snapshot to the consumer group, as Flink does: for
    /// monitoring (lag) only; restores use the checkpoint. A failed commit is logged, not
    /// fatal.
    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        let (Some(consumer), Some(_)) = (&self.consumer, self.settings.properties.get("group.id"))
        else {
            return Ok(());
        };
        if self.snapshot_offsets.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::with_capacity(self.snapshot_offsets.len());
        for (topic, partition, offset) in &self.snapshot_offsets {
            let _ = list.add_partition_offset(topic, *partition, Offset::Offset(*offset));
        }
        if let Err(error) = consumer.commit(&list, CommitMode::Async) {
            tracing::warn!(%checkpoint, %error, "Kafka source: committing offsets to the group failed");
        }
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        self.consumer = None;
        Ok(())
    }
}

impl<T: 'static> KafkaSourceReader<T> {
    /// Takes the restored splits and assigned counts. Without a count for a topic (a restore
    /// at another parallelism dealt this reader none), the topic's partitions at this moment
    /// count as assigned.
    fn restore_items(
        &mut self,
        consumer: &BaseConsumer,
        items: Vec<ReaderStateItem>,
    ) -> Result<()> {
        for item in items {
            match item {
                ReaderStateItem::Split(split) => self.splits.push(split),
                ReaderStateItem::AssignedPartitions { topic, count } => {
                    let known = self.assigned.entry(topic).or_insert(count);
                    *known = (*known).max(count);
                }
            }
        }
        let uncounted = self
            .settings
            .topics
            .iter()
            .any(|topic| !self.assigned.contains_key(topic));
        if self.settings.discovery_interval.is_some() && uncounted {
            let partitions = discover_partitions(consumer, &self.settings)?;
            let mut now = BTreeMap::new();
            for (topic, partition) in &partitions {
                let count = now.entry(topic.clone()).or_insert(0);
                *count = (*count).max(partition + 1);
            }
            for (topic, count) in now {
                self.assigned.entry(topic).or_insert(count);
            }
        }
        Ok(())
    }

    /// Raises each topic's assigned count to cover `partitions`.
    fn note_assigned(&mut self, partitions: &[(String, i32)]) {
        for (topic, partition) in partitions {
            let count = self.assigned.entry(topic.clone()).or_insert(0);
            *count = (*count).max(partition + 1);
        }
    }

    /// Lists the topics' partitions and starts reading the new ones this reader owns from
    /// their earliest offsets. A failed listing is logged and tried again at the next
    /// interval; only failing to assign the new partitions is an error.
    fn discover_new_partitions(&mut self, consumer: &BaseConsumer) -> Result<()> {
        self.next_discovery = self
            .settings
            .discovery_interval
            .map(|interval| Instant::now() + interval);
        let found = discover_partitions(consumer, &self.settings).and_then(|partitions| {
            let new: Vec<(String, i32)> = partitions
                .iter()
                .filter(|(topic, partition)| {
                    *partition >= self.assigned.get(topic).copied().unwrap_or(0)
                        && split_owner(topic, *partition, self.parallelism) == self.subtask
                })
                .cloned()
                .collect();
            let splits =
                starting_splits(consumer, &self.settings, &StartupMode::EarliestOffset, &new)?;
            Ok((partitions, splits))
        });
        let (partitions, splits) = match found {
            Ok(found) => found,
            Err(error) => {
                tracing::warn!(%error, "Kafka source: partition discovery failed; trying again at the next interval");
                return Ok(());
            }
        };
        self.note_assigned(&partitions);
        if splits.is_empty() {
            return Ok(());
        }
        for split in &splits {
            tracing::info!(
                topic = %split.topic,
                partition = split.partition,
                offset = split.next_offset,
                subtask = self.subtask,
                "Kafka source: reading a newly discovered partition"
            );
        }
        self.splits.extend(splits);
        if let Some(watermarks) = &mut self.watermarks {
            watermarks.track(self.splits.len());
        }
        self.assign(consumer)
    }
}

impl<T: Data> KafkaSourceReader<T> {
    /// With [`defer_timestamps`](Self::defer_timestamps): the event times of the records
    /// of the last poll, `batch`, in order (`i64::MIN` for a record without one); then the
    /// watermarks advance, as they do after each poll otherwise. Call it after every poll,
    /// also one that read nothing, so that idle partitions are noticed.
    pub fn assign_timestamps(
        &mut self,
        batch: &Batch<T>,
        timestamps: impl IntoIterator<Item = i64>,
    ) {
        if let (Some(watermarks), Some(splits)) = (&mut self.watermarks, &self.polled_splits) {
            for ((record, &split), timestamp) in batch.iter().zip(splits).zip(timestamps) {
                watermarks.on_record(split, &record.value, timestamp);
            }
        }
        self.advance_watermarks();
    }

    /// Periodic emission, idleness and the combined watermark, after a poll.
    fn advance_watermarks(&mut self) {
        if let Some(watermarks) = &mut self.watermarks {
            let splits = &self.splits;
            watermarks.advance(|split| splits.get(split).is_none_or(PartitionSplit::is_finished));
        }
    }

    /// Moves up to `wanted` records into `batch`; true if it read any.
    fn poll_into(
        &mut self,
        consumer: &BaseConsumer,
        batch: &mut Batch<T>,
        wanted: usize,
    ) -> Result<bool> {
        let mut read_any = false;
        while batch.len() < wanted {
            let Some(polled) = consumer.poll(Duration::ZERO) else {
                break;
            };
            let message = polled.map_err(|error| {
                kafka_error(
                    ROLE,
                    self.settings.properties.bootstrap_servers(),
                    "reading records",
                    error,
                )
            })?;
            let (topic, partition, offset) =
                (message.topic(), message.partition(), message.offset());
            let Some(index) = self.split_index(topic, partition) else {
                continue;
            };
            let split = &mut self.splits[index];
            if split.stop_offset.is_some_and(|stop| offset >= stop) {
                continue;
            }
            split.next_offset = offset + 1;
            read_any = true;
            let timestamp = match message.timestamp() {
                Timestamp::NotAvailable => None,
                Timestamp::CreateTime(millis) | Timestamp::LogAppendTime(millis) => Some(millis),
            };
            let record = KafkaRecord {
                topic,
                partition,
                offset,
                timestamp,
                key: message.key(),
                value: message.payload(),
            };
            if let Some(value) = self.deserializer.deserialize(&record)? {
                let mut record = match timestamp {
                    Some(millis) => Record::with_timestamp(value, millis),
                    None => Record::new(value),
                };
                if let Some(splits) = &mut self.polled_splits {
                    splits.push(index);
                } else if let Some(watermarks) = &mut self.watermarks {
                    record.timestamp = watermarks.on_record(index, &record.value, record.timestamp);
                }
                batch.push(record);
            }
        }
        Ok(read_any)
    }
}
