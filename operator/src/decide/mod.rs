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
    /// The job's latest completed checkpoint.
    pub latest_checkpoint: Option<LatestCheckpoint>,
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
    /// The job failed or its JobManager Deployment vanished.
    Recover,
    /// `restoreFrom` changed.
    Restore,
    /// A redeploy was recorded in the status but the operator stopped before it
    /// finished (the crash-safety path).
    Continue,
}

impl RedeployReason {
    /// The event reason shown by `kubectl describe`.
    pub fn event_reason(self) -> &'static str {
        match self {
            Self::Upgrade => "Upgrading",
            Self::Rescale { .. } => "Rescaling",
            Self::Resume => "Resuming",
            Self::Recover => "Recovering",
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
    },
    /// The FlinkJob is being deleted and nothing is left to do: drop the finalizer
    /// (the children go with their owner).
    Finalize {
        new_savepoint: Option<SavepointInfo>,
    },
    /// Nothing to change: refresh the status from what was observed.
    Observe,
    /// Nothing can be done until the situation changes (the message says what).
    Wait { message: String },
}

/// The state machine.
pub fn decide(spec: &FlinkJobSpec, status: &FlinkJobStatus, observed: &Observed) -> Action {
    if observed.deleting {
        return decide_deletion(spec, status, observed);
    }
    if let Some(pending) = &status.pending_savepoint {
        return decide_pending_savepoint(spec, status, pending.purpose, observed);
    }
    let Some(reconciled) = status.reconciled_spec() else {
        return match spec.state {
            JobLifecycleState::Suspended => Action::Suspend {
                new_savepoint: None,
                cancel_job: None,
            },
            JobLifecycleState::Running => Action::Deploy {
                restore_from: spec.restore_from.clone(),
            },
        };
    };
    let suspended = status.phase == Some(JobPhase::Suspended);
    match (spec.state, suspended) {
        (JobLifecycleState::Suspended, true) => return Action::Observe,
        (JobLifecycleState::Suspended, false) => return decide_suspend(spec, observed),
        (JobLifecycleState::Running, true) => {
            return Action::Redeploy {
                reason: RedeployReason::Resume,
                restore_from: state_to_resume_from(spec.upgrade_mode, status, observed),
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
    let failed_job = match &observed.jobmanager {
        JobManagerView::Job(job) if job.state == JobState::Failed => Some(job.id.clone()),
        _ => None,
    };
    if !observed.cluster_deployed || failed_job.is_some() {
        return Action::Redeploy {
            reason: RedeployReason::Recover,
            restore_from: state_to_recover_from(spec.upgrade_mode, status, observed),
            new_savepoint: None,
            // Cancelling a job that already failed changes nothing in Flink, but
            // tells the JobManager that the operator has taken over.
            cancel_job: failed_job,
        };
    }
    Action::Observe
}

fn decide_deletion(spec: &FlinkJobSpec, status: &FlinkJobStatus, observed: &Observed) -> Action {
    if let Some(pending) = &status.pending_savepoint {
        return match &observed.savepoint {
            Some(SavepointStatus::Completed { location }) => Action::Finalize {
                new_savepoint: Some(SavepointInfo {
                    path: location.clone(),
                    purpose: pending.purpose,
                }),
            },
            Some(SavepointStatus::Failed { .. }) => Action::Finalize {
                new_savepoint: None,
            },
            Some(SavepointStatus::InProgress) | None => Action::AwaitSavepoint {
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
    Action::Finalize {
        new_savepoint: None,
    }
}

fn decide_pending_savepoint(
    spec: &FlinkJobSpec,
    status: &FlinkJobStatus,
    purpose: SavepointPurpose,
    observed: &Observed,
) -> Action {
    let location = match &observed.savepoint {
        None | Some(SavepointStatus::InProgress) => return Action::AwaitSavepoint { purpose },
        Some(SavepointStatus::Failed { cause }) => {
            return Action::SavepointFailed {
                purpose,
                cause: cause.clone(),
            };
        }
        Some(SavepointStatus::Completed { location }) => location.clone(),
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
        },
        SavepointPurpose::OnDemand | SavepointPurpose::Delete | SavepointPurpose::Restore => {
            Action::RecordSavepoint { savepoint }
        }
    }
}

fn decide_suspend(spec: &FlinkJobSpec, observed: &Observed) -> Action {
    if spec.upgrade_mode == UpgradeMode::Savepoint
        && let Some(job) = observed.running_job()
    {
        return Action::TriggerSavepoint {
            job_id: job.id.clone(),
            purpose: SavepointPurpose::Suspend,
            nonce: None,
        };
    }
    Action::Suspend {
        new_savepoint: None,
        cancel_job: observed.live_job().map(|job| job.id.clone()),
    }
}

fn decide_spec_change(
    spec: &FlinkJobSpec,
    status: &FlinkJobStatus,
    observed: &Observed,
    change: SpecChange,
) -> Option<Action> {
    let cancel_job = observed.live_job().map(|job| job.id.clone());
    let reason = match change {
        SpecChange::None => return None,
        SpecChange::RestoreFrom(path) => {
            return Some(Action::Redeploy {
                reason: RedeployReason::Restore,
                restore_from: Some(path),
                new_savepoint: None,
                cancel_job,
            });
        }
        other => redeploy_reason(other),
    };
    let restore_from = match spec.upgrade_mode {
        UpgradeMode::Stateless => None,
        UpgradeMode::LastState => state_to_recover_from(spec.upgrade_mode, status, observed),
        UpgradeMode::Savepoint => {
            if let Some(job) = observed.running_job() {
                return Some(Action::TriggerSavepoint {
                    job_id: job.id.clone(),
                    purpose: SavepointPurpose::Upgrade,
                    nonce: None,
                });
            }
            let was_running = status.phase == Some(JobPhase::Running);
            if let JobManagerView::Unreachable(why) = &observed.jobmanager
                && was_running
            {
                return Some(Action::Wait {
                    message: format!(
                        "the upgrade waits for a savepoint, but the JobManager is unreachable: {why}"
                    ),
                });
            }
            state_to_resume_from(spec.upgrade_mode, status, observed)
        }
    };
    Some(Action::Redeploy {
        reason,
        restore_from,
        new_savepoint: None,
        cancel_job,
    })
}

fn redeploy_reason(change: SpecChange) -> RedeployReason {
    match change {
        SpecChange::Rescale { from, to } => RedeployReason::Rescale { from, to },
        SpecChange::RestoreFrom(_) => RedeployReason::Restore,
        SpecChange::None | SpecChange::Upgrade => RedeployReason::Upgrade,
    }
}

/// What a resumed job starts from: nothing when stateless, the last savepoint in
/// savepoint mode, the latest checkpoint in last-state mode.
fn state_to_resume_from(
    mode: UpgradeMode,
    status: &FlinkJobStatus,
    observed: &Observed,
) -> Option<String> {
    match mode {
        UpgradeMode::Stateless => None,
        UpgradeMode::Savepoint => status
            .last_savepoint
            .as_ref()
            .map(|savepoint| savepoint.path.clone())
            .or_else(|| status.restore_path.clone()),
        UpgradeMode::LastState => state_to_recover_from(mode, status, observed),
    }
}

/// What a recovered job starts from: its newest state, checkpoint first.
fn state_to_recover_from(
    mode: UpgradeMode,
    status: &FlinkJobStatus,
    observed: &Observed,
) -> Option<String> {
    if mode == UpgradeMode::Stateless {
        return None;
    }
    observed
        .latest_checkpoint
        .as_ref()
        .map(|checkpoint| checkpoint.external_path.clone())
        .or_else(|| {
            status
                .last_checkpoint
                .as_ref()
                .map(|checkpoint| checkpoint.path.clone())
        })
        .or_else(|| {
            status
                .last_savepoint
                .as_ref()
                .map(|savepoint| savepoint.path.clone())
        })
        .or_else(|| status.restore_path.clone())
}
