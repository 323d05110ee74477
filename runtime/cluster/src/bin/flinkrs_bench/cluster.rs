//! (h) The cluster: how long a submitted job takes to run (submit to RUNNING: slots
//! allocated, every TaskManager's share deployed), and WordCount at parallelism 2 with its
//! keyed exchange between two TaskManagers over TCP on loopback, against the same job in one
//! process with local channels. The JobManager and both TaskManagers run in this process,
//! each with its own control plane and data plane, so "per core" counts all of them.

use std::path::Path;
use std::time::{Duration, Instant};

use flinkrs_cluster::job_spec::spec_of;
use flinkrs_cluster::jobmanager::{JobManager, JobStatus};
use flinkrs_cluster::process::loopback_config;
use flinkrs_cluster::run::{RunRequest, run_request};
use flinkrs_cluster::taskmanager::{TaskManager, TaskManagerState};

use super::{measure, report};

fn wordcount(input: &Path, output: &Path) -> RunRequest {
    RunRequest {
        example: "wordcount".to_owned(),
        input: Some(input.to_owned()),
        output: Some(output.to_owned()),
        parallelism: Some(2),
        ..RunRequest::default()
    }
}

/// Runs (h) over the text file at `input` of `bytes` bytes.
pub(super) fn run(input: &Path, bytes: u64) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let jobmanager = runtime.block_on(JobManager::start(&loopback_config(&[])?))?;
    let address = jobmanager.rpc_address().to_string();
    let mut members = Vec::new();
    for _ in 0..2 {
        let member = runtime.block_on(TaskManager::start(
            &loopback_config(&[("taskmanager.numberOfTaskSlots", "1")])?,
            &address,
        ))?;
        let mut state = member.state();
        runtime.block_on(
            state.wait_for(|state| matches!(state, TaskManagerState::Registered { .. })),
        )?;
        members.push(member);
    }
    let dir = tempfile::tempdir()?;

    // Start latency: the median of five submissions of the job over its built-in data.
    let mut latencies = Vec::new();
    for run in 0..5 {
        let request = RunRequest {
            example: "wordcount".to_owned(),
            output: Some(dir.path().join(format!("latency-{run}"))),
            parallelism: Some(2),
            ..RunRequest::default()
        };
        let job = runtime.block_on(async { jobmanager.submit(spec_of(&request)) })?;
        let submitted = Instant::now();
        let running = loop {
            let status = jobmanager.job(job).map(|job| job.status);
            if status != Some(JobStatus::Initializing) {
                break submitted.elapsed();
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        latencies.push(running);
        runtime.block_on(jobmanager.wait_for_job(job, Duration::from_secs(60)));
    }
    latencies.sort();
    println!(
        "{:<48} {:>8.1} ms from submit to RUNNING (median of 5; target under 1 s; Flink takes \
         about 10 s here)",
        "(h) cluster start latency",
        latencies[2].as_secs_f64() * 1e3
    );

    let mut run = 0;
    let local = measure(|| {
        run += 1;
        run_request(
            &wordcount(input, &dir.path().join(format!("local-{run}"))),
            |_| {},
        )?;
        Ok(bytes as f64)
    })?;
    report(
        "(h) wordcount p=2, one process, local channels",
        "MB/s",
        1e6,
        0.0,
        &local,
    );
    let spanning = measure(|| {
        run += 1;
        let request = wordcount(input, &dir.path().join(format!("cluster-{run}")));
        let job = runtime.block_on(async { jobmanager.submit(spec_of(&request)) })?;
        let ended = runtime
            .block_on(jobmanager.wait_for_job(job, Duration::from_secs(600)))
            .filter(|job| job.status == JobStatus::Finished)
            .ok_or_else(|| anyhow::anyhow!("the cluster's wordcount did not finish"))?;
        anyhow::ensure!(ended.failure.is_none(), "{:?}", ended.failure);
        Ok(bytes as f64)
    })?;
    report(
        "(h) the same across two TaskManagers (TCP)",
        "MB/s",
        1e6,
        0.0,
        &spanning,
    );
    for member in members {
        runtime.block_on(member.shutdown());
    }
    runtime.block_on(jobmanager.shutdown())
}
