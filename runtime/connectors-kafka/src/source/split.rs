//! A Kafka source split: one topic partition and the offset to read next, as it is stored
//! in a checkpoint (Flink's `KafkaPartitionSplit`).

use flinkrs_core::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionSplit {
    pub topic: String,
    pub partition: i32,
    /// The offset of the next record to read.
    pub next_offset: i64,
    /// For a bounded source, the offset to stop before (the partition's end when the source
    /// started); `None` reads on forever.
    pub stop_offset: Option<i64>,
}

impl PartitionSplit {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain fields into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// A checkpointed split; a malformed one fails the restore rather than rereading the
    /// partition from a guessed offset.
    pub fn decode(bytes: &[u8]) -> Result<Self> {
        postcard::from_bytes(bytes).map_err(|error| {
            Error::state(format!(
                "Kafka source: a checkpointed split of {} bytes is not a topic partition with \
                 its offset ({error}); restore from a checkpoint this job wrote",
                bytes.len()
            ))
        })
    }

    pub fn is_finished(&self) -> bool {
        self.stop_offset
            .is_some_and(|stop| self.next_offset >= stop)
    }
}

/// One item of a reader's checkpointed state: a split, or how many partitions of a topic
/// the job had assigned (every partition below the count has a split in some reader), which
/// tells partition discovery after a restore which partitions are new.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ReaderStateItem {
    Split(PartitionSplit),
    AssignedPartitions { topic: String, count: i32 },
}

impl ReaderStateItem {
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serializing plain fields into a Vec cannot fail.
        postcard::to_allocvec(self).unwrap_or_default()
    }

    /// A checkpointed item; a malformed one fails the restore rather than rereading a
    /// partition from a guessed offset.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self> {
        postcard::from_bytes(bytes).map_err(|error| {
            Error::state(format!(
                "Kafka source: a checkpointed item of {} bytes is neither a topic partition \
                 with its offset nor a topic's partition count ({error}); restore from a \
                 checkpoint this job wrote",
                bytes.len()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{PartitionSplit, ReaderStateItem};

    #[test]
    fn state_items_round_trip_and_garbage_is_refused_with_its_size() {
        let items = [
            ReaderStateItem::Split(PartitionSplit {
                topic: "orders".into(),
                partition: 2,
                next_offset: 17,
                stop_offset: None,
            }),
            ReaderStateItem::AssignedPartitions {
                topic: "orders".into(),
                count: 6,
            },
        ];
        for item in items {
            assert_eq!(ReaderStateItem::decode(&item.encode()).unwrap(), item);
        }
        let error = ReaderStateItem::decode(&[0xff, 0xff])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a checkpointed item of 2 bytes is neither a topic partition"),
            "{error}"
        );
    }

    #[test]
    fn a_split_round_trips_and_garbage_is_refused_with_its_size() {
        let split = PartitionSplit {
            topic: "orders".into(),
            partition: 3,
            next_offset: 1_000_000_007,
            stop_offset: Some(2_000_000_000),
        };
        assert_eq!(PartitionSplit::decode(&split.encode()).unwrap(), split);
        let error = PartitionSplit::decode(&[0xff, 0xff])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("a checkpointed split of 2 bytes is not a topic partition"),
            "{error}"
        );
    }
}
