//! The `kafka` and `upsert-kafka` table connectors against a real broker: rows written with
//! `INSERT INTO` are read back in csv and json, a record that does not parse is named or
//! skipped, a wrong option name in `WITH` is refused listing the supported ones, a changelog
//! lands in an upsert-kafka topic as upserts under its key, and the Kafka FlinkJob example's
//! script runs.

#![cfg(feature = "kafka")]

use flinkrs_sql::SqlSession;
use flinkrs_testbed::KafkaBroker;

#[path = "support/print_buffer.rs"]
mod print_buffer;

use print_buffer::Buffer;

fn broker(test_name: &str, topics: &[&str]) -> Option<KafkaBroker> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let broker = runtime.block_on(KafkaBroker::start(test_name))?;
    for topic in topics {
        broker.create_topic(topic, 2).unwrap();
    }
    Some(broker)
}

fn kafka_table(name: &str, columns: &str, topic: &str, servers: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE {name} ({columns}) WITH ('connector' = 'kafka', 'topic' = '{topic}', \
         'properties.bootstrap.servers' = '{servers}', 'scan.startup.mode' = \
         'earliest-offset', 'scan.bounded.mode' = 'latest-offset'{extra})"
    )
}

/// Sorted printed lines, since two partitions are read in no fixed order.
fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

#[test]
fn rows_written_to_kafka_in_csv_and_json_are_read_back_and_bad_ones_named_or_skipped() {
    let Some(broker) = broker(
        "rows_written_to_kafka_in_csv_and_json_are_read_back_and_bad_ones_named_or_skipped",
        &["orders_json", "orders_csv"],
    ) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    let buffer = Buffer::default();
    let mut session = SqlSession::with_print_target(buffer.target());
    let columns = "id BIGINT, item STRING, price DOUBLE";
    for (table, topic, format) in [
        ("orders_json", "orders_json", "json"),
        ("orders_csv", "orders_csv", "csv"),
    ] {
        session
            .execute(&kafka_table(
                table,
                columns,
                topic,
                servers,
                &format!(", 'format' = '{format}'"),
            ))
            .unwrap();
        session
            .execute(&format!(
                "INSERT INTO {table} VALUES (1, 'tea', 2.5), (2, 'rice, brown', 1.25), \
                 (3, 'salt', 0.5)"
            ))
            .unwrap();
        session.wait_for_jobs().unwrap();
    }
    session
        .execute("CREATE TABLE shown (id BIGINT, item STRING) WITH ('connector' = 'print')")
        .unwrap();
    for table in ["orders_json", "orders_csv"] {
        session
            .execute(&format!(
                "INSERT INTO shown SELECT id, item FROM {table} WHERE price > 1"
            ))
            .unwrap();
        session.wait_for_jobs().unwrap();
        assert_eq!(
            sorted_lines(&buffer.take()),
            ["+I[1, tea]", "+I[2, rice, brown]"],
            "{table}"
        );
    }

    // A record that is not JSON, written through a raw table on the same topic.
    session
        .execute(&kafka_table(
            "raw_orders",
            "line STRING",
            "orders_json",
            servers,
            ", 'format' = 'raw'",
        ))
        .unwrap();
    session
        .execute("INSERT INTO raw_orders VALUES ('not json')")
        .unwrap();
    session.wait_for_jobs().unwrap();
    session
        .execute("INSERT INTO shown SELECT id, item FROM orders_json")
        .unwrap();
    let error = session.wait_for_jobs().unwrap_err().to_string();
    assert!(
        error.contains("malformed input in topic 'orders_json', partition ")
            && error.contains("the value is not JSON")
            && error.contains("'json.ignore-parse-errors' = 'true'"),
        "{error}"
    );
    buffer.take();
    session
        .execute(&kafka_table(
            "lenient_orders",
            columns,
            "orders_json",
            servers,
            ", 'format' = 'json', 'json.ignore-parse-errors' = 'true'",
        ))
        .unwrap();
    session
        .execute("INSERT INTO shown SELECT id, item FROM lenient_orders")
        .unwrap();
    session.wait_for_jobs().unwrap();
    assert_eq!(
        sorted_lines(&buffer.take()),
        ["+I[1, tea]", "+I[2, rice, brown]", "+I[3, salt]"]
    );
}

