//! Running the cluster's processes: `flinkrs jobmanager`, `flinkrs taskmanager` and
//! `flinkrs local` (a JobManager and N TaskManagers in one process). Each runs until SIGINT or
//! SIGTERM, then shuts down cleanly: TaskManagers stop their heartbeats, the JobManager closes
//! its control plane.
//!
//! Each process announces on standard error, once, where it listens, so scripts and tests can
//! find a port that was picked (`jobmanager.rpc.port: 0`). Each serves `/metrics` in
//! Prometheus's format on `metrics.reporter.prom.port` (9249, or the first free port of a
//! range such as 9249-9251), as Flink's PrometheusReporter does: `flinkrs local` one endpoint
//! for its JobManager and all its TaskManagers.

use std::future::Future;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use flinkrs_contract::cli::{ClusterCommand, JobManagerArgs, ProcessArgs};
use flinkrs_core::Configuration;
use flinkrs_core::config::{
    JOBMANAGER_BIND_HOST, SHUTDOWN_ON_APPLICATION_FINISH, STATE_RECOVERY_PATH,
    TASKMANAGER_BIND_HOST, TASKMANAGER_HOST,
};
use tokio::signal::unix::{SignalKind, signal};

use crate::config_file;
use crate::high_availability::{
    ConfigMapStore, HaCheckpointStore, HaSettings, Leadership, LeadershipLost,
};
use crate::jobmanager::{JobManager, JobStatus, Submission};
use crate::prometheus::{self, SampleSource};
use crate::rest::HttpServer;
use crate::rpc::messages::JobSpec;
use crate::taskmanager::TaskManager;

/// What keeps a cluster's processes on loopback, each on a port picked for it: for tests,
/// benchmarks and programs that embed a cluster.
pub const LOOPBACK: [(&str, &str); 6] = [
    ("jobmanager.bind-host", "127.0.0.1"),
    ("jobmanager.rpc.port", "0"),
    ("rest.port", "0"),
    ("metrics.reporter.prom.port", "0"),
    ("taskmanager.host", "127.0.0.1"),
    ("taskmanager.bind-host", "127.0.0.1"),
];

/// A configuration of [`LOOPBACK`] with `entries` on top.
pub fn loopback_config(entries: &[(&str, &str)]) -> anyhow::Result<Configuration> {
    let mut config = Configuration::new();
    for (key, value) in LOOPBACK.iter().chain(entries) {
        config.set(key, *value)?;
    }
    Ok(config)
}

/// Starts the process `command` names and runs it until it is told to stop (or, for a
/// JobManager started with its job, until the job ends).
pub fn start(command: ClusterCommand) -> anyhow::Result<()> {
    match command {
        ClusterCommand::JobManager(args) => {
            let config = load(&args.process)?;
            let job = application_job(&args, &config)?;
            run_jobmanager(&config, job)
        }
        ClusterCommand::TaskManager(args) => {
            run_taskmanager(&load(&args.process)?, args.jobmanager.as_deref())
        }
        ClusterCommand::Local(args) => run_local(&load(&args.process)?, args.taskmanagers),
    }
}

fn load(args: &ProcessArgs) -> anyhow::Result<Configuration> {
    config_file::load(args.config.as_deref(), &args.dynamic_properties)
}

/// The job a JobManager starts with (application mode): its configuration is the process's.
fn application_job(
    args: &JobManagerArgs,
    config: &Configuration,
) -> anyhow::Result<Option<JobSpec>> {
    let properties = || -> Vec<String> {
        config
            .entries()
            .map(|(key, value)| format!("{key}={value}"))
            .collect()
    };
    if let Some(path) = &args.sql_file {
        let script = crate::run::SqlScript::read(path)?;
        // Planned here first, so that a bad script stops the JobManager with its error.
        flinkrs_sql::job::SqlJob::from_script(&script.text, &script.origin)?;
        return Ok(Some(JobSpec {
            sql: script.text,
            sql_origin: script.origin,
            properties: properties(),
            ..JobSpec::default()
        }));
    }
    if args.example.is_none() && (crate::program::registered() || !args.program_args.is_empty()) {
        let spec = crate::program::program_spec(args.program_args.clone(), properties());
        crate::program::check(&spec)?;
        return Ok(Some(spec));
    }
    Ok(args.example.as_ref().map(|example| JobSpec {
        example: example.clone(),
        input: args.input.clone().unwrap_or_default(),
        output: args.output.clone().unwrap_or_default(),
        records_per_second: args.rate.unwrap_or_default(),
        properties: properties(),
        ..JobSpec::default()
    }))
}

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

