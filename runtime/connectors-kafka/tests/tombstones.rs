//! Keys and tombstones through the exactly-once sink, against a real broker: a record the
//! serializer marks as a tombstone arrives with its key and a null value, distinct from an
//! empty value (what `upsert-kafka` writes for a delete).

use std::time::{Duration, Instant};

use flinkrs_kafka::{DeliveryGuarantee, KafkaSink, SerializedRecord};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

mod common;

/// A record's key and value, `None` when missing.
type KeyedRecord = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Every record of partition 0 of `topic`, in order.
fn keyed_records(servers: &str, topic: &str) -> Vec<KeyedRecord> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", "flinkrs-test-reader")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let started = Instant::now();
    let mut records = Vec::new();
    loop {
        assert!(started.elapsed() < common::PATIENCE, "{topic}: no end");
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(message)) => records.push((
                message.key().map(<[u8]>::to_vec),
                message.payload().map(<[u8]>::to_vec),
            )),
            Some(Err(KafkaError::PartitionEOF(_))) => return records,
            Some(Err(error)) => panic!("reading {topic}: {error}"),
        }
    }
}

#[test]
fn tombstones_arrive_as_keys_with_a_null_value() {
    let Some(broker) = common::broker(
        "tombstones_arrive_as_keys_with_a_null_value",
        &[("upserts", 1)],
    ) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    let checkpoints = tempfile::tempdir().unwrap();
    let env = common::checkpointed(1, checkpoints.path(), None);
    // (key, value): no value is a delete.
    let changes: Vec<(String, Option<String>)> = vec![
        ("a".into(), Some("1".into())),
        ("b".into(), Some(String::new())),
        ("a".into(), None),
        ("b".into(), Some("2".into())),
    ];
    let sink = KafkaSink::builder()
        .bootstrap_servers(servers.as_str())
        .topic("upserts")
        .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("tombstones")
        .serializer(
            |(key, value): &(String, Option<String>), out: &mut SerializedRecord| {
                out.key.extend_from_slice(key.as_bytes());
                out.has_key = true;
                match value {
                    Some(value) => out.value.extend_from_slice(value.as_bytes()),
                    None => out.tombstone = true,
                }
                Ok(())
            },
        )
        .build()
        .unwrap();
    sink.sink(&env.from_collection(changes), "Upserts");
    env.execute("tombstones").unwrap();

    let bytes = |text: &str| Some(text.as_bytes().to_vec());
    assert_eq!(
        keyed_records(servers, "upserts"),
        [
            (bytes("a"), bytes("1")),
            (bytes("b"), bytes("")),
            (bytes("a"), None),
            (bytes("b"), bytes("2")),
        ]
    );
}
