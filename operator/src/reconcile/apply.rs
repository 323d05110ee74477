//! Apply: carry out the decided action. Every action that changes the cluster
//! first records its target in the status (`lastReconciledSpec`, the phase, the
//! restore path, a pending savepoint's trigger id), then acts, so an operator that
//! dies halfway finds the plan in the status and finishes it.

use kube::runtime::{controller::Action as Requeue, events::EventType};

use super::{
    Target,
    children::{apply_cluster, apply_restore_path, clear_high_availability},
    events, finalizer, requeue_for, status,
};
use crate::{
    Result,
    crd::{
        CheckpointInfo, FlinkJobSpec, FlinkJobStatus, JobPhase, PendingSavepoint, SavepointInfo,
        SavepointPurpose, UpgradeMode,
    },
    decide::{Action, JobManagerView, Observed, RedeployReason, SpecChange, spec_change},
    jobmanager_client::{JobState, SavepointRequest},
    resources::{taskmanager_replicas, taskmanager_selector},
};

const SAVEPOINT_POLL: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn apply(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    observed: &Observed,
    action: Action,
) -> Result<Requeue> {
    match action {
        Action::Deploy { restore_from } => deploy(target, current, restore_from).await,
        Action::Redeploy {
            reason,
            restore_from,
            new_savepoint,
            cancel_job,
        } => {
            redeploy(
                target,
                current,
                observed,
                reason,
                restore_from,
                new_savepoint,
                cancel_job,
            )
            .await
        }
        Action::TriggerSavepoint {
            job_id,
            purpose,
            nonce,
        } => trigger_savepoint(target, current, job_id, purpose, nonce).await,
        Action::AwaitSavepoint { .. } => Ok(Requeue::requeue(SAVEPOINT_POLL)),
        Action::SavepointFailed { purpose, cause } => {
            savepoint_failed(target, current, observed, purpose, cause).await
        }
        Action::RecordSavepoint { savepoint } => record_savepoint(target, current, savepoint).await,
        Action::Suspend {
            new_savepoint,
            cancel_job,
            restore_from,
        } => suspend(target, current, new_savepoint, cancel_job, restore_from).await,
        Action::Finalize {
            new_savepoint,
            warning,
        } => finalize(target, new_savepoint, warning).await,
        Action::Observe => observe_only(target, current, observed).await,
        Action::PauseBeforeRetry => Ok(Requeue::requeue(target.ctx.timeouts.savepoint_retry)),
        Action::Wait { reason, message } => {
            let mut next = with_selector(target, current);
            status::refresh_conditions(&mut next, Some((reason, message.clone())));
            warn_on_new_problem(target, current, &next, reason, message).await;
            status::write(target, &next).await?;
            Ok(Requeue::requeue(std::time::Duration::from_secs(10)))
        }
    }
}

/// The status with the scale subresource's selector set. `observedGeneration` moves only
/// where the spec is reconciled ([`record_spec`] and [`observe_only`]).
fn with_selector(target: &Target<'_>, current: &FlinkJobStatus) -> FlinkJobStatus {
    let mut next = current.clone();
    next.selector = Some(taskmanager_selector(&target.name));
    next
}

/// Publishes a Warning event when the Degraded condition's reason is new, so a problem
/// is reported once, not on every reconcile.
async fn warn_on_new_problem(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    next: &FlinkJobStatus,
    reason: &str,
    message: String,
) {
    let before = current
        .condition(status::CONDITION_DEGRADED)
        .filter(|condition| condition.status == "True")
        .map(|condition| condition.reason.as_str());
    let now = next
        .condition(status::CONDITION_DEGRADED)
        .filter(|condition| condition.status == "True")
        .map(|condition| condition.reason.as_str());
    if now == Some(reason) && before != now {
        events::publish(target, EventType::Warning, reason, message).await;
    }
}

/// Records `spec` as the spec being deployed: this generation is reconciled.
fn record_spec(target: &Target<'_>, next: &mut FlinkJobStatus, phase: JobPhase) -> Result<()> {
    next.last_reconciled_spec = Some(status::encode_spec(target.job)?);
    next.observed_generation = target.job.metadata.generation;
    next.phase = Some(phase);
    next.replicas = if phase == JobPhase::Suspended {
        0
    } else {
        target.job.spec.parallelism
    };
    Ok(())
}