/// `flinkrs jobmanager`: serves the control plane until a signal. With a `job`
/// (application mode), it runs that job and stops when it has ended, as Flink's application
/// mode does: with an error when the job failed.
///
/// With high availability (`high-availability.type: kubernetes`), the job runs once this
/// JobManager leads the cluster, under an id derived from the cluster id, restored from the
/// latest checkpoint the high-availability ConfigMap records, and each completed checkpoint is
/// recorded there. A signal then stops the JobManager without cancelling the job, as Flink's
/// does: the next JobManager of the cluster recovers it. A lost lead stops it with an error.
pub fn run_jobmanager(config: &Configuration, job: Option<JobSpec>) -> anyhow::Result<()> {
    runtime("jobmanager-io")?.block_on(async {
        let mut stop = Box::pin(stop_signal()?);
        let jobmanager = JobManager::start(config).await?;
        eprintln!(
            "JobManager started: control plane on {}, REST API on {} (session {})",
            jobmanager.rpc_address(),
            jobmanager
                .rest_address()
                .map_or_else(|| "-".to_owned(), |address| address.to_string()),
            jobmanager.session()
        );
        let _metrics = serve_metrics(
            config,
            config.text(JOBMANAGER_BIND_HOST),
            vec![jobmanager.metrics()],
        )?;
        let Some(mut job) = job else {
            let signal = stop.await;
            eprintln!("{signal} received: stopping the JobManager");
            return jobmanager.shutdown().await;
        };
        let high_availability = HaSettings::from_config(config)?;
        let mut leadership = match &high_availability {
            Some(settings) => Some(lead(&jobmanager, settings).await?),
            None => None,
        };
        let submission = match (&leadership, &high_availability) {
            (Some(leadership), Some(settings)) => recover(leadership, settings, &mut job).await?,
            _ => Submission::default(),
        };
        let job_id = jobmanager.submit_with(job, submission)?;
        eprintln!("Job {job_id} submitted");
        let mut ticks = tokio::time::interval(std::time::Duration::from_millis(100));
        let mut signalled = false;
        let ended = loop {
            tokio::select! {
                signal = &mut stop => {
                    signalled = true;
                    if let Some(leadership) = leadership.take() {
                        eprintln!(
                            "{signal} received: stopping the JobManager; job {job_id} goes on \
                             from its latest checkpoint under the next leader"
                        );
                        leadership.release().await;
                        return Ok(());
                    }
                    eprintln!("{signal} received: cancelling job {job_id}");
                    jobmanager.cancel(job_id).await;
                    break jobmanager
                        .wait_for_job(job_id, config.heartbeat_timeout())
                        .await;
                }
                lost = lost_lead(&mut leadership) => {
                    bail!("the JobManager stops: {}", lost.0);
                }
                _ = ticks.tick() => {
                    if let Some(job) = jobmanager.job(job_id).filter(|job| job.status.is_terminal()) {
                        break Some(job);
                    }
                }
            }
        };
        if let Some(leadership) = leadership {
            // The job ended for good: a later leader must not recover it.
            if ended.is_some() {
                leadership
                    .store()
                    .remove_job(&job_id.to_string())
                    .await
                    .context("cannot clear the ended job from the high-availability ConfigMap")?;
            }
            leadership.release().await;
        }
        // As Flink's `execution.shutdown-on-application-finish: false`: the JobManager stays
        // up with the ended job, so that its pod is not restarted into running it again.
        if !signalled && config
                .text(SHUTDOWN_ON_APPLICATION_FINISH)
                .trim()
                .eq_ignore_ascii_case("false") {
            eprintln!(
                "Job {job_id} has ended; the JobManager serves it until it is stopped \
                 ({SHUTDOWN_ON_APPLICATION_FINISH} is false)"
            );
            let signal = stop.await;
            eprintln!("{signal} received: stopping the JobManager");
        }
        jobmanager.shutdown().await?;
        match ended {
            Some(job) if job.status == JobStatus::Failed => bail!(
                "job {job_id} failed: {}",
                job.failure.unwrap_or_default()
            ),
            Some(job) => {
                eprintln!(
                    "Job '{}' ({job_id}) {}: {} records in, {} records out.",
                    job.name,
                    job.status.name(),
                    job.records_in,
                    job.records_out
                );
                Ok(())
            }
            None => Ok(()),
        }
    })
}

