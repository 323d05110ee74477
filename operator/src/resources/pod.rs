//! The pod template shared by the JobManager and TaskManager Deployments.

use std::collections::BTreeMap;

use k8s_openapi::{
    api::core::v1::{
        Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource,
        ObjectFieldSelector, PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements,
        SeccompProfile, SecretKeySelector, SecurityContext, Volume, VolumeMount,
    },
    apimachinery::pkg::api::resource::Quantity,
};
use kube::{ResourceExt, api::ObjectMeta};

use super::{
    CLUSTER_GENERATION_ANNOTATION, CONFIG_DIR, CONFIG_HASH_ANNOTATION, ClusterPlan, Component,
    InvalidField, MAIN_CONTAINER, config_map_name, merge_component_templates, selector_labels,
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
            service_account_name: plan
                .spec
                .service_account
                .as_deref()
                .or(plan.default_service_account)
                .map(str::to_owned),
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
    let component_template = match shape.component {
        Component::JobManager => plan
            .spec
            .job_manager
            .pod_template
            .as_ref()
            .map(|template| ("spec.jobManager.podTemplate", template)),
        Component::TaskManager => plan
            .spec
            .task_manager
            .pod_template
            .as_ref()
            .map(|template| ("spec.taskManager.podTemplate", template)),
    };
    let mut merged = merge_component_templates(
        plan.spec.pod_template.as_ref(),
        component_template,
        template,
    )?;
    restricted_defaults(&mut merged);
    Ok(merged)
}

/// Pod Security "restricted" for every field the user's templates left unset: non-root as
/// the runtime image's user, the RuntimeDefault seccomp profile, no privilege escalation and
/// no capabilities for the main container.
fn restricted_defaults(template: &mut PodTemplateSpec) {
    let Some(pod) = template.spec.as_mut() else {
        return;
    };
    let context = pod
        .security_context
        .get_or_insert_with(PodSecurityContext::default);
    context.run_as_non_root.get_or_insert(true);
    context.run_as_user.get_or_insert(RUNTIME_USER_ID);
    context.fs_group.get_or_insert(RUNTIME_USER_ID);
    context
        .seccomp_profile
        .get_or_insert_with(|| SeccompProfile {
            type_: "RuntimeDefault".to_owned(),
            ..SeccompProfile::default()
        });
    for container in pod
        .containers
        .iter_mut()
        .filter(|container| container.name == MAIN_CONTAINER)
    {
        let context = container
            .security_context
            .get_or_insert_with(SecurityContext::default);
        context.allow_privilege_escalation.get_or_insert(false);
        context.run_as_non_root.get_or_insert(true);
        context.capabilities.get_or_insert_with(|| Capabilities {
            drop: Some(vec!["ALL".to_owned()]),
            ..Capabilities::default()
        });
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