fn describe_cluster(spec: &FlinkJobSpec) -> String {
    format!(
        "parallelism {}, {} TaskManager(s) with {} slot(s) each",
        spec.parallelism,
        taskmanager_replicas(spec.parallelism, spec.task_manager.slots),
        spec.task_manager.slots
    )
}

fn restore_note(restore_from: Option<&str>) -> String {
    restore_from.map_or_else(|| "without state".to_owned(), |path| format!("from {path}"))
}

async fn deploy(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    restore_from: Option<String>,
) -> Result<Requeue> {
    let mut next = with_selector(target, current);
    record_spec(target, &mut next, JobPhase::Deploying)?;
    next.restore_path = restore_from.clone();
    next.cluster_generation += 1;
    next.deployed_at = Some(now());
    status::refresh_conditions(&mut next, None);
    status::write(target, &next).await?;
    apply_cluster(target, &target.job.spec, &next, false).await?;
    let note = format!(
        "deploying the job ({}) {}",
        describe_cluster(&target.job.spec),
        restore_note(restore_from.as_deref())
    );
    events::publish(target, EventType::Normal, "Deploying", note).await;
    Ok(requeue_for(next.phase))
}

async fn redeploy(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    observed: &Observed,
    reason: RedeployReason,
    restore_from: Option<String>,
    new_savepoint: Option<SavepointInfo>,
    cancel_job: Option<String>,
) -> Result<Requeue> {
    let mut next = with_selector(target, current);
    let phase = match reason {
        RedeployReason::Recover | RedeployReason::RestartFailed => JobPhase::Recovering,
        RedeployReason::Continue => current.phase.unwrap_or(JobPhase::Upgrading),
        _ => JobPhase::Upgrading,
    };
    record_spec(target, &mut next, phase)?;
    next.restore_path = restore_from.clone();
    // A continued redeploy applies the cluster generation it recorded before it stopped.
    if reason != RedeployReason::Continue {
        next.cluster_generation += 1;
        next.deployed_at = Some(now());
        // The new job's checkpoints are reported afresh; the old job's are older than
        // the state the new one starts from.
        next.last_checkpoint = None;
        next.replaced_job_id = match (&current.pending_savepoint, &observed.jobmanager) {
            // The job the savepoint stopped.
            (Some(pending), _) => Some(pending.job_id.clone()),
            (None, JobManagerView::Job(job)) => Some(job.id.clone()),
            (None, _) => current.job_id.clone(),
        };
    }
    match reason {
        RedeployReason::RestartFailed => next.failed_job_restarts += 1,
        RedeployReason::Upgrade | RedeployReason::Rescale { .. } | RedeployReason::Restore => {
            next.failed_job_restarts = 0;
        }
        RedeployReason::Resume | RedeployReason::Recover | RedeployReason::Continue => {}
    }
    if let Some(savepoint) = new_savepoint {
        next.last_savepoint = Some(savepoint);
    }
    next.pending_savepoint = None;
    next.job_id = None;
    next.job_state = None;
    status::refresh_conditions(&mut next, None);
    status::write(target, &next).await?;
    let recorded = next.clone();

    if let Some(job_id) = cancel_job {
        cancel(target, &job_id).await;
    }
    if !reason.keeps_high_availability_state(target.job.spec.upgrade_mode) {
        clear_high_availability(target, &target.job.spec, &next).await?;
    }
    apply_cluster(target, &target.job.spec, &next, false).await?;
    let what = match reason {
        RedeployReason::Rescale { from, to } => {
            format!("rescaling from parallelism {from} to {to}")
        }
        RedeployReason::Upgrade => "upgrading".to_owned(),
        RedeployReason::Resume => "resuming".to_owned(),
        RedeployReason::Recover => "recovering".to_owned(),
        RedeployReason::RestartFailed => format!(
            "restarting the FAILED job ({} of {} restarts)",
            next.failed_job_restarts,
            target.job.spec.max_failed_job_restarts.unwrap_or(0)
        ),
        RedeployReason::Restore => "restoring".to_owned(),
        RedeployReason::Continue => "continuing an interrupted redeploy".to_owned(),
    };
    let note = format!(
        "{what}: redeploying ({}) {}",
        describe_cluster(&target.job.spec),
        restore_note(restore_from.as_deref())
    );
    events::publish(target, EventType::Normal, reason.event_reason(), note).await;

    next.phase = Some(JobPhase::Deploying);
    status::refresh_conditions(&mut next, None);
    status::write_over(target, Some(&recorded), &next).await?;
    Ok(requeue_for(next.phase))
}