/// Waits until `jobmanager` leads the cluster of `settings`.
async fn lead(jobmanager: &JobManager, settings: &HaSettings) -> anyhow::Result<Leadership> {
    let store = ConfigMapStore::connect(settings).await?;
    eprintln!(
        "High availability: waiting to lead cluster '{}' (ConfigMap {}/{})",
        settings.cluster_id,
        settings.namespace,
        store.name()
    );
    let leadership = Leadership::acquire(store, jobmanager.session(), settings).await?;
    eprintln!(
        "High availability: this JobManager leads cluster '{}'",
        settings.cluster_id
    );
    Ok(leadership)
}

/// The submission of the cluster's job under the lead: its stable id, restored from the
/// latest checkpoint the ConfigMap records (over `execution.state-recovery.path`), and its
/// checkpoints recorded there.
async fn recover(
    leadership: &Leadership,
    settings: &HaSettings,
    job: &mut JobSpec,
) -> anyhow::Result<Submission> {
    let job_id = settings.application_job_id();
    let store = leadership.store().clone();
    if let Some(latest) = store.latest_checkpoint(&job_id.to_string()).await? {
        eprintln!(
            "High availability: recovering job {job_id} from its latest checkpoint {} ({})",
            latest.checkpoint_id, latest.location
        );
        job.properties.retain(|property| {
            let key = property
                .split_once('=')
                .map_or(property.as_str(), |(key, _)| key);
            flinkrs_core::config::current_key(key.trim()) != STATE_RECOVERY_PATH
        });
        job.properties
            .push(format!("{STATE_RECOVERY_PATH}={}", latest.location));
    }
    Ok(Submission {
        job_id: Some(job_id),
        checkpoint_store: Some(Arc::new(HaCheckpointStore {
            store,
            identity: leadership.identity().to_owned(),
            job: job_id.to_string(),
            runtime: tokio::runtime::Handle::current(),
        })),
    })
}

/// Resolves when the lead is lost; never without high availability.
async fn lost_lead(leadership: &mut Option<Leadership>) -> LeadershipLost {
    match leadership {
        Some(leadership) => leadership.lost().await,
        None => std::future::pending().await,
    }
}

/// Serves `sources` at `/metrics` on `bind_host` (see [`prometheus::serve`]), and says where
/// on standard error, once, as the process's start line says where it listens.
fn serve_metrics(
    config: &Configuration,
    bind_host: &str,
    sources: Vec<SampleSource>,
) -> anyhow::Result<Option<HttpServer>> {
    let server = prometheus::serve(config, bind_host, sources)?;
    if let Some(server) = &server {
        eprintln!("Metrics served on {}/metrics", server.local_addr());
    }
    Ok(server)
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
        let _metrics = serve_metrics(
            config,
            config.text(TASKMANAGER_BIND_HOST),
            vec![task_manager.metrics()],
        )?;
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
            "Local cluster started: a JobManager on {} (REST API on {}) and {task_managers} \
             TaskManagers with {} slots each",
            jobmanager.rpc_address(),
            jobmanager
                .rest_address()
                .map_or_else(|| "-".to_owned(), |address| address.to_string()),
            config.slots_per_task_manager()
        );
        // One endpoint for the whole process, each member's series with its own labels.
        let sources = std::iter::once(jobmanager.metrics())
            .chain(members.iter().map(TaskManager::metrics))
            .collect();
        let _metrics = serve_metrics(&config, config.text(JOBMANAGER_BIND_HOST), sources)?;
        let signal = stop.await;
        eprintln!("{signal} received: stopping the local cluster");
        for member in members {
            member.shutdown().await;
        }
        jobmanager.shutdown().await
    })
}