#[test]
fn a_wrong_option_name_in_with_is_refused_listing_the_supported_ones() {
    let mut session = SqlSession::new();
    session
        .execute(
            "CREATE TABLE t (line STRING) WITH ('connector' = 'kafka', 'topic' = 't', \
             'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'raw', \
             'scan.startup-mode' = 'earliest-offset')",
        )
        .unwrap();
    session
        .execute("CREATE TABLE shown (line STRING) WITH ('connector' = 'blackhole')")
        .unwrap();
    let error = session
        .execute("INSERT INTO shown SELECT line FROM t")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "Unsupported options found for 'kafka'.\n\nUnsupported options:\n\n\
             scan.startup-mode\n\nSupported options:\n\n"
        ) && error.contains("\nscan.startup.mode\n"),
        "{error}"
    );
    let error = session
        .execute(
            "CREATE TABLE u (line STRING) WITH ('connector' = 'kafka', 'topic' = 'u', \
             'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'raw', \
             'scan.startup.mode' = 'earliest')",
        )
        .and_then(|_| session.execute("INSERT INTO shown SELECT line FROM u"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("option 'scan.startup.mode'")
            && error.contains("'earliest' is not a startup mode"),
        "{error}"
    );
    let error = session
        .execute(
            "CREATE TABLE v (line STRING) WITH ('connector' = 'kafka', 'topic' = 'v', \
             'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'raw', \
             'scan.topic-partition-discovery.interval' = 'often')",
        )
        .and_then(|_| session.execute("INSERT INTO shown SELECT line FROM v"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("option 'scan.topic-partition-discovery.interval'")
            && error.contains("'often' is not a duration"),
        "{error}"
    );
}

/// Every record of `topic` (one partition) in order: key and value as text, `None` for a
/// missing key or a tombstone.
fn records(servers: &str, topic: &str) -> Vec<(Option<String>, Option<String>)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::error::KafkaError;
    use rdkafka::message::Message;
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let patience = std::time::Duration::from_secs(60);
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("group.id", "flinkrs-sql-test-reader")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let text =
        |bytes: Option<&[u8]>| bytes.map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    let started = std::time::Instant::now();
    let mut records = Vec::new();
    loop {
        assert!(
            started.elapsed() < patience,
            "{topic}: no end within {patience:?}"
        );
        match consumer.poll(std::time::Duration::from_millis(100)) {
            None => {}
            Some(Ok(message)) => records.push((text(message.key()), text(message.payload()))),
            Some(Err(KafkaError::PartitionEOF(_))) => return records,
            Some(Err(error)) => panic!("reading {topic}: {error}"),
        }
    }
}

