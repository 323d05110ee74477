//! Running the cluster's processes: `flinkrs jobmanager`, `flinkrs taskmanager` and
//! `flinkrs local` (a JobManager and N TaskManagers in one process). Each runs until SIGINT or
//! SIGTERM, then shuts down cleanly: TaskManagers stop their heartbeats, the JobManager closes
//! its control plane.
//!
//! Each process announces on standard error, once, where it listens, so scripts and tests can
//! find a port that was picked (`jobmanager.rpc.port: 0`).

use std::future::Future;

use anyhow::Context as _;
use flinkrs_core::Configuration;
use flinkrs_core::cluster_options::{
    JOBMANAGER_BIND_HOST, TASKMANAGER_BIND_HOST, TASKMANAGER_HOST,
};
use tokio::signal::unix::{SignalKind, signal};

use crate::jobmanager::JobManager;
use crate::taskmanager::TaskManager;

/// The process's tokio runtime: the control plane, and later the data plane and REST, share
/// it (architecture decision 1: one runtime per process).
fn runtime(name: &str) -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .context("cannot start the process's I/O runtime")
}

/// Resolves at the first SIGINT or SIGTERM, with the signal's name.
fn stop_signal() -> anyhow::Result<impl Future<Output = &'static str>> {
    let mut interrupt = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        }
    })
}

/// `flinkrs jobmanager`: serves the control plane until a signal.
pub fn run_jobmanager(config: &Configuration) -> anyhow::Result<()> {
    runtime("jobmanager-io")?.block_on(async {
        let stop = stop_signal()?;
        let jobmanager = JobManager::start(config).await?;
        eprintln!(
            "JobManager started: control plane on {} (session {})",
            jobmanager.rpc_address(),
            jobmanager.session()
        );
        let signal = stop.await;
        eprintln!("{signal} received: stopping the JobManager");
        jobmanager.shutdown().await
    })
}

/// `flinkrs taskmanager`: registers with the JobManager at `jobmanager` (`host:port`, or the
/// configuration's `jobmanager.rpc.address` and `jobmanager.rpc.port`) until a signal.
pub fn run_taskmanager(config: &Configuration, jobmanager: Option<&str>) -> anyhow::Result<()> {
    let jobmanager = jobmanager.map_or_else(|| config.jobmanager_rpc_address(), str::to_owned);
    runtime("taskmanager-io")?.block_on(async {
        let stop = stop_signal()?;
        let task_manager = TaskManager::start(config, &jobmanager).await?;
        eprintln!(
            "TaskManager {} started with {} slots: registering at the JobManager at {jobmanager}",
            task_manager.resource_id(),
            config.slots_per_task_manager()
        );
        let signal = stop.await;
        eprintln!("{signal} received: stopping the TaskManager");
        task_manager.shutdown().await;
        Ok(())
    })
}

/// `flinkrs local`: a JobManager and `task_managers` TaskManagers in this process, on
/// loopback unless `jobmanager.bind-host` says otherwise.
pub fn run_local(config: &Configuration, task_managers: u32) -> anyhow::Result<()> {
    let mut config = config.clone();
    for key in [
        JOBMANAGER_BIND_HOST,
        TASKMANAGER_BIND_HOST,
        TASKMANAGER_HOST,
    ] {
        if config.get(key).is_none() {
            config.set(key, "127.0.0.1")?;
        }
    }
    runtime("local-io")?.block_on(async {
        let stop = stop_signal()?;
        let jobmanager = JobManager::start(&config).await?;
        let address = format!("127.0.0.1:{}", jobmanager.rpc_address().port());
        let mut members = Vec::new();
        for _ in 0..task_managers {
            members.push(TaskManager::start(&config, &address).await?);
        }
        eprintln!(
            "Local cluster started: a JobManager on {} and {task_managers} TaskManagers with {} \
             slots each",
            jobmanager.rpc_address(),
            config.slots_per_task_manager()
        );
        let signal = stop.await;
        eprintln!("{signal} received: stopping the local cluster");
        for member in members {
            member.shutdown().await;
        }
        jobmanager.shutdown().await
    })
}
