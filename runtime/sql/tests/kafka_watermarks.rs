//! A `kafka` table's watermarks come from its source, per partition, against a real broker:
//! a TUMBLE window fires only once every partition has passed its end, so a partition that is
//! behind keeps its rows on time; with `scan.watermark.idle-timeout` a partition without
//! records no longer holds the windows back; both for a rowtime read as it is and for one
//! computed from other columns. A malformed timeout is refused naming the option.

#![cfg(feature = "kafka")]

use std::time::{Duration, Instant};

use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_sql::SqlSession;
use flinkrs_testbed::KafkaBroker;
use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

const PATIENCE: Duration = Duration::from_secs(60);

fn broker(test_name: &str) -> Option<KafkaBroker> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let broker = runtime.block_on(KafkaBroker::start(test_name))?;
    broker.create_topic("events", 2).unwrap();
    broker.create_topic("counts", 1).unwrap();
    Some(broker)
}

/// The events' columns with the rowtime read as it is.
const PHYSICAL_ROWTIME: &str = "id INT, ts TIMESTAMP(3), WATERMARK FOR ts AS ts";

/// The events' columns with the rowtime computed from the text read.
const COMPUTED_ROWTIME: &str =
    "id INT, t STRING, ts AS CAST(t AS TIMESTAMP(3)), WATERMARK FOR ts AS ts";

/// Events `id,ts` from two partitions, read as `columns`, counted per 10 s tumbling window
/// into `counts`.
fn script(servers: &str, columns: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE events ({columns}) WITH (\
           'connector' = 'kafka', 'topic' = 'events', 'properties.bootstrap.servers' = \
           '{servers}', 'properties.group.id' = 'windows', 'scan.startup.mode' = \
           'earliest-offset', 'format' = 'csv'{extra});\n\
         CREATE TABLE counts (window_start TIMESTAMP(3), events BIGINT) WITH (\
           'connector' = 'kafka', 'topic' = 'counts', 'properties.bootstrap.servers' = \
           '{servers}', 'format' = 'csv', 'sink.delivery-guarantee' = 'at-least-once');\n\
         INSERT INTO counts SELECT window_start, COUNT(*) \
           FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '10' SECOND)) \
           GROUP BY window_start, window_end;\n"
    )
}

fn producer(servers: &str) -> BaseProducer {
    ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .unwrap()
}

/// Writes events with the given seconds after 12:00:00 to one partition, in order.
fn send(producer: &BaseProducer, partition: i32, seconds: &[u32]) {
    for (id, second) in seconds.iter().enumerate() {
        let value = format!("{id},2026-01-01 12:00:{second:02}.000");
        producer
            .send(
                BaseRecord::<(), str>::to("events")
                    .partition(partition)
                    .payload(&value),
            )
            .unwrap();
    }
    producer.flush(PATIENCE).unwrap();
}

/// Runs the script as a job, checkpointing every 100 ms.
fn start(script: &str) -> (flinkrs_api::prelude::RunningJob, tempfile::TempDir) {
    let job = flinkrs_sql::job::SqlJob::from_script(script, "windows.sql").unwrap();
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(1).unwrap();
    env.set("execution.checkpointing.interval", "100 ms")
        .unwrap();
    let checkpoints = tempfile::tempdir().unwrap();
    env.set(
        "execution.checkpointing.dir",
        checkpoints.path().display().to_string(),
    )
    .unwrap();
    job.build(&env).unwrap();
    (env.execute_async(job.name()).unwrap(), checkpoints)
}

