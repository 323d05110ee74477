//! A cluster of a real JobManager and real TaskManagers in the test process, talking gRPC and
//! exchanging records over TCP on loopback, and the output its jobs commit.

use std::path::Path;
use std::time::Duration;

use flinkrs_cluster::jobmanager::JobManager;
use flinkrs_cluster::process::loopback_config;
use flinkrs_cluster::taskmanager::{TaskManager, TaskManagerState};

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
pub const DEADLINE: Duration = Duration::from_secs(120);

/// A JobManager and `count` TaskManagers of `slots` slots each, all registered; heartbeats
/// every 100 ms, and a TaskManager lost after 2 s without one.
pub async fn cluster(count: usize, slots: &str) -> (JobManager, Vec<TaskManager>) {
    let config = |entries: &[(&str, &str)]| {
        let mut all = vec![
            ("heartbeat.interval", "100 ms"),
            ("heartbeat.timeout", "2 s"),
        ];
        all.extend_from_slice(entries);
        loopback_config(&all).unwrap()
    };
    let jobmanager = JobManager::start(&config(&[])).await.unwrap();
    let address = jobmanager.rpc_address().to_string();
    let mut members = Vec::new();
    for _ in 0..count {
        let member = TaskManager::start(
            &config(&[("taskmanager.numberOfTaskSlots", slots)]),
            &address,
        )
        .await
        .unwrap();
        let mut state = member.state();
        tokio::time::timeout(
            DEADLINE,
            state.wait_for(|state| matches!(state, TaskManagerState::Registered { .. })),
        )
        .await
        .expect("the TaskManager registers")
        .unwrap();
        members.push(member);
    }
    (jobmanager, members)
}

/// Stops the TaskManagers, then the JobManager.
pub async fn shut_down(jobmanager: JobManager, members: Vec<TaskManager>) {
    for member in members {
        member.shutdown().await;
    }
    jobmanager.shutdown().await.unwrap();
}

/// Every line of every committed part file under `dir`, sorted.
pub fn committed_lines(dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("part-") {
            let text = std::fs::read_to_string(&path).unwrap();
            lines.extend(text.lines().map(str::to_owned));
        }
    }
    lines.sort();
    lines
}

/// `lines` lines of words, some repeated across lines so the counts grow.
pub fn input_text(lines: usize) -> String {
    (0..lines)
        .map(|line| format!("word{} word{} line{line}\n", line % 7, line % 13))
        .collect()
}
