//! An in-memory JobManager for tests.
//!
//! It behaves like a JobManager in Flink's application mode, one job per
//! cluster. The operator cancels a job (or stops it with a savepoint) right
//! before it redeploys the cluster, so after such a stop the next look at
//! `/jobs/overview` shows a new, running job, as the redeployed JobManager
//! would. A job that failed on its own stays FAILED until the operator acts.
//! A redeploy that neither cancels nor stops the job (last-state) is told with
//! [`FakeJobManager::restart_cluster`], as the operator's apply would replace the pod.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, MutexGuard},
};

use futures::future::BoxFuture;

use super::{
    JobDetails, JobManagerClient, JobManagerClientFactory, JobManagerError, JobManagerResult,
    JobState, JobSummary, LatestCheckpoint, SavepointRequest, SavepointStatus,
};

/// A set of fake JobManagers, one per REST URL, shared with the test that drives them.
#[derive(Clone, Default)]
pub struct FakeJobManagers {
    managers: Arc<Mutex<HashMap<String, FakeJobManager>>>,
}

impl FakeJobManagers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The fake JobManager at `rest_url`, created on first use.
    pub fn manager(&self, rest_url: &str) -> FakeJobManager {
        let mut managers = self
            .managers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        managers.entry(rest_url.to_owned()).or_default().clone()
    }
}

impl JobManagerClientFactory for FakeJobManagers {
    fn client(&self, rest_url: &str) -> Arc<dyn JobManagerClient> {
        Arc::new(self.manager(rest_url))
    }
}

/// One fake JobManager. Clones share state.
#[derive(Clone, Default)]
pub struct FakeJobManager {
    state: Arc<Mutex<FakeCluster>>,
}

#[derive(Default)]
struct FakeCluster {
    jobs: Vec<JobSummary>,
    started_jobs: u64,
    savepoints: HashMap<String, FakeSavepoint>,
    hold_savepoints: bool,
    /// The operator stopped the job, so a redeployed cluster starts a new one.
    restart_pending: bool,
    unreachable: bool,
    latest_checkpoint: Option<LatestCheckpoint>,
    /// The next savepoints fail with this cause.
    failing_savepoints: Option<String>,
    calls: Vec<String>,
}

struct FakeSavepoint {
    job_id: String,
    location: String,
    stop_job: bool,
    done: bool,
    /// The savepoint failed with this cause.
    failure: Option<String>,
}

impl FakeCluster {
    /// The job the JobManager runs; starts one when there is none yet, or when the
    /// operator stopped the last one.
    fn current_job(&mut self) -> &mut JobSummary {
        let running = self.jobs.iter().position(|job| !job.state.is_terminal());
        let index = match running {
            Some(index) => index,
            None if !self.jobs.is_empty() && !self.restart_pending => self.jobs.len() - 1,
            None => {
                self.restart_pending = false;
                self.started_jobs += 1;
                self.jobs.push(JobSummary {
                    id: format!("{:032x}", self.started_jobs),
                    name: "fake-job".to_owned(),
                    state: JobState::Running,
                    start_time: i64::try_from(self.started_jobs).unwrap_or(i64::MAX),
                });
                self.jobs.len() - 1
            }
        };
        &mut self.jobs[index]
    }

    fn job(&mut self, url_path: &str, job_id: &str) -> JobManagerResult<&mut JobSummary> {
        self.jobs
            .iter_mut()
            .find(|job| job.id == job_id)
            .ok_or_else(|| JobManagerError::Http {
                url: format!("fake{url_path}"),
                status: 404,
                message: "Job could not be found.".to_owned(),
            })
    }

    fn finish_savepoint(&mut self, trigger_id: &str) {
        let Some(savepoint) = self.savepoints.get_mut(trigger_id) else {
            return;
        };
        if savepoint.done {
            return;
        }
        savepoint.done = true;
        let (job_id, stop) = (savepoint.job_id.clone(), savepoint.stop_job);
        if stop
            && savepoint.failure.is_none()
            && let Some(job) = self.jobs.iter_mut().find(|job| job.id == job_id)
        {
            // Stop-with-savepoint ends the job FINISHED, as Flink does.
            job.state = JobState::Finished;
            self.restart_pending = true;
        }
    }
}

