//! The `kafka` table connector against a real broker: rows written with `INSERT INTO` are read
//! back in csv and json, a record that does not parse is named or skipped, and a wrong option
//! name in `WITH` is refused listing the supported ones.

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
