//! One subtask's reader: a librdkafka consumer assigned its partitions at explicit offsets
//! (no group rebalancing: the splits decide who reads what, as in Flink).

use std::sync::Arc;
use std::time::Duration;

use flinkrs_core::{Batch, CheckpointId, Data, Error, Record, Result};
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::{Message, Timestamp};
use rdkafka::{Offset, TopicPartitionList};

use super::SourceSettings;
use super::offsets::{discover_partitions, share_of_subtask, starting_splits};
use super::split::PartitionSplit;
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
    /// Set by a restore: these splits replace the fresh-start assignment.
    restored: Option<Vec<PartitionSplit>>,
    /// The split of the previous record, checked first: records come in runs per partition.
    last_split: usize,
    /// The offsets of the last snapshot, committed to the group when a checkpoint completes.
    snapshot_offsets: Vec<(String, i32, i64)>,
}

impl<T> KafkaSourceReader<T> {
    pub(super) fn new(
        settings: Arc<SourceSettings>,
        deserializer: Arc<dyn KafkaRecordDeserializer<T>>,
    ) -> Self {
        KafkaSourceReader {
            settings,
            deserializer,
            consumer: None,
            splits: Vec::new(),
            restored: None,
            last_split: 0,
            snapshot_offsets: Vec::new(),
        }
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

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        let splits = splits
            .iter()
            .map(|bytes| PartitionSplit::decode(bytes))
            .collect::<Result<Vec<_>>>()?;
        self.restored = Some(splits);
        Ok(())
    }

    fn open(&mut self, context: &SourceContext) -> Result<()> {
        let consumer = self.create_consumer()?;
        self.splits = match self.restored.take() {
            Some(splits) => splits,
            None => {
                let partitions = discover_partitions(&consumer, &self.settings)?;
                let share =
                    share_of_subtask(&partitions, context.subtask_index(), context.parallelism());
                starting_splits(&consumer, &self.settings, &share)?
            }
        };
        self.assign(&consumer)?;
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
        status
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        self.snapshot_offsets.clear();
        self.snapshot_offsets.extend(
            self.splits
                .iter()
                .map(|split| (split.topic.clone(), split.partition, split.next_offset)),
        );
        Ok(self.splits.iter().map(PartitionSplit::encode).collect())
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

impl<T: Data> KafkaSourceReader<T> {
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
                batch.push(match timestamp {
                    Some(millis) => Record::with_timestamp(value, millis),
                    None => Record::new(value),
                });
            }
        }
        Ok(read_any)
    }
}
