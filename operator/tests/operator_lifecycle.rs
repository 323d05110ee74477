//! The operator, running in-process with fake JobManagers, against a real
//! kube-apiserver and kube-controller-manager from the testbed.

mod support;

use k8s_openapi::api::core::v1::{ConfigMap, Service};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

use flinkrs_operator::{
    crd::{FlinkJobStatus, JobPhase, SavepointPurpose},
    jobmanager_client::LatestCheckpoint,
    reconcile::{CONDITION_DEGRADED, CONDITION_READY, FINALIZER},
    resources::CLUSTER_GENERATION_ANNOTATION,
};
use support::{
    InProcessOperator, apply_example,
    cluster::{DEADLINE, NAMESPACE, Setup, config_line, main_container, replicas},
    eventually,
};

#[tokio::test]
async fn applying_the_wordcount_example_creates_owned_jobmanager_and_taskmanager_children() {
    let Some(setup) = Setup::start("applying_the_wordcount_example_creates_owned_children").await
    else {
        return;
    };
    let job = apply_example(&setup.client, NAMESPACE, "wordcount.yaml").await;
    let uid = job.metadata.uid.clone().expect("a uid");

    let status = setup.running("wordcount").await;
    assert_eq!(
        status.job_id.as_deref(),
        Some("00000000000000000000000000000001")
    );
    assert_eq!(status.job_state.as_deref(), Some("RUNNING"));
    assert_eq!(status.replicas, 2);
    assert_eq!(
        status.selector.as_deref(),
        Some(
            "app.kubernetes.io/component=taskmanager,app.kubernetes.io/instance=wordcount,app.kubernetes.io/name=flinkrs"
        )
    );
    assert_eq!(
        status.condition(CONDITION_READY).map(|c| c.status.as_str()),
        Some("True")
    );
    let job = setup.jobs().get("wordcount").await.expect("the FlinkJob");
    assert_eq!(job.metadata.finalizers, Some(vec![FINALIZER.to_owned()]));

    let jobmanager = setup
        .deployments()
        .get("wordcount-jobmanager")
        .await
        .expect("JobManager Deployment");
    let container = main_container(&jobmanager);
    assert_eq!(replicas(&jobmanager), 1);
    assert_eq!(container.image.as_deref(), Some("flinkrs:0.1.0"));
    assert_eq!(
        container.args.clone().unwrap_or_default(),
        [
            "jobmanager",
            "--config",
            "/opt/flinkrs/conf/config.yaml",
            "--example",
            "wordcount"
        ]
    );
    let ports: Vec<i32> = container
        .ports
        .iter()
        .flatten()
        .map(|port| port.container_port)
        .collect();
    assert_eq!(ports, [6123, 8081, 9249]);

    let taskmanager = setup
        .deployments()
        .get("wordcount-taskmanager")
        .await
        .expect("TaskManager Deployment");
    assert_eq!(replicas(&taskmanager), 2, "ceil(parallelism 2 / 1 slot)");
    assert_eq!(
        main_container(&taskmanager)
            .args
            .clone()
            .unwrap_or_default(),
        [
            "taskmanager",
            "--config",
            "/opt/flinkrs/conf/config.yaml",
            "-D",
            "taskmanager.host=$(POD_IP)",
            "--jobmanager",
            "wordcount-jobmanager.jobs.svc:6123"
        ]
    );

    let services: Api<Service> = Api::namespaced(setup.client.clone(), NAMESPACE);
    let service = services
        .get("wordcount-jobmanager")
        .await
        .expect("JobManager Service");
    let service_ports: Vec<(String, i32)> = service
        .spec
        .and_then(|spec| spec.ports)
        .unwrap_or_default()
        .into_iter()
        .map(|port| (port.name.unwrap_or_default(), port.port))
        .collect();
    assert_eq!(
        service_ports,
        [
            ("rpc".to_owned(), 6123),
            ("rest".to_owned(), 8081),
            ("metrics".to_owned(), 9249)
        ]
    );

    let config = setup.config_yaml("wordcount").await;
    assert_eq!(config_line(&config, "parallelism.default"), Some("2"));
    assert_eq!(
        config_line(&config, "taskmanager.numberOfTaskSlots"),
        Some("1")
    );
    assert_eq!(
        config_line(&config, "jobmanager.rpc.address"),
        Some("wordcount-jobmanager.jobs.svc")
    );
    assert_eq!(config_line(&config, "rest.port"), Some("8081"));

    for owned in [jobmanager.metadata, taskmanager.metadata, service.metadata] {
        let owners = owned.owner_references.expect("owner references");
        assert_eq!(owners.len(), 1);
        assert_eq!(
            (
                owners[0].kind.as_str(),
                owners[0].name.as_str(),
                owners[0].uid.as_str()
            ),
            ("FlinkJob", "wordcount", uid.as_str())
        );
        assert_eq!(owners[0].controller, Some(true));
    }
    let metrics = setup.operator.as_ref().expect("running").metrics.encode();
    assert!(
        metrics.contains("flinkrs_operator_jobs{phase=\"Running\"} 1\n"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("flinkrs_operator_reconcile_failures_total{"),
        "{metrics}"
    );
    let reasons: Vec<String> = setup
        .events("wordcount")
        .await
        .into_iter()
        .map(|(reason, _)| reason)
        .collect();
    assert!(
        reasons.contains(&"Deploying".to_owned()) && reasons.contains(&"JobRunning".to_owned()),
        "{reasons:?}"
    );
}

#[tokio::test]
async fn kubectl_scale_rescales_through_a_savepoint_and_updates_taskmanagers_and_status() {
    let test = "kubectl_scale_rescales_through_a_savepoint";
    let Some(kubectl) = flinkrs_testbed::kubectl(test) else {
        return;
    };
    let Some(setup) = Setup::start(test).await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "scoreboard.yaml").await;
    let before = setup.running("scoreboard").await;
    assert_eq!(before.replicas, 4);
    setup
        .deployment_where("scoreboard-taskmanager", "2 TaskManagers", |d| {
            replicas(d) == 2
        })
        .await;

    let output = std::process::Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(setup.control_plane.kubeconfig())
        .args(["-n", NAMESPACE, "scale", "fj/scoreboard", "--replicas=6"])
        .output()
        .expect("kubectl runs");
    assert!(
        output.status.success(),
        "kubectl scale failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "flinkjob.flinkrs.dev/scoreboard scaled"
    );

    setup
        .deployment_where(
            "scoreboard-taskmanager",
            "3 TaskManagers (ceil(6 / 2))",
            |d| replicas(d) == 3,
        )
        .await;
    let status = setup
        .status_where("scoreboard", "status.replicas 6 and Running", |s| {
            s.replicas == 6 && s.phase == Some(JobPhase::Running)
        })
        .await;
    let savepoint = status.last_savepoint.expect("the rescale took a savepoint");
    assert_eq!(savepoint.purpose, SavepointPurpose::Upgrade);
    assert_eq!(
        status.restore_path.as_deref(),
        Some(savepoint.path.as_str())
    );
    let config = setup.config_yaml("scoreboard").await;
    assert_eq!(config_line(&config, "parallelism.default"), Some("6"));

    // What an HPA reads: the scale subresource.
    let scale = setup
        .jobs()
        .get_scale("scoreboard")
        .await
        .expect("the scale subresource");
    assert_eq!(scale.spec.and_then(|spec| spec.replicas), Some(6));
    let scale_status = scale.status.expect("scale status");
    assert_eq!(scale_status.replicas, 6);
    assert_eq!(
        scale_status.selector.as_deref(),
        Some(
            "app.kubernetes.io/component=taskmanager,app.kubernetes.io/instance=scoreboard,app.kubernetes.io/name=flinkrs"
        )
    );

    // The printer columns.
    let table = std::process::Command::new(&kubectl)
        .arg("--kubeconfig")
        .arg(setup.control_plane.kubeconfig())
        .args(["-n", NAMESPACE, "get", "fj", "scoreboard"])
        .output()
        .expect("kubectl runs");
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let columns: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or_default()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        columns,
        [
            "NAME",
            "PHASE",
            "JOB STATE",
            "PARALLELISM",
            "LAST CHECKPOINT",
            "AGE"
        ],
        "{table}"
    );
    let row: Vec<&str> = table
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        row[..4],
        ["scoreboard", "Running", "RUNNING", "6"],
        "{table}"
    );
    assert_eq!(
        config_line(&config, "execution.savepoint.path"),
        Some(savepoint.path.as_str())
    );
    assert!(
        setup
            .jobmanager("scoreboard")
            .calls()
            .iter()
            .any(|call| call.starts_with(&format!("stop {}1 trigger=", "0".repeat(31)))),
        "{:?}",
        setup.jobmanager("scoreboard").calls()
    );
    let notes = setup.events("scoreboard").await;
    assert!(
        notes.iter().any(|(reason, note)| reason == "Rescaling"
            && note.starts_with("rescaling from parallelism 4 to 6")),
        "{notes:?}"
    );
}

