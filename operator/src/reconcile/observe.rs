//! Observe: the JobManager Deployment, and the JobManager's REST API.

use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;

use super::Target;
use crate::{
    Error, Result,
    crd::{FlinkJobStatus, JobPhase},
    decide::{JobManagerView, Observed},
    jobmanager_client::{JobManagerError, JobSummary, SavepointStatus},
    resources::jobmanager_name,
};

pub async fn observe(
    target: &Target<'_>,
    status: &FlinkJobStatus,
    deleting: bool,
) -> Result<Observed> {
    let deployments: Api<Deployment> =
        Api::namespaced(target.ctx.client.clone(), &target.namespace);
    let deployment_name = jobmanager_name(&target.name);
    let cluster_deployed = deployments
        .get_opt(&deployment_name)
        .await
        .map_err(Error::kubernetes(format!(
            "reading Deployment {}/{deployment_name}",
            target.namespace
        )))?
        .is_some();
    let mut observed = Observed {
        deleting,
        cluster_deployed,
        ..Observed::default()
    };
    let suspended = status.phase == Some(JobPhase::Suspended);
    if !cluster_deployed || suspended || status.last_reconciled_spec.is_none() {
        return Ok(observed);
    }
    let client = target.ctx.jobmanagers.client(&target.rest_url());
    observed.jobmanager = match client.jobs_overview().await {
        Ok(jobs) => current_job(jobs).map_or(JobManagerView::NoJob, JobManagerView::Job),
        Err(error) => JobManagerView::Unreachable(error.to_string()),
    };
    if let Some(pending) = &status.pending_savepoint {
        observed.savepoint = match client
            .savepoint_status(&pending.job_id, &pending.trigger_id)
            .await
        {
            Ok(savepoint) => Some(savepoint),
            // The JobManager restarted and forgot the trigger: the savepoint is lost.
            Err(JobManagerError::Http {
                status: 404,
                message,
                ..
            }) => Some(SavepointStatus::Failed {
                cause: format!("the JobManager lost the trigger: {message}"),
            }),
            Err(error) => {
                tracing::info!(flinkjob = %target.key(), %error, "savepoint status unknown");
                None
            }
        };
    }
    if let Some(job) = observed.live_job() {
        observed.latest_checkpoint = match client.latest_checkpoint(&job.id).await {
            Ok(checkpoint) => checkpoint,
            Err(error) => {
                tracing::info!(flinkjob = %target.key(), %error, "latest checkpoint unknown");
                None
            }
        };
    }
    Ok(observed)
}

/// The job a JobManager in application mode runs: the newest one that has not
/// ended, else the newest one.
fn current_job(mut jobs: Vec<JobSummary>) -> Option<JobSummary> {
    jobs.sort_by_key(|job| (!job.state.is_terminal(), job.start_time));
    jobs.pop()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobmanager_client::JobState;

    fn job(id: &str, state: JobState, start_time: i64) -> JobSummary {
        JobSummary {
            id: id.into(),
            name: "j".into(),
            state,
            start_time,
        }
    }

    #[test]
    fn the_current_job_is_the_newest_live_one() {
        let jobs = vec![
            job("old", JobState::Canceled, 1),
            job("live", JobState::Running, 2),
            job("newer-but-ended", JobState::Failed, 3),
        ];
        assert_eq!(current_job(jobs).map(|j| j.id), Some("live".to_owned()));
        let ended = vec![
            job("a", JobState::Canceled, 1),
            job("b", JobState::Finished, 2),
        ];
        assert_eq!(current_job(ended).map(|j| j.id), Some("b".to_owned()));
        assert_eq!(current_job(Vec::new()), None);
    }
}
