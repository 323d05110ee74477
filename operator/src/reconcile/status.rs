//! Patch status: the FlinkJob's status is written with server-side apply by one
//! field manager, so a field the operator stops setting disappears.

use kube::{
    api::{Patch, PatchParams},
    runtime::{controller::Action as Requeue, events::EventType},
};
use serde_json::json;

use super::{FIELD_MANAGER, Target, events, validate::SpecProblem};
use crate::{
    Error, Result,
    crd::{Condition, FlinkJob, FlinkJobStatus, JobPhase},
};

pub const CONDITION_READY: &str = "Ready";
pub const CONDITION_PROGRESSING: &str = "Progressing";
pub const CONDITION_DEGRADED: &str = "Degraded";

/// Writes `status` unless it is what the FlinkJob already reports.
pub async fn write(target: &Target<'_>, status: &FlinkJobStatus) -> Result<()> {
    write_over(target, target.job.status.as_ref(), status).await
}

/// Writes `status` unless it equals `previous` (the status last written).
pub async fn write_over(
    target: &Target<'_>,
    previous: Option<&FlinkJobStatus>,
    status: &FlinkJobStatus,
) -> Result<()> {
    target.ctx.metrics.set_phase(&target.key(), status.phase);
    if previous == Some(status) {
        return Ok(());
    }
    let patch = json!({
        "apiVersion": "flinkrs.dev/v1alpha1",
        "kind": "FlinkJob",
        "status": status,
    });
    target
        .api
        .patch_status(
            &target.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(Error::kubernetes(format!(
            "writing the status of FlinkJob {}",
            target.key()
        )))?;
    Ok(())
}

/// Sets Ready, Progressing and Degraded from the phase and the problem, if any.
/// A condition keeps its lastTransitionTime while its status stays the same.
pub fn refresh_conditions(status: &mut FlinkJobStatus, degraded: Option<(&str, String)>) {
    let phase = status.phase;
    let phase_name = phase.map_or("Pending", JobPhase::as_str);
    // Ready only while Flink itself reports the job RUNNING.
    let ready = phase == Some(JobPhase::Running) && status.job_state.as_deref() == Some("RUNNING");
    let progressing = matches!(
        phase,
        Some(
            JobPhase::Deploying
                | JobPhase::Upgrading
                | JobPhase::Suspending
                | JobPhase::Recovering
                | JobPhase::Deleting
        )
    );
    set_condition(
        status,
        CONDITION_READY,
        ready,
        phase_name,
        match (ready, status.job_state.as_deref()) {
            (true, _) => "the job is running".to_owned(),
            (false, Some(job_state)) => {
                format!("the FlinkJob is {phase_name}, the job {job_state}")
            }
            (false, None) => format!("the FlinkJob is {phase_name}"),
        },
    );
    set_condition(
        status,
        CONDITION_PROGRESSING,
        progressing,
        phase_name,
        if progressing {
            format!("the FlinkJob is {phase_name}")
        } else {
            "no change in progress".to_owned()
        },
    );
    match degraded {
        Some((reason, message)) => set_condition(status, CONDITION_DEGRADED, true, reason, message),
        None => set_condition(
            status,
            CONDITION_DEGRADED,
            false,
            "Healthy",
            "no problem reported".into(),
        ),
    }
}

fn set_condition(
    status: &mut FlinkJobStatus,
    type_: &str,
    value: bool,
    reason: &str,
    message: String,
) {
    let value = if value { "True" } else { "False" };
    let now = jiff::Timestamp::now()
        .round(jiff::Unit::Second)
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let previous = status.conditions.iter().position(|c| c.type_ == type_);
    let last_transition_time = match previous.map(|index| &status.conditions[index]) {
        Some(condition) if condition.status == value => condition.last_transition_time.clone(),
        _ => now.to_string(),
    };
    let condition = Condition {
        type_: type_.to_owned(),
        status: value.to_owned(),
        reason: reason.to_owned(),
        message,
        last_transition_time,
    };
    match previous {
        Some(index) => status.conditions[index] = condition,
        None => status.conditions.push(condition),
    }
}

/// The spec cannot be deployed: say which field and why, change nothing else,
/// and wait for the user to edit the FlinkJob.
pub async fn report_invalid_spec(
    target: &Target<'_>,
    status: &FlinkJobStatus,
    problem: SpecProblem,
) -> Result<Requeue> {
    let message = format!("{}: {}", problem.field, problem.message);
    let mut next = status.clone();
    next.phase = Some(JobPhase::Failed);
    refresh_conditions(&mut next, Some(("InvalidSpec", message.clone())));
    if target.job.status.as_ref() != Some(&next) {
        events::publish(target, EventType::Warning, "InvalidSpec", message.clone()).await;
    }
    write(target, &next).await?;
    let error = Error::InvalidSpec {
        resource: target.key(),
        field: problem.field,
        message: problem.message,
    };
    tracing::warn!(%error, "not reconciling until the spec changes");
    target.ctx.metrics.reconcile_failed(error.metric_label());
    Ok(Requeue::await_change())
}

/// The spec as JSON, for `status.lastReconciledSpec`.
pub fn encode_spec(job: &FlinkJob) -> Result<String> {
    serde_json::to_string(&job.spec).map_err(|source| Error::EncodeSpec {
        resource: format!(
            "{}/{}",
            job.metadata.namespace.as_deref().unwrap_or("default"),
            kube::ResourceExt::name_any(job)
        ),
        source,
    })
}