#[tokio::test]
async fn suspend_stops_with_a_savepoint_and_scales_to_zero_and_resume_starts_from_it() {
    let Some(setup) = Setup::start("suspend_and_resume").await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "scoreboard.yaml").await;
    setup.running("scoreboard").await;

    setup
        .patch_spec("scoreboard", json!({"state": "suspended"}))
        .await;
    let suspended = setup
        .status_where("scoreboard", "Suspended", |s| {
            s.phase == Some(JobPhase::Suspended)
        })
        .await;
    let savepoint = suspended
        .last_savepoint
        .expect("suspending took a savepoint");
    assert_eq!(savepoint.purpose, SavepointPurpose::Suspend);
    assert_eq!(suspended.replicas, 0);
    assert_eq!(suspended.job_id, None);
    setup
        .deployment_where("scoreboard-jobmanager", "no JobManager", |d| {
            replicas(d) == 0
        })
        .await;
    setup
        .deployment_where("scoreboard-taskmanager", "no TaskManagers", |d| {
            replicas(d) == 0
        })
        .await;

    setup
        .patch_spec("scoreboard", json!({"state": "running"}))
        .await;
    let resumed = setup.running("scoreboard").await;
    assert_eq!(
        resumed.restore_path.as_deref(),
        Some(savepoint.path.as_str())
    );
    assert_eq!(resumed.replicas, 4);
    assert_eq!(
        resumed.job_id.as_deref(),
        Some("00000000000000000000000000000002"),
        "a new job"
    );
    setup
        .deployment_where("scoreboard-jobmanager", "one JobManager", |d| {
            replicas(d) == 1
        })
        .await;
    setup
        .deployment_where("scoreboard-taskmanager", "2 TaskManagers", |d| {
            replicas(d) == 2
        })
        .await;
    let config = setup.config_yaml("scoreboard").await;
    assert_eq!(
        config_line(&config, "execution.savepoint.path"),
        Some(savepoint.path.as_str())
    );
}

