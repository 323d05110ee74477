//! The JobMaster of a local job: it runs the job's attempts one after the other, on a thread
//! of its own.
//!
//! When an attempt fails (a task failed with anything but a cancellation, or checkpointing
//! failed the job), every task of it is stopped and waited for, and the restart strategy
//! ([`restart_strategy`](crate::restart_strategy)) decides. After its delay the whole job
//! restarts (architecture decision 10: whole-job failover) from the latest completed
//! checkpoint; before the first one, from `execution.state-recovery.path` if the job was
//! restored, else from scratch. The restart keeps the job id; checkpoint numbering goes on.
//! A cancel during the delay ends the job at once. When the strategy gives up, the job fails
//! with the last failure and how many restarts it had.
//!
//! When the job ends cancelled, or failed for good, its checkpoints are kept or deleted as
//! `execution.checkpointing.externalized-checkpoint-retention` says.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::select;
use flinkrs_core::{Error, Result};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::attempt::{Attempt, AttemptOutcome, JobContext, read_restored_state, start_attempt};
use crate::checkpointing::{
    CheckpointHistory, CompletedCheckpoint, checkpoint_location, discard_retained,
};
use crate::executor::JobResult;
use crate::job_client::JobStatus;
use crate::metrics::{Gauge, JobManagerJobMetricGroup, MetricRegistry, names};
use crate::restart_strategy::{RestartBackoff, RestartDecision};
use crate::schedule::SlotAssignment;

/// Everything the JobMaster thread owns.
pub(crate) struct JobMaster {
    pub job: JobContext,
    pub restart: RestartBackoff,
    pub started: Instant,
    pub metric_registry: Arc<MetricRegistry>,
    pub jobmanager_metrics: JobManagerJobMetricGroup,
    pub placement: Vec<SlotAssignment>,
    pub task_managers: usize,
    /// Where the first attempt's checkpoints started.
    pub initial_history: CheckpointHistory,
}

/// Flink's `numRestarts`, and `fullRestarts`, its deprecated twin.
struct RestartGauges {
    num_restarts: Gauge,
    full_restarts: Gauge,
}

