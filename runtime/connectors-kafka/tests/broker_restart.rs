//! The broker restarts in the middle of an exactly-once job: the job recovers (librdkafka
//! reconnects, or the job restarts from its latest checkpoint) and a `read_committed`
//! consumer sees every record exactly once.

use flinkrs_connectors::RateLimitedSource;
use flinkrs_kafka::{DeliveryGuarantee, KafkaSink, KafkaSource, RawText, RawValues, StartupMode};

mod common;

const RECORDS: u64 = 4_000;

#[test]
fn a_broker_restart_mid_job_loses_and_duplicates_nothing() {
    let Some(mut broker) = common::broker(
        "a_broker_restart_mid_job_loses_and_duplicates_nothing",
        &[("numbers", 2), ("copies", 2)],
    ) else {
        return;
    };
    let servers = broker.bootstrap_servers.clone();
    common::produce_numbers(&servers, "numbers", 2, RECORDS);
    let checkpoints = tempfile::tempdir().unwrap();
    let env = common::checkpointed(2, checkpoints.path(), None);
    env.set("restart-strategy.type", "fixed-delay").unwrap();
    env.set("restart-strategy.fixed-delay.attempts", "20")
        .unwrap();
    env.set("restart-strategy.fixed-delay.delay", "500 ms")
        .unwrap();
    let source = KafkaSource::builder()
        .bootstrap_servers(servers.as_str())
        .topics(["numbers"])
        .starting_offsets(StartupMode::EarliestOffset)
        .bounded()
        .property("request.timeout.ms", "10000")
        .deserializer(RawText)
        .build()
        .unwrap();
    let sink = KafkaSink::builder()
        .bootstrap_servers(servers.as_str())
        .topic("copies")
        .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("broker-restart")
        .property("request.timeout.ms", "10000")
        .serializer::<String, _>(RawValues)
        .build()
        .unwrap();
    let copies = env.add_source("Numbers", move |_| {
        Ok(RateLimitedSource::new(source.reader(), 1_000))
    });
    sink.sink(&copies, "Copies");
    let job = env.execute_async("copy across a broker restart").unwrap();
    job.completed_checkpoints()
        .recv_timeout(common::PATIENCE)
        .expect("a checkpoint completes before the restart");

    // Stops the broker and starts it again on the same ports with the same data.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(broker.restart()).unwrap();

    job.wait().unwrap();
    let committed = common::read_all(&servers, "copies", "read_committed");
    assert_eq!(
        common::sorted_numbers(&committed),
        (0..RECORDS).collect::<Vec<_>>(),
        "every record exactly once across the broker restart"
    );
}
