//! The REST API's view of the cluster's JobManager: its TaskManagers and their slots, and its
//! jobs with their status history, vertices and failures.

use std::sync::Arc;
use std::time::Duration;

use flinkrs_contract::rest::JobState;
use flinkrs_core::Configuration;
use tokio::runtime::Handle;

use super::jobs::{JobEntry, JobStatus};
use super::{Shared, cancel_job, subtask_metrics};
use flinkrs_dataflow::checkpoint_stats::external_path;
use flinkrs_dataflow::job_client::SavepointRequest;
use flinkrs_dataflow::restart_strategy::RestartStrategy;

use crate::job_spec::spec_of;
use crate::rest::{
    CheckpointsView, FailureView, GatewayError, JobManagerGateway, JobView, ResultsPage,
    SavepointCompletion, SavepointKind, SavepointTrigger, SubmitError, TaskManagerView, VertexView,
    now_millis,
};
use crate::run::RunRequest;

/// The gateway of a running [`JobManager`](super::JobManager).
pub(crate) struct ClusterGateway {
    pub shared: Arc<Shared>,
    pub config: Configuration,
    pub runtime: Handle,
}

fn state_of(status: JobStatus) -> JobState {
    match status {
        JobStatus::Initializing => JobState::Initializing,
        JobStatus::Running => JobState::Running,
        JobStatus::Restarting => JobState::Restarting,
        JobStatus::Finished => JobState::Finished,
        JobStatus::Canceled => JobState::Canceled,
        JobStatus::Failed => JobState::Failed,
    }
}

/// A subtask's execution state while its job is in `state`.
fn subtask_state(state: JobState) -> &'static str {
    match state {
        JobState::Running => "RUNNING",
        JobState::Finished => "FINISHED",
        JobState::Canceled => "CANCELED",
        JobState::Failed => "FAILED",
        _ => "CREATED",
    }
}

/// Milliseconds since the epoch of an instant `ago` before now.
fn epoch_millis(ago: Duration) -> i64 {
    now_millis().saturating_sub(i64::try_from(ago.as_millis()).unwrap_or(i64::MAX))
}

fn job_view(id: &str, job: JobEntry) -> JobView {
    let configuration: Vec<(String, String)> = job
        .properties
        .iter()
        .filter_map(|property| property.split_once('='))
        .map(|(key, value)| {
            let shown = if flinkrs_core::config::is_sensitive(key) {
                flinkrs_core::config::HIDDEN_CONTENT
            } else {
                value
            };
            (key.to_owned(), shown.to_owned())
        })
        .collect();
    let setting = |key: &str| {
        configuration
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value.as_str())
    };
    let failures = job
        .exceptions
        .iter()
        .map(|(timestamp, message)| FailureView {
            timestamp: *timestamp,
            exception_name: "org.apache.flink.runtime.JobException".to_owned(),
            message: message.clone(),
        })
        .collect();
    // The job's own configuration, as its program sees it.
    let mut job_config = Configuration::new();
    for property in &job.properties {
        let _ = job_config.set_dynamic_property(property);
    }
    let checkpoints = job
        .checkpoint_gauges
        .as_ref()
        .and_then(|gauges| CheckpointsView::of(&job_config, || gauges.statistics.snapshot()));
    let restart_strategy = RestartStrategy::from_config(&job_config)
        .map(|strategy| strategy.describe())
        .unwrap_or_default();
    JobView {
        id: id.to_owned(),
        name: job.name,
        state: state_of(job.status),
        batch: setting("execution.runtime-mode")
            .is_some_and(|mode| mode.eq_ignore_ascii_case("batch")),
        state_times: job
            .status_times
            .iter()
            .map(|(status, time)| (state_of(*status), *time))
            .collect(),
        max_parallelism: setting("pipeline.max-parallelism").and_then(|value| value.parse().ok()),
        parallelism: setting("parallelism.default")
            .and_then(|value| value.parse().ok())
            .unwrap_or(1),
        vertices: job
            .vertices
            .into_iter()
            .map(|vertex| VertexView {
                id: vertex.id,
                name: vertex.name,
                parallelism: u32::try_from(vertex.parallelism).unwrap_or(u32::MAX),
                max_parallelism: u32::try_from(vertex.max_parallelism).unwrap_or(u32::MAX),
                inputs: vertex.inputs,
                subtasks: Vec::new(),
            })
            .collect(),
        configuration,
        restart_strategy,
        failures,
        checkpoints,
    }
}

impl JobManagerGateway for ClusterGateway {
    fn task_managers(&self) -> Vec<TaskManagerView> {
        self.shared
            .resource_manager()
            .task_managers()
            .map(|task_manager| {
                let registration = &task_manager.registration;
                TaskManagerView {
                    id: registration.resource_id.clone(),
                    address: registration.rpc_address.clone(),
                    data_port: registration
                        .data_address
                        .rsplit_once(':')
                        .and_then(|(_, port)| port.parse().ok())
                        .unwrap_or(0),
                    last_heartbeat: epoch_millis(task_manager.last_heartbeat.elapsed()),
                    slots: registration.slots,
                    allocated_slots: task_manager
                        .slots
                        .iter()
                        .filter(|slot| !slot.job_id.is_empty())
                        .map(|slot| (slot.job_id.clone(), 1))
                        .collect(),
                    cpu_cores: registration.cpu_cores,
                    physical_memory: i64::try_from(registration.physical_memory_bytes)
                        .unwrap_or(i64::MAX),
                }
            })
            .collect()
    }