/// The records of `counts` so far, read to its end.
fn counts(servers: &str) -> Vec<String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::error::KafkaError;
    use rdkafka::message::Message;
    use rdkafka::{Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", "flinkrs-sql-test-reader")
        .set("enable.partition.eof", "true")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset("counts", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let started = Instant::now();
    let mut records = Vec::new();
    loop {
        assert!(started.elapsed() < PATIENCE, "counts: no end");
        match consumer.poll(Duration::from_millis(100)) {
            None => {}
            Some(Ok(message)) => records
                .push(String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned()),
            Some(Err(KafkaError::PartitionEOF(_))) => return records,
            Some(Err(error)) => panic!("reading counts: {error}"),
        }
    }
}

/// Reads `counts` until it holds `expected.len()` records (calling `between` before each new
/// read), then checks them.
fn expect_counts(servers: &str, expected: &[&str], mut between: impl FnMut()) {
    let started = Instant::now();
    loop {
        let found = counts(servers);
        if found.len() >= expected.len() {
            assert_eq!(found, expected);
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "expected {expected:?}, found {found:?}"
        );
        between();
    }
}

#[test]
fn a_window_fires_only_once_every_partition_has_passed_it() {
    windows_wait_for_every_partition(
        "a_window_fires_only_once_every_partition_has_passed_it",
        PHYSICAL_ROWTIME,
    );
}

#[test]
fn a_window_over_a_computed_rowtime_fires_only_once_every_partition_has_passed_it() {
    windows_wait_for_every_partition(
        "a_window_over_a_computed_rowtime_fires_only_once_every_partition_has_passed_it",
        COMPUTED_ROWTIME,
    );
}

fn windows_wait_for_every_partition(test_name: &str, columns: &str) {
    let Some(broker) = broker(test_name) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    let producer = producer(servers);
    // Partition 0 runs ahead to 12:00:31; partition 1 is at 12:00:11, so the watermark is
    // 12:00:10.999 and only the window at 12:00:00 fires.
    send(&producer, 0, &[1, 12, 25, 31]);
    send(&producer, 1, &[3, 11]);
    let (job, _checkpoints) = start(&script(servers, columns, ""));
    expect_counts(servers, &["2026-01-01 12:00:00.000,2"], || {
        std::thread::sleep(Duration::from_millis(50));
    });
    // 12:00:15 on partition 1 is on time: its window has not fired. 12:00:40 moves
    // partition 1 past partition 0, whose 12:00:31 now holds the watermark at 12:00:30.999.
    send(&producer, 1, &[15, 40]);
    expect_counts(
        servers,
        &[
            "2026-01-01 12:00:00.000,2",
            "2026-01-01 12:00:10.000,3",
            "2026-01-01 12:00:20.000,1",
        ],
        || std::thread::sleep(Duration::from_millis(50)),
    );
    job.cancel();
    assert!(job.wait().is_err(), "cancelled");
}

#[test]
fn with_an_idle_timeout_an_empty_partition_does_not_hold_windows_back() {
    an_empty_partition_goes_idle(
        "with_an_idle_timeout_an_empty_partition_does_not_hold_windows_back",
        PHYSICAL_ROWTIME,
    );
}

#[test]
fn with_an_idle_timeout_an_empty_partition_does_not_hold_windows_over_a_computed_rowtime_back() {
    an_empty_partition_goes_idle(
        "with_an_idle_timeout_an_empty_partition_does_not_hold_windows_over_a_computed_rowtime_back",
        COMPUTED_ROWTIME,
    );
}

fn an_empty_partition_goes_idle(test_name: &str, columns: &str) {
    let Some(broker) = broker(test_name) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    let producer = producer(servers);
    let (job, _checkpoints) = start(&script(
        servers,
        columns,
        ", 'scan.watermark.idle-timeout' = '300 ms'",
    ));
    // Partition 1 never gets a record. Partition 0 stays active, as a live stream would, with
    // records at 12:00:12 until its watermark (12:00:11.999) has fired the first window.
    send(&producer, 0, &[1]);
    expect_counts(servers, &["2026-01-01 12:00:00.000,1"], || {
        send(&producer, 0, &[12]);
        std::thread::sleep(Duration::from_millis(50));
    });
    job.cancel();
    assert!(job.wait().is_err(), "cancelled");
}

#[test]
fn a_malformed_idle_timeout_is_refused_naming_the_option() {
    let mut session = SqlSession::new();
    session
        .execute("CREATE TABLE shown (ts TIMESTAMP(3)) WITH ('connector' = 'blackhole')")
        .unwrap();
    for (table, columns, timeout, expected) in [
        (
            "a",
            "ts TIMESTAMP(3), WATERMARK FOR ts AS ts",
            "soon",
            "'soon' is not a duration",
        ),
        (
            "b",
            "line STRING, ts AS CAST(line AS TIMESTAMP(3)), WATERMARK FOR ts AS ts",
            "-1 s",
            "'-1 s' is not a duration",
        ),
    ] {
        let error = session
            .execute(&format!(
                "CREATE TABLE {table} ({columns}) WITH ('connector' = 'kafka', 'topic' = 't', \
                 'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'csv', \
                 'scan.watermark.idle-timeout' = '{timeout}')"
            ))
            .and_then(|_| session.execute(&format!("INSERT INTO shown SELECT ts FROM {table}")))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("option 'scan.watermark.idle-timeout'") && error.contains(expected),
            "{error}"
        );
    }
}
