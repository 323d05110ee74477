//! Periodic partition discovery against a real broker: partitions added to the topic of a
//! running job are read from their earliest offset, and partitions added while the job is
//! stopped are read after it restores from its checkpoint, each record exactly once.

use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;
use flinkrs_kafka::{DeliveryGuarantee, KafkaSink, KafkaSource, RawText, RawValues, StartupMode};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

mod common;

/// Between two looks at the output topic or the topic's metadata.
const LOOK_PAUSE: Duration = Duration::from_millis(50);

/// growing → growing-copies (exactly-once) at parallelism 2, looking for new partitions
/// every 100 ms.
fn copy_job(
    servers: &str,
    checkpoints: &std::path::Path,
    restore_from: Option<&str>,
) -> StreamExecutionEnvironment {
    let env = common::checkpointed(2, checkpoints, restore_from);
    let source = KafkaSource::builder()
        .bootstrap_servers(servers)
        .topics(["growing"])
        .starting_offsets(StartupMode::EarliestOffset)
        .partition_discovery_interval(Duration::from_millis(100))
        .deserializer(RawText)
        .build()
        .unwrap();
    let sink = KafkaSink::builder()
        .bootstrap_servers(servers)
        .topic("growing-copies")
        .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("discovery")
        .serializer::<String, _>(RawValues)
        .build()
        .unwrap();
    sink.sink(&source.stream(&env, "Growing"), "Copies");
    env
}

/// Writes `"<round>:<partition>-<n>"` for `n` in `0..5` to each of `partitions`.
fn produce_to(servers: &str, round: u32, partitions: std::ops::Range<i32>) {
    common::produce(
        servers,
        "growing",
        partitions.flat_map(|partition| {
            (0..5).map(move |n| (partition, None, format!("{round}:{partition}-{n}"), None))
        }),
    );
}

/// What [`produce_to`] wrote.
fn written(round: u32, partitions: std::ops::Range<i32>) -> Vec<String> {
    partitions
        .flat_map(|partition| (0..5).map(move |n| format!("{round}:{partition}-{n}")))
        .collect()
}

/// Adds partitions to `growing` until it has `count`, and waits until a fresh client sees
/// them all (so that records written to them next are not refused as unknown partitions).
fn grow(broker: &flinkrs_testbed::KafkaBroker, count: u32) {
    broker.add_partitions("growing", count).unwrap();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &broker.bootstrap_servers)
        .create()
        .unwrap();
    let started = Instant::now();
    loop {
        let metadata = consumer
            .fetch_metadata(Some("growing"), common::PATIENCE)
            .unwrap();
        if metadata.topics()[0].partitions().len() == count as usize {
            return;
        }
        assert!(
            started.elapsed() < common::PATIENCE,
            "the broker did not show {count} partitions within {:?}",
            common::PATIENCE
        );
        std::thread::sleep(LOOK_PAUSE);
    }
}

/// Waits until a `read_committed` consumer sees `expected` (sorted) in the output topic,
/// failing on anything else once the deadline passes.
fn wait_for_copies(servers: &str, expected: &[String]) {
    let started = Instant::now();
    loop {
        let mut copies = common::read_all(servers, "growing-copies", "read_committed");
        copies.sort();
        if copies == expected {
            return;
        }
        assert!(
            copies.len() <= expected.len() && started.elapsed() < common::PATIENCE,
            "expected the copies {expected:?}, found {copies:?}"
        );
        std::thread::sleep(LOOK_PAUSE);
    }
}

#[test]
fn partitions_added_while_the_job_runs_or_is_stopped_are_read_from_their_start() {
    let Some(broker) = common::broker(
        "partitions_added_while_the_job_runs_or_is_stopped_are_read_from_their_start",
        &[("growing", 2), ("growing-copies", 1)],
    ) else {
        return;
    };
    let servers = broker.bootstrap_servers.clone();
    produce_to(&servers, 1, 0..2);
    let checkpoints = tempfile::tempdir().unwrap();

    let job = copy_job(&servers, checkpoints.path(), None)
        .execute_async("copy a growing topic")
        .unwrap();
    let client = job.client();
    let mut expected = written(1, 0..2);
    expected.sort();
    wait_for_copies(&servers, &expected);

    // Three partitions more while the job runs; their records are written before any
    // reader can have found them, so only reading from the earliest offset finds them all.
    grow(&broker, 5);
    produce_to(&servers, 2, 0..5);
    expected.extend(written(2, 0..5));
    expected.sort();
    wait_for_copies(&servers, &expected);

    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
    let checkpoint = client
        .retained_checkpoint()
        .expect("RETAIN_ON_CANCELLATION keeps the latest checkpoint");

    // Two partitions more while the job is stopped: the restored readers know from the
    // checkpoint that the job had assigned 5, and read partitions 5 and 6 from their start.
    grow(&broker, 7);
    produce_to(&servers, 3, 5..7);
    let job = copy_job(
        &servers,
        checkpoints.path(),
        Some(&checkpoint.location.to_string()),
    )
    .execute_async("copy a growing topic, restored")
    .unwrap();
    expected.extend(written(3, 5..7));
    expected.sort();
    wait_for_copies(&servers, &expected);
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
}
