//! Reading an `upsert-kafka` table against a real broker: records are upserts of their key
//! and tombstones its deletions, normalized into Flink's changelog (`+I`, `-U`/`+U`, `-D`);
//! the changelog goes through a filter and into an upsert sink, and batch mode reads each
//! key's last row.

#![cfg(feature = "kafka")]

use std::time::Duration;

use flinkrs_sql::SqlSession;
use flinkrs_testbed::KafkaBroker;

#[path = "support/print_buffer.rs"]
mod print_buffer;

use print_buffer::Buffer;

/// A broker whose one-partition topic `users` holds [`USERS`].
fn users_broker(test_name: &str) -> Option<KafkaBroker> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let broker = runtime.block_on(KafkaBroker::start(test_name))?;
    broker.create_topic("users", 1).unwrap();
    produce(&broker.bootstrap_servers, "users", &USERS);
    Some(broker)
}

/// Writes `records` (key, value; `None` for a tombstone) to partition 0 of `topic`, in order,
/// and waits until the broker has them all.
fn produce(servers: &str, topic: &str, records: &[(&str, Option<&str>)]) {
    use rdkafka::ClientConfig;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", servers)
        .set("enable.idempotence", "true")
        .create()
        .unwrap();
    for (key, value) in records {
        let mut record = BaseRecord::<str, str>::to(topic).partition(0).key(*key);
        if let Some(value) = value {
            record = record.payload(*value);
        }
        producer.send(record).map_err(|(error, _)| error).unwrap();
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

fn users_table(servers: &str, extra: &str) -> String {
    format!(
        "CREATE TABLE users (id BIGINT, name STRING, city STRING, PRIMARY KEY (id) NOT \
         ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'users', \
         'properties.bootstrap.servers' = '{servers}', 'key.format' = 'csv', \
         'value.format' = 'json', 'scan.bounded.mode' = 'latest-offset'{extra})"
    )
}

/// An upsert-kafka table whose csv value leaves the key's column out.
fn cities_of_users_table(servers: &str) -> String {
    format!(
        "CREATE TABLE cities_of_users (id BIGINT, city STRING, PRIMARY KEY (id) NOT \
         ENFORCED) WITH ('connector' = 'upsert-kafka', 'topic' = 'cities_of_users', \
         'properties.bootstrap.servers' = '{servers}', 'key.format' = 'csv', \
         'value.format' = 'csv', 'value.fields-include' = 'EXCEPT_KEY', \
         'scan.bounded.mode' = 'latest-offset')"
    )
}

/// The users' topic: Ann moves from Oslo to Lima (and is written again unchanged), Bo is
/// deleted, and a key that never had a row is deleted too.
const USERS: [(&str, Option<&str>); 6] = [
    ("1", Some(r#"{"id":1,"name":"Ann","city":"Oslo"}"#)),
    ("2", Some(r#"{"id":2,"name":"Bo","city":"Rome"}"#)),
    ("1", Some(r#"{"id":1,"name":"Ann","city":"Lima"}"#)),
    ("1", Some(r#"{"id":1,"name":"Ann","city":"Lima"}"#)),
    ("2", None),
    ("3", None),
];

#[test]
fn an_upsert_kafka_table_is_read_as_a_changelog_by_its_primary_key() {
    let Some(broker) =
        users_broker("an_upsert_kafka_table_is_read_as_a_changelog_by_its_primary_key")
    else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    let buffer = Buffer::default();
    let mut session = SqlSession::with_print_target(buffer.target());
    // One subtask, so that the printed changes of all keys keep one order.
    session.execute("SET 'parallelism.default' = '1'").unwrap();
    session.execute(&users_table(servers, "")).unwrap();
    session
        .execute(
            "CREATE TABLE shown (id BIGINT, name STRING, city STRING) WITH ('connector' = 'print')",
        )
        .unwrap();
    session
        .execute("INSERT INTO shown SELECT * FROM users")
        .unwrap();
    session.wait_for_jobs().unwrap();
    assert_eq!(
        buffer.take().lines().collect::<Vec<_>>(),
        [
            "+I[1, Ann, Oslo]",
            "+I[2, Bo, Rome]",
            "-U[1, Ann, Oslo]",
            "+U[1, Ann, Lima]",
            "-D[2, Bo, Rome]",
        ],
        "an unchanged row changes nothing; a tombstone deletes the key's last row; a \
         tombstone of an unknown key changes nothing"
    );

    // The changelog through a projection and a filter.
    session
        .execute("CREATE TABLE shown_names (name STRING) WITH ('connector' = 'print')")
        .unwrap();
    session
        .execute("INSERT INTO shown_names SELECT UPPER(name) FROM users WHERE city <> 'Oslo'")
        .unwrap();
    session.wait_for_jobs().unwrap();
    assert_eq!(
        buffer.take().lines().collect::<Vec<_>>(),
        ["+I[BO]", "+U[ANN]", "-D[BO]"],
        "a filter keeps the row kinds of the rows it keeps, as in Flink"
    );
}

#[test]
fn an_upsert_kafka_table_in_batch_mode_reads_each_keys_last_row() {
    let Some(broker) = users_broker("an_upsert_kafka_table_in_batch_mode_reads_each_keys_last_row")
    else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    let buffer = Buffer::default();
    let mut session = SqlSession::with_print_target(buffer.target());
    session
        .execute("SET 'execution.runtime-mode' = 'batch'")
        .unwrap();
    session.execute(&users_table(servers, "")).unwrap();
    session
        .execute("CREATE TABLE shown (id BIGINT, city STRING) WITH ('connector' = 'print')")
        .unwrap();
    session
        .execute("INSERT INTO shown SELECT id, city FROM users")
        .unwrap();
    session.wait_for_jobs().unwrap();
    assert_eq!(buffer.take().lines().collect::<Vec<_>>(), ["+I[1, Lima]"]);
}

#[test]
fn an_upsert_kafka_changelog_is_written_to_another_upsert_kafka_table() {
    let Some(broker) =
        users_broker("an_upsert_kafka_changelog_is_written_to_another_upsert_kafka_table")
    else {
        return;
    };
    let servers = &broker.bootstrap_servers;
    broker.create_topic("cities_of_users", 1).unwrap();
    let mut session = SqlSession::new();
    session.execute("SET 'parallelism.default' = '1'").unwrap();
    session.execute(&users_table(servers, "")).unwrap();
    session.execute(&cities_of_users_table(servers)).unwrap();
    session
        .execute("INSERT INTO cities_of_users SELECT id, city FROM users")
        .unwrap();
    session.wait_for_jobs().unwrap();
    // Read back through the connector: the EXCEPT_KEY value's key column comes from the key.
    let buffer = Buffer::default();
    let mut reader = SqlSession::with_print_target(buffer.target());
    reader.execute("SET 'parallelism.default' = '1'").unwrap();
    reader.execute(&cities_of_users_table(servers)).unwrap();
    reader
        .execute("CREATE TABLE shown (id BIGINT, city STRING) WITH ('connector' = 'print')")
        .unwrap();
    reader
        .execute("INSERT INTO shown SELECT * FROM cities_of_users")
        .unwrap();
    reader.wait_for_jobs().unwrap();
    assert_eq!(
        buffer.take().lines().collect::<Vec<_>>(),
        [
            "+I[1, Oslo]",
            "+I[2, Rome]",
            "-U[1, Oslo]",
            "+U[1, Lima]",
            "-D[2, Rome]",
        ]
    );
}

#[test]
fn reading_an_upsert_kafka_table_refuses_what_flink_refuses() {
    let mut session = SqlSession::new();
    session
        .execute(&users_table(
            "127.0.0.1:9",
            ", 'scan.startup.mode' = 'latest-offset'",
        ))
        .unwrap();
    session
        .execute("CREATE TABLE shown (id BIGINT) WITH ('connector' = 'print')")
        .unwrap();
    let error = session
        .execute("INSERT INTO shown SELECT id FROM users")
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "Unsupported options found for 'upsert-kafka'.\n\nUnsupported options:\n\n\
             scan.startup.mode\n"
        ),
        "{error}"
    );
    session
        .execute(
            "CREATE TABLE visits (id BIGINT, ts TIMESTAMP(3), PRIMARY KEY (id) NOT ENFORCED, \
             WATERMARK FOR ts AS ts) WITH ('connector' = 'upsert-kafka', 'topic' = 'visits', \
             'properties.bootstrap.servers' = '127.0.0.1:9', 'key.format' = 'csv', \
             'value.format' = 'csv')",
        )
        .unwrap();
    let error = session
        .execute(
            "INSERT INTO shown SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE visits, \
             DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end",
        )
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("not supported yet")
            && error.contains("a TUMBLE window TVF over an updating input"),
        "{error}"
    );
}
