//! The pod template shared by the JobManager and TaskManager Deployments.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{
        ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource, ObjectFieldSelector,
        PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SecretKeySelector,
        SecurityContext, Volume, VolumeMount,
    },
    apimachinery::pkg::api::resource::Quantity,
};
use kube::{ResourceExt, api::ObjectMeta};

use super::{
    CLUSTER_GENERATION_ANNOTATION, CONFIG_DIR, CONFIG_HASH_ANNOTATION, ClusterPlan, Component,
    InvalidField, MAIN_CONTAINER, config_map_name, merge_pod_template, selector_labels,
};
use crate::crd::PodResources;

/// The flinkrs runtime's user id in the runtime image.
const RUNTIME_USER_ID: i64 = 10001;

/// What differs between a JobManager and a TaskManager pod.
pub struct PodShape {
    pub component: Component,
    pub args: Vec<String>,
    pub ports: Vec<(&'static str, i32)>,
    pub resources: Option<PodResources>,
}

pub fn pod_template(
    plan: &ClusterPlan<'_>,
    shape: PodShape,
    config_hash: &str,
) -> Result<PodTemplateSpec, InvalidField> {
    let job_name = plan.job.name_any();
    let mut labels = selector_labels(&job_name, shape.component);
    labels.insert(
        "app.kubernetes.io/managed-by".to_owned(),
        "flinkrs-operator".to_owned(),
    );
    let container = Container {
        name: MAIN_CONTAINER.to_owned(),
        image: Some(plan.spec.image.clone()),
        command: Some(vec!["flinkrs".to_owned()]),
        args: Some(shape.args),
        ports: Some(
            shape
                .ports
                .iter()
                .map(|(name, port)| ContainerPort {
                    name: Some((*name).to_owned()),
                    container_port: *port,
                    ..ContainerPort::default()
                })
                .collect(),
        ),
        env: Some(environment(plan)),
        resources: shape.resources.as_ref().map(resource_requirements),
        volume_mounts: Some(vec![VolumeMount {
            name: "flink-config".to_owned(),
            mount_path: CONFIG_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        }]),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            run_as_non_root: Some(true),
            ..SecurityContext::default()
        }),
        ..Container::default()
    };
    let template = PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(labels),
            annotations: Some(BTreeMap::from([
                (CONFIG_HASH_ANNOTATION.to_owned(), config_hash.to_owned()),
                (
                    CLUSTER_GENERATION_ANNOTATION.to_owned(),
                    plan.cluster_generation.to_string(),
                ),
            ])),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            containers: vec![container],
            service_account_name: plan.spec.service_account.clone(),
            security_context: Some(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(RUNTIME_USER_ID),
                fs_group: Some(RUNTIME_USER_ID),
                ..PodSecurityContext::default()
            }),
            volumes: Some(vec![Volume {
                name: "flink-config".to_owned(),
                config_map: Some(ConfigMapVolumeSource {
                    name: config_map_name(&job_name),
                    ..ConfigMapVolumeSource::default()
                }),
                ..Volume::default()
            }]),
            ..PodSpec::default()
        }),
    };
    match &plan.spec.pod_template {
        Some(user_template) => merge_pod_template(user_template, template),
        None => Ok(template),
    }
}

/// The pod's environment: its own IP (the address it binds to) and the S3
/// credentials from the referenced Secret.
fn environment(plan: &ClusterPlan<'_>) -> Vec<EnvVar> {
    let mut env = vec![EnvVar {
        name: "POD_IP".to_owned(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: "status.podIP".to_owned(),
                ..ObjectFieldSelector::default()
            }),
            ..EnvVarSource::default()
        }),
        ..EnvVar::default()
    }];
    let secret = plan
        .spec
        .checkpointing
        .as_ref()
        .and_then(|c| c.credentials_secret.as_ref());
    if let Some(secret) = secret {
        for (variable, key) in [
            ("AWS_ACCESS_KEY_ID", &secret.access_key_key),
            ("AWS_SECRET_ACCESS_KEY", &secret.secret_key_key),
        ] {
            env.push(EnvVar {
                name: variable.to_owned(),
                value_from: Some(EnvVarSource {
                    secret_key_ref: Some(SecretKeySelector {
                        name: secret.name.clone(),
                        key: key.clone(),
                        optional: Some(false),
                    }),
                    ..EnvVarSource::default()
                }),
                ..EnvVar::default()
            });
        }
    }
    env
}

/// CPU and memory become requests; memory is also the limit (a pod over its
/// memory is killed rather than starving its neighbours).
fn resource_requirements(resources: &PodResources) -> ResourceRequirements {
    let mut requests = BTreeMap::new();
    let mut limits = BTreeMap::new();
    if let Some(cpu) = &resources.cpu {
        requests.insert("cpu".to_owned(), Quantity(cpu.clone()));
    }
    if let Some(memory) = &resources.memory {
        requests.insert("memory".to_owned(), Quantity(memory.clone()));
        limits.insert("memory".to_owned(), Quantity(memory.clone()));
    }
    ResourceRequirements {
        requests: (!requests.is_empty()).then_some(requests),
        limits: (!limits.is_empty()).then_some(limits),
        ..ResourceRequirements::default()
    }
}