/// Cancels a job before its cluster is replaced. An unreachable JobManager is
/// not fatal: the new JobManager pod replaces it anyway.
async fn cancel(target: &Target<'_>, job_id: &str) {
    let client = target.ctx.jobmanagers.client(&target.rest_url());
    if let Err(error) = client.cancel_job(job_id).await {
        tracing::warn!(flinkjob = %target.key(), job_id, %error, "could not cancel the job; replacing its cluster anyway");
    }
}

/// A trigger id for Flink (32 hex digits). It is recorded in the status before the trigger is
/// sent, so a trigger repeated after a crash reuses it and takes no second savepoint. It
/// includes the FlinkJob's resourceVersion, which moves with every status write, so a retry
/// after a failed savepoint gets a fresh id: Flink answers a known trigger id with that
/// operation's (cached) result, so reusing one would report the old failure forever.
fn trigger_id(target: &Target<'_>, purpose: SavepointPurpose, nonce: Option<i64>) -> String {
    let metadata = &target.job.metadata;
    trigger_id_for(
        metadata.uid.as_deref().unwrap_or_default(),
        metadata.generation.unwrap_or_default(),
        metadata.resource_version.as_deref().unwrap_or_default(),
        purpose,
        nonce,
    )
}

fn trigger_id_for(
    uid: &str,
    generation: i64,
    resource_version: &str,
    purpose: SavepointPurpose,
    nonce: Option<i64>,
) -> String {
    let seed = format!(
        "{uid}/{generation}/{resource_version}/{purpose:?}/{}",
        nonce.unwrap_or_default()
    );
    let fnv = |offset: u64| {
        seed.bytes().fold(offset, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x8422_2325_cbf2_9ce4)
    )
}

async fn trigger_savepoint(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    job_id: String,
    purpose: SavepointPurpose,
    nonce: Option<i64>,
) -> Result<Requeue> {
    let trigger_id = trigger_id(target, purpose, nonce);
    let mut next = with_selector(target, current);
    next.pending_savepoint = Some(PendingSavepoint {
        trigger_id: trigger_id.clone(),
        job_id: job_id.clone(),
        purpose,
        nonce,
        triggered_at: Some(now()),
    });
    if nonce.is_some() {
        next.last_savepoint_trigger_nonce = nonce;
    }
    next.phase = match purpose {
        SavepointPurpose::Upgrade => Some(JobPhase::Upgrading),
        SavepointPurpose::Suspend => Some(JobPhase::Suspending),
        SavepointPurpose::Delete => Some(JobPhase::Deleting),
        SavepointPurpose::OnDemand | SavepointPurpose::Restore => current.phase,
    };
    status::refresh_conditions(&mut next, None);
    status::write(target, &next).await?;

    let target_directory = current
        .reconciled_spec()
        .and_then(|spec| spec.checkpointing)
        .map(|checkpointing| format!("{}/savepoints", checkpointing.storage.trim_end_matches('/')));
    let request = SavepointRequest {
        trigger_id,
        target_directory,
        stop_job: purpose.stops_job(),
    };
    let client = target.ctx.jobmanagers.client(&target.rest_url());
    client.trigger_savepoint(&job_id, &request).await?;
    let note = if request.stop_job {
        format!("stopping job {job_id} with a savepoint ({purpose:?})")
    } else {
        format!("savepoint of job {job_id} triggered ({purpose:?})")
    };
    events::publish(target, EventType::Normal, "SavepointTriggered", note).await;
    Ok(Requeue::requeue(SAVEPOINT_POLL))
}

async fn savepoint_failed(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    observed: &Observed,
    purpose: SavepointPurpose,
    cause: String,
) -> Result<Requeue> {
    let mut next = with_selector(target, current);
    next.pending_savepoint = None;
    if observed.running_job().is_some() {
        next.phase = Some(JobPhase::Running);
    }
    let message = format!("the {purpose:?} savepoint failed: {cause}");
    status::refresh_conditions(&mut next, Some(("SavepointFailed", message.clone())));
    status::write(target, &next).await?;
    events::publish(target, EventType::Warning, "SavepointFailed", message).await;
    Ok(Requeue::requeue(std::time::Duration::from_secs(30)))
}

