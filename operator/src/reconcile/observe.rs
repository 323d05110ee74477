//! Observe: the JobManager Deployment, the JobManager's REST API, and, while the job is
//! not RUNNING, the pods (what keeps them from running).

use std::time::Duration;

use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod};
use kube::{Api, api::ListParams};

use super::Target;
use crate::{
    Error, Result,
    crd::{FlinkJobStatus, JobPhase},
    decide::{JobManagerView, Observed, PodProblem},
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
    if let Some(pending) = &status.pending_savepoint {
        observed.savepoint_timed_out = waited_too_long(
            pending.triggered_at.as_deref(),
            target.ctx.timeouts.savepoint,
        )
        .map(|timeout| {
            format!(
                "no answer from the JobManager about savepoint {} within {}s",
                pending.trigger_id,
                timeout.as_secs()
            )
        });
    }
    observed.savepoint_failed_recently = status
        .condition(super::CONDITION_DEGRADED)
        .filter(|condition| condition.status == "True" && condition.reason == "SavepointFailed")
        .is_some_and(|condition| {
            waited_too_long(
                Some(&condition.last_transition_time),
                target.ctx.timeouts.savepoint_retry,
            )
            .is_none()
        });
    if !cluster_deployed || suspended || status.last_reconciled_spec.is_none() {
        return Ok(observed);
    }
    let client = target.ctx.jobmanagers.client(&target.rest_url());
    observed.jobmanager = match client.jobs_overview().await {
        Ok(jobs) => current_job(jobs)
            .filter(|job| !is_replaced_job(status, job))
            .map_or(JobManagerView::NoJob, JobManagerView::Job),
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
    // A job that ended (FAILED included) still reports its checkpoints: the newest state
    // to restart or upgrade from.
    if let JobManagerView::Job(job) = &observed.jobmanager {
        observed.latest_checkpoint = match client.latest_checkpoint(&job.id).await {
            Ok(checkpoint) => checkpoint,
            Err(error) => {
                tracing::info!(flinkjob = %target.key(), %error, "latest checkpoint unknown");
                None
            }
        };
        observed.checkpoint_failure = match client.checkpoint_failure(&job.id).await {
            Ok(failure) => failure
                .map(|failure| format!("checkpoint {} failed: {}", failure.id, failure.message)),
            Err(error) => {
                tracing::info!(flinkjob = %target.key(), %error, "checkpoint failures unknown");
                None
            }
        };
    }
    if observed.running_job().is_none() && !deleting {
        // The pods only explain a problem; not being allowed to read them (an older chart's
        // RBAC) must not stop the reconcile.
        observed.pod_problems = pod_problems(target).await.unwrap_or_else(|error| {
            tracing::info!(flinkjob = %target.key(), %error, "pod problems unknown");
            Vec::new()
        });
        observed.readiness_timed_out =
            waited_too_long(status.deployed_at.as_deref(), target.ctx.timeouts.readiness);
    }
    Ok(observed)
}

/// Whether `job` is the job of the cluster the last redeploy replaced, answering while its
/// pod terminates. With high availability the new cluster's job has the same id (it is
/// derived from the cluster id), so the new job is told apart by its start: after the
/// redeploy.
fn is_replaced_job(status: &FlinkJobStatus, job: &JobSummary) -> bool {
    if status.replaced_job_id.as_deref() != Some(job.id.as_str()) {
        return false;
    }
    let redeployed_at = status
        .deployed_at
        .as_deref()
        .and_then(|at| at.parse::<jiff::Timestamp>().ok())
        .map(|at| at.as_millisecond());
    match redeployed_at {
        Some(redeployed_at) => job.start_time < redeployed_at,
        None => true,
    }
}

/// `timeout`, when more than that has passed since `since` (RFC 3339).
fn waited_too_long(since: Option<&str>, timeout: Duration) -> Option<Duration> {
    let since: jiff::Timestamp = since?.parse().ok()?;
    let waited = jiff::Timestamp::now().duration_since(since);
    (waited > jiff::SignedDuration::try_from(timeout).ok()?).then_some(timeout)
}

async fn pod_problems(target: &Target<'_>) -> Result<Vec<PodProblem>> {
    let pods: Api<Pod> = Api::namespaced(target.ctx.client.clone(), &target.namespace);
    let selector = format!(
        "app.kubernetes.io/instance={},app.kubernetes.io/managed-by=flinkrs-operator",
        target.name
    );
    let list = pods
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(Error::kubernetes(format!(
            "listing the pods of FlinkJob {}",
            target.key()
        )))?;
    Ok(problems_of(&list.items))
}

/// Container states that only mean "starting".
const STARTING: [&str; 2] = ["ContainerCreating", "PodInitializing"];

/// What the kubelet and the scheduler report as keeping pods from running: waiting
/// containers (ImagePullBackOff, CrashLoopBackOff with the last exit, a missing Secret's
/// CreateContainerConfigError) and unschedulable pods.
pub(super) fn problems_of(pods: &[Pod]) -> Vec<PodProblem> {
    let mut problems = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or("?");
        let Some(status) = &pod.status else { continue };
        for condition in status.conditions.iter().flatten() {
            if condition.type_ == "PodScheduled" && condition.status == "False" {
                let reason = condition
                    .reason
                    .clone()
                    .unwrap_or_else(|| "Unschedulable".into());
                problems.push(PodProblem {
                    message: format!(
                        "pod {name}: {reason}: {}",
                        condition.message.as_deref().unwrap_or("not scheduled")
                    ),
                    reason,
                });
            }
        }
        let containers = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for container in containers {
            let Some(waiting) = container.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
                continue;
            };
            let Some(reason) = waiting.reason.clone() else {
                continue;
            };
            if STARTING.contains(&reason.as_str()) {
                continue;
            }
            let mut message = format!("pod {name} container {}: {reason}", container.name);
            if let Some(text) = waiting.message.as_deref().filter(|text| !text.is_empty()) {
                message.push_str(&format!(": {text}"));
            }
            if let Some(ended) = container
                .last_state
                .as_ref()
                .and_then(|last| last.terminated.as_ref())
            {
                message.push_str(&format!(
                    " (last exit code {}{})",
                    ended.exit_code,
                    ended
                        .reason
                        .as_deref()
                        .map(|why| format!(", {why}"))
                        .unwrap_or_default()
                ));
            }
            problems.push(PodProblem { reason, message });
        }
    }
    problems
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
    fn the_replaced_job_is_ignored_but_a_job_with_its_id_started_after_the_redeploy_is_the_new_one()
    {
        // 2026-01-01T00:00:10Z
        let redeployed_at = 1_767_225_610_000;
        let status = FlinkJobStatus {
            replaced_job_id: Some("a1".to_owned()),
            deployed_at: Some("2026-01-01T00:00:10Z".to_owned()),
            ..FlinkJobStatus::default()
        };
        let old = job("a1", JobState::Running, redeployed_at - 60_000);
        let recovered = job("a1", JobState::Running, redeployed_at + 5_000);
        let other = job("b2", JobState::Running, redeployed_at - 60_000);
        assert!(is_replaced_job(&status, &old));
        assert!(!is_replaced_job(&status, &recovered));
        assert!(!is_replaced_job(&status, &other));
        let undated = FlinkJobStatus {
            deployed_at: None,
            ..status
        };
        assert!(is_replaced_job(&undated, &recovered));
    }

    #[test]
    fn waiting_containers_and_unschedulable_pods_are_problems_with_their_messages() {
        let pod: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "orders-taskmanager-1"},
            "status": {
                "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                "message": "0/1 nodes are available: 1 Insufficient memory."}],
                "containerStatuses": [
                    {"name": "flink-main-container", "ready": false, "restartCount": 4, "image": "i", "imageID": "",
                     "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                     "lastState": {"terminated": {"exitCode": 2, "reason": "Error"}}},
                    {"name": "sidecar", "ready": false, "restartCount": 0, "image": "i", "imageID": "",
                     "state": {"waiting": {"reason": "ContainerCreating"}}}
                ]
            }
        }))
        .expect("a pod");
        assert_eq!(
            problems_of(&[pod]),
            [
                PodProblem {
                    reason: "Unschedulable".into(),
                    message: "pod orders-taskmanager-1: Unschedulable: 0/1 nodes are available: 1 Insufficient memory.".into()
                },
                PodProblem {
                    reason: "CrashLoopBackOff".into(),
                    message: "pod orders-taskmanager-1 container flink-main-container: CrashLoopBackOff: back-off 40s (last exit code 2, Error)".into()
                },
            ]
        );
    }

    #[test]
    fn a_timeout_counts_from_the_recorded_time() {
        let long_ago = "2020-01-01T00:00:00Z";
        assert_eq!(
            waited_too_long(Some(long_ago), Duration::from_secs(5)),
            Some(Duration::from_secs(5))
        );
        let just_now = jiff::Timestamp::now().to_string();
        assert_eq!(
            waited_too_long(Some(&just_now), Duration::from_secs(600)),
            None
        );
        assert_eq!(waited_too_long(None, Duration::from_secs(5)), None);
        assert_eq!(
            waited_too_long(Some("not a time"), Duration::from_secs(5)),
            None
        );
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
