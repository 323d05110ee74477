//! Decide: the operator's state machine, a pure function of what the user asked
//! for (`spec`), what the operator recorded (`status`) and what it just saw
//! (`Observed`). It returns one [`Action`]; `reconcile::apply` carries it out.
//!
//! One action per reconcile keeps every step visible in the status and makes a
//! crash between two steps safe: the next reconcile decides again from the
//! recorded status.

mod diff;
#[cfg(test)]
mod tests;

use crate::{
    crd::{
        FlinkJobSpec, FlinkJobStatus, JobLifecycleState, JobPhase, SavepointInfo, SavepointPurpose,
        UpgradeMode,
    },
    jobmanager_client::{JobState, JobSummary, LatestCheckpoint, SavepointStatus},
};

pub use diff::{SpecChange, spec_change};

/// What the operator saw on this reconcile.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Observed {
    /// The FlinkJob has a deletion timestamp.
    pub deleting: bool,
    /// The JobManager Deployment exists.
    pub cluster_deployed: bool,
    /// What the JobManager's REST API said.
    pub jobmanager: JobManagerView,
    /// The state of `status.pendingSavepoint`, when there is one and the JobManager answered.
    pub savepoint: Option<SavepointStatus>,
    /// `status.pendingSavepoint` has waited longer than the savepoint timeout: how long.
    pub savepoint_timed_out: Option<String>,
    /// The job's latest completed checkpoint.
    pub latest_checkpoint: Option<LatestCheckpoint>,
    /// The job's checkpoints are failing: the latest one failed, with what the JobManager
    /// says (an unreachable checkpoint storage, for one).
    pub checkpoint_failure: Option<String>,
    /// A savepoint failed a moment ago (see `Timeouts::savepoint_retry`): do not trigger the
    /// next one yet.
    pub savepoint_failed_recently: bool,
    /// What keeps the job's pods from running, when the job is not RUNNING.
    pub pod_problems: Vec<PodProblem>,
    /// The cluster was deployed longer than the readiness timeout ago and the job is not
    /// RUNNING: the timeout.
    pub readiness_timed_out: Option<std::time::Duration>,
}

/// A pod that cannot run, as its conditions and container statuses say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodProblem {
    /// The kubelet's or scheduler's reason, e.g. `ImagePullBackOff`, `CrashLoopBackOff`,
    /// `CreateContainerConfigError`, `Unschedulable`.
    pub reason: String,
    /// Which pod and container, and the message.
    pub message: String,
}

/// The JobManager as the operator sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum JobManagerView {
    /// Not asked (no cluster, or the job is suspended).
    #[default]
    NotQueried,
    /// The REST API did not answer; the message says why.
    Unreachable(String),
    /// The JobManager answered but runs no job yet.
    NoJob,
    /// The JobManager's current job.
    Job(JobSummary),
}

impl Observed {
    /// The job, if the JobManager reports one that has not ended.
    pub fn live_job(&self) -> Option<&JobSummary> {
        match &self.jobmanager {
            JobManagerView::Job(job) if !job.state.is_terminal() => Some(job),
            _ => None,
        }
    }

    /// The job, if it is RUNNING (the only state in which Flink takes a savepoint).
    pub fn running_job(&self) -> Option<&JobSummary> {
        self.live_job().filter(|job| job.state == JobState::Running)
    }
}

/// Why a running cluster is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RedeployReason {
    /// The spec changed.
    Upgrade,
    /// Only `parallelism` changed.
    Rescale { from: i32, to: i32 },
    /// `state` went from suspended to running.
    Resume,
    /// The JobManager Deployment vanished.
    Recover,
    /// The job FAILED and `spec.maxFailedJobRestarts` allows another restart.
    RestartFailed,
    /// `restoreFrom` changed.
    Restore,
    /// A redeploy was recorded in the status but the operator stopped before it
    /// finished (the crash-safety path).
    Continue,
}

