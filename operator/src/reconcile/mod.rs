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

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use kube::{
    Api, Client, ResourceExt,
    runtime::{controller::Action as Requeue, events::Recorder},
};

use crate::{
    Error, Result,
    config::{JobDefaults, Timeouts},
    crd::{FlinkJob, JobPhase},
    decide::decide,
    health::ControllerHealth,
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
    pub health: Arc<ControllerHealth>,
    pub timeouts: Timeouts,
    pub job_defaults: JobDefaults,
    /// Consecutive failed reconciles per FlinkJob (`namespace/name`), for the backoff.
    pub failures: Mutex<HashMap<String, u32>>,
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
    let key = job_key(&job);
    ctx.metrics.reconcile_started();
    ctx.health.reconcile_started(&key);
    let result = reconcile_job(&job, &ctx).await;
    ctx.health.reconcile_finished(&key);
    ctx.metrics.reconcile_finished(started.elapsed());
    match &result {
        Ok(_) => {
            ctx.failures_map().remove(&key);
        }
        Err(error) => ctx.metrics.reconcile_failed(error.metric_label()),
    }
    result
}

impl Context {
    fn failures_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

fn job_key(job: &FlinkJob) -> String {
    format!(
        "{}/{}",
        job.namespace().unwrap_or_else(|| "default".to_owned()),
        job.name_any()
    )
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

/// Failed reconciles are retried with an exponential backoff per FlinkJob (5 s, 10 s, 20 s,
/// ... up to 5 min), reset by the next successful reconcile; the error is already in the
/// metrics, and is logged here.
pub fn error_policy(job: Arc<FlinkJob>, error: &Error, ctx: Arc<Context>) -> Requeue {
    let attempt = {
        let mut failures = ctx.failures_map();
        let count = failures.entry(job_key(&job)).or_default();
        *count = count.saturating_add(1);
        *count
    };
    let delay = error_backoff(attempt);
    tracing::warn!(flinkjob = %job_key(&job), %error, attempt, retry_in = ?delay, "reconcile failed");
    Requeue::requeue(delay)
}

/// The pause before retry number `attempt` (1 for the first failure).
pub fn error_backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(6);
    Duration::from_secs(5 * (1 << doublings)).min(Duration::from_secs(300))
}

/// How soon to look again in each phase.
fn requeue_for(phase: Option<JobPhase>) -> Requeue {
    let seconds = match phase {
        Some(JobPhase::Running) => 30,
        Some(JobPhase::Suspended | JobPhase::Finished | JobPhase::Failed) => 300,
        _ => 3,
    };
    Requeue::requeue(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_reconciles_back_off_exponentially_up_to_five_minutes() {
        let delays: Vec<u64> = (1..=9)
            .map(|attempt| error_backoff(attempt).as_secs())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(error_backoff(u32::MAX).as_secs(), 300);
    }
}
