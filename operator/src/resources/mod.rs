//! The Kubernetes objects a `FlinkJob` owns, built as plain data (no I/O):
//! a ConfigMap with Flink's configuration, a JobManager Deployment and Service,
//! and a TaskManager Deployment.

mod flink_config;
mod jobmanager;
mod pod;
mod pod_template;
mod taskmanager;

use std::collections::BTreeMap;

use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Service},
};
use kube::{Resource, ResourceExt, api::ObjectMeta};

use crate::crd::{FlinkJob, FlinkJobSpec};

pub use flink_config::{CONFIG_DIR, config_map, flink_configuration, high_availability_config_map};
pub use pod_template::{merge_component_templates, merge_pod_template};

/// The JobManager's ports, as in Flink.
pub const RPC_PORT: i32 = 6123;
pub const REST_PORT: i32 = 8081;
pub const METRICS_PORT: i32 = 9249;

/// The name of the main container, as the Flink Kubernetes Operator calls it, so
/// a `podTemplate` can add env and mounts to it.
pub const MAIN_CONTAINER: &str = "flink-main-container";

/// The annotation holding a hash of the configuration: a new configuration rolls the pods.
pub const CONFIG_HASH_ANNOTATION: &str = "flinkrs.dev/config-hash";

/// The annotation holding the cluster generation: each redeploy restarts every pod.
pub const CLUSTER_GENERATION_ANNOTATION: &str = "flinkrs.dev/cluster-generation";

/// A child object's problem that a user can fix in the FlinkJob.
#[derive(Debug, thiserror::Error)]
#[error("FlinkJob field {field} is invalid: {message}")]
pub struct InvalidField {
    pub field: &'static str,
    pub message: String,
}

/// Which Flink process a pod runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    JobManager,
    TaskManager,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::JobManager => "jobmanager",
            Self::TaskManager => "taskmanager",
        }
    }
}

/// What to build the children from.
#[derive(Debug, Clone, Copy)]
pub struct ClusterPlan<'a> {
    /// The FlinkJob (for its name, namespace and uid).
    pub job: &'a FlinkJob,
    /// The spec to deploy (the recorded `lastReconciledSpec`).
    pub spec: &'a FlinkJobSpec,
    /// The savepoint or checkpoint the job starts from.
    pub restore_from: Option<&'a str>,
    /// Scale every pod to zero.
    pub suspended: bool,
    /// How many times the operator has deployed this FlinkJob's cluster
    /// (`status.clusterGeneration`). The pods carry it, so every redeploy restarts them,
    /// even when nothing else in their template changed.
    pub cluster_generation: i64,
    /// JobManager high availability on Kubernetes (see `JobDefaults::high_availability`).
    pub high_availability: bool,
    /// The service account of pods whose spec names none (the operator's default).
    pub default_service_account: Option<&'a str>,
}

/// Every child of one FlinkJob.
#[derive(Debug, Clone, PartialEq)]
pub struct Children {
    pub config_map: ConfigMap,
    pub jobmanager_service: Service,
    pub jobmanager_deployment: Deployment,
    pub taskmanager_deployment: Deployment,
}

/// Builds every child of a FlinkJob.
pub fn build_children(plan: &ClusterPlan<'_>) -> Result<Children, InvalidField> {
    let config_map = config_map(plan);
    let config_hash = flink_config::config_hash(plan);
    Ok(Children {
        jobmanager_service: jobmanager::service(plan),
        jobmanager_deployment: jobmanager::deployment(plan, &config_hash)?,
        taskmanager_deployment: taskmanager::deployment(plan, &config_hash)?,
        config_map,
    })
}

pub fn config_map_name(job_name: &str) -> String {
    format!("{job_name}-config")
}

pub fn jobmanager_name(job_name: &str) -> String {
    format!("{job_name}-jobmanager")
}

pub fn taskmanager_name(job_name: &str) -> String {
    format!("{job_name}-taskmanager")
}

/// The JobManager's REST URL inside the cluster.
pub fn rest_url(job_name: &str, namespace: &str) -> String {
    format!(
        "http://{}.{namespace}.svc:{REST_PORT}",
        jobmanager_name(job_name)
    )
}

/// ceil(parallelism / slots): enough TaskManagers for every parallel subtask.
pub fn taskmanager_replicas(parallelism: i32, slots: i32) -> i32 {
    let slots = slots.max(1);
    (parallelism.max(0) + slots - 1) / slots
}

/// The labels every child carries.
pub fn labels(job_name: &str, component: Option<Component>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "flinkrs".to_owned()),
        ("app.kubernetes.io/instance".to_owned(), job_name.to_owned()),
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "flinkrs-operator".to_owned(),
        ),
    ]);
    if let Some(component) = component {
        labels.insert(
            "app.kubernetes.io/component".to_owned(),
            component.as_str().to_owned(),
        );
    }
    labels
}

/// The labels that select one component's pods.
pub fn selector_labels(job_name: &str, component: Component) -> BTreeMap<String, String> {
    let mut labels = labels(job_name, Some(component));
    labels.remove("app.kubernetes.io/managed-by");
    labels
}

/// The TaskManager pods' label selector, as the scale subresource reports it.
pub fn taskmanager_selector(job_name: &str) -> String {
    selector_labels(job_name, Component::TaskManager)
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Metadata of a child: name, namespace, labels and the owner reference that
/// lets Kubernetes delete it with the FlinkJob.
fn child_metadata(job: &FlinkJob, name: String, component: Option<Component>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: job.namespace(),
        labels: Some(labels(&job.name_any(), component)),
        owner_references: job.controller_owner_ref(&()).map(|owner| vec![owner]),
        ..ObjectMeta::default()
    }
}

#[cfg(test)]
mod tests;
