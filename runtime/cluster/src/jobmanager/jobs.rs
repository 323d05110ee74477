//! The JobManager's table of jobs: their status with Flink's names, their failure, and the
//! reports of the TaskManagers running them, routed to the thread that waits for the job.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use flinkrs_dataflow::checkpoint_participants::WrittenAcknowledgement;
use flinkrs_dataflow::checkpointing::CheckpointGauges;
use flinkrs_dataflow::job_client::SavepointRequest;

use crate::rest::now_millis;
use crate::rpc::messages::{TasksEnded, TasksOutcome};

/// A job's status, with Flink's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Initializing,
    Running,
    /// A TaskManager or a subtask failed: the job restarts from its latest checkpoint.
    Restarting,
    Finished,
    Canceled,
    Failed,
}

impl JobStatus {
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Initializing => "INITIALIZING",
            JobStatus::Running => "RUNNING",
            JobStatus::Restarting => "RESTARTING",
            JobStatus::Finished => "FINISHED",
            JobStatus::Canceled => "CANCELED",
            JobStatus::Failed => "FAILED",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Finished | JobStatus::Canceled | JobStatus::Failed
        )
    }
}

/// A vertex of a job, as the REST API shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VertexInfo {
    pub id: String,
    pub name: String,
    pub parallelism: usize,
    pub max_parallelism: usize,
    /// The vertices it reads from (their ids) and how (`FORWARD`, `HASH`, …).
    pub inputs: Vec<(String, String)>,
}

/// One job of the JobManager.
#[derive(Clone, Debug)]
pub struct JobEntry {
    pub name: String,
    pub status: JobStatus,
    /// When the job entered each status it went through, milliseconds since the epoch.
    pub status_times: Vec<(JobStatus, i64)>,
    /// The job's configuration, `key=value`.
    pub properties: Vec<String>,
    /// Its vertices, once its graph is built.
    pub vertices: Vec<VertexInfo>,
    /// Why it failed, when it did.
    pub failure: Option<String>,
    pub started: Instant,
    pub duration: Option<Duration>,
    pub records_in: u64,
    pub records_out: u64,
    /// Where its reports go while it runs.
    reports: Option<Sender<TasksEnded>>,
    /// The TaskManagers running its subtasks: (resource id, control-plane address).
    pub task_managers: Vec<(String, String)>,
    /// Their data addresses: where a `SELECT` job's collected rows are fetched from.
    pub data_addresses: Vec<String>,
    /// A cancel was asked for.
    pub cancel_requested: bool,
    /// The attempt running now: 0, and one more after each restart.
    pub attempt: u32,
    /// Where the running attempt's checkpoint acknowledgements go.
    checkpoint_routes: Option<CheckpointRoutes>,
    /// Where savepoint requests go, when the job takes checkpoints.
    pub savepoints: Option<Sender<SavepointRequest>>,
    /// Its checkpoint gauges and statistics, when it takes checkpoints.
    pub checkpoint_gauges: Option<CheckpointGauges>,
    /// Its failures that led to a restart (or ended it), oldest first: (time, message).
    pub exceptions: Vec<(i64, String)>,
    pub restarts: u32,
}

/// Where an attempt's checkpoint reports go: its checkpoint coordinator.
#[derive(Clone, Debug)]
pub struct CheckpointRoutes {
    pub attempt: u32,
    pub written: Sender<WrittenAcknowledgement>,
    pub input_ended: Sender<usize>,
}

/// Every job the JobManager knows, by id (32 hex digits).
#[derive(Debug, Default)]
pub struct Jobs {
    table: Mutex<BTreeMap<String, JobEntry>>,
}

impl Jobs {
    fn table(&self) -> MutexGuard<'_, BTreeMap<String, JobEntry>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a job that is starting.
    pub fn add(&self, job_id: &str, name: &str, properties: Vec<String>) {
        self.table().insert(
            job_id.to_owned(),
            JobEntry {
                name: name.to_owned(),
                status: JobStatus::Initializing,
                status_times: vec![(JobStatus::Initializing, now_millis())],
                properties,
                vertices: Vec::new(),
                failure: None,
                started: Instant::now(),
                duration: None,
                records_in: 0,
                records_out: 0,
                reports: None,
                task_managers: Vec::new(),
                data_addresses: Vec::new(),
                cancel_requested: false,
                attempt: 0,
                checkpoint_routes: None,
                savepoints: None,
                checkpoint_gauges: None,
                exceptions: Vec::new(),
                restarts: 0,
            },
        );
    }

    pub fn get(&self, job_id: &str) -> Option<JobEntry> {
        self.table().get(job_id).cloned()
    }

    /// Every job, by id.
    pub fn all(&self) -> Vec<(String, JobEntry)> {
        self.table()
            .iter()
            .map(|(id, job)| (id.clone(), job.clone()))
            .collect()
    }

