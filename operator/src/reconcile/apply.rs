//! Apply: carry out the decided action. Every action that changes the cluster
//! first records its target in the status (`lastReconciledSpec`, the phase, the
//! restore path, a pending savepoint's trigger id), then acts, so an operator that
//! dies halfway finds the plan in the status and finishes it.

use kube::runtime::{controller::Action as Requeue, events::EventType};

use super::{Target, children::apply_cluster, events, finalizer, requeue_for, status};
use crate::{
    Result,
    crd::{
        CheckpointInfo, FlinkJobSpec, FlinkJobStatus, JobPhase, PendingSavepoint, SavepointInfo,
        SavepointPurpose,
    },
    decide::{Action, JobManagerView, Observed, RedeployReason},
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
        } => suspend(target, current, new_savepoint, cancel_job).await,
        Action::Finalize { new_savepoint } => finalize(target, new_savepoint).await,
        Action::Observe => observe_only(target, current, observed).await,
        Action::Wait { message } => {
            let mut next = with_generation(target, current);
            status::refresh_conditions(&mut next, Some(("Waiting", message)));
            status::write(target, &next).await?;
            Ok(Requeue::requeue(std::time::Duration::from_secs(10)))
        }
    }
}

/// The status with this generation marked as seen and the scale fields set
/// from the deployed spec.
fn with_generation(target: &Target<'_>, current: &FlinkJobStatus) -> FlinkJobStatus {
    let mut next = current.clone();
    next.observed_generation = target.job.metadata.generation;
    next.selector = Some(taskmanager_selector(&target.name));
    next
}

/// Records `spec` as the spec being deployed.
fn record_spec(target: &Target<'_>, next: &mut FlinkJobStatus, phase: JobPhase) -> Result<()> {
    next.last_reconciled_spec = Some(status::encode_spec(target.job)?);
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
    let mut next = with_generation(target, current);
    record_spec(target, &mut next, JobPhase::Deploying)?;
    next.restore_path = restore_from.clone();
    next.cluster_generation += 1;
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
    reason: RedeployReason,
    restore_from: Option<String>,
    new_savepoint: Option<SavepointInfo>,
    cancel_job: Option<String>,
) -> Result<Requeue> {
    let mut next = with_generation(target, current);
    let phase = match reason {
        RedeployReason::Recover => JobPhase::Recovering,
        RedeployReason::Continue => current.phase.unwrap_or(JobPhase::Upgrading),
        _ => JobPhase::Upgrading,
    };
    record_spec(target, &mut next, phase)?;
    next.restore_path = restore_from.clone();
    // A continued redeploy applies the cluster generation it recorded before it stopped.
    if reason != RedeployReason::Continue {
        next.cluster_generation += 1;
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
    apply_cluster(target, &target.job.spec, &next, false).await?;
    let what = match reason {
        RedeployReason::Rescale { from, to } => {
            format!("rescaling from parallelism {from} to {to}")
        }
        RedeployReason::Upgrade => "upgrading".to_owned(),
        RedeployReason::Resume => "resuming".to_owned(),
        RedeployReason::Recover => "recovering".to_owned(),
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
    let mut next = with_generation(target, current);
    next.pending_savepoint = Some(PendingSavepoint {
        trigger_id: trigger_id.clone(),
        job_id: job_id.clone(),
        purpose,
        nonce,
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
    let mut next = with_generation(target, current);
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
    let mut next = with_generation(target, current);
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
) -> Result<Requeue> {
    let mut next = with_generation(target, current);
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
    if next.restore_path.is_none() {
        next.restore_path = target.job.spec.restore_from.clone();
    }
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

async fn finalize(target: &Target<'_>, new_savepoint: Option<SavepointInfo>) -> Result<Requeue> {
    let note = match &new_savepoint {
        Some(savepoint) => format!("deleted after a final savepoint at {}", savepoint.path),
        None => "deleted; its JobManager and TaskManagers are garbage collected".to_owned(),
    };
    events::publish(target, EventType::Normal, "Deleted", note).await;
    finalizer::remove(target).await?;
    target.ctx.metrics.set_phase(&target.key(), None);
    Ok(Requeue::await_change())
}

async fn observe_only(
    target: &Target<'_>,
    current: &FlinkJobStatus,
    observed: &Observed,
) -> Result<Requeue> {
    let mut next = with_generation(target, current);
    let mut degraded = None;
    match &observed.jobmanager {
        JobManagerView::Job(job) => {
            next.job_id = Some(job.id.clone());
            next.job_state = Some(job.state.as_str().to_owned());
            next.phase = match job.state {
                JobState::Running => Some(JobPhase::Running),
                JobState::Finished => Some(JobPhase::Finished),
                JobState::Initializing | JobState::Created => Some(JobPhase::Deploying),
                _ => next.phase,
            };
            if matches!(job.state, JobState::Failing | JobState::Restarting) {
                degraded = Some((
                    "JobRestarting",
                    format!("job {} is {}", job.id, job.state.as_str()),
                ));
            }
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
    if let Some(checkpoint) = &observed.latest_checkpoint {
        next.last_checkpoint = Some(CheckpointInfo {
            id: checkpoint.id,
            path: checkpoint.external_path.clone(),
        });
    }
    status::refresh_conditions(&mut next, degraded);
    let became = (current.phase != next.phase)
        .then_some(next.phase)
        .flatten();
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
