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

#[cfg(test)]
mod tests {
    use super::PartitionSplit;

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