impl FakeJobManager {
    fn lock(&self) -> MutexGuard<'_, FakeCluster> {
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn check_reachable(&self, call: String) -> JobManagerResult<MutexGuard<'_, FakeCluster>> {
        let mut cluster = self.lock();
        if cluster.unreachable {
            return Err(JobManagerError::Unreachable {
                url: "fake".to_owned(),
                reason: "connection refused".to_owned(),
            });
        }
        cluster.calls.push(call);
        Ok(cluster)
    }

    /// Keep savepoints IN_PROGRESS until [`Self::complete_savepoints`].
    pub fn hold_savepoints(&self, hold: bool) {
        self.lock().hold_savepoints = hold;
    }

    /// Complete every savepoint that is still in progress.
    pub fn complete_savepoints(&self) {
        let mut cluster = self.lock();
        let triggers: Vec<String> = cluster.savepoints.keys().cloned().collect();
        for trigger in triggers {
            cluster.finish_savepoint(&trigger);
        }
    }

    /// Make the savepoints triggered from now on fail with `cause` (`None`: succeed again).
    /// A trigger id seen before keeps its first result, as Flink caches it.
    pub fn fail_savepoints(&self, cause: Option<&str>) {
        self.lock().failing_savepoints = cause.map(str::to_owned);
    }

    /// The JobManager's pod was replaced without its job being cancelled or stopped (a
    /// last-state redeploy): the old job is gone and a new one starts.
    pub fn restart_cluster(&self) {
        let mut cluster = self.lock();
        cluster.jobs.retain(|job| job.state.is_terminal());
        cluster.restart_pending = true;
    }

    /// Make every call fail as if the JobManager were down.
    pub fn set_unreachable(&self, unreachable: bool) {
        self.lock().unreachable = unreachable;
    }

    /// Cancel the running job from outside the operator (a user's `PATCH /jobs/:id`): the
    /// job stays CANCELED, no new one starts.
    pub fn cancel_running_job_externally(&self) {
        let mut cluster = self.lock();
        if let Some(job) = cluster.jobs.iter_mut().find(|job| !job.state.is_terminal()) {
            job.state = JobState::Canceled;
        }
    }

    /// Fail the running job (FAILED is terminal: Flink gave up restarting it).
    pub fn fail_running_job(&self) {
        let mut cluster = self.lock();
        if let Some(job) = cluster.jobs.iter_mut().find(|job| !job.state.is_terminal()) {
            job.state = JobState::Failed;
        }
    }

    pub fn set_latest_checkpoint(&self, checkpoint: Option<LatestCheckpoint>) {
        self.lock().latest_checkpoint = checkpoint;
    }

    /// Every call so far, e.g. `cancel <job id>`, `savepoint <job id>`, `stop <job id>`.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    /// Every job started so far, oldest first.
    pub fn jobs(&self) -> Vec<JobSummary> {
        self.lock().jobs.clone()
    }
}

impl JobManagerClient for FakeJobManager {
    fn jobs_overview(&self) -> BoxFuture<'_, JobManagerResult<Vec<JobSummary>>> {
        Box::pin(async move {
            let mut cluster = self.check_reachable("overview".to_owned())?;
            cluster.current_job();
            Ok(cluster.jobs.clone())
        })
    }

    fn job_details<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, JobManagerResult<JobDetails>> {
        Box::pin(async move {
            let mut cluster = self.check_reachable(format!("details {job_id}"))?;
            let job = cluster.job(&format!("/jobs/{job_id}"), job_id)?;
            Ok(JobDetails {
                id: job.id.clone(),
                name: job.name.clone(),
                state: job.state,
                start_time: job.start_time,
                end_time: -1,
            })
        })
    }

    fn trigger_savepoint<'a>(
        &'a self,
        job_id: &'a str,
        request: &'a SavepointRequest,
    ) -> BoxFuture<'a, JobManagerResult<String>> {
        Box::pin(async move {
            let verb = if request.stop_job {
                "stop"
            } else {
                "savepoint"
            };
            let call = format!("{verb} {job_id} trigger={}", request.trigger_id);
            let mut cluster = self.check_reachable(call)?;
            let resource = if request.stop_job {
                "stop"
            } else {
                "savepoints"
            };
            cluster.job(&format!("/jobs/{job_id}/{resource}"), job_id)?;
            let failure = cluster.failing_savepoints.clone();
            let directory = request
                .target_directory
                .as_deref()
                .unwrap_or("file:///savepoints");
            let number = cluster.savepoints.len() + 1;
            let short_id: String = job_id.chars().take(6).collect();
            cluster
                .savepoints
                .entry(request.trigger_id.clone())
                .or_insert(FakeSavepoint {
                    job_id: job_id.to_owned(),
                    location: format!("{directory}/savepoint-{short_id}-{number}"),
                    stop_job: request.stop_job,
                    done: false,
                    failure,
                });
            if !cluster.hold_savepoints {
                cluster.finish_savepoint(&request.trigger_id);
            }
            Ok(request.trigger_id.clone())
        })
    }

    fn savepoint_status<'a>(
        &'a self,
        job_id: &'a str,
        trigger_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<SavepointStatus>> {
        Box::pin(async move {
            let cluster =
                self.check_reachable(format!("savepoint-status {job_id} {trigger_id}"))?;
            match cluster.savepoints.get(trigger_id) {
                Some(FakeSavepoint {
                    done: true,
                    failure: Some(cause),
                    ..
                }) => Ok(SavepointStatus::Failed {
                    cause: cause.clone(),
                }),
                Some(savepoint) if savepoint.done => Ok(SavepointStatus::Completed {
                    location: savepoint.location.clone(),
                }),
                Some(_) => Ok(SavepointStatus::InProgress),
                None => Err(JobManagerError::Http {
                    url: format!("fake/jobs/{job_id}/savepoints/{trigger_id}"),
                    status: 404,
                    message: "There is no savepoint operation with this trigger id.".to_owned(),
                }),
            }
        })
    }

    fn cancel_job<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, JobManagerResult<()>> {
        Box::pin(async move {
            let mut cluster = self.check_reachable(format!("cancel {job_id}"))?;
            let job = cluster.job(&format!("/jobs/{job_id}"), job_id)?;
            if !job.state.is_terminal() {
                job.state = JobState::Canceled;
            }
            cluster.restart_pending = true;
            Ok(())
        })
    }

    fn latest_checkpoint<'a>(
        &'a self,
        job_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<Option<LatestCheckpoint>>> {
        Box::pin(async move {
            let cluster = self.check_reachable(format!("checkpoints {job_id}"))?;
            Ok(cluster.latest_checkpoint.clone())
        })
    }
}
