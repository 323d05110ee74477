//! A fresh start: which partitions the topics have, which of them a subtask reads, and the
//! concrete offset each starts at (so the first checkpoint already holds real offsets).

use flinkrs_core::{Error, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::{Offset, TopicPartitionList};

use super::split::PartitionSplit;
use super::{SourceSettings, StartupMode};
use crate::client::kafka_error;

const ROLE: &str = "Kafka source";

/// Every partition of every topic, sorted by topic then partition. An unknown topic or a
/// broker that does not answer within `request.timeout.ms` is an error naming them.
pub(super) fn discover_partitions(
    consumer: &BaseConsumer,
    settings: &SourceSettings,
) -> Result<Vec<(String, i32)>> {
    let servers = settings.properties.bootstrap_servers();
    let timeout = settings.properties.request_timeout();
    let mut partitions = Vec::new();
    for topic in &settings.topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .map_err(|error| {
                kafka_error(
                    ROLE,
                    servers,
                    &format!(
                        "fetching the metadata of topic '{topic}' within {timeout:?} \
                         (request.timeout.ms); check that the brokers run and are reachable"
                    ),
                    error,
                )
            })?;
        let Some(described) = metadata.topics().iter().find(|t| t.name() == topic) else {
            return Err(unknown_topic(topic, servers));
        };
        if described.error().is_some() || described.partitions().is_empty() {
            return Err(unknown_topic(topic, servers));
        }
        partitions.extend(
            described
                .partitions()
                .iter()
                .map(|partition| (topic.clone(), partition.id())),
        );
    }
    partitions.sort();
    Ok(partitions)
}

fn unknown_topic(topic: &str, servers: &str) -> Error {
    Error::function(format!(
        "{ROLE}: topic '{topic}' does not exist on bootstrap.servers '{servers}'; create it \
         or fix the option 'topic'"
    ))
}

/// The subtask of `parallelism` that reads `partition` of `topic`, as Flink's
/// `KafkaSourceEnumerator` assigns partitions: each topic's partitions are dealt round-robin
/// from a start index derived from the topic name's Java hash code. The owner depends only
/// on the partition and the parallelism, so every reader knows, without asking the others,
/// which partitions are its own, also for partitions discovered while the job runs.
pub(super) fn split_owner(topic: &str, partition: i32, parallelism: usize) -> usize {
    let parallelism = parallelism.max(1);
    let start = (java_hash_code(topic).wrapping_mul(31) & 0x7FFF_FFFF) as usize % parallelism;
    (start + partition.max(0) as usize) % parallelism
}

