//! Bad input that used to go silent: a missing credentials Secret, a JobManager that never
//! becomes ready, a savepoint that never completes. Each surfaces in the FlinkJob's status
//! and events within a bounded time. The operator runs in-process against the testbed's
//! kube-apiserver and kube-controller-manager (which create the pods; there is no kubelet,
//! so the test writes the container status a kubelet reports for a missing Secret).

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

use flinkrs_operator::{
    config::Timeouts,
    crd::{FlinkJob, FlinkJobStatus, JobPhase},
    reconcile::CONDITION_DEGRADED,
};
use support::{
    apply_example,
    cluster::{NAMESPACE, Setup},
    eventually, example_documents,
};

fn degraded(status: &FlinkJobStatus) -> Option<(&str, &str)> {
    status
        .condition(CONDITION_DEGRADED)
        .filter(|condition| condition.status == "True")
        .map(|condition| (condition.reason.as_str(), condition.message.as_str()))
}

#[tokio::test]
async fn a_missing_credentials_secret_and_a_jobmanager_that_never_gets_ready_are_reported() {
    let timeouts = Timeouts {
        readiness: Duration::from_secs(4),
        ..Timeouts::default()
    };
    let Some(setup) = Setup::start_with("a_missing_credentials_secret", timeouts).await else {
        return;
    };
    // The JobManager never answers: its pod cannot start without the Secret.
    setup.jobmanager("windowed-sensors").set_unreachable(true);
    let document = example_documents("windowed-sensors-s3.yaml")
        .into_iter()
        .find(|document| document["kind"] == "FlinkJob")
        .expect("the example has a FlinkJob");
    let job: FlinkJob = serde_json::from_value(document).expect("a FlinkJob");
    setup
        .jobs()
        .create(&PostParams::default(), &job)
        .await
        .expect("FlinkJob created without its Secret");

    let pods: Api<Pod> = Api::namespaced(setup.client.clone(), NAMESPACE);
    let selector =
        "app.kubernetes.io/instance=windowed-sensors,app.kubernetes.io/component=jobmanager";
    let pod_name = eventually("the JobManager pod", Duration::from_secs(60), || {
        let pods = pods.clone();
        async move {
            pods.list(&ListParams::default().labels(selector))
                .await
                .ok()?
                .items
                .first()?
                .metadata
                .name
                .clone()
        }
    })
    .await;
    // What the kubelet reports for a secretKeyRef to a Secret that does not exist.
    let status = json!({"status": {"containerStatuses": [{
        "name": "flink-main-container", "ready": false, "restartCount": 0,
        "image": "flinkrs:0.1.0", "imageID": "",
        "state": {"waiting": {"reason": "CreateContainerConfigError",
                              "message": "secret \"sensors-s3-credentials\" not found"}}
    }]}});
    pods.patch_status(&pod_name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("pod status written");

    let expected_problem = format!(
        "pod {pod_name} container flink-main-container: CreateContainerConfigError: secret \
         \"sensors-s3-credentials\" not found"
    );
    let reported = setup
        .status_where(
            "windowed-sensors",
            "the readiness timeout with the pod problem",
            |s| {
                degraded(s).is_some_and(|(reason, message)| {
                    reason == "NotReady" && message.contains(&expected_problem)
                })
            },
        )
        .await;
    assert_eq!(
        degraded(&reported),
        Some((
            "NotReady",
            format!(
                "the job is not RUNNING 4s after the cluster was deployed \
                 (CreateContainerConfigError: {expected_problem})"
            )
            .as_str()
        ))
    );
    assert_ne!(reported.phase, Some(JobPhase::Running));
    let events = setup.events("windowed-sensors").await;
    assert!(
        events.iter().any(|(reason, _)| reason == "NotReady"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_savepoint_the_jobmanager_never_answers_times_out_and_does_not_block_deletion() {
    let timeouts = Timeouts {
        savepoint: Duration::from_secs(3),
        ..Timeouts::default()
    };
    let Some(setup) = Setup::start_with("a_savepoint_never_answered", timeouts).await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "windowed-sensors-s3.yaml").await;
    setup.running("windowed-sensors").await;
    let jobmanager = setup.jobmanager("windowed-sensors");
    jobmanager.hold_savepoints(true);
    setup
        .jobs()
        .delete("windowed-sensors", &Default::default())
        .await
        .expect("delete accepted");
    setup
        .status_where("windowed-sensors", "the final savepoint pending", |s| {
            s.pending_savepoint.is_some()
        })
        .await;
    // The JobManager goes away before the savepoint completes.
    jobmanager.set_unreachable(true);
    let jobs = setup.jobs();
    eventually("the FlinkJob to be gone", Duration::from_secs(60), || {
        let jobs = jobs.clone();
        async move {
            jobs.get_opt("windowed-sensors")
                .await
                .ok()?
                .is_none()
                .then_some(())
        }
    })
    .await;
    let events = setup.events("windowed-sensors").await;
    assert!(
        events.iter().any(|(reason, note)| reason == "Deleted"
            && note.starts_with(
                "deleted without a final savepoint (the final savepoint did not complete: no \
                 answer from the JobManager about savepoint "
            )),
        "{events:?}"
    );
}
