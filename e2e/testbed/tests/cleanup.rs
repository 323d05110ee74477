//! Dropping a testbed handle ends its processes, so parallel and later tests
//! never meet a leftover server.

use std::process::Command;

use flinkrs_testbed::{Prometheus, S3Server};

/// `kill -0 -- -PGID`: does any process of that group still exist?
fn group_alive(group: u32) -> bool {
    Command::new("kill")
        .args(["-0", "--", &format!("-{group}")])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[tokio::test]
async fn dropping_an_s3_server_ends_its_process_group() {
    let Some(server) = S3Server::start_moto("dropping_an_s3_server_ends_its_process_group").await
    else {
        return;
    };
    let groups = server.pids();
    assert_eq!(groups.len(), 1);
    assert!(group_alive(groups[0]));
    drop(server);
    assert!(!group_alive(groups[0]));
}

#[tokio::test]
async fn dropping_prometheus_ends_its_process_group() {
    let Some(prometheus) =
        Prometheus::start("dropping_prometheus_ends_its_process_group", &[]).await
    else {
        return;
    };
    let groups = prometheus.pids();
    assert_eq!(groups.len(), 1);
    assert!(group_alive(groups[0]));
    drop(prometheus);
    assert!(!group_alive(groups[0]));
}
