//! The job on a real cluster: a JobManager and a TaskManager of two slots, started in this
//! process on a runtime of their own, talking gRPC and exchanging records over TCP on
//! loopback, with the JobManager's REST API on a free port.

use std::path::PathBuf;
use std::time::Duration;

use flinkrs_cluster::job_spec::spec_of;
use flinkrs_cluster::jobmanager::{JobManager, JobStatus};
use flinkrs_cluster::process::loopback_config;
use flinkrs_cluster::taskmanager::{TaskManager, TaskManagerState};

/// A guard against a hang while the cluster starts or the job ends.
const PATIENCE: Duration = Duration::from_secs(60);

/// The job running on a JobManager and a TaskManager.
pub struct ClusterJob {
    runtime: tokio::runtime::Runtime,
    jobmanager: Option<JobManager>,
    taskmanager: Option<TaskManager>,
    job_id: flinkrs_core::JobId,
    dir: tempfile::TempDir,
}

impl ClusterJob {
    /// Starts the cluster and submits the job at `records_per_second`.
    pub fn start(records_per_second: u64) -> anyhow::Result<ClusterJob> {
        let dir = tempfile::tempdir()?;
        let request = super::job_request(dir.path(), records_per_second)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (jobmanager, taskmanager) = runtime.block_on(async {
            let jobmanager = JobManager::start(&loopback_config(&[])?).await?;
            let address = jobmanager.rpc_address().to_string();
            let config = loopback_config(&[("taskmanager.numberOfTaskSlots", "2")])?;
            let taskmanager = TaskManager::start(&config, &address).await?;
            let mut state = taskmanager.state();
            tokio::time::timeout(
                PATIENCE,
                state.wait_for(|state| matches!(state, TaskManagerState::Registered { .. })),
            )
            .await??;
            anyhow::Ok((jobmanager, taskmanager))
        })?;
        let job_id = {
            let _entered = runtime.enter();
            jobmanager.submit(spec_of(&request))?
        };
        Ok(ClusterJob {
            runtime,
            jobmanager: Some(jobmanager),
            taskmanager: Some(taskmanager),
            job_id,
            dir,
        })
    }

    /// `http://127.0.0.1:<port>` of the JobManager's REST API.
    pub fn rest_url(&self) -> String {
        let address = self
            .jobmanager
            .as_ref()
            .and_then(JobManager::rest_address)
            .expect("the JobManager serves REST");
        format!("http://{address}")
    }

    pub fn job_id(&self) -> String {
        self.job_id.to_string()
    }

    /// A folder for savepoints, inside the job's temporary folder.
    pub fn savepoints(&self) -> PathBuf {
        self.dir.path().join("savepoints")
    }

    /// Waits for the job to end; its final status.
    pub fn wait(&self) -> Option<JobStatus> {
        let jobmanager = self.jobmanager.as_ref()?;
        let ended = self
            .runtime
            .block_on(jobmanager.wait_for_job(self.job_id, PATIENCE))?;
        Some(ended.status)
    }
}

impl Drop for ClusterJob {
    fn drop(&mut self) {
        if let Some(jobmanager) = self.jobmanager.take() {
            let job_id = self.job_id;
            self.runtime.block_on(async {
                jobmanager.cancel(job_id).await;
                let _ = jobmanager.wait_for_job(job_id, PATIENCE).await;
                if let Some(taskmanager) = self.taskmanager.take() {
                    taskmanager.shutdown().await;
                }
                let _ = jobmanager.shutdown().await;
            });
        }
    }
}
