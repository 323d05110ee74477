//! The Kafka source against a real broker: Flink's startup modes, offsets committed to the
//! group when checkpoints complete, and bad input (an unknown topic, an unreachable broker,
//! malformed records).

use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;
use flinkrs_kafka::{JsonRecords, KafkaSource, RawText, StartupMode};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

mod common;

/// The first test record's timestamp (a fixed day in 2023: Kafka takes 0 as "now").
const BASE_MILLIS: i64 = 1_700_000_000_000;

/// Reads `topic` with `startup` (bounded) at parallelism 1 and returns the values, or the
/// job's error.
fn read(
    servers: &str,
    topic: &str,
    startup: StartupMode,
    properties: &[(&str, &str)],
) -> Result<Vec<String>> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1)?;
    let mut builder = KafkaSource::builder()
        .bootstrap_servers(servers)
        .topics([topic])
        .starting_offsets(startup)
        .bounded();
    for (key, value) in properties {
        builder = builder.property(*key, *value);
    }
    let source = builder.deserializer(RawText).build()?;
    let values = source.stream(&env, "Values").collect();
    env.execute("read")?;
    Ok(values.take())
}

fn commit_group_offset(servers: &str, group: &str, topic: &str, offset: i64) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset(topic, 0, Offset::Offset(offset))
        .unwrap();
    consumer.commit(&offsets, CommitMode::Sync).unwrap();
}

/// The group's committed offset, or `Err` while the broker cannot say yet (its group
/// coordinator is still loading).
fn committed_group_offset(
    servers: &str,
    group: &str,
    topic: &str,
) -> std::result::Result<Option<i64>, rdkafka::error::KafkaError> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", group)
        .create()
        .unwrap();
    let mut partitions = TopicPartitionList::new();
    partitions
        .add_partition_offset(topic, 0, Offset::Invalid)
        .unwrap();
    let committed = consumer.committed_offsets(partitions, common::PATIENCE)?;
    Ok(
        match committed
            .find_partition(topic, 0)
            .map(|element| element.offset())
        {
            Some(Offset::Offset(offset)) => Some(offset),
            _ => None,
        },
    )
}

fn strings(range: std::ops::Range<u32>) -> Vec<String> {
    range.map(|n| n.to_string()).collect()
}

#[test]
fn every_startup_mode_starts_where_flink_would() {
    let Some(broker) = common::broker(
        "every_startup_mode_starts_where_flink_would",
        &[("modes", 1)],
    ) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    // Values 0..10, one second apart.
    common::produce(
        servers,
        "modes",
        (0..10).map(|n| (0, None, n.to_string(), Some(BASE_MILLIS + 1_000 * n))),
    );
    let read = |startup, properties: &[(&str, &str)]| read(servers, "modes", startup, properties);

    assert_eq!(
        read(StartupMode::EarliestOffset, &[]).unwrap(),
        strings(0..10)
    );
    assert_eq!(read(StartupMode::LatestOffset, &[]).unwrap(), strings(0..0));
    assert_eq!(
        read(StartupMode::Timestamp(BASE_MILLIS + 5_000), &[]).unwrap(),
        strings(5..10)
    );
    assert_eq!(
        read(StartupMode::Timestamp(BASE_MILLIS + 4_500), &[]).unwrap(),
        strings(5..10)
    );
    let specific = StartupMode::parse(
        "specific-offsets",
        "modes",
        None,
        Some("partition:0,offset:7"),
    )
    .unwrap();
    assert_eq!(read(specific, &[]).unwrap(), strings(7..10));

    commit_group_offset(servers, "committed-at-4", "modes", 4);
    assert_eq!(
        read(StartupMode::GroupOffsets, &[("group.id", "committed-at-4")]).unwrap(),
        strings(4..10)
    );
    let error = read(
        StartupMode::GroupOffsets,
        &[("group.id", "never-committed")],
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(
            "consumer group 'never-committed' has no committed offset for topic 'modes' \
             partition 0; set properties.auto.offset.reset"
        ),
        "{error}"
    );
    assert_eq!(
        read(
            StartupMode::GroupOffsets,
            &[
                ("group.id", "never-committed"),
                ("auto.offset.reset", "earliest")
            ]
        )
        .unwrap(),
        strings(0..10)
    );
}

