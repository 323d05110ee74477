//! The reconcile loop: observe → validate → decide → apply → patch status.
//!
//! `reconcile` and `error_policy` are the two functions the kube `Controller`
//! calls; each phase lives in its own file.

mod apply;
mod children;
mod events;
mod finalizer;
mod observe;
mod status;
mod validate;

use std::{sync::Arc, time::Instant};

use kube::{
    Api, Client, ResourceExt,
    runtime::{controller::Action as Requeue, events::Recorder},
};

use crate::{
    Error, Result,
    config::Timeouts,
    crd::{FlinkJob, JobPhase},
    decide::decide,
    jobmanager_client::JobManagerClientFactory,
    metrics::Metrics,
    resources,
};

pub use finalizer::FINALIZER;
pub use status::{CONDITION_DEGRADED, CONDITION_PROGRESSING, CONDITION_READY};

/// The server-side apply field manager of every object the operator writes.
pub const FIELD_MANAGER: &str = "flinkrs-operator";

/// What every reconcile shares.
pub struct Context {
    pub client: Client,
    pub jobmanagers: Arc<dyn JobManagerClientFactory>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub timeouts: Timeouts,
}

/// One FlinkJob being reconciled: the object and the APIs around it.
pub(crate) struct Target<'a> {
    pub ctx: &'a Context,
    pub job: &'a FlinkJob,
    pub name: String,
    pub namespace: String,
    pub api: Api<FlinkJob>,
}

impl Target<'_> {
    /// `namespace/name`, as errors and logs name the FlinkJob.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn rest_url(&self) -> String {
        resources::rest_url(&self.name, &self.namespace)
    }
}

pub async fn reconcile(job: Arc<FlinkJob>, ctx: Arc<Context>) -> Result<Requeue> {
    let started = Instant::now();
    ctx.metrics.reconcile_started();
    let result = reconcile_job(&job, &ctx).await;
    ctx.metrics.reconcile_finished(started.elapsed());
    if let Err(error) = &result {
        ctx.metrics.reconcile_failed(error.metric_label());
    }
    result
}

async fn reconcile_job(job: &FlinkJob, ctx: &Context) -> Result<Requeue> {
    let namespace = job.namespace().unwrap_or_else(|| "default".to_owned());
    let target = Target {
        ctx,
        job,
        name: job.name_any(),
        namespace: namespace.clone(),
        api: Api::namespaced(ctx.client.clone(), &namespace),
    };
    let deleting = job.metadata.deletion_timestamp.is_some();
    if deleting && !finalizer::has_finalizer(job) {
        ctx.metrics.set_phase(&target.key(), None);
        return Ok(Requeue::await_change());
    }
    if !deleting && !finalizer::has_finalizer(job) {
        finalizer::add(&target).await?;
    }
    let status = job.status.clone().unwrap_or_default();
    if !deleting && let Err(problem) = validate::validate_spec(job) {
        return status::report_invalid_spec(&target, &status, problem).await;
    }
    let observed = observe::observe(&target, &status, deleting).await?;
    let action = decide(&job.spec, &status, &observed);
    tracing::debug!(flinkjob = %target.key(), ?action, "decided");
    let requeue = apply::apply(&target, &status, &observed, action).await?;
    Ok(requeue)
}

/// Failed reconciles are retried after a short pause; the error is already in
/// the metrics and the log.
pub fn error_policy(job: Arc<FlinkJob>, error: &Error, _ctx: Arc<Context>) -> Requeue {
    tracing::warn!(flinkjob = %job.name_any(), namespace = ?job.namespace(), %error, "reconcile failed");
    Requeue::requeue(std::time::Duration::from_secs(5))
}

/// How soon to look again in each phase.
fn requeue_for(phase: Option<JobPhase>) -> Requeue {
    let seconds = match phase {
        Some(JobPhase::Running) => 30,
        Some(JobPhase::Suspended | JobPhase::Finished | JobPhase::Failed) => 300,
        _ => 3,
    };
    Requeue::requeue(std::time::Duration::from_secs(seconds))
}