impl JobMaster {
    /// Runs the job from its first attempt to its end.
    pub(crate) fn run(mut self, first: Attempt) -> Result<JobResult> {
        let gauges = RestartGauges {
            num_restarts: self.jobmanager_metrics.gauge(names::NUM_RESTARTS, 0),
            full_restarts: self.jobmanager_metrics.gauge(names::FULL_RESTARTS, 0),
        };
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos() as u64);
        let mut random = SmallRng::seed_from_u64(seed ^ self.job.job_id.0 as u64);
        let mut history = self.initial_history.clone();
        let mut next: Result<Attempt> = Ok(first);
        let mut attempt_number = 0u32;
        loop {
            let (outcome, task_groups) = match next {
                Ok(mut attempt) => {
                    let task_groups = attempt.take_task_groups();
                    let (outcome, attempt_history) = attempt.wait();
                    history = attempt_history;
                    (outcome, task_groups)
                }
                Err(error) => (AttemptOutcome::Failed(error), Vec::new()),
            };
            let failure = match outcome {
                AttemptOutcome::Finished => return Ok(self.finished(&history)),
                AttemptOutcome::Cancelled => return Err(self.cancelled(&history)),
                AttemptOutcome::Failed(error) if self.job.control.is_cancelled() => {
                    tracing::info!(%error, "a task failed while the job was being cancelled");
                    return Err(self.cancelled(&history));
                }
                AttemptOutcome::Failed(error) => error,
            };
            self.job.control.record_failure(&failure);
            let delay = match self.restart.on_failure(Instant::now(), random.random()) {
                RestartDecision::GiveUp => return Err(self.failed(failure, &history)),
                RestartDecision::Restart { delay } => delay,
            };
            attempt_number += 1;
            self.job.control.set_status(JobStatus::Restarting);
            tracing::warn!(
                job = %self.job.job_graph.job_name, job_id = %self.job.job_id,
                attempt = attempt_number, restarts_before = self.job.control.restarts(),
                delay_ms = delay.as_millis() as u64,
                checkpoint = history.latest().map(|latest| latest.0),
                cause = %failure,
                "the job failed; restarting it after the delay from its latest checkpoint"
            );
            // The failed attempt's subtasks are gone, and so are their metrics, as in Flink.
            for group in task_groups {
                group.close();
            }
            select! {
                recv(self.job.control.cancel_token().watch()) -> _ => {
                    return Err(self.cancelled(&history));
                }
                default(delay) => {}
            }
            let restarts = self.job.control.count_restart();
            gauges.num_restarts.set(i64::from(restarts));
            gauges.full_restarts.set(i64::from(restarts));
            self.job.control.set_status(JobStatus::Running);
            next = self.restart_attempt(attempt_number, &history);
        }
    }

    /// Starts attempt `attempt_number` from the latest completed checkpoint, or where the job
    /// first started from.
    fn restart_attempt(&self, attempt_number: u32, history: &CheckpointHistory) -> Result<Attempt> {
        let job = &self.job;
        let path = match history.latest() {
            Some(latest) => {
                Some(checkpoint_location(&job.config, &job.job_id.to_string(), latest)?.to_string())
            }
            None => job.config.state_recovery_path().map(str::to_owned),
        };
        let restored = match &path {
            Some(path) => {
                let restored = read_restored_state(path, &job.job_graph, &job.config)?;
                tracing::info!(
                    checkpoint = restored.checkpoint.0, %path,
                    attempt = attempt_number, "restoring"
                );
                Some(restored)
            }
            None => {
                tracing::info!(attempt = attempt_number, "no checkpoint yet: starting over");
                None
            }
        };
        start_attempt(job, attempt_number, restored.as_ref(), history.clone())
    }

    /// The job's latest checkpoint and where it is, if any completed.
    fn latest_checkpoint(&self, history: &CheckpointHistory) -> Option<CompletedCheckpoint> {
        let latest = history.latest()?;
        let job_id = self.job.job_id.to_string();
        match checkpoint_location(&self.job.config, &job_id, latest) {
            Ok(location) => Some(CompletedCheckpoint {
                checkpoint: latest,
                location,
            }),
            Err(_) => None,
        }
    }

    /// Keeps the job's checkpoints, or deletes them, as retention says for how it ended.
    fn apply_retention(&self, history: &CheckpointHistory, keep: bool) {
        if keep {
            self.job
                .control
                .set_retained(self.latest_checkpoint(history));
        } else {
            if !history.retained.is_empty() {
                tracing::info!(
                    retention = %self.job.config.externalized_checkpoint_retention(),
                    "deleting the job's checkpoints"
                );
            }
            // Without checkpointing there is nothing in storage to delete.
            if self.job.config.checkpoint_interval().is_some() {
                discard_retained(&self.job.config, &self.job.job_id.to_string(), history);
            }
            self.job.control.set_retained(None);
        }
    }

    fn cancelled(&self, history: &CheckpointHistory) -> Error {
        let retention = self.job.config.externalized_checkpoint_retention();
        self.apply_retention(history, retention.retains_on_cancellation());
        self.close_metrics();
        self.job.control.set_status(JobStatus::Cancelled);
        Error::Cancelled
    }

    fn failed(&self, cause: Error, history: &CheckpointHistory) -> Error {
        let retention = self.job.config.externalized_checkpoint_retention();
        self.apply_retention(history, retention.retains_on_failure());
        self.close_metrics();
        self.job.control.set_status(JobStatus::Failed);
        let restarts = self.job.control.restarts();
        if restarts == 0 {
            return cause;
        }
        Error::RestartsExhausted {
            restarts,
            strategy: self.restart.strategy().describe(),
            cause: Box::new(cause),
        }
    }

    fn finished(&self, history: &CheckpointHistory) -> JobResult {
        self.job
            .control
            .set_retained(self.latest_checkpoint(history));
        let metrics = crate::executor::job_metrics(
            &self.metric_registry,
            &self.job.job_metrics,
            &self.jobmanager_metrics,
        );
        self.close_metrics();
        self.job.control.set_status(JobStatus::Finished);
        JobResult::build(
            &self.job.graph,
            &self.job.job_graph,
            self.job.job_id,
            self.started.elapsed(),
            metrics,
            self.placement.clone(),
            self.task_managers,
            self.job.control.restarts(),
        )
    }

    /// As Flink closes a job's metric groups when its tasks are gone.
    fn close_metrics(&self) {
        self.job.job_metrics.close();
        self.jobmanager_metrics.close();
    }
}