impl RedeployReason {
    /// Whether the new cluster's JobManager may recover the job from the latest checkpoint its
    /// high-availability ConfigMap records. Only when the redeploy carries the job's newest
    /// state over (last-state, or a recovery): that checkpoint is at least as new as the one
    /// the operator saw, and a sink may already have committed what followed the older one.
    /// A savepoint, a path the user chose, or a stateless start must not be overridden by it.
    pub fn keeps_high_availability_state(self, mode: UpgradeMode) -> bool {
        match self {
            Self::Restore => false,
            Self::Recover | Self::RestartFailed => true,
            Self::Upgrade | Self::Rescale { .. } | Self::Resume | Self::Continue => {
                mode == UpgradeMode::LastState
            }
        }
    }

    /// The event reason shown by `kubectl describe`.
    pub fn event_reason(self) -> &'static str {
        match self {
            Self::Upgrade => "Upgrading",
            Self::Rescale { .. } => "Rescaling",
            Self::Resume => "Resuming",
            Self::Recover => "Recovering",
            Self::RestartFailed => "RestartingFailedJob",
            Self::Restore => "Restoring",
            Self::Continue => "ContinuingRedeploy",
        }
    }
}

/// What the operator does on this reconcile.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// First deployment: create the ConfigMap, JobManager and TaskManagers.
    Deploy { restore_from: Option<String> },
    /// Replace the cluster with one built from the current spec.
    Redeploy {
        reason: RedeployReason,
        restore_from: Option<String>,
        /// A savepoint that just completed for this redeploy.
        new_savepoint: Option<SavepointInfo>,
        /// The old job, cancelled before the new cluster is applied.
        cancel_job: Option<String>,
    },
    /// Ask the JobManager for a savepoint.
    TriggerSavepoint {
        job_id: String,
        purpose: SavepointPurpose,
        nonce: Option<i64>,
    },
    /// A savepoint is in progress; look again soon.
    AwaitSavepoint { purpose: SavepointPurpose },
    /// The savepoint failed; report it and carry on.
    SavepointFailed {
        purpose: SavepointPurpose,
        cause: String,
    },
    /// An on-demand savepoint completed.
    RecordSavepoint { savepoint: SavepointInfo },
    /// Stop the job and scale its pods to zero.
    Suspend {
        new_savepoint: Option<SavepointInfo>,
        cancel_job: Option<String>,
        /// The state a resume starts from.
        restore_from: Option<String>,
    },
    /// The FlinkJob is being deleted and nothing is left to do: drop the finalizer
    /// (the children go with their owner).
    Finalize {
        new_savepoint: Option<SavepointInfo>,
        /// Why the final savepoint was not taken, when it was asked for.
        warning: Option<String>,
    },
    /// Nothing to change: refresh the status from what was observed.
    Observe,
    /// A savepoint failed a moment ago; try again later, changing nothing now.
    PauseBeforeRetry,
    /// Nothing can be done until the situation changes (the message says what);
    /// `reason` is the Degraded condition's reason.
    Wait {
        reason: &'static str,
        message: String,
    },
}

