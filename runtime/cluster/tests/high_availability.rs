//! JobManager high availability on Kubernetes, against a real kube-apiserver of the testbed:
//! an application-mode JobManager leads its cluster through the high-availability ConfigMap
//! and records each completed checkpoint there; killed with SIGKILL, it is replaced by a new
//! JobManager process that waits for the lead to lapse, recovers the job from the recorded
//! checkpoint, and finishes it, with its output committed exactly once. The TaskManagers,
//! which cancelled their subtasks when they lost the first JobManager, register with the new
//! one. A finished job is cleared from the ConfigMap.

#[path = "support/process.rs"]
#[expect(
    dead_code,
    reason = "each test uses its own part of the shared process helper"
)]
mod process;
#[path = "support/cluster.rs"]
#[expect(
    dead_code,
    reason = "the in-process cluster of the shared helpers is not used here"
)]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use process::{FLINKRS, Process};
use support::{committed_lines, input_text};

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
const PATIENCE: Duration = Duration::from_secs(60);

/// A port free now, for a JobManager that must come back on the same address.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Waits until `check` holds on the ConfigMap `name`, and returns its data.
async fn wait_for_config_map(
    api: &Api<ConfigMap>,
    name: &str,
    what: &str,
    check: impl Fn(&std::collections::BTreeMap<String, String>) -> bool,
) -> std::collections::BTreeMap<String, String> {
    let started = Instant::now();
    loop {
        if let Some(config_map) = api.get_opt(name).await.unwrap() {
            let data = config_map.data.unwrap_or_default();
            if check(&data) {
                return data;
            }
        }
        assert!(started.elapsed() < PATIENCE, "ConfigMap {name}: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_jobmanager_is_replaced_and_recovers_its_job_from_the_configmap_exactly_once() {
    let test =
        "a_killed_jobmanager_is_replaced_and_recovers_its_job_from_the_configmap_exactly_once";
    let Some(control_plane) = flinkrs_testbed::KubeControlPlane::start(test).await else {
        return;
    };
    let kubeconfig = control_plane.kubeconfig().display().to_string();
    let environment = [("KUBECONFIG", kubeconfig.as_str())];
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, input_text(400)).unwrap();
    let input = input.display().to_string();
    let output = |name: &str| dir.path().join(name).display().to_string();

    let local = std::process::Command::new(FLINKRS)
        .args([
            "run",
            "--example",
            "wordcount",
            "-p",
            "2",
            "--input",
            &input,
        ])
        .args(["--output", &output("fault-free")])
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let expected = committed_lines(&dir.path().join("fault-free"));
    assert_eq!(expected.len(), 1200);

    let rpc_port = free_port();
    let address = format!("127.0.0.1:{rpc_port}");
    let checkpoints = output("checkpoints");
    let ha_output = output("ha");
    let rpc = format!("jobmanager.rpc.port={rpc_port}");
    let checkpoint_dir = format!("execution.checkpointing.dir={checkpoints}");
    let jobmanager_args: Vec<&str> = vec![
        "jobmanager",
        "-D",
        &rpc,
        "-D",
        "rest.port=0",
        "-D",
        "metrics.reporter.prom.port=0",
        "-D",
        "jobmanager.bind-host=127.0.0.1",
        "-D",
        "high-availability.type=kubernetes",
        "-D",
        "kubernetes.cluster-id=wordcount-ha",
        "-D",
        "kubernetes.namespace=default",
        "-D",
        "high-availability.kubernetes.leader-election.lease-duration=2 s",
        "-D",
        "high-availability.kubernetes.leader-election.renew-deadline=2 s",
        "-D",
        "high-availability.kubernetes.leader-election.retry-period=300 ms",
        "-D",
        "heartbeat.interval=100 ms",
        "-D",
        "heartbeat.timeout=1 s",
        "-D",
        "parallelism.default=2",
        "-D",
        "execution.checkpointing.interval=100 ms",
        "-D",
        &checkpoint_dir,
        "--example",
        "wordcount",
        "--input",
        &input,
        "--output",
        &ha_output,
        // One source subtask reads the file at 100 / 2 lines per second: about 8 s.
        "--rate",
        "100",
    ];
    let mut first = Process::start_with(&jobmanager_args, &environment);
    first.wait_for("this JobManager leads cluster");
    let job_id = first.wait_for("Job ");
    let task_manager = |id: &str| {
        let resource_id = format!("taskmanager.resource-id={id}");
        Process::start(&[
            "taskmanager",
            "--jobmanager",
            &address,
            "-D",
            "taskmanager.host=127.0.0.1",
            "-D",
            "taskmanager.bind-host=127.0.0.1",
            "-D",
            "taskmanager.rpc.port=0",
            "-D",
            "taskmanager.data.port=0",
            "-D",
            "metrics.reporter.prom.port=0",
            "-D",
            "heartbeat.interval=100 ms",
            "-D",
            "heartbeat.timeout=1 s",
            "-D",
            &resource_id,
        ])
    };
    let task_managers = [task_manager("tm-1"), task_manager("tm-2")];

    // Killed once the ConfigMap records a checkpoint that holds part of the job's progress.
    let api: Api<ConfigMap> = Api::namespaced(control_plane.client().await, "default");
    let name = "wordcount-ha-cluster-config-map";
    let key = format!("latestCheckpoint-{job_id}");
    let recorded = wait_for_config_map(&api, name, "a checkpoint is recorded", |data| {
        data.contains_key(&key)
    })
    .await;
    assert!(
        recorded[&key].contains(&format!("{checkpoints}/{job_id}/chk-")),
        "{recorded:?}"
    );
    first.kill();

    let mut second = Process::start_with(&jobmanager_args, &environment);
    second.wait_for("this JobManager leads cluster");
    let recovering = second.wait_for_each(&["recovering job ", "from its latest checkpoint "]);
    assert_eq!(recovering[0], job_id, "the job keeps its id");
    let finished = second.wait_for("Job 'WordCount' (");
    assert!(finished.starts_with(&format!("{job_id})")), "{finished}");
    assert!(second.wait().success());

    assert_eq!(committed_lines(Path::new(&ha_output)), expected);
    let cleared = wait_for_config_map(&api, name, "the finished job is cleared", |data| {
        !data.contains_key(&key)
    })
    .await;
    assert!(!cleared.contains_key(&key));
    for task_manager in task_managers {
        assert!(task_manager.terminate().success());
    }
}
