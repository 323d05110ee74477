//! A job reading 6 partitions at parallelism 2 is cancelled after a checkpoint and resumes
//! at parallelism 3: every offset is read exactly once. The exactly-once sink rescales too.

use flinkrs_api::prelude::*;
use flinkrs_connectors::RateLimitedSource;
use flinkrs_kafka::{
    DeliveryGuarantee, KafkaRecord, KafkaSink, KafkaSource, RawValues, StartupMode,
};

mod common;

const PARTITIONS: i32 = 6;
const PER_PARTITION: u64 = 200;

/// events (6 partitions) → `"<partition>:<offset>"` → offsets (exactly-once), at
/// `parallelism`, throttled so that the first run is cancelled midway.
fn offsets_job(
    servers: &str,
    parallelism: usize,
    checkpoints: &std::path::Path,
    restore_from: Option<&str>,
) -> StreamExecutionEnvironment {
    let env = common::checkpointed(parallelism, checkpoints, restore_from);
    let source = KafkaSource::builder()
        .bootstrap_servers(servers)
        .topics(["events"])
        .starting_offsets(StartupMode::EarliestOffset)
        .bounded()
        .deserializer(|record: &KafkaRecord<'_>| {
            Ok(Some(format!("{}:{}", record.partition, record.offset)))
        })
        .build()
        .unwrap();
    let sink = KafkaSink::builder()
        .bootstrap_servers(servers)
        .topic("offsets")
        .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("rescale")
        .serializer::<String, _>(RawValues)
        .build()
        .unwrap();
    let offsets = env.add_source("Events", move |_| {
        Ok(RateLimitedSource::new(source.reader(), 400))
    });
    sink.sink(&offsets, "Offsets");
    env
}

#[test]
fn six_partitions_read_at_parallelism_2_resume_at_3_with_every_offset_once() {
    let Some(broker) = common::broker(
        "six_partitions_read_at_parallelism_2_resume_at_3_with_every_offset_once",
        &[("events", PARTITIONS as u32), ("offsets", 2)],
    ) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    common::produce_numbers(
        servers,
        "events",
        PARTITIONS,
        PARTITIONS as u64 * PER_PARTITION,
    );
    let checkpoints = tempfile::tempdir().unwrap();

    let first = offsets_job(servers, 2, checkpoints.path(), None)
        .execute_async("offsets at p=2")
        .unwrap();
    let client = first.client();
    first
        .completed_checkpoints()
        .recv_timeout(common::PATIENCE)
        .expect("a checkpoint completes");
    first.cancel();
    assert!(matches!(first.wait(), Err(Error::Cancelled)));
    let checkpoint = client
        .retained_checkpoint()
        .expect("RETAIN_ON_CANCELLATION keeps the latest checkpoint");
    let after_first = common::read_all(servers, "offsets", "read_committed").len() as u64;
    assert!(
        after_first < PARTITIONS as u64 * PER_PARTITION,
        "the first run was cancelled midway ({after_first} records committed)"
    );

    offsets_job(
        servers,
        3,
        checkpoints.path(),
        Some(&checkpoint.location.to_string()),
    )
    .execute("offsets at p=3")
    .unwrap();

    let mut read = common::read_all(servers, "offsets", "read_committed");
    read.sort();
    let mut expected: Vec<String> = (0..PARTITIONS)
        .flat_map(|partition| (0..PER_PARTITION).map(move |offset| format!("{partition}:{offset}")))
        .collect();
    expected.sort();
    assert_eq!(
        read, expected,
        "every offset of every partition, exactly once"
    );
}