/// The state machine.
pub fn decide(spec: &FlinkJobSpec, status: &FlinkJobStatus, observed: &Observed) -> Action {
    if observed.deleting {
        return decide_deletion(spec, status, observed);
    }
    if let Some(pending) = &status.pending_savepoint {
        return decide_pending_savepoint(spec, status, pending.purpose, observed);
    }
    let reconciled = match status.read_reconciled_spec() {
        Ok(Some(reconciled)) => reconciled,
        Ok(None) => {
            return match spec.state {
                JobLifecycleState::Suspended => Action::Suspend {
                    new_savepoint: None,
                    cancel_job: None,
                    restore_from: spec.restore_from.clone(),
                },
                JobLifecycleState::Running => Action::Deploy {
                    restore_from: spec.restore_from.clone(),
                },
            };
        }
        // Redeploying as if the job were new would drop its state: keep it running and say so.
        Err(problem) => {
            return Action::Wait {
                reason: "UnreadableLastReconciledSpec",
                message: format!(
                    "status.lastReconciledSpec cannot be read ({problem}); the operator leaves \
                     the job and its cluster as they are instead of redeploying it without \
                     state. Restore the field, or remove it from the status to deploy the \
                     spec as a new job"
                ),
            };
        }
    };
    let suspended = status.phase == Some(JobPhase::Suspended);
    match (spec.state, suspended) {
        (JobLifecycleState::Suspended, true) => return Action::Observe,
        (JobLifecycleState::Suspended, false) => return decide_suspend(spec, status, observed),
        (JobLifecycleState::Running, true) => {
            let restore_from = match spec.upgrade_mode {
                UpgradeMode::Stateless => None,
                // The suspension recorded the state to resume from.
                UpgradeMode::Savepoint | UpgradeMode::LastState => status.restore_path.clone(),
            };
            return Action::Redeploy {
                reason: RedeployReason::Resume,
                restore_from,
                new_savepoint: None,
                cancel_job: None,
            };
        }
        (JobLifecycleState::Running, false) => {}
    }
    let change = spec_change(&reconciled, spec);
    let interrupted = matches!(
        status.phase,
        Some(JobPhase::Upgrading | JobPhase::Recovering)
    );
    if interrupted && change == SpecChange::None {
        return Action::Redeploy {
            reason: RedeployReason::Continue,
            restore_from: status.restore_path.clone(),
            new_savepoint: None,
            cancel_job: None,
        };
    }
    if let Some(action) = decide_spec_change(spec, status, observed, change) {
        return action;
    }
    if let Some(nonce) = spec.savepoint_trigger_nonce
        && status.last_savepoint_trigger_nonce != Some(nonce)
        && let Some(job) = observed.running_job()
    {
        return Action::TriggerSavepoint {
            job_id: job.id.clone(),
            purpose: SavepointPurpose::OnDemand,
            nonce: Some(nonce),
        };
    }
    if !observed.cluster_deployed {
        return match state_for(spec, status, observed) {
            Ok(restore_from) => Action::Redeploy {
                reason: RedeployReason::Recover,
                restore_from,
                new_savepoint: None,
                cancel_job: None,
            },
            Err(message) => Action::Wait {
                reason: "RecoveryWaiting",
                message,
            },
        };
    }
    let failed =
        matches!(&observed.jobmanager, JobManagerView::Job(job) if job.state == JobState::Failed);
    if failed && status.failed_job_restarts < spec.max_failed_job_restarts.unwrap_or(0) {
        // A FAILED job is over: no cancel; the new JobManager pod replaces it.
        return match state_for(spec, status, observed) {
            Ok(restore_from) => Action::Redeploy {
                reason: RedeployReason::RestartFailed,
                restore_from,
                new_savepoint: None,
                cancel_job: None,
            },
            Err(message) => Action::Wait {
                reason: "RestartWaiting",
                message,
            },
        };
    }
    Action::Observe
}

fn decide_deletion(spec: &FlinkJobSpec, status: &FlinkJobStatus, observed: &Observed) -> Action {
    if let Some(pending) = &status.pending_savepoint {
        return match (&observed.savepoint, &observed.savepoint_timed_out) {
            (Some(SavepointStatus::Completed { location }), _) => Action::Finalize {
                new_savepoint: Some(SavepointInfo {
                    path: location.clone(),
                    purpose: pending.purpose,
                }),
                warning: None,
            },
            (Some(SavepointStatus::Failed { cause }), _) => Action::Finalize {
                new_savepoint: None,
                warning: Some(format!("the final savepoint failed: {cause}")),
            },
            // An unreachable JobManager must not keep the FlinkJob from going away.
            (Some(SavepointStatus::InProgress) | None, Some(waited)) => Action::Finalize {
                new_savepoint: None,
                warning: Some(format!("the final savepoint did not complete: {waited}")),
            },
            (Some(SavepointStatus::InProgress) | None, None) => Action::AwaitSavepoint {
                purpose: pending.purpose,
            },
        };
    }
    if spec.savepoint_on_delete
        && let Some(job) = observed.running_job()
    {
        return Action::TriggerSavepoint {
            job_id: job.id.clone(),
            purpose: SavepointPurpose::Delete,
            nonce: None,
        };
    }
    // A suspended job's state is already in its savepoint or checkpoint (status.restorePath).
    let warning = (spec.savepoint_on_delete && status.phase != Some(JobPhase::Suspended))
        .then(|| "the job is not RUNNING, so no final savepoint could be taken".to_owned());
    Action::Finalize {
        new_savepoint: None,
        warning,
    }
}

