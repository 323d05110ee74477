//! Watermarks per partition inside the Kafka source, against a real broker: a reader's
//! watermark is the minimum over its partitions, so the slower partition holds event-time
//! windows back; with idleness, a partition without records stops holding them back and
//! the windows of the other fire.

use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;
use flinkrs_kafka::{DeliveryGuarantee, KafkaSink, KafkaSource, RawText, RawValues, StartupMode};

mod common;

/// The event time of the first window (Kafka takes a timestamp of 0 as "now").
const BASE_MILLIS: i64 = 1_700_000_000_000;
/// Between two looks at the output topic.
const LOOK_PAUSE: Duration = Duration::from_millis(50);

/// `<input>` (values are keys, event time is the Kafka timestamp) → count per key per
/// 1-second window → `"<key>,<window start in s>,<count>"` on `<input>-counts`, at
/// parallelism 1, so that one reader has both partitions.
fn window_job(servers: &str, input: &str, strategy: WatermarkStrategy<String>) -> RunningJob {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1).unwrap();
    env.set("pipeline.auto-watermark-interval", "20 ms")
        .unwrap();
    let source = KafkaSource::builder()
        .bootstrap_servers(servers)
        .topics([input])
        .starting_offsets(StartupMode::EarliestOffset)
        .deserializer(RawText)
        .build()
        .unwrap()
        .with_watermark_strategy(strategy);
    let counts = source
        .stream(&env, "Clicks")
        .map(|key: String| (key, 1u64))
        .key_by(|(key, _): &(String, u64)| key.clone())
        .window(TumblingEventTimeWindows::of(Duration::from_secs(1)))
        .reduce_with(
            |(key, a), (_, b)| (key, a + b),
            |key: &String, window: &TimeWindow, (_, count): (String, u64)| {
                format!("{key},{},{count}", (window.start - BASE_MILLIS) / 1000)
            },
        );
    KafkaSink::builder()
        .bootstrap_servers(servers)
        .topic(format!("{input}-counts"))
        .delivery_guarantee(DeliveryGuarantee::None)
        .serializer::<String, _>(RawValues)
        .build()
        .unwrap()
        .sink(&counts, "Counts");
    env.execute_async(input).unwrap()
}

/// Writes `key` to `partition` once at each of `seconds` past the base time.
fn clicks(servers: &str, topic: &str, partition: i32, key: &str, seconds: &[i64]) {
    common::produce(
        servers,
        topic,
        seconds.iter().map(|second| {
            (
                partition,
                None,
                key.to_owned(),
                Some(BASE_MILLIS + second * 1000),
            )
        }),
    );
}

/// `"<key>,<second>,1"` for each second.
fn ones(key: &str, seconds: impl IntoIterator<Item = i64>) -> Vec<String> {
    seconds
        .into_iter()
        .map(|second| format!("{key},{second},1"))
        .collect()
}

/// Waits until the output topic holds exactly `expected` (in any order), calling `between`
/// after each look; more lines than expected fail at once.
fn wait_for_counts(servers: &str, topic: &str, expected: &[String], mut between: impl FnMut()) {
    let mut expected = expected.to_vec();
    expected.sort();
    let started = Instant::now();
    loop {
        let mut counts = common::read_all(servers, topic, "read_uncommitted");
        counts.sort();
        if counts == expected {
            return;
        }
        assert!(
            counts.len() <= expected.len() && started.elapsed() < common::PATIENCE,
            "expected the window counts {expected:?}, found {counts:?}"
        );
        between();
        std::thread::sleep(LOOK_PAUSE);
    }
}

#[test]
fn the_slower_partition_holds_the_watermark_back() {
    let Some(broker) = common::broker(
        "the_slower_partition_holds_the_watermark_back",
        &[("clicks", 2), ("clicks-counts", 1)],
    ) else {
        return;
    };
    let servers = broker.bootstrap_servers.clone();
    // Partition 0 is at second 9, partition 1 at second 3: the watermark is 2.999 s, so
    // only the windows of seconds 1 and 2 may fire.
    clicks(&servers, "clicks", 0, "fast", &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    clicks(&servers, "clicks", 1, "slow", &[1, 2, 3]);
    let job = window_job(
        &servers,
        "clicks",
        WatermarkStrategy::for_monotonous_timestamps(),
    );
    let mut expected = ones("fast", 1..=2);
    expected.extend(ones("slow", 1..=2));
    wait_for_counts(&servers, "clicks-counts", &expected, || {});

    // Partition 1 moves to second 5.5: the windows up to second 4 fire.
    common::produce(
        &servers,
        "clicks",
        [(1, None, "slow".to_owned(), Some(BASE_MILLIS + 5_500))],
    );
    expected.extend(ones("fast", 3..=4));
    expected.extend(ones("slow", 3..=3));
    wait_for_counts(&servers, "clicks-counts", &expected, || {});
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
}

#[test]
fn an_idle_partition_does_not_hold_the_other_back() {
    let Some(broker) = common::broker(
        "an_idle_partition_does_not_hold_the_other_back",
        &[("idling", 2), ("idling-counts", 1)],
    ) else {
        return;
    };
    let servers = broker.bootstrap_servers.clone();
    clicks(&servers, "idling", 0, "busy", &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
    clicks(&servers, "idling", 1, "quiet", &[1, 2, 3]);
    let job = window_job(
        &servers,
        "idling",
        WatermarkStrategy::for_monotonous_timestamps().with_idleness(Duration::from_millis(300)),
    );
    // Partition 1 goes quiet and turns idle after 300 ms; partition 0 stays busy with more
    // records at second 9 (whose window never fires), so its watermark of 8.999 s leads:
    // every window up to second 8 fires, partition 1's included.
    let mut expected = ones("busy", 1..=8);
    expected.extend(ones("quiet", 1..=3));
    wait_for_counts(&servers, "idling-counts", &expected, || {
        clicks(&servers, "idling", 0, "busy", &[9]);
    });
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
}