/// Java's `String.hashCode()`: over UTF-16 code units, `h = 31 * h + unit`, wrapping.
fn java_hash_code(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The partitions of `partitions` that subtask `subtask` of `parallelism` reads.
pub(super) fn share_of_subtask(
    partitions: &[(String, i32)],
    subtask: usize,
    parallelism: usize,
) -> Vec<(String, i32)> {
    partitions
        .iter()
        .filter(|(topic, partition)| split_owner(topic, *partition, parallelism) == subtask)
        .cloned()
        .collect()
}

/// The concrete starting offset of each partition under `startup` (the settings' startup
/// mode on a fresh start, earliest for partitions discovered later).
pub(super) fn starting_splits(
    consumer: &BaseConsumer,
    settings: &SourceSettings,
    startup: &StartupMode,
    partitions: &[(String, i32)],
) -> Result<Vec<PartitionSplit>> {
    let servers = settings.properties.bootstrap_servers();
    let timeout = settings.properties.request_timeout();
    let watermarks = |topic: &str, partition: i32| {
        consumer
            .fetch_watermarks(topic, partition, timeout)
            .map_err(|error| {
                kafka_error(
                    ROLE,
                    servers,
                    &format!("reading the offsets of topic '{topic}' partition {partition}"),
                    error,
                )
            })
    };
    let committed = match startup {
        StartupMode::GroupOffsets => Some(committed_offsets(consumer, settings, partitions)?),
        _ => None,
    };
    let by_time = match startup {
        StartupMode::Timestamp(millis) => {
            Some(offsets_for_time(consumer, settings, partitions, *millis)?)
        }
        _ => None,
    };
    let mut splits = Vec::with_capacity(partitions.len());
    for (index, (topic, partition)) in partitions.iter().enumerate() {
        let (low, high) = watermarks(topic, *partition)?;
        let next_offset = match startup {
            StartupMode::EarliestOffset => low,
            StartupMode::LatestOffset => high,
            StartupMode::SpecificOffsets(offsets) => offsets
                .get(&(topic.clone(), *partition))
                .copied()
                .unwrap_or(low),
            StartupMode::GroupOffsets => match committed.as_ref().map(|offsets| offsets[index]) {
                Some(Offset::Offset(offset)) => offset,
                _ => reset_offset(settings, topic, *partition, low, high)?,
            },
            StartupMode::Timestamp(_) => match by_time.as_ref().map(|offsets| offsets[index]) {
                Some(Offset::Offset(offset)) => offset,
                _ => high,
            },
        };
        splits.push(PartitionSplit {
            topic: topic.clone(),
            partition: *partition,
            next_offset,
            stop_offset: settings.bounded.then_some(high),
        });
    }
    Ok(splits)
}

/// `properties.auto.offset.reset` for a partition the group has no offset for.
fn reset_offset(
    settings: &SourceSettings,
    topic: &str,
    partition: i32,
    low: i64,
    high: i64,
) -> Result<i64> {
    match settings.properties.get("auto.offset.reset") {
        Some("earliest" | "smallest" | "beginning") => Ok(low),
        Some("latest" | "largest" | "end") => Ok(high),
        _ => Err(Error::function(format!(
            "{ROLE}: consumer group '{}' has no committed offset for topic '{topic}' \
             partition {partition}; set properties.auto.offset.reset to earliest or latest, \
             or use another scan.startup.mode",
            settings.properties.get("group.id").unwrap_or("")
        ))),
    }
}

fn list_of(partitions: &[(String, i32)], offset: Offset) -> Result<TopicPartitionList> {
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for (topic, partition) in partitions {
        list.add_partition_offset(topic, *partition, offset)
            .map_err(|error| Error::function(format!("{ROLE}: {error}")))?;
    }
    Ok(list)
}

/// The offsets of `list`'s elements in the order of `partitions`.
fn in_order(list: &TopicPartitionList, partitions: &[(String, i32)]) -> Vec<Offset> {
    partitions
        .iter()
        .map(|(topic, partition)| {
            list.find_partition(topic, *partition)
                .map(|element| element.offset())
                .unwrap_or(Offset::Invalid)
        })
        .collect()
}

fn committed_offsets(
    consumer: &BaseConsumer,
    settings: &SourceSettings,
    partitions: &[(String, i32)],
) -> Result<Vec<Offset>> {
    if settings.properties.get("group.id").is_none() {
        return Err(Error::config(
            "properties.group.id",
            "scan.startup.mode 'group-offsets' reads the group's committed offsets; set the \
             consumer group",
        ));
    }
    let list = consumer
        .committed_offsets(
            list_of(partitions, Offset::Invalid)?,
            settings.properties.request_timeout(),
        )
        .map_err(|error| {
            kafka_error(
                ROLE,
                settings.properties.bootstrap_servers(),
                "reading the group's committed offsets",
                error,
            )
        })?;
    Ok(in_order(&list, partitions))
}

fn offsets_for_time(
    consumer: &BaseConsumer,
    settings: &SourceSettings,
    partitions: &[(String, i32)],
    millis: i64,
) -> Result<Vec<Offset>> {
    let list = consumer
        .offsets_for_times(
            list_of(partitions, Offset::Offset(millis))?,
            settings.properties.request_timeout(),
        )
        .map_err(|error: KafkaError| {
            kafka_error(
                ROLE,
                settings.properties.bootstrap_servers(),
                &format!("looking up the offsets at timestamp {millis}"),
                error,
            )
        })?;
    Ok(in_order(&list, partitions))
}

#[cfg(test)]
mod tests {
    use super::{java_hash_code, share_of_subtask, split_owner};

    #[test]
    fn partitions_go_to_the_owner_flinks_enumerator_picks() {
        // As Java computes them: "orders".hashCode() and "t".hashCode().
        assert_eq!(java_hash_code("orders"), -1_008_770_331);
        assert_eq!(java_hash_code("t"), 116);
        let partitions: Vec<(String, i32)> = (0..6).map(|p| ("orders".to_owned(), p)).collect();
        let ids = |subtask| -> Vec<i32> {
            share_of_subtask(&partitions, subtask, 4)
                .into_iter()
                .map(|(_, p)| p)
                .collect()
        };
        // ("orders".hashCode() * 31) & 0x7FFFFFFF is 3 modulo 4: partition 0 starts at 3.
        assert_eq!(ids(3), [0, 4]);
        assert_eq!(ids(0), [1, 5]);
        assert_eq!(ids(1), [2]);
        assert_eq!(ids(2), [3]);
        assert_eq!(split_owner("t", 5, 4), 1);
        assert_eq!(
            split_owner("t", 5, 0),
            0,
            "a parallelism of 0 is taken as 1"
        );
    }
}