fn decide_pending_savepoint(
    spec: &FlinkJobSpec,
    status: &FlinkJobStatus,
    purpose: SavepointPurpose,
    observed: &Observed,
) -> Action {
    let location = match (&observed.savepoint, &observed.savepoint_timed_out) {
        (None | Some(SavepointStatus::InProgress), Some(waited)) => {
            return Action::SavepointFailed {
                purpose,
                cause: waited.clone(),
            };
        }
        (None | Some(SavepointStatus::InProgress), None) => {
            return Action::AwaitSavepoint { purpose };
        }
        (Some(SavepointStatus::Failed { cause }), _) => {
            return Action::SavepointFailed {
                purpose,
                cause: cause.clone(),
            };
        }
        (Some(SavepointStatus::Completed { location }), _) => location.clone(),
    };
    let savepoint = SavepointInfo {
        path: location.clone(),
        purpose,
    };
    match purpose {
        SavepointPurpose::Upgrade => {
            let reason = status
                .reconciled_spec()
                .map(|reconciled| redeploy_reason(spec_change(&reconciled, spec)))
                .unwrap_or(RedeployReason::Upgrade);
            Action::Redeploy {
                reason,
                restore_from: Some(location),
                new_savepoint: Some(savepoint),
                cancel_job: None,
            }
        }
        SavepointPurpose::Suspend => Action::Suspend {
            new_savepoint: Some(savepoint),
            cancel_job: None,
            restore_from: Some(location),
        },
        SavepointPurpose::OnDemand | SavepointPurpose::Delete | SavepointPurpose::Restore => {
            Action::RecordSavepoint { savepoint }
        }
    }
}

fn decide_suspend(spec: &FlinkJobSpec, status: &FlinkJobStatus, observed: &Observed) -> Action {
    if spec.upgrade_mode == UpgradeMode::Savepoint
        && let Some(job) = observed.running_job()
    {
        if observed.savepoint_failed_recently {
            return Action::PauseBeforeRetry;
        }
        return Action::TriggerSavepoint {
            job_id: job.id.clone(),
            purpose: SavepointPurpose::Suspend,
            nonce: None,
        };
    }
    match state_for(spec, status, observed) {
        Ok(restore_from) => Action::Suspend {
            new_savepoint: None,
            // Stateless jobs are cancelled. Stateful ones are not: scaling the JobManager
            // to zero ends the job and keeps its checkpoints for the resume.
            cancel_job: (spec.upgrade_mode == UpgradeMode::Stateless)
                .then(|| observed.live_job().map(|job| job.id.clone()))
                .flatten(),
            restore_from,
        },
        Err(message) => Action::Wait {
            reason: "SuspendWaiting",
            message: format!("the job cannot be suspended yet: {message}"),
        },
    }
}