#[tokio::test]
async fn deleting_a_flinkjob_takes_a_final_savepoint_and_its_children_are_garbage_collected() {
    let Some(setup) = Setup::start("deleting_a_flinkjob").await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "windowed-sensors-s3.yaml").await;
    setup.running("windowed-sensors").await;

    let taskmanager = setup
        .deployments()
        .get("windowed-sensors-taskmanager")
        .await
        .expect("TaskManagers");
    let env = main_container(&taskmanager).env.clone().unwrap_or_default();
    let from_secret: Vec<(String, String, String)> = env
        .iter()
        .filter_map(|var| {
            let secret = var.value_from.as_ref()?.secret_key_ref.as_ref()?;
            Some((var.name.clone(), secret.name.clone(), secret.key.clone()))
        })
        .collect();
    assert_eq!(
        from_secret,
        [
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                "sensors-s3-credentials".to_owned(),
                "access-key".to_owned()
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                "sensors-s3-credentials".to_owned(),
                "secret-key".to_owned()
            ),
        ]
    );
    let config = setup.config_yaml("windowed-sensors").await;
    assert!(
        !config.contains("minioadmin"),
        "credentials leaked into the ConfigMap:\n{config}"
    );
    assert_eq!(
        config_line(&config, "state.checkpoints.dir"),
        Some("s3://flinkrs-checkpoints/windowed-sensors")
    );
    assert_eq!(
        config_line(&config, "s3.endpoint"),
        Some("http://minio.minio.svc:9000")
    );

    setup
        .jobs()
        .delete("windowed-sensors", &Default::default())
        .await
        .expect("delete accepted");
    let jobs = setup.jobs();
    eventually("the FlinkJob to be gone", DEADLINE, || {
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
    let calls = setup.jobmanager("windowed-sensors").calls();
    assert!(
        calls
            .iter()
            .any(|call| call.starts_with(&format!("stop {}1 trigger=", "0".repeat(31)))),
        "{calls:?}"
    );
    let events = setup.events("windowed-sensors").await;
    assert!(
        events.iter().any(|(reason, note)| reason == "Deleted"
            && note.starts_with("deleted after a final savepoint at s3://flinkrs-checkpoints/windowed-sensors/savepoints/")),
        "{events:?}"
    );

    let deployments = setup.deployments();
    let config_maps: Api<ConfigMap> = Api::namespaced(setup.client.clone(), NAMESPACE);
    let services: Api<Service> = Api::namespaced(setup.client.clone(), NAMESPACE);
    eventually(
        "the garbage collector to delete the children",
        DEADLINE,
        || {
            let (deployments, config_maps, services) =
                (deployments.clone(), config_maps.clone(), services.clone());
            async move {
                let left = deployments
                    .list(&ListParams::default())
                    .await
                    .ok()?
                    .items
                    .len()
                    + config_maps
                        .list(
                            &ListParams::default()
                                .labels("app.kubernetes.io/instance=windowed-sensors"),
                        )
                        .await
                        .ok()?
                        .items
                        .len()
                    + services
                        .list(&ListParams::default())
                        .await
                        .ok()?
                        .items
                        .len();
                (left == 0).then_some(())
            }
        },
    )
    .await;
}

#[tokio::test]
async fn an_operator_killed_in_the_middle_of_a_savepoint_upgrade_converges_after_a_restart() {
    let Some(mut setup) = Setup::start("an_operator_killed_mid_upgrade").await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "scoreboard.yaml").await;
    setup.running("scoreboard").await;
    let jobmanager = setup.jobmanager("scoreboard");
    jobmanager.hold_savepoints(true);

    setup
        .patch_spec("scoreboard", json!({"image": "flinkrs:0.2.0"}))
        .await;
    let upgrading = setup
        .status_where("scoreboard", "the upgrade savepoint to be pending", |s| {
            s.pending_savepoint.is_some()
        })
        .await;
    assert_eq!(upgrading.phase, Some(JobPhase::Upgrading));
    setup.operator.take().expect("running").kill().await;

    // While the operator is down the savepoint completes, and nothing else moves.
    jobmanager.complete_savepoints();
    let jobmanager_deployment = setup
        .deployments()
        .get("scoreboard-jobmanager")
        .await
        .expect("JobManager");
    assert_eq!(
        main_container(&jobmanager_deployment).image.as_deref(),
        Some("flinkrs:0.1.0")
    );

    setup.operator = Some(InProcessOperator::start(&setup.client, &setup.jobmanagers));
    setup
        .deployment_where("scoreboard-jobmanager", "the new image", |d| {
            main_container(d).image.as_deref() == Some("flinkrs:0.2.0")
        })
        .await;
    let status = setup.running("scoreboard").await;
    let savepoint = status
        .last_savepoint
        .clone()
        .expect("the upgrade savepoint is recorded");
    assert_eq!(savepoint.purpose, SavepointPurpose::Upgrade);
    assert_eq!(status.pending_savepoint, None);
    assert_eq!(
        status.reconciled_spec().map(|spec| spec.image),
        Some("flinkrs:0.2.0".to_owned())
    );
    let config = setup.config_yaml("scoreboard").await;
    assert_eq!(
        config_line(&config, "execution.savepoint.path"),
        Some(savepoint.path.as_str())
    );
    let savepoints_taken = jobmanager
        .calls()
        .iter()
        .filter(|call| call.starts_with("stop "))
        .count();
    assert_eq!(
        savepoints_taken,
        1,
        "the restarted operator reused the pending trigger: {:?}",
        jobmanager.calls()
    );
}

