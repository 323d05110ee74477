//! `cargo run -p flinkrs-examples --bin kafka_windows -- BOOTSTRAP_SERVERS [IN_TOPIC] [OUT_TOPIC]`:
//! counts the events of each key (the record value) per 10-second window of event time,
//! reading `events` and writing `key,window_start,count` lines to `event-counts`, exactly once
//! (checkpoints every 10 s, a Kafka transaction each).

use flinkrs_api::prelude::*;
use flinkrs_kafka::{DeliveryGuarantee, KafkaSink, KafkaSource, RawText, RawValues, StartupMode};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let servers = args.next().unwrap_or_else(|| "127.0.0.1:9092".to_owned());
    let input = args.next().unwrap_or_else(|| "events".to_owned());
    let output = args.next().unwrap_or_else(|| "event-counts".to_owned());
    let env = StreamExecutionEnvironment::new();
    env.set("execution.checkpointing.interval", "10 s")?;
    let events = KafkaSource::builder()
        .bootstrap_servers(servers.as_str())
        .topics([input])
        .group_id("kafka-windows")
        .starting_offsets(StartupMode::EarliestOffset)
        .deserializer(RawText)
        .build()?
        .stream(&env, "Events");
    let sink = KafkaSink::builder()
        .bootstrap_servers(servers.as_str())
        .topic(output)
        .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
        .transactional_id_prefix("kafka-windows")
        .serializer::<String, _>(RawValues)
        .build()?;
    sink.sink(&flinkrs_examples::windowed_counts(&events), "Event counts");
    env.execute("Kafka windows")?;
    Ok(())
}
