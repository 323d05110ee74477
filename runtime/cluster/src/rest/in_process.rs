//! [`LocalJobManager`]: the gateway of the in-process cluster `flinkrs run` starts, so its
//! REST API (and the operator, and `curl`) see the job while it runs.
//!
//! Jobs are added as they are submitted (it is a [`JobListener`]); each is read through its
//! [`JobClient`]: status and its times, failures, checkpoint statistics, and the metrics its
//! subtasks register in the process's [`MetricRegistry`](flinkrs_dataflow::metrics::MetricRegistry).
//! The in-process cluster places subtasks into the slots of TaskManagers that live in this
//! process; they are reported as such.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use flinkrs_contract::rest::JobState;
use flinkrs_core::RuntimeMode;
use flinkrs_dataflow::checkpoint_stats::external_path;
use flinkrs_dataflow::metrics::{MetricSnapshot, MetricValue};
use flinkrs_dataflow::restart_strategy::RestartStrategy;
use flinkrs_dataflow::schedule::{schedule, task_managers_needed};
use flinkrs_dataflow::{JobClient, JobListener, JobStatus, PartitionerKind};

use super::gateway::{
    CheckpointsView, FailureView, GatewayError, JobManagerGateway, JobView, SavepointCompletion,
    SavepointKind, SavepointTrigger, SubmitError, SubtaskView, TaskManagerView, VertexView,
    rest_metric_name,
};
use crate::run::RunRequest;

/// The in-process JobManager: the jobs of this process.
#[derive(Clone, Default)]
pub struct LocalJobManager {
    jobs: Arc<Mutex<Vec<JobClient>>>,
    ended_by_savepoint: Arc<EndingWatch>,
}

/// A job that ended after a savepoint asked over REST: a stop (`POST /jobs/:id/stop`) or a
/// savepoint with `cancel-job`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SavepointEnding {
    pub job_id: String,
    pub job_name: String,
    /// The savepoint, as the REST API reports it (`file:/…/savepoint-…` or `s3://…`).
    pub location: String,
}

/// The job's ending after a savepoint, and whether a client has read its outcome yet.
#[derive(Default)]
struct EndingWatch {
    ending: Mutex<Option<(SavepointEnding, bool)>>,
    read: Condvar,
}

impl EndingWatch {
    fn lock(&self) -> MutexGuard<'_, Option<(SavepointEnding, bool)>> {
        self.ending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl LocalJobManager {
    pub fn new() -> Self {
        LocalJobManager::default()
    }

    /// Adds a submitted job.
    pub fn add(&self, client: JobClient) {
        self.lock().push(client);
    }

    /// The listener that adds each job submitted through an environment: register it there.
    pub fn listener(&self) -> impl JobListener + 'static {
        AddJob(self.clone())
    }

    /// The metrics of this process's jobs, for `/metrics`: every registry the jobs register
    /// in, with their meters brought up to date first.
    pub fn metrics_source(&self) -> crate::prometheus::MetricsSource {
        let this = self.clone();
        Arc::new(move || {
            let mut registries: Vec<Arc<flinkrs_dataflow::metrics::MetricRegistry>> = Vec::new();
            for client in this.lock().iter() {
                let registry = &client.info().metric_registry;
                if !registries.iter().any(|known| Arc::ptr_eq(known, registry)) {
                    registries.push(Arc::clone(registry));
                }
            }
            let now = Instant::now();
            registries
                .iter()
                .flat_map(|registry| {
                    registry.tick(now);
                    registry.snapshot()
                })
                .collect()
        })
    }

    /// The job this JobManager ended after a savepoint asked over REST, if it did.
    pub fn ended_by_savepoint(&self) -> Option<SavepointEnding> {
        self.ended_by_savepoint
            .lock()
            .as_ref()
            .map(|(ending, _)| ending.clone())
    }

