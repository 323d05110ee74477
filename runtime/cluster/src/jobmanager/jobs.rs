//! The JobManager's table of jobs: their status with Flink's names, their failure, and the
//! reports of the TaskManagers running them, routed to the thread that waits for the job.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::rest::now_millis;
use crate::rpc::messages::{TasksEnded, TasksOutcome};

/// A job's status, with Flink's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Initializing,
    Running,
    Finished,
    Canceled,
    Failed,
}

impl JobStatus {
    pub fn name(self) -> &'static str {
        match self {
            JobStatus::Initializing => "INITIALIZING",
            JobStatus::Running => "RUNNING",
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
    /// A cancel was asked for.
    pub cancel_requested: bool,
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
                cancel_requested: false,
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

    /// The job runs on `task_managers`; their reports go to `reports`. `false` when the job
    /// was cancelled before it got that far.
    pub fn running(
        &self,
        job_id: &str,
        (name, vertices): (&str, Vec<VertexInfo>),
        task_managers: Vec<(String, String)>,
        reports: Sender<TasksEnded>,
    ) -> bool {
        let mut table = self.table();
        let Some(job) = table.get_mut(job_id) else {
            return false;
        };
        job.name = name.to_owned();
        job.vertices = vertices;
        job.task_managers = task_managers;
        job.reports = Some(reports);
        if job.cancel_requested {
            return false;
        }
        job.status = JobStatus::Running;
        job.status_times.push((JobStatus::Running, now_millis()));
        true
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
                    attempt: 0,
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
            job.status_times.push((status, now_millis()));
            job.failure = failure;
            job.duration = Some(job.started.elapsed());
            job.reports = None;
            (job.records_in, job.records_out) = records;
        }
    }
}
