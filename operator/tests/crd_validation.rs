//! The CRD against a real kube-apiserver: it installs, and the API server rejects
//! bad FlinkJobs with a message that names the field.

mod support;

use kube::{
    Api,
    api::{ApiResource, DynamicObject, PostParams},
};
use serde_json::{Value, json};

use flinkrs_operator::crd::FlinkJob;

fn valid_spec() -> Value {
    json!({
        "image": "flinkrs:0.1.0",
        "job": {"builtin": "wordcount"},
        "parallelism": 2,
        "checkpointing": {"storage": "file:///checkpoints"}
    })
}

/// Sets `path` (dotted, under spec) to `value`, or removes it when `value` is null.
fn with(path: &str, value: Value) -> Value {
    let mut spec = valid_spec();
    let mut node = &mut spec;
    let parts: Vec<&str> = path.split('.').collect();
    for part in &parts[..parts.len() - 1] {
        node = node
            .as_object_mut()
            .expect("an object")
            .entry(*part)
            .or_insert_with(|| json!({}));
    }
    let last = parts[parts.len() - 1];
    let object = node.as_object_mut().expect("an object");
    if value.is_null() {
        object.remove(last);
    } else {
        object.insert(last.to_owned(), value);
    }
    spec
}

/// (what is wrong, spec, the text the API server's message must contain)
fn invalid_manifests() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        (
            "parallelism 0",
            with("parallelism", json!(0)),
            "spec.parallelism: Invalid value: \"integer\": parallelism must be between 1 and 32768",
        ),
        (
            "missing parallelism",
            with("parallelism", Value::Null),
            "spec.parallelism: Required value",
        ),
        (
            "zero slots",
            with("taskManager.slots", json!(0)),
            "spec.taskManager.slots: Invalid value: \"integer\": taskManager.slots must be at least 1",
        ),
        (
            "an hdfs:// checkpoint storage",
            with(
                "checkpointing.storage",
                json!("hdfs://namenode/checkpoints"),
            ),
            "spec.checkpointing.storage: Invalid value: \"string\": checkpointing.storage must start with s3:// or file://",
        ),
        (
            "s3 without credentials",
            with("checkpointing.storage", json!("s3://bucket/checkpoints")),
            "spec.checkpointing.storage: Invalid value: \"object\": an s3:// checkpoint storage needs checkpointing.credentialsSecret, or anonymous: true for a public bucket",
        ),
        (
            "an unknown upgradeMode",
            with("upgradeMode", json!("blue-green")),
            "spec.upgradeMode: Unsupported value: \"blue-green\": supported values: \"stateless\", \"savepoint\", \"last-state\"",
        ),
        (
            "an unknown state",
            with("state", json!("paused")),
            "spec.state: Unsupported value: \"paused\": supported values: \"running\", \"suspended\"",
        ),
        (
            "two job sources",
            with("job.sql", json!("SELECT 1")),
            "spec.job: Invalid value: \"object\": job must set exactly one of sql, builtin or args",
        ),
        (
            "no job source",
            with("job", json!({})),
            "spec.job: Invalid value: \"object\": job must set exactly one of sql, builtin or args",
        ),
        (
            "an unknown builtin job",
            with("job.builtin", json!("nexmark-q99")),
            "spec.job.builtin: Unsupported value: \"nexmark-q99\"",
        ),
        (
            "an empty image",
            with("image", json!("")),
            "spec.image: Invalid value: \"string\": image must name a container image",
        ),
        (
            "a checkpoint interval that is not a duration",
            with("checkpointing.interval", json!("often")),
            "spec.checkpointing.interval: Invalid value: \"string\": checkpointing.interval must be a duration such as 500ms, 10s, 1min or 1h",
        ),
        (
            "parallelism.default in flinkConfiguration",
            with("flinkConfiguration", json!({"parallelism.default": "4"})),
            "spec.flinkConfiguration: Invalid value: \"object\": flinkConfiguration must not set parallelism.default",
        ),
        (
            "a restoreFrom path without a scheme",
            with("restoreFrom", json!("/tmp/savepoint-1")),
            "spec.restoreFrom: Invalid value: \"string\": restoreFrom must be an s3:// or file:// savepoint path",
        ),
        (
            "savepoint mode without checkpointing",
            {
                let mut spec = with("upgradeMode", json!("savepoint"));
                spec.as_object_mut()
                    .expect("an object")
                    .remove("checkpointing");
                spec
            },
            "spec.upgradeMode: Invalid value: \"object\": upgradeMode savepoint and last-state keep state, so they need spec.checkpointing with a storage URI",
        ),
        (
            "a memory size in GB",
            with("taskManager.resources.memory", json!("1GB")),
            "spec.taskManager.resources.memory: Invalid value: \"string\": memory must be a whole number of Mi or Gi, such as 1536Mi or 2Gi",
        ),
    ]
}

#[tokio::test]
async fn the_crd_installs_and_the_api_server_rejects_invalid_flinkjobs_naming_the_field() {
    let test = "the_crd_installs_and_the_api_server_rejects_invalid_flinkjobs_naming_the_field";
    let Some(control_plane) = flinkrs_testbed::KubeControlPlane::start(test).await else {
        return;
    };
    let client = control_plane.client().await;
    support::install_crd(&client).await;
    let resource = ApiResource::erase::<FlinkJob>(&());
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &resource);

    let valid = json!({
        "apiVersion": "flinkrs.dev/v1alpha1", "kind": "FlinkJob",
        "metadata": {"name": "valid"}, "spec": valid_spec()
    });
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(valid).expect("an object"),
        )
        .await
        .expect("a valid FlinkJob is accepted");
    assert_eq!(
        created.data["spec"]["upgradeMode"], "stateless",
        "defaults are applied"
    );
    assert_eq!(created.data["spec"]["taskManager"]["slots"], 1);

    let cases = invalid_manifests();
    assert!(cases.len() >= 10);
    let mut failures = Vec::new();
    for (index, (what, spec, expected)) in cases.into_iter().enumerate() {
        let manifest = json!({
            "apiVersion": "flinkrs.dev/v1alpha1", "kind": "FlinkJob",
            "metadata": {"name": format!("invalid-{index}")}, "spec": spec
        });
        let object: DynamicObject = serde_json::from_value(manifest).expect("an object");
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => failures.push(format!("{what}: accepted")),
            Err(kube::Error::Api(status)) => {
                if status.code != 422 || !status.message.contains(expected) {
                    failures.push(format!(
                        "{what}: got {} {:?}\n    wanted {expected:?}",
                        status.code, status.message
                    ));
                }
            }
            Err(other) => failures.push(format!("{what}: {other}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_committed_crd_files_match_the_rust_types() {
    let generated = flinkrs_operator::crd::crd_yaml().expect("the CRD serializes");
    for path in [
        "crds/flinkjobs.yaml",
        "charts/flinkrs-operator/crds/flinkjobs.yaml",
    ] {
        let committed =
            std::fs::read_to_string(support::repo_root().join(path)).unwrap_or_default();
        assert!(
            committed == generated,
            "{path} is out of date with operator/src/crd: run `make generate`"
        );
    }
}
