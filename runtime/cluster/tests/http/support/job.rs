//! A real job for the HTTP tests: a throttled WordCount that runs until cancelled, with its
//! REST API on a free loopback port.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flinkrs_cluster::rest::{HttpServer, LocalJobManager};
use flinkrs_cluster::run::{RunRequest, run_example_with};
use flinkrs_contract::rest;

use super::http::{get, request};

/// A guard against a hang, not a synchronization: each wait ends as soon as its condition holds.
pub const PATIENCE: Duration = Duration::from_secs(60);

pub fn wait_for<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(Instant::now() < deadline, "waited {PATIENCE:?} for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A WordCount over a large input, throttled so it runs until it is cancelled, checkpointing
/// every 100 ms; its REST API on a free loopback port.
pub struct RunningJob {
    pub job_manager: LocalJobManager,
    rest: HttpServer,
    run: Option<JoinHandle<anyhow::Result<String>>>,
    dir: tempfile::TempDir,
}

impl RunningJob {
    pub fn start() -> RunningJob {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("words.txt");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
        for index in 0..200_000 {
            writeln!(file, "w{}", index % 7).unwrap();
        }
        file.into_inner().unwrap().sync_all().unwrap();
        let job_manager = LocalJobManager::new();
        let rest = HttpServer::rest(Arc::new(job_manager.clone()), "127.0.0.1", 0).unwrap();
        let request = RunRequest {
            example: "wordcount".into(),
            input: Some(input),
            output: Some(dir.path().join("out")),
            records_per_second: Some(2_000),
            parallelism: Some(2),
            dynamic_properties: vec![
                "execution.checkpointing.interval=100ms".into(),
                format!(
                    "execution.checkpointing.dir=file://{}",
                    dir.path().join("checkpoints").display()
                ),
                "pipeline.name=rest-probe".into(),
                // Keeps every checkpoint, so the latest one's folder is still there when read.
                "execution.checkpointing.num-retained=1000".into(),
            ],
            sql: None,
        };
        let listener = job_manager.clone();
        let run = std::thread::spawn(move || {
            run_example_with(&request, |env| {
                env.register_job_listener(listener.listener())
            })
        });
        RunningJob {
            job_manager,
            rest,
            run: Some(run),
            dir,
        }
    }

    pub fn address(&self) -> SocketAddr {
        self.rest.local_addr()
    }

    /// The job's id, once the REST API lists it RUNNING.
    pub fn job_id(&self) -> String {
        wait_for("the job to be RUNNING", || {
            let jobs: rest::MultipleJobsDetails =
                serde_json::from_str(&get(self.address(), "/jobs/overview").body).ok()?;
            let job = jobs.jobs.first()?;
            (job.state == rest::JobState::Running).then(|| job.jid.clone())
        })
    }

    pub fn savepoints(&self) -> PathBuf {
        self.dir.path().join("savepoints")
    }
}

impl Drop for RunningJob {
    fn drop(&mut self) {
        // A test that failed midway leaves its job running: end it.
        if let Some(run) = self.run.take() {
            if let Ok(jobs) =
                serde_json::from_str::<rest::JobIdsWithStatus>(&get(self.address(), "/jobs").body)
            {
                for job in jobs.jobs {
                    request(
                        self.address(),
                        "PATCH",
                        &format!("/jobs/{}?mode=cancel", job.id),
                        None,
                    );
                }
            }
            let _ = run.join();
        }
    }
}
