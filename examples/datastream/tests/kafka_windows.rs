//! The Kafka → keyed window → Kafka example against a real broker, on exact output.

use std::time::Duration;

use flinkrs_api::prelude::*;
use flinkrs_kafka::{DeliveryGuarantee, KafkaSink, KafkaSource, RawText, RawValues, StartupMode};
use flinkrs_testbed::KafkaBroker;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

const PATIENCE: Duration = Duration::from_secs(60);
/// A fixed minute in 2023, a multiple of the 10-second window.
const BASE: i64 = 1_700_000_000_000;

fn produce_events(servers: &str) {
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .unwrap();
    // (key, seconds after BASE): two windows, [BASE, BASE+10 s) and [BASE+10 s, BASE+20 s).
    let events = [
        ("a", 1),
        ("b", 2),
        ("a", 3),
        ("a", 9),
        ("b", 11),
        ("a", 12),
        ("b", 19),
        ("b", 14),
    ];
    for (index, (key, seconds)) in events.iter().enumerate() {
        let record = BaseRecord::<(), str>::to("events")
            .partition((index % 2) as i32)
            .payload(*key)
            .timestamp(BASE + seconds * 1_000);
        producer.send(record).map_err(|(error, _)| error).unwrap();
    }
    producer.flush(PATIENCE).unwrap();
}

fn read_committed(servers: &str, topic: &str) -> Vec<String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", "example-reader")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let mut values = Vec::new();
    loop {
        match consumer.poll(PATIENCE) {
            Some(Ok(message)) => values
                .push(String::from_utf8(message.payload().unwrap_or_default().to_vec()).unwrap()),
            Some(Err(KafkaError::PartitionEOF(_))) => return values,
            Some(Err(error)) => panic!("{error}"),
            None => panic!("{topic} did not reach its end within {PATIENCE:?}"),
        }
    }
}

#[test]
fn windowed_counts_from_kafka_to_kafka_are_exact() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(broker) = runtime.block_on(KafkaBroker::start(
        "windowed_counts_from_kafka_to_kafka_are_exact",
    )) else {
        return;
    };
    broker.create_topic("events", 2).unwrap();
    broker.create_topic("event-counts", 1).unwrap();
    let servers = broker.bootstrap_servers.as_str();
    produce_events(servers);

    let checkpoints = tempfile::tempdir().unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    env.set("execution.checkpointing.interval", "100 ms")
        .unwrap();
    env.set(
        "execution.checkpointing.dir",
        checkpoints.path().display().to_string(),
    )
    .unwrap();
    let events = KafkaSource::builder()
        .bootstrap_servers(servers)
        .topics(["events"])
        .starting_offsets(StartupMode::EarliestOffset)
        .bounded()
        .deserializer(RawText)
        .build()
        .unwrap()
        .stream(&env, "Events");
    let sink = KafkaSink::builder()
        .bootstrap_servers(servers)
        .topic("event-counts")
        .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("example-windows")
        .serializer::<String, _>(RawValues)
        .build()
        .unwrap();
    sink.sink(&flinkrs_examples::windowed_counts(&events), "Event counts");
    env.execute("Kafka windows").unwrap();

    let mut counts = read_committed(servers, "event-counts");
    counts.sort();
    let first = BASE;
    let second = BASE + 10_000;
    assert_eq!(
        counts,
        vec![
            format!("a,{first},3"),
            format!("a,{second},1"),
            format!("b,{first},1"),
            format!("b,{second},3"),
        ]
    );
}