#[test]
fn an_upsert_kafka_table_takes_a_changelog_as_upserts_under_its_key() {
    let Some(broker) = broker(
        "an_upsert_kafka_table_takes_a_changelog_as_upserts_under_its_key",
        &[],
    ) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    broker.create_topic("name_counts", 1).unwrap();
    broker.create_topic("name_counts_csv", 1).unwrap();
    let mut session = SqlSession::new();
    let upsert_table = |name: &str, columns: &str, key: &str, extra: &str| {
        format!(
            "CREATE TABLE {name} ({columns}, PRIMARY KEY ({key}) NOT ENFORCED) WITH \
             ('connector' = 'upsert-kafka', 'topic' = '{name}', \
             'properties.bootstrap.servers' = '{servers}'{extra})"
        )
    };
    session
        .execute(&upsert_table(
            "name_counts",
            "name STRING, cnt BIGINT",
            "name",
            ", 'key.format' = 'raw', 'value.format' = 'json'",
        ))
        .unwrap();
    session
        .execute(
            "INSERT INTO name_counts SELECT name, COUNT(*) FROM (VALUES ('Bob'), ('Alice'), \
             ('Bob')) AS T(name) GROUP BY name",
        )
        .unwrap();
    session.wait_for_jobs().unwrap();
    let some = |text: &str| Some(text.to_owned());
    assert_eq!(
        records(servers, "name_counts"),
        [
            (some("Bob"), some(r#"{"cnt":1,"name":"Bob"}"#)),
            (some("Alice"), some(r#"{"cnt":1,"name":"Alice"}"#)),
            (some("Bob"), some(r#"{"cnt":2,"name":"Bob"}"#)),
        ],
        "+I and +U as upserts under the key; -U is not written"
    );

    // The value without the key's columns, both in csv.
    session
        .execute(&upsert_table(
            "name_counts_csv",
            "name STRING, cnt BIGINT",
            "name",
            ", 'key.format' = 'csv', 'value.format' = 'csv', \
             'value.fields-include' = 'EXCEPT_KEY'",
        ))
        .unwrap();
    session
        .execute(
            "INSERT INTO name_counts_csv SELECT name, COUNT(*) FROM (VALUES ('Bob'), \
             ('Bob')) AS T(name) GROUP BY name",
        )
        .unwrap();
    session.wait_for_jobs().unwrap();
    assert_eq!(
        records(servers, "name_counts_csv"),
        [(some("Bob"), some("1")), (some("Bob"), some("2"))]
    );
}

#[test]
fn upsert_kafka_options_are_checked_with_flinks_names() {
    let mut session = SqlSession::new();
    session
        .execute("CREATE TABLE numbers (n BIGINT) WITH ('connector' = 'datagen', 'number-of-rows' = '1')")
        .unwrap();
    let mut refused = |create: &str| {
        session.execute("DROP TABLE IF EXISTS target").unwrap();
        session.execute(create).unwrap();
        session
            .execute("INSERT INTO target SELECT n, n + 1 AS m FROM numbers")
            .unwrap_err()
            .to_string()
    };
    let options = "'connector' = 'upsert-kafka', 'topic' = 't', \
                   'properties.bootstrap.servers' = '127.0.0.1:9'";
    let error = refused(&format!(
        "CREATE TABLE target (k BIGINT, v BIGINT) WITH ({options}, 'key.format' = 'csv', \
         'value.format' = 'csv')"
    ));
    assert!(
        error.contains("'upsert-kafka' tables require to define a PRIMARY KEY constraint"),
        "{error}"
    );
    let error = refused(&format!(
        "CREATE TABLE target (k BIGINT, v BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH \
         ({options}, 'value.format' = 'csv')"
    ));
    assert!(
        error.contains("option 'key.format'") && error.contains("missing"),
        "{error}"
    );
    let error = refused(&format!(
        "CREATE TABLE target (k BIGINT, v BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH \
         ({options}, 'key.format' = 'csv', 'format' = 'csv')"
    ));
    assert!(
        error.starts_with(
            "Unsupported options found for 'upsert-kafka'.\n\nUnsupported options:\n\nformat\n"
        ),
        "{error}"
    );
    let error = refused(&format!(
        "CREATE TABLE target (k BIGINT, v BIGINT, PRIMARY KEY (k) NOT ENFORCED) WITH \
         ({options}, 'key.format' = 'csv', 'value.format' = 'csv', \
         'value.fields-include' = 'SOME')"
    ));
    assert!(
        error.contains("option 'value.fields-include'")
            && error.contains("'SOME' is not ALL or EXCEPT_KEY"),
        "{error}"
    );
    // The plain kafka connector: key fields need a key format and name columns.
    let plain = "'connector' = 'kafka', 'topic' = 't', \
                 'properties.bootstrap.servers' = '127.0.0.1:9', 'format' = 'csv'";
    let error = refused(&format!(
        "CREATE TABLE target (k BIGINT, v BIGINT) WITH ({plain}, 'key.fields' = 'k')"
    ));
    assert!(
        error.contains("option 'key.format'") && error.contains("missing"),
        "{error}"
    );
    let error = refused(&format!(
        "CREATE TABLE target (k BIGINT, v BIGINT) WITH ({plain}, 'key.format' = 'csv', \
         'key.fields' = 'id')"
    ));
    assert!(
        error.contains("option 'key.fields'") && error.contains("'id' is not a physical column"),
        "{error}"
    );
    let error = refused(&format!(
        "CREATE TABLE target (k BIGINT, v BIGINT) WITH ({plain}, 'key.format' = 'csv')"
    ));
    assert!(
        error.contains("requires the declaration of one or more key fields using 'key.fields'"),
        "{error}"
    );
}

/// The FlinkJob example `examples/flinkjobs/kafka-windows.yaml` runs: its script, pointed at
/// the test broker, counts the events of each sensor per 10-second window and commits the
/// counts to `event-counts` when checkpoints complete.
#[test]
fn the_kafka_flinkjob_example_counts_windows_from_kafka_into_kafka() {
    use flinkrs_api::StreamExecutionEnvironment;
    use rdkafka::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

    let Some(broker) = broker(
        "the_kafka_flinkjob_example_counts_windows_from_kafka_into_kafka",
        &[],
    ) else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    broker.create_topic("events", 1).unwrap();
    broker.create_topic("event-counts", 1).unwrap();
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/flinkjobs/kafka-windows.yaml"),
    )
    .unwrap();
    // The block under `sql: |`, without its indentation.
    let script: String = manifest
        .lines()
        .skip_while(|line| line.trim() != "sql: |")
        .skip(1)
        .take_while(|line| line.starts_with("      ") || line.trim().is_empty())
        .map(|line| format!("{}\n", line.trim_start()))
        .collect();
    assert!(
        script.contains("'kafka.kafka.svc:9092'"),
        "the example names its broker as this test expects:\n{script}"
    );
    let script = script.replace("kafka.kafka.svc:9092", servers);

    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .create()
        .unwrap();
    for (sensor, ts) in [
        ("s1", "12:00:01.000"),
        ("s1", "12:00:03.250"),
        ("s2", "12:00:04.000"),
        ("s1", "12:00:12.000"),
        // Moves the watermark to 12:00:25: the windows at 12:00:00 and 12:00:10 fire.
        ("s2", "12:00:30.000"),
    ] {
        let value = format!(r#"{{"sensor": "{sensor}", "ts": "2026-01-01 {ts}"}}"#);
        producer
            .send(BaseRecord::<(), str>::to("events").payload(&value))
            .unwrap();
    }
    producer.flush(std::time::Duration::from_secs(60)).unwrap();

    let job = flinkrs_sql::job::SqlJob::from_script(&script, "kafka-windows.yaml").unwrap();
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
    let running = env.execute_async(job.name()).unwrap();
    let expected = [
        r#"{"events":2,"sensor":"s1","window_start":"2026-01-01 12:00:00.000"}"#,
        r#"{"events":1,"sensor":"s2","window_start":"2026-01-01 12:00:00.000"}"#,
        r#"{"events":1,"sensor":"s1","window_start":"2026-01-01 12:00:10.000"}"#,
    ];
    let started = std::time::Instant::now();
    loop {
        let mut counts: Vec<String> = records(servers, "event-counts")
            .into_iter()
            .filter_map(|(_, value)| value)
            .collect();
        counts.sort();
        let mut wanted: Vec<String> = expected.iter().map(|line| (*line).to_owned()).collect();
        wanted.sort();
        if counts == wanted {
            break;
        }
        assert!(
            counts.len() <= wanted.len() && started.elapsed() < std::time::Duration::from_secs(60),
            "expected {wanted:?}, found {counts:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    running.cancel();
    assert!(running.wait().is_err(), "cancelled");
}