async fn record_savepoint(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    savepoint: SavepointInfo,
) -> Result<Requeue> {
    let mut next = with_selector(target, current);
    next.pending_savepoint = None;
    let note = format!("savepoint completed at {}", savepoint.path);
    next.last_savepoint = Some(savepoint);
    status::refresh_conditions(&mut next, None);
    status::write(target, &next).await?;
    events::publish(target, EventType::Normal, "SavepointCompleted", note).await;
    Ok(requeue_for(next.phase))
}

async fn suspend(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    new_savepoint: Option<SavepointInfo>,
    cancel_job: Option<String>,
    restore_from: Option<String>,
) -> Result<Requeue> {
    let mut next = with_selector(target, current);
    record_spec(target, &mut next, JobPhase::Suspended)?;
    let note = match &new_savepoint {
        Some(savepoint) => format!(
            "suspended; the job's state is in savepoint {}",
            savepoint.path
        ),
        None => "suspended; pods scaled to zero".to_owned(),
    };
    if let Some(savepoint) = new_savepoint {
        next.last_savepoint = Some(savepoint);
    }
    next.restore_path = restore_from;
    next.last_checkpoint = None;
    next.pending_savepoint = None;
    next.job_id = None;
    next.job_state = None;
    status::refresh_conditions(&mut next, None);
    status::write(target, &next).await?;
    if let Some(job_id) = cancel_job {
        cancel(target, &job_id).await;
    }
    apply_cluster(target, &target.job.spec, &next, true).await?;
    events::publish(target, EventType::Normal, "Suspended", note).await;
    Ok(requeue_for(next.phase))
}

async fn finalize(
    target: &Target<'_>,
    new_savepoint: Option<SavepointInfo>,
    warning: Option<String>,
) -> Result<Requeue> {
    let note = match (&new_savepoint, &warning) {
        (Some(savepoint), _) => format!("deleted after a final savepoint at {}", savepoint.path),
        (None, Some(warning)) => format!(
            "deleted without a final savepoint ({warning}); its JobManager and TaskManagers \
             are garbage collected"
        ),
        (None, None) => "deleted; its JobManager and TaskManagers are garbage collected".to_owned(),
    };
    let kind = if warning.is_some() {
        EventType::Warning
    } else {
        EventType::Normal
    };
    events::publish(target, kind, "Deleted", note).await;
    finalizer::remove(target).await?;
    target.ctx.metrics.set_phase(&target.key(), None);
    Ok(Requeue::await_change())
}

