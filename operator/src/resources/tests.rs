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
    });
    assert_eq!(config["pipeline.max-parallelism"], "128");
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
fn a_new_configuration_changes_the_pod_annotation_so_pods_roll() {
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
    };
    let before = hash(build_children(&plan(None)).expect("builds"));
    let same = hash(build_children(&plan(None)).expect("builds"));
    let restored = hash(build_children(&plan(Some("file:///sp/1"))).expect("builds"));
    assert_eq!(before, same);
    assert_ne!(before, restored);
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
    })
    .expect_err("invalid");
    assert_eq!(error.field, "spec.podTemplate");
    assert!(error.to_string().starts_with("FlinkJob field spec.podTemplate is invalid: is not a valid pod template: invalid type: string"), "{error}");
}
