//! Exactly-once bookkeeping: transactional ids, the transactions a checkpoint holds, and how
//! a restore settles them.
//!
//! **Ids.** A subtask's transactions are named `<prefix>-<parallelism>-<subtask>-<n>`, where
//! `n` is the checkpoint after which the transaction began (0 for the first). A restore at
//! the same parallelism continues each subtask's sequence; one at another parallelism starts
//! new sequences under the new parallelism, so no restored subtask ever uses an id that
//! another one is aborting.
//!
//! **Order of a restore.** First the lingering transactions are aborted, then each prepared
//! one is settled: an open transaction holding a marker keeps the marker group's offsets
//! unreadable (Kafka answers `UNSTABLE_OFFSET_COMMIT`) until it ends.
//!
//! **What a checkpoint holds.** librdkafka cannot resume a prepared transaction in a new
//! process (Flink's Java client does so by reflection), so a transaction that was prepared
//! for a checkpoint but not yet committed when the job failed cannot be committed after the
//! restore. The checkpoint therefore holds, for each prepared transaction, the records it
//! wrote (its write-ahead log) and a marker: each transaction also commits the checkpoint id
//! as the offset of a marker group (`<prefix>-<parallelism>-<subtask>`), atomically with its
//! records. A restore reads the marker: if the transaction committed, nothing is left to do;
//! if not, the lingering transaction is aborted (by initializing its id) and the records are
//! written again in a new transaction under the same id, which commits at once.
//!
//! **Lingering transactions.** The failed attempt may have left open transactions after the
//! checkpoint; until they end, `read_committed` consumers stall on their partitions. A
//! restore initializes, and thereby aborts, each old subtask's ids from the restored
//! checkpoint on, `abort_lookahead` further ones included.

use std::time::{Duration, Instant};

use flinkrs_core::{Error, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::SinkSettings;
use super::writer::{DeliveryContext, create_producer};
use crate::client::kafka_error;

const ROLE: &str = "Kafka sink";
/// Between two attempts to read a marker while the group coordinator is not ready.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// A transaction prepared for a checkpoint, as stored in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedTransaction {
    pub transactional_id: String,
    /// The checkpoint that sealed it.
    pub checkpoint: u64,
    /// The parallelism and subtask that wrote it: its id and marker group derive from them.
    pub parallelism: u32,
    pub subtask: u32,
    /// The records, each as `[key length + 1, or 0 without key][key][value length, or
    /// u32::MAX for a tombstone][value]` with the lengths as little-endian u32, then
    /// `[partition + 1, or 0]` as i32.
    pub log: Vec<u8>,
}

impl PreparedTransaction {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self> {
        postcard::from_bytes(bytes).map_err(|error| {
            Error::state(format!(
                "Kafka sink: a checkpointed transaction of {} bytes cannot be read ({error}); \
                 restore from a checkpoint this job wrote",
                bytes.len()
            ))
        })
    }
}

pub(crate) fn transactional_id(prefix: &str, parallelism: usize, subtask: usize, n: u64) -> String {
    format!("{prefix}-{parallelism}-{subtask}-{n}")
}

pub(crate) fn marker_group(prefix: &str, parallelism: usize, subtask: usize) -> String {
    format!("{prefix}-{parallelism}-{subtask}")
}

/// Appends one record to a write-ahead log.
pub(crate) fn log_record(
    log: &mut Vec<u8>,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    partition: Option<i32>,
) {
    match key {
        Some(key) => {
            log.extend_from_slice(&(key.len() as u32 + 1).to_le_bytes());
            log.extend_from_slice(key);
        }
        None => log.extend_from_slice(&0u32.to_le_bytes()),
    }
    match value {
        Some(value) => {
            log.extend_from_slice(&(value.len() as u32).to_le_bytes());
            log.extend_from_slice(value);
        }
        None => log.extend_from_slice(&TOMBSTONE.to_le_bytes()),
    }
    log.extend_from_slice(&partition.map_or(0, |p| p + 1).to_le_bytes());
}

/// The value length that marks a logged tombstone.
const TOMBSTONE: u32 = u32::MAX;

/// One logged record: key, value (`None` for a tombstone), partition.
type LoggedRecord<'a> = (Option<&'a [u8]>, Option<&'a [u8]>, Option<i32>);