    fn configuration(&self) -> Vec<(String, String)> {
        self.config
            .redacted_entries()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect()
    }

    /// One job, with its subtasks and their metrics while it runs: asked of the TaskManagers
    /// running it.
    fn job(&self, job_id: &str) -> Option<JobView> {
        let job = self.shared.jobs.get(job_id)?;
        let answers = if job.status.is_terminal() {
            Vec::new()
        } else {
            subtask_metrics::fetch(&self.runtime, job_id, &job.task_managers)
        };
        let mut view = job_view(job_id, job);
        let shown = subtask_metrics::SubtaskState {
            state: subtask_state(view.state),
            start_time: view.start_time(),
            end_time: view.end_time(),
        };
        subtask_metrics::fill_subtasks(&mut view.vertices, &answers, &shown);
        Some(view)
    }

    fn jobs(&self) -> Vec<JobView> {
        let mut jobs: Vec<JobView> = self
            .shared
            .jobs
            .all()
            .into_iter()
            .map(|(id, job)| job_view(&id, job))
            .collect();
        // Every job's subtasks, without their metrics (only a single job's page asks the
        // TaskManagers for those), so the job list counts its tasks.
        for view in &mut jobs {
            let shown = subtask_metrics::SubtaskState {
                state: subtask_state(view.state),
                start_time: view.start_time(),
                end_time: view.end_time(),
            };
            subtask_metrics::fill_subtasks(&mut view.vertices, &[], &shown);
        }
        jobs.sort_by_key(JobView::start_time);
        jobs
    }

    fn cancel(&self, job_id: &str) -> Result<(), GatewayError> {
        if self.shared.jobs.get(job_id).is_none() {
            return Err(GatewayError::UnknownJob(job_id.to_owned()));
        }
        let (shared, job) = (Arc::clone(&self.shared), job_id.to_owned());
        self.runtime.spawn(async move {
            cancel_job(&shared, &job).await;
        });
        Ok(())
    }

    fn submit(&self, job: &RunRequest) -> Result<String, SubmitError> {
        super::submit(
            &self.shared,
            spec_of(job),
            self.runtime.clone(),
            super::Submission::default(),
        )
        .map(|job_id| job_id.to_string())
        .map_err(|error| SubmitError::Failed(format!("{error:#}")))
    }

    fn results(&self, job_id: &str, offset: u64) -> Result<ResultsPage, GatewayError> {
        let job = self
            .shared
            .jobs
            .get(job_id)
            .ok_or_else(|| GatewayError::UnknownJob(job_id.to_owned()))?;
        let state = state_of(job.status);
        Ok(Box::pin(super::query_results::fetch(
            job_id.to_owned(),
            job,
            state,
            offset,
        )))
    }

    fn trigger_savepoint(
        &self,
        job_id: &str,
        trigger: SavepointTrigger,
    ) -> Result<SavepointCompletion, GatewayError> {
        let job = self
            .shared
            .jobs
            .get(job_id)
            .ok_or_else(|| GatewayError::UnknownJob(job_id.to_owned()))?;
        if job.status.is_terminal() {
            return Err(GatewayError::NotPossible(format!(
                "job {job_id} has ended ({}); a savepoint needs a running job",
                job.status.name()
            )));
        }
        let Some(savepoints) = job.savepoints else {
            return Err(GatewayError::NotPossible(format!(
                "job {job_id} takes no checkpoints, so it cannot take a savepoint; set \
                 execution.checkpointing.interval"
            )));
        };
        let (reply, answer) = crossbeam_channel::bounded(1);
        let request = SavepointRequest {
            target: trigger.target_directory,
            reply,
        };
        if savepoints.send(request).is_err() {
            return Err(GatewayError::NotPossible(format!(
                "job {job_id} is ending; a savepoint needs a running job"
            )));
        }
        let cancel_after = match trigger.kind {
            SavepointKind::Savepoint { cancel_job } => cancel_job,
            // The job ends by cancellation once its savepoint is complete.
            SavepointKind::Stop { .. } => true,
        };
        let (shared, job) = (Arc::clone(&self.shared), job_id.to_owned());
        Ok(Box::pin(async move {
            let outcome = tokio::task::spawn_blocking(move || answer.recv()).await;
            let outcome = match outcome {
                Ok(Ok(Ok(location))) => Ok(external_path(&location)),
                Ok(Ok(Err(error))) => Err(error.to_string()),
                Ok(Err(_)) => Err("the job ended before the savepoint completed".to_owned()),
                Err(error) => Err(format!("the savepoint's waiter failed: {error}")),
            };
            if outcome.is_ok() && cancel_after {
                cancel_job(&shared, &job).await;
            }
            outcome
        }))
    }
}