#[test]
fn completed_checkpoints_commit_the_read_offsets_to_the_group() {
    let Some(broker) = common::broker(
        "completed_checkpoints_commit_the_read_offsets_to_the_group",
        &[("monitored", 1)],
    ) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    common::produce_numbers(servers, "monitored", 1, 25);
    let checkpoints = tempfile::tempdir().unwrap();
    let env = common::checkpointed(1, checkpoints.path(), None);
    let source = KafkaSource::builder()
        .bootstrap_servers(servers.as_str())
        .topics(["monitored"])
        .group_id("monitoring")
        .starting_offsets(StartupMode::EarliestOffset)
        .deserializer(RawText)
        .build()
        .unwrap();
    source.stream(&env, "Numbers").discard();
    let job = env.execute_async("monitored").unwrap();
    // The committed offset reaches the end of the topic once a checkpoint after the last
    // record completes: polled with a deadline, a real condition.
    let started = Instant::now();
    while !matches!(
        committed_group_offset(servers, "monitoring", "monitored"),
        Ok(Some(25))
    ) {
        assert!(
            started.elapsed() < common::PATIENCE,
            "the group's offset never reached 25"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
}

#[test]
fn an_unknown_topic_fails_the_job_naming_it() {
    let Some(broker) = common::broker(
        "an_unknown_topic_fails_the_job_naming_it",
        &[("present", 1)],
    ) else {
        return;
    };
    let error = read(
        &broker.bootstrap_servers,
        "absent",
        StartupMode::EarliestOffset,
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(&format!(
            "topic 'absent' does not exist on bootstrap.servers '{}'",
            broker.bootstrap_servers
        )),
        "{error}"
    );
}

#[test]
fn an_unreachable_broker_fails_the_job_within_the_request_timeout() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let servers = format!("127.0.0.1:{port}");
    let started = Instant::now();
    let error = read(
        &servers,
        "anything",
        StartupMode::EarliestOffset,
        &[("request.timeout.ms", "2000")],
    )
    .unwrap_err()
    .to_string();
    let waited = started.elapsed();
    assert!(
        error.contains(&format!("bootstrap.servers '{servers}'"))
            && error.contains("fetching the metadata of topic 'anything' within 2s")
            && error.contains("check that the brokers run and are reachable"),
        "{error}"
    );
    assert!(waited < Duration::from_secs(10), "failed after {waited:?}");
}

#[test]
fn a_malformed_json_record_fails_naming_its_offset_or_is_skipped_when_allowed() {
    let Some(broker) = common::broker(
        "a_malformed_json_record_fails_naming_its_offset_or_is_skipped_when_allowed",
        &[("orders", 1)],
    ) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    let records = [
        r#"{"id":1,"item":"tea"}"#,
        "not json",
        r#"{"id":3,"item":"rice"}"#,
    ];
    common::produce(
        servers,
        "orders",
        records
            .iter()
            .map(|value| (0, None, (*value).to_owned(), None)),
    );
    #[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Order {
        id: u64,
        item: String,
    }
    let run = |ignore_parse_errors: bool| {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(1).unwrap();
        let source = KafkaSource::builder()
            .bootstrap_servers(servers.as_str())
            .topics(["orders"])
            .starting_offsets(StartupMode::EarliestOffset)
            .bounded()
            .deserializer(JsonRecords::<Order>::new().ignore_parse_errors(ignore_parse_errors))
            .build()
            .unwrap();
        let orders = source.stream(&env, "Orders").collect();
        env.execute("orders").map(|_| orders.take())
    };
    let error = run(false).unwrap_err().to_string();
    assert!(
        error.contains("malformed input in topic 'orders', partition 0, offset 1: the value is not a JSON document"),
        "{error}"
    );
    assert_eq!(
        run(true).unwrap(),
        vec![
            Order {
                id: 1,
                item: "tea".into()
            },
            Order {
                id: 3,
                item: "rice".into()
            },
        ]
    );
}
