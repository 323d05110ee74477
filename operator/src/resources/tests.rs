use super::*;
use crate::crd::{FlinkJobSpec, JobSource};

fn job(spec_json: serde_json::Value) -> FlinkJob {
    let spec: FlinkJobSpec = serde_json::from_value(spec_json).expect("a spec");
    let mut job = FlinkJob::new("orders", spec);
    job.metadata.namespace = Some("analytics".to_owned());
    job.metadata.uid = Some("uid-1".to_owned());
    job
}

fn build(job: &FlinkJob) -> Children {
    build_children(&ClusterPlan {
        job,
        spec: &job.spec,
        restore_from: None,
        suspended: false,
        cluster_generation: 1,
        high_availability: false,
        default_service_account: None,
    })
    .expect("builds")
}

#[test]
fn taskmanagers_are_parallelism_over_slots_rounded_up() {
    assert_eq!(taskmanager_replicas(1, 1), 1);
    assert_eq!(taskmanager_replicas(4, 2), 2);
    assert_eq!(taskmanager_replicas(5, 2), 3);
    assert_eq!(taskmanager_replicas(6, 4), 2);
    assert_eq!(taskmanager_replicas(3, 0), 3, "slots below 1 count as 1");
}

#[test]
fn a_sql_job_ships_its_script_in_the_config_map_and_runs_it_from_there() {
    let job = job(serde_json::json!({
        "image": "flinkrs:1",
        "job": {"sql": "INSERT INTO sink SELECT * FROM source"},
        "parallelism": 1
    }));
    let children = build(&job);
    let data = children.config_map.data.expect("data");
    assert_eq!(data["job.sql"], "INSERT INTO sink SELECT * FROM source");
    let container = &children
        .jobmanager_deployment
        .spec
        .expect("spec")
        .template
        .spec
        .expect("pod")
        .containers[0];
    assert_eq!(
        container.args.clone().expect("args"),
        [
            "jobmanager",
            "--config",
            "/opt/flinkrs/conf/config.yaml",
            "--sql-file",
            "/opt/flinkrs/conf/job.sql"
        ]
    );
}

#[test]
fn program_args_follow_a_double_dash() {
    let mut job = job(
        serde_json::json!({"image": "my-job:1", "job": {"args": ["--input", "s3://b/in"]}, "parallelism": 1}),
    );
    job.spec.job = JobSource {
        args: Some(vec!["--input".into(), "s3://b/in".into()]),
        ..JobSource::default()
    };
    let children = build(&job);
    let container = &children
        .jobmanager_deployment
        .spec
        .expect("spec")
        .template
        .spec
        .expect("pod")
        .containers[0];
    assert_eq!(
        container.args.clone().expect("args"),
        [
            "jobmanager",
            "--config",
            "/opt/flinkrs/conf/config.yaml",
            "--",
            "--input",
            "s3://b/in"
        ]
    );
}

#[test]
fn user_flink_configuration_reaches_the_config_map_beside_the_derived_keys() {
    let job = job(serde_json::json!({
        "image": "flinkrs:1",
        "job": {"builtin": "wordcount"},
        "parallelism": 3,
        "taskManager": {"slots": 2, "resources": {"memory": "2Gi"}},
        "flinkConfiguration": {"pipeline.max-parallelism": "128", "table.exec.mini-batch.enabled": "true"}
    }));
    let config = flink_configuration(&ClusterPlan {
        job: &job,
        spec: &job.spec,
        restore_from: None,
        suspended: false,
        cluster_generation: 1,
        high_availability: false,
        default_service_account: None,
    });
    assert_eq!(config["pipeline.max-parallelism"], "128");
    assert_eq!(config["execution.shutdown-on-application-finish"], "false");
    assert_eq!(config["table.exec.mini-batch.enabled"], "true");
    assert_eq!(config["parallelism.default"], "3");
    assert_eq!(config["taskmanager.numberOfTaskSlots"], "2");
    assert_eq!(config["taskmanager.memory.process.size"], "2048m");
    assert_eq!(
        config["jobmanager.rpc.address"],
        "orders-jobmanager.analytics.svc"
    );
    assert!(!config.contains_key("execution.savepoint.path"));
    assert!(!config.contains_key("state.checkpoints.dir"));
}