/// The records of a write-ahead log, or an error at the first malformed one.
pub(crate) fn logged_records(log: &[u8]) -> Result<Vec<LoggedRecord<'_>>> {
    let malformed = |at: usize| {
        Error::state(format!(
            "Kafka sink: the write-ahead log of a checkpointed transaction is cut short at \
             byte {at} of {}",
            log.len()
        ))
    };
    let mut records = Vec::new();
    let mut at = 0;
    let take = |at: &mut usize, len: usize| -> Result<&[u8]> {
        let bytes = log.get(*at..*at + len).ok_or_else(|| malformed(*at))?;
        *at += len;
        Ok(bytes)
    };
    let number = |bytes: &[u8]| u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    while at < log.len() {
        let key_len = number(take(&mut at, 4)?) as usize;
        let key = if key_len == 0 {
            None
        } else {
            Some(take(&mut at, key_len - 1)?)
        };
        let value = match number(take(&mut at, 4)?) {
            TOMBSTONE => None,
            value_len => Some(take(&mut at, value_len as usize)?),
        };
        let partition = number(take(&mut at, 4)?) as i32;
        records.push((key, value, (partition > 0).then_some(partition - 1)));
    }
    Ok(records)
}

/// The group metadata a transaction commits its marker under.
fn marker_consumer(settings: &SinkSettings, group: &str) -> Result<BaseConsumer> {
    settings
        .properties
        .client_config(&[("group.id", group), ("enable.auto.commit", "false")])
        .create()
        .map_err(|error| {
            kafka_error(
                ROLE,
                settings.properties.bootstrap_servers(),
                "creating the marker client",
                error,
            )
        })
}

/// Adds the marker `checkpoint` for `group` to the producer's open transaction.
pub(crate) fn send_marker(
    settings: &SinkSettings,
    producer: &BaseProducer<DeliveryContext>,
    marker: &BaseConsumer,
    checkpoint: u64,
) -> Result<()> {
    let mut offsets = TopicPartitionList::with_capacity(1);
    offsets
        .add_partition_offset(&settings.topic, 0, Offset::Offset(checkpoint as i64))
        .map_err(|error| {
            kafka_error(
                ROLE,
                settings.properties.bootstrap_servers(),
                "marking the transaction",
                error,
            )
        })?;
    let metadata = marker.group_metadata().ok_or_else(|| {
        Error::function(format!(
            "{ROLE}: the marker client has no consumer group metadata"
        ))
    })?;
    producer
        .send_offsets_to_transaction(&offsets, &metadata, settings.properties.request_timeout())
        .map_err(|error| {
            kafka_error(
                ROLE,
                settings.properties.bootstrap_servers(),
                "marking the transaction",
                error,
            )
        })
}

pub(crate) fn new_marker_consumer(
    settings: &SinkSettings,
    parallelism: usize,
    subtask: usize,
) -> Result<BaseConsumer> {
    marker_consumer(
        settings,
        &marker_group(&settings.transactional_id_prefix, parallelism, subtask),
    )
}

/// Whether the transaction committed: its marker group's offset reached its checkpoint.
fn committed(settings: &SinkSettings, marker: &BaseConsumer, checkpoint: u64) -> Result<bool> {
    let mut list = TopicPartitionList::with_capacity(1);
    list.add_partition_offset(&settings.topic, 0, Offset::Invalid)
        .map_err(|error| {
            kafka_error(
                ROLE,
                settings.properties.bootstrap_servers(),
                "reading a marker",
                error,
            )
        })?;
    // The group coordinator may still be loading after a broker restart (NOT_COORDINATOR,
    // COORDINATOR_LOAD_IN_PROGRESS): retried within request.timeout.ms.
    let deadline = Instant::now() + settings.properties.request_timeout();
    let list = loop {
        match marker.committed_offsets(list.clone(), settings.properties.request_timeout()) {
            Ok(list) => break list,
            Err(_) if Instant::now() < deadline => std::thread::sleep(RETRY_PAUSE),
            Err(error) => {
                return Err(kafka_error(
                    ROLE,
                    settings.properties.bootstrap_servers(),
                    "reading a transaction marker",
                    error,
                ));
            }
        }
    };
    let offset = list
        .find_partition(&settings.topic, 0)
        .map(|element| element.offset());
    Ok(matches!(offset, Some(Offset::Offset(marked)) if marked >= checkpoint as i64))
}

