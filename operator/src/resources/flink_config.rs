//! The ConfigMap with Flink's configuration (`config.yaml`, Flink's keys) and,
//! for SQL jobs, the script. Credentials never go here: they reach the pods as
//! environment variables from the Secret.

use std::collections::BTreeMap;

use flinkrs_contract::config as keys;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;

use super::{
    ClusterPlan, METRICS_PORT, REST_PORT, RPC_PORT, child_metadata, config_map_name,
    jobmanager_name,
};
use crate::crd::{PodResources, UpgradeMode};

/// Where the pods mount the ConfigMap.
pub const CONFIG_DIR: &str = "/opt/flinkrs/conf";
pub const CONFIG_FILE: &str = "config.yaml";
pub const SQL_FILE: &str = "job.sql";

/// The Flink configuration of a cluster: the user's `flinkConfiguration`, then
/// the keys the operator derives from the spec (the CRD forbids the user from
/// setting those, so nothing is silently overridden).
pub fn flink_configuration(plan: &ClusterPlan<'_>) -> BTreeMap<String, String> {
    let spec = plan.spec;
    let job_name = plan.job.name_any();
    let namespace = plan.job.namespace().unwrap_or_else(|| "default".to_owned());
    let mut config = spec.flink_configuration.clone();
    config
        .entry("pipeline.name".to_owned())
        .or_insert_with(|| job_name.clone());
    // An upgrade, suspension or failure must never delete the checkpoints a last-state
    // upgrade or a fallback restores from, so stateful modes retain them unless the user
    // chose otherwise.
    if spec.upgrade_mode != UpgradeMode::Stateless && spec.checkpointing.is_some() {
        config
            .entry(keys::EXTERNALIZED_CHECKPOINT_RETENTION.to_owned())
            .or_insert_with(|| "RETAIN_ON_CANCELLATION".to_owned());
    }
    // The JobManager stays up once its job has ended, as with the Flink Kubernetes Operator:
    // otherwise its pod would restart and run a finished job (or the job a stop-with-savepoint
    // just ended) again, and the operator could not read the job's final state.
    config
        .entry(keys::SHUTDOWN_ON_APPLICATION_FINISH.to_owned())
        .or_insert_with(|| "false".to_owned());
    if plan.high_availability {
        // The user's flinkConfiguration may still choose otherwise (e.g. NONE).
        config
            .entry(keys::HIGH_AVAILABILITY_TYPE.to_owned())
            .or_insert_with(|| "kubernetes".to_owned());
        config
            .entry(keys::KUBERNETES_CLUSTER_ID.to_owned())
            .or_insert_with(|| job_name.clone());
        config
            .entry(keys::KUBERNETES_NAMESPACE.to_owned())
            .or_insert_with(|| namespace.clone());
    }
    let mut set = |key: &str, value: String| {
        config.insert(key.to_owned(), value);
    };
    set(
        "jobmanager.rpc.address",
        format!("{}.{namespace}.svc", jobmanager_name(&job_name)),
    );
    set("jobmanager.rpc.port", RPC_PORT.to_string());
    set("rest.port", REST_PORT.to_string());
    // The pods serve REST and /metrics to the Service, not only to themselves.
    set("rest.bind-address", "0.0.0.0".to_owned());
    set(
        "rest.address",
        format!("{}.{namespace}.svc", jobmanager_name(&job_name)),
    );
    set("metrics.reporter.prom.port", METRICS_PORT.to_string());
    set("parallelism.default", spec.parallelism.to_string());
    set(
        "taskmanager.numberOfTaskSlots",
        spec.task_manager.slots.to_string(),
    );
    if let Some(checkpointing) = &spec.checkpointing {
        let storage = checkpointing.storage.trim_end_matches('/');
        set(
            "execution.checkpointing.interval",
            checkpointing.interval.clone(),
        );
        set("state.checkpoints.dir", storage.to_owned());
        set("state.savepoints.dir", format!("{storage}/savepoints"));
        if let Some(endpoint) = &checkpointing.endpoint {
            set("s3.endpoint", endpoint.clone());
            set("s3.path.style.access", "true".to_owned());
        }
    }
    if let Some(path) = plan.restore_from {
        set("execution.savepoint.path", path.to_owned());
        if spec.allow_non_restored_state == Some(true) {
            set(keys::IGNORE_UNCLAIMED_STATE, "true".to_owned());
        }
    }
    let memory = |resources: &Option<PodResources>| {
        resources
            .as_ref()
            .and_then(|r| r.memory.as_deref())
            .and_then(flink_memory_size)
    };
    if let Some(size) = memory(&spec.job_manager.resources) {
        set("jobmanager.memory.process.size", size);
    }
    if let Some(size) = memory(&spec.task_manager.resources) {
        set("taskmanager.memory.process.size", size);
    }
    config
}