    /// Waits until a client has read the outcome of the savepoint that ended the job (so the
    /// REST API can stop without leaving `flinkrs stop` unanswered), at most `patience`.
    /// `true` once it has been read.
    pub fn wait_until_ending_read(&self, patience: Duration) -> bool {
        let deadline = Instant::now() + patience;
        let watch = &self.ended_by_savepoint;
        let mut ending = watch.lock();
        loop {
            if matches!(*ending, Some((_, true))) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            ending = watch
                .read
                .wait_timeout(ending, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<JobClient>> {
        self.jobs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn client(&self, job_id: &str) -> Option<JobClient> {
        self.lock()
            .iter()
            .find(|client| client.job_id().to_string() == job_id)
            .cloned()
    }
}

struct AddJob(LocalJobManager);

impl JobListener for AddJob {
    fn on_job_submitted(&self, client: &JobClient) {
        self.0.add(client.clone());
    }
}

fn job_state(status: JobStatus) -> JobState {
    match status {
        JobStatus::Running => JobState::Running,
        JobStatus::Restarting => JobState::Restarting,
        JobStatus::Finished => JobState::Finished,
        JobStatus::Cancelled => JobState::Canceled,
        JobStatus::Failed => JobState::Failed,
    }
}

/// Flink's name for how an edge ships records: the plan's `ship_strategy`.
pub(crate) fn ship_strategy(partitioner: PartitionerKind) -> &'static str {
    match partitioner {
        PartitionerKind::Forward => "FORWARD",
        PartitionerKind::Rebalance => "REBALANCE",
        PartitionerKind::Hash => "HASH",
        PartitionerKind::Broadcast => "BROADCAST",
    }
}

/// A metric's value as a number.
fn value(metric: &MetricSnapshot) -> f64 {
    match metric.value {
        MetricValue::Counter(count) => count as f64,
        MetricValue::Gauge(gauge) => gauge as f64,
        MetricValue::Meter(rate) => rate,
    }
}

fn task_manager_id(index: usize) -> String {
    format!("localhost:0-{index:06x}")
}

fn view(client: &JobClient) -> JobView {
    let info = client.info();
    let job_graph = &info.job_graph;
    let config = &info.config;
    let job_id = client.job_id();
    let state = job_state(client.status());
    let state_times: Vec<(JobState, i64)> = client
        .status_times()
        .into_iter()
        .map(|(status, time)| (job_state(status), time))
        .collect();
    let start_time = state_times.first().map_or(0, |(_, time)| *time);
    let end_time = if state.is_terminal() {
        state_times.last().map_or(-1, |(_, time)| *time)
    } else {
        -1
    };
    let placement = schedule(job_graph, config.slots_per_task_manager());
    let metrics: Vec<MetricSnapshot> = info
        .metric_registry
        .snapshot()
        .into_iter()
        .filter(|metric| metric.scope.job_id() == job_id)
        .collect();
    let vertices = job_graph
        .vertices
        .iter()
        .map(|vertex| {
            let id = vertex
                .operator_ids
                .first()
                .map_or_else(|| format!("{:032x}", vertex.id.0), ToString::to_string);
            let inputs = job_graph
                .edges
                .iter()
                .filter(|edge| edge.target == vertex.id)
                .filter_map(|edge| {
                    let source = job_graph.vertices.iter().find(|v| v.id == edge.source)?;
                    let source_id = source.operator_ids.first()?.to_string();
                    Some((source_id, ship_strategy(edge.partitioner).to_owned()))
                })
                .collect();
            let subtasks = (0..vertex.parallelism)
                .map(|index| {
                    let task_metrics = metrics.iter().filter(|metric| {
                        metric.scope.task().is_some_and(|task| {
                            task.task_name == vertex.name && task.subtask_index.0 == index
                        })
                    });
                    let mut named = Vec::new();
                    let mut attempt = 0;
                    for metric in task_metrics {
                        if let Some(task) = metric.scope.task() {
                            attempt = attempt.max(task.attempt_number);
                        }
                        let operator = metric
                            .scope
                            .operator()
                            .map(|operator| operator.operator_name.as_str());
                        let name = rest_metric_name(operator, &metric.name);
                        named.push((name, value(metric)));
                    }
                    let task_manager = placement
                        .iter()
                        .find(|slot| slot.vertex == vertex.name && slot.subtask_index == index)
                        .map_or(0, |slot| slot.task_manager);
                    let subtask_state = match state {
                        JobState::Running => "RUNNING",
                        JobState::Restarting => "CANCELED",
                        JobState::Finished => "FINISHED",
                        JobState::Canceled => "CANCELED",
                        JobState::Failed => "FAILED",
                        _ => "CREATED",
                    };
                    SubtaskView {
                        index: index as u32,
                        attempt,
                        state: subtask_state.to_owned(),
                        start_time,
                        end_time,
                        taskmanager_id: task_manager_id(task_manager),
                        endpoint: "localhost:0".to_owned(),
                        metrics: named,
                    }
                })
                .collect();
            VertexView {
                id,
                name: vertex.name.clone(),
                parallelism: vertex.parallelism as u32,
                max_parallelism: vertex.max_parallelism as u32,
                inputs,
                subtasks,
            }
        })
        .collect();
    let restart_strategy = RestartStrategy::from_config(config)
        .map(|strategy| strategy.describe())
        .unwrap_or_default();
    let checkpoints = CheckpointsView::of(config, || client.checkpoint_statistics());
    let mut failures: Vec<FailureView> = client
        .failures()
        .into_iter()
        .map(|failure| FailureView {
            timestamp: failure.timestamp,
            exception_name: "org.apache.flink.runtime.JobException".to_owned(),
            message: failure.message,
        })
        .collect();
    failures.reverse();
    JobView {
        id: job_id.to_string(),
        name: client.job_name().to_owned(),
        state,
        batch: config.runtime_mode() == RuntimeMode::Batch,
        state_times,
        max_parallelism: config
            .get(flinkrs_core::config::MAX_PARALLELISM)
            .and_then(|value| value.parse().ok()),
        parallelism: config.parallelism() as u32,
        vertices,
        configuration: config
            .redacted_entries()
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect(),
        restart_strategy,
        failures,
        checkpoints,
    }
}

impl JobManagerGateway for LocalJobManager {
    fn task_managers(&self) -> Vec<TaskManagerView> {
        let jobs = self.lock().clone();
        let mut task_managers: Vec<TaskManagerView> = Vec::new();
        for client in jobs.iter().filter(|client| !client.status().is_terminal()) {
            let info = client.info();
            let slots = info.config.slots_per_task_manager();
            let needed = task_managers_needed(&info.job_graph, slots);
            let placement = schedule(&info.job_graph, slots);
            for index in 0..needed {
                let mut allocated: Vec<(String, u32)> = Vec::new();
                for slot in 0..slots {
                    let tasks = placement
                        .iter()
                        .filter(|assignment| {
                            assignment.task_manager == index && assignment.slot == slot
                        })
                        .count() as u32;
                    if tasks > 0 {
                        allocated.push((client.job_id().to_string(), tasks));
                    }
                }
                task_managers.push(TaskManagerView {
                    id: task_manager_id(task_managers.len()),
                    address: "in-process".to_owned(),
                    data_port: -1,
                    last_heartbeat: super::responses::now_millis(),
                    slots: slots as u32,
                    allocated_slots: allocated,
                    cpu_cores: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
                    physical_memory: 0,
                });
            }
        }
        task_managers
    }

    fn configuration(&self) -> Vec<(String, String)> {
        self.lock()
            .last()
            .map(|client| {
                client
                    .info()
                    .config
                    .redacted_entries()
                    .map(|(key, value)| (key.to_owned(), value.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn jobs(&self) -> Vec<JobView> {
        let jobs = self.lock().clone();
        jobs.iter().map(view).collect()
    }

    fn job(&self, job_id: &str) -> Option<JobView> {
        self.client(job_id).map(|client| view(&client))
    }

    fn cancel(&self, job_id: &str) -> Result<(), GatewayError> {
        let client = self
            .client(job_id)
            .ok_or_else(|| GatewayError::UnknownJob(job_id.to_owned()))?;
        client.cancel();
        Ok(())
    }

    fn savepoint_outcome_read(&self, job_id: &str) {
        let watch = &self.ended_by_savepoint;
        if let Some((ending, read)) = watch.lock().as_mut()
            && ending.job_id == job_id
        {
            *read = true;
            watch.read.notify_all();
        }
    }

    /// `flinkrs run` runs the one job it was started with.
    fn submit(&self, _job: &RunRequest) -> Result<String, SubmitError> {
        Err(SubmitError::NotAccepted(
            "this is the REST API of `flinkrs run`, which runs only the job it was started \
             with; submit jobs to a session cluster: start `flinkrs jobmanager` (or `flinkrs \
             local`) and run `flinkrs run -m HOST:PORT` against its REST API"
                .to_owned(),
        ))
    }

    fn trigger_savepoint(
        &self,
        job_id: &str,
        trigger: SavepointTrigger,
    ) -> Result<SavepointCompletion, GatewayError> {
        let client = self
            .client(job_id)
            .ok_or_else(|| GatewayError::UnknownJob(job_id.to_owned()))?;
        if client.status().is_terminal() {
            return Err(GatewayError::NotPossible(format!(
                "job {job_id} has ended ({}); a savepoint needs a running job",
                job_state(client.status())
            )));
        }
        let answer = client.trigger_savepoint(trigger.target_directory.as_deref());
        let cancel_after = match trigger.kind {
            SavepointKind::Savepoint { cancel_job } => cancel_job,
            // The in-process job ends by cancellation once its savepoint is complete.
            SavepointKind::Stop { .. } => true,
        };
        let watch = Arc::clone(&self.ended_by_savepoint);
        Ok(Box::pin(async move {
            let outcome = tokio::task::spawn_blocking(move || {
                let outcome = answer
                    .recv()
                    .map_err(|_| "the job ended before the savepoint completed".to_owned())
                    .and_then(|result| result.map_err(|error| error.to_string()))
                    .map(|location| external_path(&location));
                if let (Ok(location), true) = (&outcome, cancel_after) {
                    let ending = SavepointEnding {
                        job_id: client.job_id().to_string(),
                        job_name: client.job_name().to_owned(),
                        location: location.clone(),
                    };
                    *watch.lock() = Some((ending, false));
                    client.cancel();
                }
                outcome
            })
            .await;
            outcome.unwrap_or_else(|error| Err(format!("the savepoint's waiter failed: {error}")))
        }))
    }
}