/// Makes sure a restored prepared transaction is committed exactly once: see the module
/// documentation.
pub(crate) fn settle(settings: &SinkSettings, prepared: &PreparedTransaction) -> Result<()> {
    let marker = marker_consumer(
        settings,
        &marker_group(
            &settings.transactional_id_prefix,
            prepared.parallelism as usize,
            prepared.subtask as usize,
        ),
    )?;
    let records = logged_records(&prepared.log)?;
    let producer = create_producer(settings, Some(&prepared.transactional_id))?;
    let servers = settings.properties.bootstrap_servers();
    let timeout = settings.properties.request_timeout();
    let failed = |action: &str| {
        let action = format!("{action} transaction '{}'", prepared.transactional_id);
        move |error| kafka_error(ROLE, servers, &action, error)
    };
    // Ends the transaction if it is still open (aborting it): until then its marker offset
    // is pending and the group's offsets cannot be read.
    producer
        .init_transactions(timeout)
        .map_err(failed("initializing"))?;
    if committed(settings, &marker, prepared.checkpoint)? {
        return Ok(());
    }
    producer.begin_transaction().map_err(failed("beginning"))?;
    for (key, value, partition) in records {
        let mut record = BaseRecord::<[u8], [u8]>::to(&settings.topic);
        if let Some(value) = value {
            record = record.payload(value);
        }
        if let Some(key) = key {
            record = record.key(key);
        }
        if let Some(partition) = partition {
            record = record.partition(partition);
        }
        send_blocking(&producer, record, settings)?;
    }
    send_marker(settings, &producer, &marker, prepared.checkpoint)?;
    producer
        .commit_transaction(timeout)
        .map_err(failed("committing"))?;
    producer.context().check(&settings.topic)
}

/// Sends a record, polling while librdkafka's queue is full.
pub(crate) fn send_blocking(
    producer: &BaseProducer<DeliveryContext>,
    mut record: BaseRecord<'_, [u8], [u8]>,
    settings: &SinkSettings,
) -> Result<()> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((
                rdkafka::error::KafkaError::MessageProduction(
                    rdkafka::types::RDKafkaErrorCode::QueueFull,
                ),
                returned,
            )) => {
                record = returned;
                producer.poll(Duration::from_millis(10));
            }
            Err((error, _)) => {
                return Err(kafka_error(
                    ROLE,
                    settings.properties.bootstrap_servers(),
                    &format!("writing to topic '{}'", settings.topic),
                    error,
                ));
            }
        }
    }
}

/// Aborts whatever transaction `transactional_id` has open, by initializing it.
pub(crate) fn abort_lingering(settings: &SinkSettings, transactional_id: &str) -> Result<()> {
    let producer = create_producer(settings, Some(transactional_id))?;
    producer
        .init_transactions(settings.properties.request_timeout())
        .map_err(|error| {
            kafka_error(
                ROLE,
                settings.properties.bootstrap_servers(),
                &format!("aborting lingering transaction '{transactional_id}'"),
                error,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_ahead_log_round_trips_and_a_cut_one_is_an_error() {
        let mut log = Vec::new();
        log_record(&mut log, Some(b"k"), Some(b"value one"), None);
        log_record(&mut log, None, Some(b""), Some(4));
        log_record(&mut log, Some(b""), Some(b"3"), Some(0));
        log_record(&mut log, Some(b"gone"), None, None);
        let records = logged_records(&log).unwrap();
        assert_eq!(
            records,
            vec![
                (Some(&b"k"[..]), Some(&b"value one"[..]), None),
                (None, Some(&b""[..]), Some(4)),
                (Some(&b""[..]), Some(&b"3"[..]), Some(0)),
                (Some(&b"gone"[..]), None, None),
            ],
            "an empty value and a tombstone stay apart"
        );
        let error = logged_records(&log[..log.len() - 2])
            .unwrap_err()
            .to_string();
        assert!(error.contains("cut short at byte"), "{error}");
    }

    #[test]
    fn ids_name_prefix_parallelism_subtask_and_sequence() {
        assert_eq!(transactional_id("job", 3, 1, 42), "job-3-1-42");
        assert_eq!(marker_group("job", 3, 1), "job-3-1");
    }
}
