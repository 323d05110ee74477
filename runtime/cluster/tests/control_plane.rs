//! The control plane between a real JobManager and real TaskManagers over gRPC on loopback,
//! in one test process: registration, slot totals, heartbeat timeouts, retries against an
//! absent JobManager, and registering again with a JobManager that restarted.

use std::time::Duration;

use flinkrs_cluster::jobmanager::JobManager;
use flinkrs_cluster::process::loopback_config;
use flinkrs_cluster::taskmanager::{TaskManager, TaskManagerState};
use flinkrs_core::Configuration;
use tokio::sync::watch;

/// Generous: a deadline only for when something is broken.
const DEADLINE: Duration = Duration::from_secs(20);

fn config(entries: &[(&str, &str)]) -> Configuration {
    let mut all = vec![
        ("heartbeat.interval", "50 ms"),
        ("heartbeat.timeout", "500 ms"),
        ("cluster.registration.initial-timeout", "20 ms"),
        ("cluster.registration.max-timeout", "100 ms"),
    ];
    all.extend_from_slice(entries);
    loopback_config(&all).unwrap()
}

async fn wait_for<T>(receiver: &mut watch::Receiver<T>, what: &str, done: impl FnMut(&T) -> bool) {
    tokio::time::timeout(DEADLINE, receiver.wait_for(done))
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|_| panic!("the sender went away while waiting for {what}"));
}

async fn registered(task_manager: &TaskManager, session: &str) -> u32 {
    let mut state = task_manager.state();
    let mut registrations = 0;
    wait_for(
        &mut state,
        "the TaskManager to register",
        |state| match state {
            TaskManagerState::Registered {
                jobmanager_session,
                registrations: count,
            } if jobmanager_session == session => {
                registrations = *count;
                true
            }
            _ => false,
        },
    )
    .await;
    registrations
}

#[tokio::test]
async fn task_managers_register_their_slots_and_are_lost_when_they_stop() {
    let jobmanager = JobManager::start(&config(&[])).await.unwrap();
    let address = jobmanager.rpc_address().to_string();
    let mut membership = jobmanager.membership();
    let first = TaskManager::start(
        &config(&[
            ("taskmanager.numberOfTaskSlots", "2"),
            ("taskmanager.resource-id", "tm-a"),
        ]),
        &address,
    )
    .await
    .unwrap();
    let second = TaskManager::start(
        &config(&[
            ("taskmanager.numberOfTaskSlots", "3"),
            ("taskmanager.resource-id", "tm-b"),
        ]),
        &address,
    )
    .await
    .unwrap();
    assert_eq!(registered(&first, jobmanager.session()).await, 1);
    assert_eq!(registered(&second, jobmanager.session()).await, 1);
    wait_for(&mut membership, "two TaskManagers", |count| *count == 2).await;
    assert_eq!(jobmanager.slots(), (5, 5));
    let ids: Vec<_> = jobmanager
        .task_managers()
        .into_iter()
        .map(|tm| (tm.registration.resource_id, tm.registration.slots))
        .collect();
    assert_eq!(ids, [("tm-a".to_owned(), 2), ("tm-b".to_owned(), 3)]);

    // A TaskManager that stops sending heartbeats is lost after heartbeat.timeout.
    second.shutdown().await;
    wait_for(
        &mut membership,
        "the stopped TaskManager to be lost",
        |count| *count == 1,
    )
    .await;
    assert_eq!(jobmanager.slots(), (2, 2));
    // The other one keeps its heartbeats going: still there a timeout later.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(jobmanager.task_managers().len(), 1);

    first.shutdown().await;
    jobmanager.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_task_manager_retries_until_its_job_manager_is_up_and_registers_again_after_a_restart() {
    // A port with nothing listening on it yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let task_manager = TaskManager::start(&config(&[]), &address).await.unwrap();
    let mut state = task_manager.state();
    wait_for(
        &mut state,
        "three failed registrations",
        |state| matches!(state, TaskManagerState::Registering { attempts } if *attempts >= 3),
    )
    .await;

    let port_setting = port.to_string();
    let jobmanager = JobManager::start(&config(&[("jobmanager.rpc.port", &port_setting)]))
        .await
        .unwrap();
    assert_eq!(registered(&task_manager, jobmanager.session()).await, 1);
    let first_session = jobmanager.session().to_owned();

    // The JobManager restarts on the same port; the new run does not know the TaskManager,
    // which registers again.
    jobmanager.shutdown().await.unwrap();
    let jobmanager = JobManager::start(&config(&[("jobmanager.rpc.port", &port_setting)]))
        .await
        .unwrap();
    assert_ne!(jobmanager.session(), first_session);
    assert_eq!(registered(&task_manager, jobmanager.session()).await, 2);
    assert_eq!(jobmanager.slots(), (1, 1));

    task_manager.shutdown().await;
    jobmanager.shutdown().await.unwrap();
}
