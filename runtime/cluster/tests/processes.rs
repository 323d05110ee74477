//! The cluster as real processes of the `flinkrs` binary on loopback: a JobManager, two
//! TaskManagers and a client submitting with `flinkrs run -m` to the JobManager's REST API. The job spans the
//! TaskManagers and commits the local run's output; a TaskManager pointed at an address where
//! no JobManager listens retries and says so; SIGTERM stops each process cleanly.

#[path = "http/support/http.rs"]
#[expect(
    dead_code,
    reason = "shared with the REST tests, which read every field"
)]
mod http;

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

use std::process::Command;

use process::{FLINKRS, Process, job_manager, task_manager_with};
use support::{committed_lines, input_text};

/// The lines of the objects under `prefix/` in the server's bucket, sorted; every object must be
/// a committed part file.
async fn committed_objects(server: &flinkrs_testbed::S3Server, prefix: &str) -> Vec<String> {
    let client = server.client().await;
    let listed = client
        .list_objects_v2()
        .bucket(&server.bucket)
        .prefix(format!("{prefix}/"))
        .send()
        .await
        .unwrap();
    let mut lines = Vec::new();
    for object in listed.contents() {
        let key = object.key().unwrap();
        assert!(
            key.starts_with(&format!("{prefix}/part-")),
            "{key} is not a part file"
        );
        let body = client
            .get_object()
            .bucket(&server.bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .into_bytes();
        lines.extend(
            String::from_utf8(body.to_vec())
                .unwrap()
                .lines()
                .map(str::to_owned),
        );
    }
    lines.sort();
    lines
}

fn task_manager(jobmanager: &str) -> Process {
    task_manager_with(
        jobmanager,
        &["-D", "taskmanager.numberOfTaskSlots=2"],
        "warn",
    )
}

/// Heartbeats quick enough that a lost TaskManager is noticed within a second.
const FAST_HEARTBEATS: [&str; 4] = [
    "-D",
    "heartbeat.interval=100 ms",
    "-D",
    "heartbeat.timeout=1 s",
];

/// A TaskManager of one slot at `jobmanager`, with resource id `id` and fast heartbeats.
fn fast_task_manager(jobmanager: &str, id: &str) -> Process {
    let resource_id = format!("taskmanager.resource-id={id}");
    let mut args = vec!["-D", &resource_id, "-D", "taskmanager.numberOfTaskSlots=1"];
    args.extend(FAST_HEARTBEATS);
    task_manager_with(jobmanager, &args, "warn")
}

#[test]
fn a_job_submitted_to_a_three_process_cluster_commits_the_local_runs_output() {
    let dir = tempfile::tempdir().unwrap();
    let output = |name: &str| dir.path().join(name).display().to_string();
    let local = Command::new(FLINKRS)
        .args([
            "run",
            "--example",
            "wordcount",
            "-p",
            "4",
            "--output",
            &output("local"),
        ])
        .output()
        .unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );

    let (jobmanager, address, rest) = job_manager(&[], "warn");
    let members = [task_manager(&address), task_manager(&address)];

    let run = Command::new(FLINKRS)
        .args([
            "run",
            "-m",
            &rest,
            "--example",
            "wordcount",
            "-p",
            "4",
            "--output",
            &output("cluster"),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    // Flink's first line, then how the job ended.
    let lines: Vec<&str> = stderr.lines().collect();
    let job_id = lines[0]
        .strip_prefix("Job has been submitted with JobID ")
        .unwrap_or_else(|| panic!("{stderr}"));
    let seconds = lines[1]
        .strip_prefix(&format!("Job 'WordCount' ({job_id}) finished in "))
        .and_then(|rest| rest.strip_suffix(" s."))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(seconds.parse::<f64>().is_ok(), "{stderr}");
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(
        committed_lines(&dir.path().join("cluster")),
        committed_lines(&dir.path().join("local"))
    );

    for mut member in members {
        member.wait_for_line("TaskManager ");
        assert!(member.terminate().success());
    }
    let status = jobmanager.terminate();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_task_manager_without_its_job_manager_retries_and_says_where_it_looked() {
    // A port with nothing listening on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let mut member = task_manager_with(
        &address,
        &["-D", "cluster.registration.initial-timeout=20 ms"],
        "warn",
    );
    let expected = format!("cannot register at the JobManager at {address}");
    let first = member.wait_for_line(&expected);
    assert!(first.contains("retrying in 20ms"), "{first}");
    let second = member.wait_for_line(&expected);
    assert!(second.contains("retrying in 40ms"), "{second}");
    assert!(member.terminate().success());
}

#[test]
fn a_job_manager_refuses_a_configuration_file_with_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "jobmanager.rpc.port: 0\ntaskmanager.numberOfTaskSlot: 2\n",
    )
    .unwrap();
    let run = Command::new(FLINKRS)
        .args(["jobmanager", "--config", &config.display().to_string()])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains(&format!(
            "{}, line 2: configuration key 'taskmanager.numberOfTaskSlot': unknown key",
            config.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_task_manager_killed_during_a_job_fails_the_job_with_its_name() {
    // The JobManager logs when every TaskManager has its share of the job.
    let (mut jobmanager, address, rest) = job_manager(&FAST_HEARTBEATS, "info");
    let member = |id: &str| fast_task_manager(&address, id);
    let survivor = member("tm-survivor");
    let victim = member("tm-victim");
    // A slow job at p=2: one slot on each TaskManager.
    let client = Process::start(&[
        "run",
        "-m",
        &rest,
        "--example",
        "wordcount",
        "-p",
        "2",
        "--rate",
        "20",
    ]);
    let mut client = client;
    client.wait_for_line("Job has been submitted with JobID ");
    jobmanager.wait_for_line("the job is running");
    let mut victim = victim;
    victim.kill();
    let failure = client.wait_for_line("failed: ");
    assert!(
        failure.contains("TaskManager tm-victim was lost (no heartbeat within heartbeat.timeout)"),
        "{failure}"
    );
    assert!(!client.wait().success());
    assert!(survivor.terminate().success());
    assert!(jobmanager.terminate().success());
}

#[test]
fn a_task_manager_killed_during_a_checkpointed_job_is_replaced_and_the_output_is_exactly_once() {
    let test = "a_task_manager_killed_during_a_checkpointed_job_is_replaced_and_the_output_is_exactly_once";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let Some(server) = runtime.block_on(flinkrs_testbed::S3Server::start_s3s_fs(test)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, input_text(400)).unwrap();
    let input = input.display().to_string();
    let output = |name: &str| dir.path().join(name).display().to_string();
    let job_args = |output: String| -> Vec<String> {
        [
            "--example",
            "wordcount",
            "-p",
            "2",
            "--input",
            &input,
            "--output",
            &output,
        ]
        .iter()
        .map(|arg| (*arg).to_owned())
        .collect()
    };
    let mut local_args = vec!["run".to_owned()];
    local_args.extend(job_args(output("local")));
    let local = Command::new(FLINKRS).args(&local_args).output().unwrap();
    assert!(
        local.status.success(),
        "{}",
        String::from_utf8_lossy(&local.stderr)
    );
    let expected = committed_lines(&dir.path().join("local"));
    assert_eq!(expected.len(), 1200);

    // The JobManager logs each completed checkpoint and each restart.
    let (mut jobmanager, address, rest) = job_manager(&FAST_HEARTBEATS, "info");
    let member = |id: &str| fast_task_manager(&address, id);
    let survivor = member("tm-survivor");
    let mut victim = member("tm-victim");
    let mut run_args: Vec<String> = ["run", "-m", &rest].map(str::to_owned).to_vec();
    // The cluster's output goes to S3, through multipart uploads completed with checkpoints.
    run_args.extend(job_args(format!("s3://{}/cluster-output", server.bucket)));
    run_args.extend([
        // One source subtask reads the file at 100 / 2 lines per second: about 8 s.
        "--rate".to_owned(),
        "100".to_owned(),
        "-D".to_owned(),
        "execution.checkpointing.interval=100 ms".to_owned(),
        "-D".to_owned(),
        format!(
            "execution.checkpointing.dir=s3://{}/checkpoints",
            server.bucket
        ),
        "-D".to_owned(),
        format!("s3.endpoint={}", server.endpoint),
        "-D".to_owned(),
        "s3.path-style-access=true".to_owned(),
        "-D".to_owned(),
        format!("s3.access-key={}", server.access_key),
        "-D".to_owned(),
        format!("s3.secret-key={}", server.secret_key),
        "-D".to_owned(),
        "restart-strategy.type=fixed-delay".to_owned(),
        "-D".to_owned(),
        "restart-strategy.fixed-delay.attempts=20".to_owned(),
        "-D".to_owned(),
        "restart-strategy.fixed-delay.delay=200 ms".to_owned(),
    ]);
    let run_args: Vec<&str> = run_args.iter().map(String::as_str).collect();
    let mut client = Process::start(&run_args);
    let submitted = client.wait_for_line("Job has been submitted with JobID ");
    let job_id = submitted.rsplit(' ').next().unwrap().to_owned();
    // Killed once a checkpoint holds part of the job's progress.
    jobmanager.wait_for_line("checkpoint complete");
    victim.kill();
    let replacement = member("tm-replacement");
    jobmanager.wait_for_line("restarting it after the delay from its latest checkpoint");
    let restored = jobmanager.wait_for_line("deploying");
    assert!(
        restored.contains(&format!("s3://{}/checkpoints/", server.bucket)),
        "the new attempt restores from the checkpoint in S3: {restored}"
    );
    client.wait_for_line("Job 'WordCount' (");
    assert!(client.wait().success());
    assert_eq!(
        runtime.block_on(committed_objects(&server, "cluster-output")),
        expected
    );
    // The REST API shows the job finished after a restart, and the failure that caused it.
    let rest: std::net::SocketAddr = rest.parse().unwrap();
    let details = http::get(rest, &format!("/jobs/{job_id}")).json();
    assert_eq!(details["state"], "FINISHED", "{details}");
    // Whichever noticed first: the survivor losing its data connection to the victim, or the
    // JobManager missing the victim's heartbeats.
    let exceptions = http::get(rest, &format!("/jobs/{job_id}/exceptions")).json();
    let entries = exceptions["exceptionHistory"]["entries"]
        .as_array()
        .unwrap();
    assert!(!entries.is_empty(), "{exceptions}");
    let oldest = entries.last().unwrap()["stacktrace"].as_str().unwrap();
    assert!(
        oldest.contains("TaskManager tm-victim was lost")
            || oldest.contains("on TaskManager tm-survivor: "),
        "{exceptions}"
    );

    for member in [survivor, replacement] {
        assert!(member.terminate().success());
    }
    assert!(jobmanager.terminate().success());
}

#[test]
fn an_application_jobmanager_told_not_to_shut_down_serves_its_finished_job_until_stopped() {
    let (mut jobmanager, address, rest) = job_manager(
        &[
            "-D",
            "execution.shutdown-on-application-finish=false",
            "--example",
            "wordcount",
        ],
        "warn",
    );
    let taskmanager = task_manager(&address);
    jobmanager.wait_for_line("has ended; the JobManager serves it until it is stopped");
    let overview = http::get(rest.parse().unwrap(), "/jobs/overview").json();
    let jobs = overview["jobs"].as_array().expect("a job list");
    assert_eq!(jobs.len(), 1, "{overview}");
    assert_eq!(jobs[0]["state"], "FINISHED", "{overview}");
    assert!(
        jobmanager.child_is_running(),
        "the JobManager exited after its job ended"
    );
    assert!(jobmanager.terminate().success());
    assert!(taskmanager.terminate().success());
}

#[test]
fn a_task_manager_stopped_with_sigterm_during_a_job_makes_it_restart_not_end_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    std::fs::write(&input, input_text(400)).unwrap();
    let input = input.display().to_string();
    // The JobManager logs each restart.
    let (mut jobmanager, address, rest) = job_manager(&FAST_HEARTBEATS, "info");
    let member = |id: &str| fast_task_manager(&address, id);
    let survivor = member("tm-survivor");
    let victim = member("tm-victim");
    // Two source subtasks read 200 lines each at 20 lines per second: about 10 s.
    let mut client = Process::start(&[
        "run",
        "-m",
        &rest,
        "--example",
        "wordcount",
        "-p",
        "2",
        "--input",
        &input,
        "--rate",
        "20",
        "-D",
        "restart-strategy.type=fixed-delay",
        "-D",
        "restart-strategy.fixed-delay.attempts=5",
        "-D",
        "restart-strategy.fixed-delay.delay=200 ms",
    ]);
    client.wait_for_line("Job has been submitted with JobID ");
    jobmanager.wait_for_line("the job is running");
    // A pod's TaskManager being deleted: SIGTERM, which cancels the subtasks placed there.
    assert!(victim.terminate().success());
    let replacement = member("tm-replacement");
    // Restarted (the cause is the cancelled subtasks, or the survivor losing its data
    // connection to the victim, whichever reports first), not ended CANCELED.
    jobmanager.wait_for_line("restarting it after the delay");
    client.wait_for_line("Job 'WordCount' (");
    assert!(client.wait().success());
    for member in [survivor, replacement] {
        assert!(member.terminate().success());
    }
    assert!(jobmanager.terminate().success());
}

/// The `GLIBC_TUNABLES` a JobManager started with `env` runs with.
fn glibc_tunables_of_a_job_manager(env: &[(&str, &str)]) -> Option<String> {
    let (jobmanager, _, _) = process::job_manager_with(&[], env);
    let environment = std::fs::read(format!("/proc/{}/environ", jobmanager.id())).unwrap();
    let tunables = environment
        .split(|byte| *byte == 0)
        .filter_map(|entry| entry.strip_prefix(b"GLIBC_TUNABLES="))
        .map(|value| String::from_utf8_lossy(value).into_owned())
        .next();
    assert!(jobmanager.terminate().success());
    tunables
}

#[test]
fn the_binary_runs_with_glibc_malloc_tunables_unless_its_user_set_their_own() {
    // glibc parses GLIBC_TUNABLES in place when the process starts, ending each tunable with
    // a NUL: the process's environment shows the first one only.
    assert_eq!(
        glibc_tunables_of_a_job_manager(&[]).as_deref(),
        Some("glibc.malloc.mmap_threshold=33554432")
    );
    assert_eq!(
        glibc_tunables_of_a_job_manager(&[("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")])
            .as_deref(),
        Some("glibc.malloc.arena_max=2")
    );
}