/// The high-availability ConfigMap of the cluster (`<cluster-id>-cluster-config-map`, where
/// the JobManagers keep the leader and the latest checkpoint), when its configuration turns
/// high availability on: without data, labelled as the JobManager labels it, and owned by the
/// FlinkJob, so that it goes when the FlinkJob goes. The JobManager fills it in.
pub fn high_availability_config_map(plan: &ClusterPlan<'_>) -> Option<ConfigMap> {
    let configuration = flink_configuration(plan);
    let kind = configuration.get(keys::HIGH_AVAILABILITY_TYPE)?;
    if !kind.trim().eq_ignore_ascii_case("kubernetes") {
        return None;
    }
    let cluster_id = [
        keys::KUBERNETES_CLUSTER_ID,
        keys::HIGH_AVAILABILITY_CLUSTER_ID,
    ]
    .iter()
    .filter_map(|key| configuration.get(*key))
    .map(|id| id.trim())
    .find(|id| !id.is_empty())?;
    let mut metadata = child_metadata(plan.job, format!("{cluster_id}-cluster-config-map"), None);
    metadata.labels = Some(BTreeMap::from([
        ("app".to_owned(), cluster_id.to_owned()),
        ("configmap-type".to_owned(), "high-availability".to_owned()),
        ("type".to_owned(), "flink-native-kubernetes".to_owned()),
    ]));
    Some(ConfigMap {
        metadata,
        ..ConfigMap::default()
    })
}

/// A Kubernetes memory quantity (`1536Mi`, `2Gi`) in Flink's notation (`1536m`).
fn flink_memory_size(quantity: &str) -> Option<String> {
    let (number, factor) = if let Some(number) = quantity.strip_suffix("Gi") {
        (number, 1024)
    } else {
        (quantity.strip_suffix("Mi")?, 1)
    };
    let mebibytes = number.parse::<u64>().ok()?.checked_mul(factor)?;
    Some(format!("{mebibytes}m"))
}

pub fn config_map(plan: &ClusterPlan<'_>) -> ConfigMap {
    let configuration = flink_configuration(plan);
    let mut yaml = String::from("# Written by the flinkrs operator from the FlinkJob spec.\n");
    for (key, value) in &configuration {
        yaml.push_str(&format!("{key}: {}\n", yaml_scalar(value)));
    }
    let mut data = BTreeMap::from([(CONFIG_FILE.to_owned(), yaml)]);
    if let Some(sql) = &plan.spec.job.sql {
        data.insert(SQL_FILE.to_owned(), sql.clone());
    }
    ConfigMap {
        metadata: child_metadata(plan.job, config_map_name(&plan.job.name_any()), None),
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// A value as a YAML scalar: plain when that reads back as the same string, quoted otherwise.
fn yaml_scalar(value: &str) -> String {
    let plain_is_safe = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:".contains(c))
        && !value.contains(": ")
        && !value.ends_with(':');
    if plain_is_safe {
        value.to_owned()
    } else {
        serde_json::Value::String(value.to_owned()).to_string()
    }
}

/// A stable hash of the ConfigMap's data (FNV-1a), for the pod annotation. The restore path
/// is left out: it changes only with a redeploy (which restarts the pods through the cluster
/// generation anyway) or when the operator points it at a newer checkpoint for a JobManager
/// that restarts on its own, which must not restart the running pods.
pub fn config_hash(plan: &ClusterPlan<'_>) -> String {
    let without_restore = ClusterPlan {
        restore_from: None,
        ..*plan
    };
    let config_map = config_map(&without_restore);
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (key, value) in config_map.data.iter().flatten() {
        for byte in key.bytes().chain([0]).chain(value.bytes()).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_quantities_become_flink_sizes() {
        assert_eq!(flink_memory_size("1536Mi").as_deref(), Some("1536m"));
        assert_eq!(flink_memory_size("2Gi").as_deref(), Some("2048m"));
        assert_eq!(flink_memory_size("2G"), None);
    }

    #[test]
    fn values_that_yaml_would_misread_are_quoted() {
        assert_eq!(
            yaml_scalar("s3://bucket/checkpoints"),
            "s3://bucket/checkpoints"
        );
        assert_eq!(yaml_scalar("10s"), "10s");
        assert_eq!(yaml_scalar("a: b"), "\"a: b\"");
        assert_eq!(yaml_scalar("-Xmx1g #x"), "\"-Xmx1g #x\"");
        assert_eq!(yaml_scalar(""), "\"\"");
    }
}