fn decide_spec_change(
    spec: &FlinkJobSpec,
    status: &FlinkJobStatus,
    observed: &Observed,
    change: SpecChange,
) -> Option<Action> {
    let reason = match change {
        SpecChange::None => return None,
        SpecChange::RestoreFrom(path) => {
            return Some(Action::Redeploy {
                reason: RedeployReason::Restore,
                restore_from: Some(path),
                new_savepoint: None,
                cancel_job: observed.live_job().map(|job| job.id.clone()),
            });
        }
        other => redeploy_reason(other),
    };
    if spec.upgrade_mode == UpgradeMode::Savepoint
        && let Some(job) = observed.running_job()
    {
        if observed.savepoint_failed_recently {
            return Some(Action::PauseBeforeRetry);
        }
        return Some(Action::TriggerSavepoint {
            job_id: job.id.clone(),
            purpose: SavepointPurpose::Upgrade,
            nonce: None,
        });
    }
    Some(match state_for(spec, status, observed) {
        Ok(restore_from) => Action::Redeploy {
            reason,
            restore_from,
            new_savepoint: None,
            // Only a stateless job is cancelled: cancelling would let Flink discard the
            // checkpoints a last-state upgrade starts from. The Recreate strategy replaces the
            // old JobManager, which ends its job.
            cancel_job: (spec.upgrade_mode == UpgradeMode::Stateless)
                .then(|| observed.live_job().map(|job| job.id.clone()))
                .flatten(),
        },
        Err(message) => Action::Wait {
            reason: "UpgradeWaiting",
            message: format!("the upgrade waits: {message}"),
        },
    })
}

fn redeploy_reason(change: SpecChange) -> RedeployReason {
    match change {
        SpecChange::Rescale { from, to } => RedeployReason::Rescale { from, to },
        SpecChange::RestoreFrom(_) => RedeployReason::Restore,
        SpecChange::None | SpecChange::Upgrade => RedeployReason::Upgrade,
    }
}

/// The state a new deployment starts from when no savepoint is taken now: nothing when
/// stateless; otherwise the job's newest state. In savepoint mode that is a fallback to
/// last-state, allowed by `spec.lastStateFallback` when a checkpoint is newer than the state
/// the current deployment started from. An error says why the operator must wait.
fn state_for(
    spec: &FlinkJobSpec,
    status: &FlinkJobStatus,
    observed: &Observed,
) -> Result<Option<String>, String> {
    match spec.upgrade_mode {
        UpgradeMode::Stateless => Ok(None),
        UpgradeMode::LastState => newest_state(status, observed),
        UpgradeMode::Savepoint => {
            let newest = newest_state(status, observed)?;
            if newest == status.restore_path || spec.last_state_fallback {
                return Ok(newest);
            }
            let job = match &observed.jobmanager {
                JobManagerView::Job(job) => format!("job {} is {}", job.id, job.state.as_str()),
                _ => "the JobManager runs no job".to_owned(),
            };
            Err(format!(
                "{job}, not RUNNING, so no savepoint can be taken, and spec.lastStateFallback \
                 is false, so the operator does not start from the latest checkpoint instead; \
                 bring the job back to RUNNING, or set lastStateFallback to true"
            ))
        }
    }
}

/// The newest state of the job: the latest checkpoint the JobManager reports, else the one
/// recorded for this deployment, else the state this deployment started from. When the
/// JobManager is unreachable after the job ran, a newer checkpoint than the recorded one may
/// exist, so the answer is an error rather than an older state.
fn newest_state(status: &FlinkJobStatus, observed: &Observed) -> Result<Option<String>, String> {
    if let Some(checkpoint) = &observed.latest_checkpoint {
        return Ok(Some(checkpoint.external_path.clone()));
    }
    let job_ran = status.job_id.is_some() || status.last_checkpoint.is_some();
    if let JobManagerView::Unreachable(why) = &observed.jobmanager
        && job_ran
    {
        return Err(format!(
            "the JobManager is unreachable ({why}), so the job's latest checkpoint is unknown"
        ));
    }
    Ok(status
        .last_checkpoint
        .as_ref()
        .map(|checkpoint| checkpoint.path.clone())
        .or_else(|| status.restore_path.clone()))
}
