//! A real Kafka broker starts on loopback, creates topics, survives a restart with its
//! topics, and leaves no process behind.

use flinkrs_testbed::KafkaBroker;

fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn a_broker_creates_topics_restarts_with_them_and_stops_on_drop() {
    let Some(mut broker) = KafkaBroker::start("kafka_broker").await else {
        return;
    };
    assert!(broker.bootstrap_servers.starts_with("127.0.0.1:"));
    broker.create_topic("numbers", 3).unwrap();
    let again = broker.create_topic("numbers", 3).unwrap_err().to_string();
    assert!(again.contains("'numbers' already exists"), "{again}");

    broker.restart().await.unwrap();
    // The topic came back with the broker's data: creating it still conflicts.
    let after_restart = broker.create_topic("numbers", 3).unwrap_err().to_string();
    assert!(
        after_restart.contains("'numbers' already exists"),
        "{after_restart}"
    );

    let pids = broker.pids();
    assert!(!pids.is_empty());
    drop(broker);
    for pid in pids {
        assert!(!process_exists(pid), "broker process {pid} outlived Drop");
    }
}