fn checkpoint_at(id: i64, path: &str) -> Option<LatestCheckpoint> {
    Some(LatestCheckpoint {
        id,
        external_path: path.to_owned(),
    })
}

fn pod_annotation(deployment: &k8s_openapi::api::apps::v1::Deployment, key: &str) -> String {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref())
        .and_then(|metadata| metadata.annotations.as_ref())
        .and_then(|annotations| annotations.get(key))
        .cloned()
        .unwrap_or_default()
}

fn condition(status: &FlinkJobStatus, type_: &str) -> (String, String) {
    status
        .condition(type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_failed_job_is_restarted_from_its_latest_checkpoint_only_as_often_as_allowed() {
    let Some(setup) = Setup::start("a_failed_job_is_restarted_as_often_as_allowed").await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "windowed-sensors-s3.yaml").await;
    setup
        .patch_spec("windowed-sensors", json!({"maxFailedJobRestarts": 1}))
        .await;
    setup.running("windowed-sensors").await;
    let jobmanager = setup.jobmanager("windowed-sensors");
    let checkpoint =
        "s3://flinkrs-checkpoints/windowed-sensors/00000000000000000000000000000001/chk-12";
    jobmanager.set_latest_checkpoint(checkpoint_at(12, checkpoint));
    setup.nudge("windowed-sensors", "1").await;
    setup
        .status_where("windowed-sensors", "the checkpoint in the status", |s| {
            s.last_checkpoint.as_ref().is_some_and(|c| c.id == 12)
        })
        .await;
    // (g) A JobManager pod that restarts on its own starts from the newest checkpoint, which
    // the ConfigMap now names, while the running pods are left alone.
    assert_eq!(
        config_line(
            &setup.config_yaml("windowed-sensors").await,
            "execution.savepoint.path"
        ),
        Some(checkpoint)
    );
    let before = setup
        .deployments()
        .get("windowed-sensors-jobmanager")
        .await
        .expect("JobManager");
    assert_eq!(pod_annotation(&before, CLUSTER_GENERATION_ANNOTATION), "1");

    jobmanager.fail_running_job();
    setup.nudge("windowed-sensors", "2").await;
    // (e) The same configuration, yet every pod restarts.
    setup
        .deployment_where("windowed-sensors-jobmanager", "cluster generation 2", |d| {
            pod_annotation(d, CLUSTER_GENERATION_ANNOTATION) == "2"
        })
        .await;
    // The new JobManager pod starts a new job (a FAILED job is not cancelled).
    jobmanager.restart_cluster();
    let status = setup
        .status_where(
            "windowed-sensors",
            "a new job started from the checkpoint",
            |s| {
                s.phase == Some(JobPhase::Running)
                    && s.job_id.as_deref() == Some("00000000000000000000000000000002")
            },
        )
        .await;
    assert_eq!(status.restore_path.as_deref(), Some(checkpoint));
    assert_eq!(status.failed_job_restarts, 1);
    assert_eq!(
        status.replaced_job_id.as_deref(),
        Some("00000000000000000000000000000001")
    );
    let events = setup.events("windowed-sensors").await;
    assert!(
        events
            .iter()
            .any(|(reason, note)| reason == "RestartingFailedJob"
                && note.starts_with("restarting the FAILED job (1 of 1 restarts)")
                && note.ends_with(&format!("from {checkpoint}"))),
        "{events:?}"
    );

    // (h) No restart left: the FlinkJob says FAILED, and is not Ready.
    jobmanager.fail_running_job();
    setup.nudge("windowed-sensors", "3").await;
    let failed = setup
        .status_where("windowed-sensors", "phase Failed", |s| {
            s.phase == Some(JobPhase::Failed)
        })
        .await;
    assert_eq!(failed.job_state.as_deref(), Some("FAILED"));
    assert_eq!(condition(&failed, CONDITION_READY).0, "False");
    assert_eq!(
        condition(&failed, CONDITION_DEGRADED),
        ("True".to_owned(), "JobFailed".to_owned())
    );
    assert_eq!(jobmanager.jobs().len(), 2, "no third job was started");
    assert!(
        !jobmanager
            .calls()
            .iter()
            .any(|call| call.starts_with("cancel ")),
        "{:?}",
        jobmanager.calls()
    );
}

#[tokio::test]
async fn a_last_state_upgrade_never_cancels_the_job_and_starts_from_its_latest_checkpoint() {
    let Some(setup) = Setup::start("a_last_state_upgrade_never_cancels").await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "windowed-sensors-s3.yaml").await;
    setup.running("windowed-sensors").await;
    let jobmanager = setup.jobmanager("windowed-sensors");
    let checkpoint =
        "s3://flinkrs-checkpoints/windowed-sensors/00000000000000000000000000000001/chk-4";
    jobmanager.set_latest_checkpoint(checkpoint_at(4, checkpoint));
    let config = setup.config_yaml("windowed-sensors").await;
    assert_eq!(
        config_line(
            &config,
            "execution.checkpointing.externalized-checkpoint-retention"
        ),
        Some("RETAIN_ON_CANCELLATION"),
        "a stateful job keeps its checkpoints whatever ends it"
    );

    setup
        .patch_spec("windowed-sensors", json!({"image": "flinkrs:0.2.0"}))
        .await;
    setup
        .deployment_where("windowed-sensors-jobmanager", "the new image", |d| {
            main_container(d).image.as_deref() == Some("flinkrs:0.2.0")
        })
        .await;
    // The old JobManager pod is replaced (Recreate), which ends its job: no cancel.
    jobmanager.restart_cluster();
    let status = setup
        .status_where("windowed-sensors", "the upgraded job running", |s| {
            s.phase == Some(JobPhase::Running)
                && s.job_id.as_deref() == Some("00000000000000000000000000000002")
        })
        .await;
    assert_eq!(status.restore_path.as_deref(), Some(checkpoint));
    assert_eq!(
        config_line(
            &setup.config_yaml("windowed-sensors").await,
            "execution.savepoint.path"
        ),
        Some(checkpoint)
    );
    let calls = jobmanager.calls();
    assert!(
        !calls
            .iter()
            .any(|call| call.starts_with("cancel ") || call.starts_with("stop ")),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_job_canceled_outside_the_operator_is_not_ready_and_a_restart_nonce_starts_it_again() {
    let Some(setup) = Setup::start("a_job_canceled_outside_the_operator").await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "wordcount.yaml").await;
    let running = setup.running("wordcount").await;
    let generation = running.observed_generation;
    let jobmanager = setup.jobmanager("wordcount");
    jobmanager.cancel_running_job_externally();
    setup.nudge("wordcount", "1").await;
    let canceled = setup
        .status_where("wordcount", "phase Failed", |s| {
            s.phase == Some(JobPhase::Failed)
        })
        .await;
    assert_eq!(canceled.job_state.as_deref(), Some("CANCELED"));
    assert_eq!(condition(&canceled, CONDITION_READY).0, "False");
    assert_eq!(
        condition(&canceled, CONDITION_DEGRADED),
        ("True".to_owned(), "JobCanceled".to_owned())
    );
    assert_eq!(canceled.observed_generation, generation);

    setup
        .patch_spec("wordcount", json!({"restartNonce": 1}))
        .await;
    setup
        .deployment_where("wordcount-jobmanager", "cluster generation 2", |d| {
            pod_annotation(d, CLUSTER_GENERATION_ANNOTATION) == "2"
        })
        .await;
    jobmanager.restart_cluster();
    let restarted = setup
        .status_where("wordcount", "a new job", |s| {
            s.phase == Some(JobPhase::Running)
                && s.job_id.as_deref() == Some("00000000000000000000000000000002")
        })
        .await;
    assert_eq!(condition(&restarted, CONDITION_READY).0, "True");
    assert!(restarted.observed_generation > generation);
}

#[tokio::test]
async fn an_unreadable_last_reconciled_spec_keeps_the_running_job_and_says_why() {
    let Some(setup) = Setup::start("an_unreadable_last_reconciled_spec").await else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "scoreboard.yaml").await;
    let running = setup.running("scoreboard").await;
    // Another field manager garbles the record.
    setup
        .jobs()
        .patch_status(
            "scoreboard",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"lastReconciledSpec": "{\"image\": "}})),
        )
        .await
        .expect("status patched");
    setup.nudge("scoreboard", "1").await;
    let status = setup
        .status_where("scoreboard", "the Degraded condition", |s| {
            condition(s, CONDITION_DEGRADED).1 == "UnreadableLastReconciledSpec"
        })
        .await;
    assert_eq!(
        status
            .condition(CONDITION_DEGRADED)
            .map(|c| c.message.as_str()),
        Some(
            "status.lastReconciledSpec cannot be read (EOF while parsing a value at line 1 \
             column 10); the operator leaves the job and its cluster as they are instead of \
             redeploying it without state. Restore the field, or remove it from the status to \
             deploy the spec as a new job"
        )
    );
    assert_eq!(status.cluster_generation, running.cluster_generation);
    let jobmanager = setup.jobmanager("scoreboard");
    assert_eq!(jobmanager.jobs().len(), 1, "no new job");
    assert!(
        !jobmanager
            .calls()
            .iter()
            .any(|call| call.starts_with("cancel ") || call.starts_with("stop ")),
        "{:?}",
        jobmanager.calls()
    );
    let events = setup.events("scoreboard").await;
    assert!(
        events
            .iter()
            .any(|(reason, _)| reason == "UnreadableLastReconciledSpec"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_failed_upgrade_savepoint_is_reported_and_retried_with_a_fresh_trigger_id() {
    let timeouts = flinkrs_operator::config::Timeouts {
        savepoint_retry: std::time::Duration::from_secs(3),
        ..Default::default()
    };
    let Some(setup) = Setup::start_with("a_failed_upgrade_savepoint_is_retried", timeouts).await
    else {
        return;
    };
    apply_example(&setup.client, NAMESPACE, "scoreboard.yaml").await;
    setup.running("scoreboard").await;
    let jobmanager = setup.jobmanager("scoreboard");
    jobmanager.fail_savepoints(Some("the savepoint folder is not writable"));
    setup
        .patch_spec("scoreboard", json!({"image": "flinkrs:0.2.0"}))
        .await;
    let failed = setup
        .status_where("scoreboard", "the failed savepoint reported", |s| {
            condition(s, CONDITION_DEGRADED).1 == "SavepointFailed"
        })
        .await;
    assert_eq!(
        failed
            .condition(CONDITION_DEGRADED)
            .map(|c| c.message.as_str()),
        Some("the Upgrade savepoint failed: the savepoint folder is not writable")
    );
    // No hot loop: the failed savepoint is not retried at once.
    let stops = |calls: Vec<String>| calls.iter().filter(|c| c.starts_with("stop ")).count();
    assert_eq!(stops(jobmanager.calls()), 1, "{:?}", jobmanager.calls());
    jobmanager.fail_savepoints(None);
    setup
        .deployment_where("scoreboard-jobmanager", "the new image", |d| {
            main_container(d).image.as_deref() == Some("flinkrs:0.2.0")
        })
        .await;
    let triggers: Vec<String> = jobmanager
        .calls()
        .iter()
        .filter_map(|call| call.strip_prefix("stop "))
        .filter_map(|call| call.split_once(" trigger="))
        .map(|(_, trigger)| trigger.to_owned())
        .collect();
    assert!(triggers.len() >= 2, "{triggers:?}");
    let first = &triggers[0];
    let last = triggers.last().expect("a retry");
    assert_ne!(
        first, last,
        "the retry used a fresh trigger id: {triggers:?}"
    );
    let events = setup.events("scoreboard").await;
    assert!(
        events.iter().any(|(reason, _)| reason == "SavepointFailed"),
        "{events:?}"
    );
}
