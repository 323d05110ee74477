//! What the Kafka tests share: a real broker from the testbed, a producer that fills a
//! topic, a `read_committed` reader that reads a topic to its end, and job environments.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of this module"
)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;
use flinkrs_testbed::KafkaBroker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// A broker with the given topics (name, partitions), or `None` (skipped) when Kafka is
/// not installed.
pub fn broker(test_name: &str, topics: &[(&str, u32)]) -> Option<KafkaBroker> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let broker = runtime.block_on(KafkaBroker::start(test_name))?;
    for (topic, partitions) in topics {
        broker.create_topic(topic, *partitions).unwrap();
    }
    Some(broker)
}

/// Writes `records` (partition, key, value, timestamp) to `topic` and waits until the broker
/// has them all.
pub fn produce(
    servers: &str,
    topic: &str,
    records: impl IntoIterator<Item = (i32, Option<String>, String, Option<i64>)>,
) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for (partition, key, value, timestamp) in records {
        let mut record = BaseRecord::to(topic).partition(partition).payload(&value);
        if let Some(key) = &key {
            record = record.key(key);
        }
        if let Some(timestamp) = timestamp {
            record = record.timestamp(timestamp);
        }
        let mut pending = record;
        loop {
            match producer.send(pending) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(_), returned)) => {
                    pending = returned;
                    producer.poll(Duration::from_millis(10));
                }
                Err((error, _)) => panic!("producing to {topic}: {error}"),
            }
        }
    }
    producer.flush(PATIENCE).unwrap();
}

/// `count` values `"0"`, `"1"`, … written round-robin over `partitions` partitions.
pub fn produce_numbers(servers: &str, topic: &str, partitions: i32, count: u64) {
    produce(
        servers,
        topic,
        (0..count).map(|n| ((n % partitions as u64) as i32, None, n.to_string(), None)),
    );
}

/// Every value of `topic` a consumer with `isolation` (`read_committed` or
/// `read_uncommitted`) sees, reading every partition from its start to its end.
pub fn read_all(servers: &str, topic: &str, isolation: &str) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", "flinkrs-test-reader")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .create()
        .unwrap();
    let metadata = consumer.fetch_metadata(Some(topic), PATIENCE).unwrap();
    let partitions: Vec<i32> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|partition| partition.id())
        .collect();
    let mut assignment = TopicPartitionList::new();
    for partition in &partitions {
        assignment
            .add_partition_offset(topic, *partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut at_end = BTreeSet::new();
    let mut values = Vec::new();
    let started = Instant::now();
    while at_end.len() < partitions.len() {
        assert!(
            started.elapsed() < PATIENCE,
            "{topic}: partitions {at_end:?} of {partitions:?} reached their end within {PATIENCE:?}"
        );
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                let value = message.payload().unwrap_or_default();
                values.push(String::from_utf8(value.to_vec()).unwrap());
            }
            Some(Err(KafkaError::PartitionEOF(partition))) => {
                at_end.insert(partition);
            }
            Some(Err(error)) => panic!("reading {topic}: {error}"),
        }
    }
    values
}

/// Sorted numbers, for comparing a topic's content with what was written.
pub fn sorted_numbers(values: &[String]) -> Vec<u64> {
    let mut numbers: Vec<u64> = values.iter().map(|value| value.parse().unwrap()).collect();
    numbers.sort_unstable();
    numbers
}

/// An environment at `parallelism` checkpointing every 100 ms (an exactly-once checkpoint
/// costs the sink a few broker round trips) into `checkpoints`, keeping
/// them past a cancel, and restoring from `restore_from` when given.
pub fn checkpointed(
    parallelism: usize,
    checkpoints: &Path,
    restore_from: Option<&str>,
) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    env.set("execution.checkpointing.interval", "100 ms")
        .unwrap();
    env.set(
        "execution.checkpointing.dir",
        checkpoints.display().to_string(),
    )
    .unwrap();
    env.set(
        "execution.checkpointing.externalized-checkpoint-retention",
        "RETAIN_ON_CANCELLATION",
    )
    .unwrap();
    if let Some(location) = restore_from {
        env.set("execution.state-recovery.path", location).unwrap();
    }
    env
}