    /// The job runs on `task_managers` (with their data addresses); their reports go to
    /// `reports`. `false` when the job was cancelled before it got that far.
    pub fn running(
        &self,
        job_id: &str,
        (name, vertices): (&str, Vec<VertexInfo>),
        (task_managers, data_addresses): (Vec<(String, String)>, Vec<String>),
        reports: Sender<TasksEnded>,
    ) -> bool {
        let mut table = self.table();
        let Some(job) = table.get_mut(job_id) else {
            return false;
        };
        job.name = name.to_owned();
        job.vertices = vertices;
        job.task_managers = task_managers;
        job.data_addresses = data_addresses;
        job.reports = Some(reports);
        if job.cancel_requested {
            return false;
        }
        job.status = JobStatus::Running;
        job.status_times.push((JobStatus::Running, now_millis()));
        true
    }

    /// The job takes checkpoints: savepoints are asked for on `savepoints`, and its gauges and
    /// statistics are `gauges`.
    pub fn takes_checkpoints(
        &self,
        job_id: &str,
        savepoints: Sender<SavepointRequest>,
        gauges: CheckpointGauges,
    ) {
        if let Some(job) = self.table().get_mut(job_id) {
            job.savepoints = Some(savepoints);
            job.checkpoint_gauges = Some(gauges);
        }
    }

    /// Attempt `attempt` of the job starts; its checkpoint reports go to `routes`.
    pub fn attempt_started(&self, job_id: &str, attempt: u32, routes: Option<CheckpointRoutes>) {
        if let Some(job) = self.table().get_mut(job_id) {
            job.attempt = attempt;
            job.checkpoint_routes = routes;
        }
    }

    /// The job failed with `failure` and restarts.
    pub fn restarting(&self, job_id: &str, failure: &str) {
        if let Some(job) = self.table().get_mut(job_id) {
            let now = now_millis();
            job.status = JobStatus::Restarting;
            job.status_times.push((JobStatus::Restarting, now));
            job.exceptions.push((now, failure.to_owned()));
            job.restarts += 1;
            job.checkpoint_routes = None;
        }
    }

    /// Routes a TaskManager's checkpoint acknowledgement to the coordinator of attempt
    /// `attempt`; `false` when that attempt is not running.
    pub fn checkpoint_acknowledged(
        &self,
        job_id: &str,
        attempt: u32,
        acknowledgement: WrittenAcknowledgement,
    ) -> bool {
        match self.routes(job_id, attempt) {
            Some(routes) => routes.written.send(acknowledgement).is_ok(),
            None => false,
        }
    }

    /// Routes the end of a source's input to the coordinator of attempt `attempt`.
    pub fn source_input_ended(&self, job_id: &str, attempt: u32, task_index: usize) -> bool {
        match self.routes(job_id, attempt) {
            Some(routes) => routes.input_ended.send(task_index).is_ok(),
            None => false,
        }
    }

    fn routes(&self, job_id: &str, attempt: u32) -> Option<CheckpointRoutes> {
        self.table()
            .get(job_id)
            .and_then(|job| job.checkpoint_routes.clone())
            .filter(|routes| routes.attempt == attempt)
    }

    /// Routes a TaskManager's report to the job's thread; `false` for an unknown or ended job.
    pub fn report(&self, report: TasksEnded) -> bool {
        let table = self.table();
        match table
            .get(&report.job_id)
            .and_then(|job| job.reports.as_ref())
        {
            Some(reports) => reports.send(report).is_ok(),
            None => false,
        }
    }

    /// Marks a cancel of the job and returns its TaskManagers' control-plane addresses;
    /// `None` for an unknown job.
    pub fn request_cancel(&self, job_id: &str) -> Option<Vec<String>> {
        let mut table = self.table();
        let job = table.get_mut(job_id)?;
        job.cancel_requested = true;
        Some(
            job.task_managers
                .iter()
                .map(|(_, address)| address.clone())
                .collect(),
        )
    }

    /// A TaskManager was lost: every running job with subtasks on it gets a failure report
    /// in its place.
    pub fn task_manager_lost(&self, resource_id: &str) {
        for (job_id, job) in self.table().iter() {
            let Some(reports) = &job.reports else {
                continue;
            };
            if job.task_managers.iter().any(|(id, _)| id == resource_id) {
                let _ = reports.send(TasksEnded {
                    resource_id: resource_id.to_owned(),
                    job_id: job_id.clone(),
                    attempt: job.attempt,
                    outcome: TasksOutcome::Failed as i32,
                    failure: format!(
                        "TaskManager {resource_id} was lost (no heartbeat within \
                         heartbeat.timeout)"
                    ),
                    nodes: Vec::new(),
                });
            }
        }
    }

    /// The job ended.
    pub fn ended(
        &self,
        job_id: &str,
        status: JobStatus,
        failure: Option<String>,
        records: (u64, u64),
    ) {
        if let Some(job) = self.table().get_mut(job_id) {
            job.status = status;
            let now = now_millis();
            job.status_times.push((status, now));
            if let Some(failure) = &failure {
                job.exceptions.push((now, failure.clone()));
            }
            job.failure = failure;
            job.duration = Some(job.started.elapsed());
            job.reports = None;
            job.checkpoint_routes = None;
            job.savepoints = None;
            (job.records_in, job.records_out) = records;
        }
    }
}
