//! # flinkrs-e2e-runtime-operator
//!
//! Where the two halves meet, tested with both real: the operator's `HttpJobManagerClient`
//! against the runtime's REST server, and the testbed's real Prometheus scraping the runtime's
//! `/metrics`, while a real job runs. The runtime does not depend on the operator, nor the
//! operator on the runtime; only these tests depend on both.
//!
//! [`RunningJob`] starts the job: a throttled WordCount of the in-process cluster that runs
//! until cancelled, checkpointing every 100 ms, with its REST API and `/metrics` on free
//! loopback ports. [`ClusterJob`] runs the same job on a real JobManager and TaskManager
//! (in this process, talking gRPC and TCP on loopback), with the JobManager's REST API.

mod cluster;

pub use cluster::ClusterJob;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use flinkrs_cluster::prometheus::{self, ProcessLabels};
use flinkrs_cluster::rest::{HttpServer, JobManagerGateway, LocalJobManager};
use flinkrs_cluster::run::{RunRequest, run_example_with};

/// Input lines: at the rate below, the job outlives every test.
const LINES: usize = 200_000;

/// The job both kinds of cluster run: WordCount at `records_per_second` over `LINES` lines of
/// seven words, written into `dir`, checkpointing every 100 ms into `dir`.
fn job_request(dir: &Path, records_per_second: u64) -> anyhow::Result<RunRequest> {
    let input = dir.join("words.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input)?);
    for index in 0..LINES {
        writeln!(file, "w{}", index % 7)?;
    }
    file.into_inner()?.sync_all()?;
    Ok(RunRequest {
        example: "wordcount".into(),
        input: Some(input),
        output: Some(dir.join("out")),
        records_per_second: Some(records_per_second),
        parallelism: Some(2),
        dynamic_properties: vec![
            "execution.checkpointing.interval=100ms".into(),
            format!(
                "execution.checkpointing.dir=file://{}",
                dir.join("checkpoints").display()
            ),
            "execution.checkpointing.num-retained=1000".into(),
            "pipeline.name=e2e".into(),
        ],
        sql: None,
    })
}

/// A running job with its REST API and `/metrics`.
pub struct RunningJob {
    job_manager: LocalJobManager,
    rest: HttpServer,
    metrics: HttpServer,
    run: Option<JoinHandle<anyhow::Result<String>>>,
    dir: tempfile::TempDir,
}

impl RunningJob {
    /// Starts WordCount at `records_per_second` over `LINES` lines of seven words.
    pub fn start(records_per_second: u64) -> anyhow::Result<RunningJob> {
        let dir = tempfile::tempdir()?;
        let job_manager = LocalJobManager::new();
        let gateway: Arc<dyn JobManagerGateway> = Arc::new(job_manager.clone());
        let rest = HttpServer::rest(gateway, "127.0.0.1", 0)?;
        let labels = ProcessLabels::local(Some("localhost:0-000000".to_owned()));
        let metrics = HttpServer::start(
            prometheus::router(job_manager.metrics_source(), labels),
            "127.0.0.1",
            0,
            "/metrics",
        )?;
        let request = job_request(dir.path(), records_per_second)?;
        let listener = job_manager.clone();
        let run = std::thread::spawn(move || {
            run_example_with(&request, |env| {
                env.register_job_listener(listener.listener())
            })
        });
        Ok(RunningJob {
            job_manager,
            rest,
            metrics,
            run: Some(run),
            dir,
        })
    }

    /// `http://127.0.0.1:<port>` of the REST API.
    pub fn rest_url(&self) -> String {
        format!("http://{}", self.rest.local_addr())
    }

    /// `127.0.0.1:<port>` of `/metrics`.
    pub fn metrics_address(&self) -> SocketAddr {
        self.metrics.local_addr()
    }

    /// The job's id, once it runs.
    pub fn job_id(&self) -> Option<String> {
        self.job_manager.jobs().first().map(|job| job.id.clone())
    }

    /// A folder for savepoints, inside the job's temporary folder.
    pub fn savepoints(&self) -> PathBuf {
        self.dir.path().join("savepoints")
    }

    /// Cancels the job and waits for its run to end; its outcome.
    pub fn finish(mut self) -> Option<anyhow::Result<String>> {
        self.end()
    }

    fn end(&mut self) -> Option<anyhow::Result<String>> {
        let run = self.run.take()?;
        for job in self.job_manager.jobs() {
            let _ = self.job_manager.cancel(&job.id);
        }
        run.join().ok()
    }
}

impl Drop for RunningJob {
    fn drop(&mut self) {
        self.end();
    }
}