async fn observe_only(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    observed: &Observed,
) -> Result<Requeue> {
    let mut next = with_selector(target, current);
    // Nothing to deploy: the spec of this generation is what runs.
    if current
        .reconciled_spec()
        .is_some_and(|reconciled| spec_change(&reconciled, &target.job.spec) == SpecChange::None)
    {
        next.observed_generation = target.job.metadata.generation;
    }
    let mut degraded = None;
    match &observed.jobmanager {
        JobManagerView::Job(job) => {
            next.job_id = Some(job.id.clone());
            next.job_state = Some(job.state.as_str().to_owned());
            next.phase = match job.state {
                JobState::Running => Some(JobPhase::Running),
                JobState::Finished => Some(JobPhase::Finished),
                JobState::Failed | JobState::Canceled => Some(JobPhase::Failed),
                JobState::Initializing | JobState::Created => Some(JobPhase::Deploying),
                _ => next.phase,
            };
            degraded = match job.state {
                JobState::Failing | JobState::Restarting => Some((
                    "JobRestarting",
                    format!("job {} is {}", job.id, job.state.as_str()),
                )),
                JobState::Failed => Some((
                    "JobFailed",
                    format!(
                        "job {} FAILED; the operator restarted it {} time(s) and \
                         spec.maxFailedJobRestarts allows {}; change spec.restartNonce to \
                         start it again",
                        job.id,
                        current.failed_job_restarts,
                        target.job.spec.max_failed_job_restarts.unwrap_or(0)
                    ),
                )),
                JobState::Canceled => Some((
                    "JobCanceled",
                    format!(
                        "job {} was CANCELED outside the operator; change spec.restartNonce \
                         to start it again",
                        job.id
                    ),
                )),
                _ => None,
            };
        }
        JobManagerView::Unreachable(why) => {
            degraded = Some(("JobManagerUnreachable", why.clone()));
            if next.phase == Some(JobPhase::Failed) {
                next.phase = Some(JobPhase::Deploying);
            }
        }
        JobManagerView::NoJob | JobManagerView::NotQueried => {
            if next.phase == Some(JobPhase::Failed) {
                next.phase = Some(JobPhase::Deploying);
            }
        }
    }
    if observed.running_job().is_none() && next.phase != Some(JobPhase::Suspended) {
        if let Some(problem) = observed.pod_problems.first() {
            let all: Vec<&str> = observed
                .pod_problems
                .iter()
                .map(|problem| problem.message.as_str())
                .collect();
            degraded = Some((problem.reason.as_str(), all.join("; ")));
        }
        if let Some(timeout) = observed.readiness_timed_out {
            let pods = degraded
                .as_ref()
                .map(|(reason, message)| format!(" ({reason}: {message})"))
                .unwrap_or_default();
            degraded = Some((
                "NotReady",
                format!(
                    "the job is not RUNNING {}s after the cluster was deployed{pods}",
                    timeout.as_secs()
                ),
            ));
        }
    }
    // Failing checkpoints (an unreachable checkpoint storage) stop the job from making
    // progress it can keep, even while it restarts into RUNNING again and again: the failing
    // checkpoints say why it restarts.
    let restarting = matches!(degraded, Some(("JobRestarting", _)));
    if (degraded.is_none() || restarting)
        && let Some(failure) = &observed.checkpoint_failure
    {
        let message = match degraded.take() {
            Some((_, restarting)) => format!("{restarting}; {failure}"),
            None => failure.clone(),
        };
        degraded = Some(("CheckpointFailing", message));
    }
    if let Some(checkpoint) = &observed.latest_checkpoint {
        next.last_checkpoint = Some(CheckpointInfo {
            id: checkpoint.id,
            path: checkpoint.external_path.clone(),
        });
        follow_checkpoint(target, current, &checkpoint.external_path).await?;
    }
    status::refresh_conditions(&mut next, degraded.clone());
    let became = (current.phase != next.phase)
        .then_some(next.phase)
        .flatten();
    // A JobManager that does not answer yet while its cluster starts is expected; the
    // readiness timeout reports it if it lasts. Once the job ran, it is news.
    let starting = current.phase != Some(JobPhase::Running);
    if let Some((reason, message)) = degraded
        && !(starting && reason == "JobManagerUnreachable")
    {
        warn_on_new_problem(target, current, &next, reason, message).await;
    }
    status::write(target, &next).await?;
    match became {
        Some(JobPhase::Running) => {
            let note = format!("job {} is RUNNING", next.job_id.as_deref().unwrap_or("?"));
            events::publish(target, EventType::Normal, "JobRunning", note).await;
        }
        Some(JobPhase::Finished) => {
            let note = format!("job {} FINISHED", next.job_id.as_deref().unwrap_or("?"));
            events::publish(target, EventType::Normal, "JobFinished", note).await;
        }
        _ => {}
    }
    Ok(requeue_for(next.phase))
}

/// A new completed checkpoint of a stateful job: the ConfigMap's restore path follows it, so a
/// JobManager pod that restarts on its own (a crash, an eviction) starts from this
/// checkpoint, not from the stale savepoint its deployment began with.
async fn follow_checkpoint(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    checkpoint_path: &str,
) -> Result<()> {
    let Some(deployed) = current.reconciled_spec() else {
        return Ok(());
    };
    let known = current.last_checkpoint.as_ref().map(|c| c.path.as_str());
    if deployed.upgrade_mode == UpgradeMode::Stateless || known == Some(checkpoint_path) {
        return Ok(());
    }
    apply_restore_path(target, &deployed, current, checkpoint_path).await
}

/// Now, in RFC 3339, to the second.
fn now() -> String {
    jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retried_savepoint_in_the_same_generation_gets_a_fresh_trigger_id() {
        let id = |resource_version: &str| {
            trigger_id_for(
                "uid-1",
                3,
                resource_version,
                SavepointPurpose::Upgrade,
                None,
            )
        };
        let first = id("100");
        assert_eq!(first.len(), 32);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()), "{first}");
        assert_eq!(first, id("100"), "the same FlinkJob version reuses its id");
        assert_ne!(
            first,
            id("104"),
            "a retry after a status write gets a new id"
        );
        assert_ne!(
            first,
            trigger_id_for("uid-1", 3, "100", SavepointPurpose::Suspend, None)
        );
    }
}