#[test]
fn a_new_configuration_changes_the_pod_annotation_so_pods_roll_but_a_new_restore_path_alone_does_not()
 {
    let first = job(
        serde_json::json!({"image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1}),
    );
    let hash = |children: Children| {
        children
            .taskmanager_deployment
            .spec
            .expect("spec")
            .template
            .metadata
            .expect("meta")
            .annotations
            .expect("annotations")[CONFIG_HASH_ANNOTATION]
            .clone()
    };
    let plan = |restore: Option<&'static str>| ClusterPlan {
        job: &first,
        spec: &first.spec,
        restore_from: restore,
        suspended: false,
        cluster_generation: 1,
        high_availability: false,
        default_service_account: None,
    };
    let before = hash(build_children(&plan(None)).expect("builds"));
    let same = hash(build_children(&plan(None)).expect("builds"));
    let restored = hash(build_children(&plan(Some("file:///sp/1"))).expect("builds"));
    assert_eq!(before, same);
    // The restore path alone rolls nothing: a redeploy restarts the pods through the cluster
    // generation, and the operator moves the path to newer checkpoints without a restart.
    assert_eq!(before, restored);
    let mut rescaled = first.clone();
    rescaled.spec.parallelism = 2;
    let other = hash(
        build_children(&ClusterPlan {
            job: &rescaled,
            spec: &rescaled.spec,
            restore_from: None,
            suspended: false,
            cluster_generation: 1,
            high_availability: false,
            default_service_account: None,
        })
        .expect("builds"),
    );
    assert_ne!(before, other);
}

#[test]
fn an_invalid_pod_template_is_reported_against_spec_pod_template() {
    let job = job(serde_json::json!({
        "image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1,
        "podTemplate": {"spec": {"tolerations": "all of them"}}
    }));
    let error = build_children(&ClusterPlan {
        job: &job,
        spec: &job.spec,
        restore_from: None,
        suspended: false,
        cluster_generation: 1,
        high_availability: false,
        default_service_account: None,
    })
    .expect_err("invalid");
    assert_eq!(error.field, "spec.podTemplate");
    assert!(error.to_string().starts_with("FlinkJob field spec.podTemplate is invalid: is not a valid pod template: invalid type: string"), "{error}");
}

/// FlinkJobs that between them make the operator write every key and every pod command it
/// can: each job source, checkpointing with an S3 endpoint, pod memory, a restore path and the
/// user's own configuration.
fn contract_jobs() -> Vec<FlinkJob> {
    let checkpointing = serde_json::json!({
        "interval": "10s", "storage": "s3://bucket/checkpoints/",
        "endpoint": "http://minio.storage.svc:9000",
        "credentialsSecret": {"name": "s3", "accessKeyKey": "ak", "secretKeyKey": "sk"}
    });
    let resources = serde_json::json!({"cpu": "500m", "memory": "1536Mi"});
    [
        serde_json::json!({
            "image": "flinkrs:1", "job": {"builtin": "windowed-sensors"}, "parallelism": 5,
            "taskManager": {"slots": 2, "resources": {"memory": "2Gi"}},
            "jobManager": {"resources": resources},
            "checkpointing": checkpointing, "upgradeMode": "savepoint",
            "flinkConfiguration": {
                "pipeline.max-parallelism": "256",
                "execution.runtime-mode": "streaming",
                "restart-strategy.type": "fixed-delay",
                "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION"
            }
        }),
        serde_json::json!({"image": "flinkrs:1", "job": {"sql": "SELECT 1"}, "parallelism": 1}),
        serde_json::json!({
            "image": "my-job:1", "job": {"args": ["--input", "s3://b/in", "-p"]}, "parallelism": 3,
            "checkpointing": {"interval": "1 min", "storage": "file:///checkpoints"}
        }),
    ]
    .into_iter()
    .map(job)
    .collect()
}

/// Architecture decision 13: a key the runtime refused would make every pod exit at start.
#[test]
fn every_key_the_operator_writes_is_accepted_by_the_runtimes_configuration() {
    let mut written = std::collections::BTreeSet::new();
    for job in contract_jobs() {
        for restore_from in [
            None,
            Some("s3://bucket/savepoints/savepoint-8de181-16a2b3c4d5e6"),
        ] {
            let plan = ClusterPlan {
                job: &job,
                spec: &job.spec,
                restore_from,
                suspended: false,
                cluster_generation: 1,
                high_availability: false,
                default_service_account: None,
            };
            let mut runtime = flinkrs_core::Configuration::new();
            for (key, value) in flink_configuration(&plan) {
                runtime
                    .set(&key, value.clone())
                    .unwrap_or_else(|error| panic!("{key}: {value}: {error}"));
                written.insert(key);
            }
        }
    }
    // The keys the operator derives from the spec, each checked above at least once.
    for key in [
        "pipeline.name",
        "jobmanager.rpc.address",
        "jobmanager.rpc.port",
        "rest.port",
        "rest.bind-address",
        "rest.address",
        "metrics.reporter.prom.port",
        "parallelism.default",
        "taskmanager.numberOfTaskSlots",
        "execution.checkpointing.interval",
        "state.checkpoints.dir",
        "state.savepoints.dir",
        "s3.endpoint",
        "s3.path.style.access",
        "execution.savepoint.path",
        "jobmanager.memory.process.size",
        "taskmanager.memory.process.size",
    ] {
        assert!(written.contains(key), "{key} was never written");
    }
}

/// Architecture decision 13: every pod command parses with the `flinkrs` binary's own clap
/// definitions (the runtime's CLI flattens the contract's `ClusterCommand`).
#[test]
fn every_pod_command_the_operator_builds_parses_with_the_runtimes_cli() {
    use flinkrs_contract::cli::{ClusterCommand, parse_pod_args};
    let args_of = |deployment: &Deployment| {
        deployment
            .spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
            .and_then(|pod| pod.containers[0].args.clone())
            .expect("args")
    };
    for job in contract_jobs() {
        let children = build(&job);
        let jobmanager = parse_pod_args(args_of(&children.jobmanager_deployment))
            .unwrap_or_else(|error| panic!("{error}"));
        let ClusterCommand::JobManager(jobmanager) = jobmanager else {
            panic!("not a jobmanager command: {jobmanager:?}");
        };
        assert_eq!(
            jobmanager.process.config.as_deref(),
            Some(std::path::Path::new("/opt/flinkrs/conf/config.yaml"))
        );
        let job_source = &job.spec.job;
        assert_eq!(
            jobmanager.example.as_deref(),
            job_source.builtin.map(|builtin| builtin.as_str())
        );
        assert_eq!(jobmanager.sql_file.is_some(), job_source.sql.is_some());
        assert_eq!(
            jobmanager.program_args,
            job_source.args.clone().unwrap_or_default()
        );
        let taskmanager = parse_pod_args(args_of(&children.taskmanager_deployment))
            .unwrap_or_else(|error| panic!("{error}"));
        let ClusterCommand::TaskManager(taskmanager) = taskmanager else {
            panic!("not a taskmanager command: {taskmanager:?}");
        };
        assert_eq!(
            taskmanager.jobmanager.as_deref(),
            Some("orders-jobmanager.analytics.svc:6123")
        );
    }
}

#[test]
fn taskmanagers_are_recreated_so_no_old_taskmanager_joins_a_new_jobmanager() {
    let job = job(
        serde_json::json!({"image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 2}),
    );
    let children = build(&job);
    for deployment in [
        children.jobmanager_deployment,
        children.taskmanager_deployment,
    ] {
        let strategy = deployment.spec.expect("spec").strategy.expect("a strategy");
        assert_eq!(strategy.type_.as_deref(), Some("Recreate"));
        assert_eq!(strategy.rolling_update, None);
    }
}

#[test]
fn each_cluster_generation_changes_the_pod_templates_so_a_redeploy_restarts_every_pod() {
    let job = job(
        serde_json::json!({"image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 2}),
    );
    let templates = |cluster_generation: i64| {
        let children = build_children(&ClusterPlan {
            job: &job,
            spec: &job.spec,
            restore_from: None,
            suspended: false,
            cluster_generation,
            high_availability: false,
            default_service_account: None,
        })
        .expect("builds");
        [
            children.jobmanager_deployment,
            children.taskmanager_deployment,
        ]
        .map(|deployment| deployment.spec.expect("spec").template)
    };
    let (first, again, second) = (templates(1), templates(1), templates(2));
    assert_eq!(first, again);
    for (before, after) in first.iter().zip(&second) {
        assert_ne!(before, after);
        let annotation = |template: &k8s_openapi::api::core::v1::PodTemplateSpec| {
            template
                .metadata
                .as_ref()
                .and_then(|m| m.annotations.as_ref())
                .expect("annotations")[CLUSTER_GENERATION_ANNOTATION]
                .clone()
        };
        assert_eq!(
            (annotation(before).as_str(), annotation(after).as_str()),
            ("1", "2")
        );
    }
}

#[test]
fn stateful_jobs_retain_their_checkpoints_and_allow_non_restored_state_reaches_the_restore() {
    let stateful = job(serde_json::json!({
        "image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1,
        "upgradeMode": "last-state", "allowNonRestoredState": true,
        "checkpointing": {"storage": "file:///checkpoints"}
    }));
    let plan = |job: &FlinkJob, restore_from: Option<&'static str>| {
        flink_configuration(&ClusterPlan {
            job,
            spec: &job.spec,
            restore_from,
            suspended: false,
            cluster_generation: 1,
            high_availability: false,
            default_service_account: None,
        })
    };
    let fresh = plan(&stateful, None);
    assert_eq!(
        fresh["execution.checkpointing.externalized-checkpoint-retention"],
        "RETAIN_ON_CANCELLATION"
    );
    assert!(!fresh.contains_key("execution.state-recovery.ignore-unclaimed-state"));
    let restored = plan(&stateful, Some("file:///checkpoints/j/chk-3"));
    assert_eq!(
        restored["execution.state-recovery.ignore-unclaimed-state"],
        "true"
    );

    let mut chosen = stateful.clone();
    chosen.spec.flink_configuration.insert(
        "execution.checkpointing.externalized-checkpoint-retention".into(),
        "DELETE_ON_CANCELLATION".into(),
    );
    assert_eq!(
        plan(&chosen, None)["execution.checkpointing.externalized-checkpoint-retention"],
        "DELETE_ON_CANCELLATION",
        "the user's choice stands"
    );
    let mut stateless = stateful.clone();
    stateless.spec.upgrade_mode = crate::crd::UpgradeMode::Stateless;
    assert!(
        !plan(&stateless, None)
            .contains_key("execution.checkpointing.externalized-checkpoint-retention")
    );
}

#[test]
fn job_pods_are_restricted_by_default_and_templates_override_per_component() {
    let pod_spec =
        |deployment: Deployment| deployment.spec.expect("spec").template.spec.expect("pod");
    let plain = build(&job(serde_json::json!({
        "image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1
    })));
    for pod in [
        pod_spec(plain.jobmanager_deployment),
        pod_spec(plain.taskmanager_deployment),
    ] {
        let context = pod.security_context.expect("a pod security context");
        assert_eq!(context.run_as_non_root, Some(true));
        assert_eq!(context.run_as_user, Some(10001));
        assert_eq!(
            context
                .seccomp_profile
                .map(|profile| profile.type_)
                .as_deref(),
            Some("RuntimeDefault")
        );
        let container = pod.containers[0]
            .security_context
            .clone()
            .expect("a container context");
        assert_eq!(container.allow_privilege_escalation, Some(false));
        assert_eq!(
            container.capabilities.and_then(|c| c.drop),
            Some(vec!["ALL".to_owned()])
        );
    }

    let custom = build(&job(serde_json::json!({
        "image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1,
        "podTemplate": {"spec": {"nodeSelector": {"pool": "flink"},
                                 "securityContext": {"runAsUser": 4242}}},
        "jobManager": {"podTemplate": {"spec": {"nodeSelector": {"pool": "control"}}}},
        "taskManager": {"podTemplate": {"spec": {"containers": [{
            "name": "flink-main-container",
            "securityContext": {"capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}}
        }]}}}
    })));
    let jobmanager = pod_spec(custom.jobmanager_deployment);
    let taskmanager = pod_spec(custom.taskmanager_deployment);
    let pool = |pod: &k8s_openapi::api::core::v1::PodSpec| {
        pod.node_selector.as_ref().expect("a node selector")["pool"].clone()
    };
    assert_eq!(
        pool(&jobmanager),
        "control",
        "the component's template wins"
    );
    assert_eq!(pool(&taskmanager), "flink", "the common template applies");
    for pod in [&jobmanager, &taskmanager] {
        let context = pod.security_context.clone().expect("context");
        assert_eq!(context.run_as_user, Some(4242), "the user's choice stands");
        assert_eq!(context.run_as_non_root, Some(true), "the rest is defaulted");
    }
    assert_eq!(
        taskmanager.containers[0]
            .security_context
            .clone()
            .and_then(|c| c.capabilities)
            .and_then(|c| c.add),
        Some(vec!["NET_BIND_SERVICE".to_owned()])
    );

    let broken = job(serde_json::json!({
        "image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1,
        "taskManager": {"podTemplate": {"spec": {"tolerations": "all"}}}
    }));
    let error = build_children(&ClusterPlan {
        job: &broken,
        spec: &broken.spec,
        restore_from: None,
        suspended: false,
        cluster_generation: 1,
        high_availability: false,
        default_service_account: None,
    })
    .expect_err("invalid");
    assert_eq!(error.field, "spec.taskManager.podTemplate");
}

fn build_with_high_availability(job: &FlinkJob, default_service_account: Option<&str>) -> Children {
    build_children(&ClusterPlan {
        job,
        spec: &job.spec,
        restore_from: None,
        suspended: false,
        cluster_generation: 1,
        high_availability: true,
        default_service_account,
    })
    .expect("builds")
}

#[test]
fn high_availability_names_the_cluster_after_the_flinkjob_and_runs_as_the_job_service_account() {
    let job = job(serde_json::json!({
        "image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1
    }));
    let children = build_with_high_availability(&job, Some("flinkrs-job"));
    let config = &children.config_map.data.as_ref().expect("data")["config.yaml"];
    for line in [
        "high-availability.type: kubernetes\n",
        "kubernetes.cluster-id: orders\n",
        "kubernetes.namespace: analytics\n",
    ] {
        assert!(config.contains(line), "{line:?} missing from {config}");
    }
    for deployment in [
        &children.jobmanager_deployment,
        &children.taskmanager_deployment,
    ] {
        let pod = deployment
            .spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
            .expect("a pod spec");
        assert_eq!(pod.service_account_name.as_deref(), Some("flinkrs-job"));
    }
    let ha = high_availability_config_map(&ClusterPlan {
        job: &job,
        spec: &job.spec,
        restore_from: None,
        suspended: false,
        cluster_generation: 1,
        high_availability: true,
        default_service_account: None,
    })
    .expect("a high-availability ConfigMap");
    assert_eq!(
        ha.metadata.name.as_deref(),
        Some("orders-cluster-config-map")
    );
    assert_eq!(ha.data, None, "the JobManager fills it in");
    let owner = ha.metadata.owner_references.expect("owned by the FlinkJob");
    assert_eq!(owner[0].uid, "uid-1");
}

#[test]
fn the_spec_service_account_wins_over_the_default_and_flink_configuration_can_turn_high_availability_off()
 {
    let job = job(serde_json::json!({
        "image": "flinkrs:1", "job": {"builtin": "wordcount"}, "parallelism": 1,
        "serviceAccount": "team-a",
        "flinkConfiguration": {"high-availability.type": "NONE"}
    }));
    let children = build_with_high_availability(&job, Some("flinkrs-job"));
    let pod = children
        .jobmanager_deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .expect("a pod spec");
    assert_eq!(pod.service_account_name.as_deref(), Some("team-a"));
    let config = &children.config_map.data.as_ref().expect("data")["config.yaml"];
    assert!(
        config.contains("high-availability.type: NONE\n"),
        "{config}"
    );
    let plan = ClusterPlan {
        job: &job,
        spec: &job.spec,
        restore_from: None,
        suspended: false,
        cluster_generation: 1,
        high_availability: true,
        default_service_account: None,
    };
    assert_eq!(high_availability_config_map(&plan), None);
    // Without high availability, no high-availability keys at all.
    let plain = build(&job);
    let config = &plain.config_map.data.as_ref().expect("data")["config.yaml"];
    assert!(!config.contains("kubernetes.cluster-id"), "{config}");
}
