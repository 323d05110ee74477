//! The TaskManager Deployment: ceil(parallelism / slots) pods that register with
//! the JobManager.

use flinkrs_contract::cli::{ClusterCommand, ProcessArgs, TaskManagerArgs};
use k8s_openapi::{
    api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy},
    apimachinery::pkg::apis::meta::v1::LabelSelector,
};
use kube::ResourceExt;

use super::{
    CONFIG_DIR, ClusterPlan, Component, InvalidField, METRICS_PORT, RPC_PORT, child_metadata,
    flink_config::CONFIG_FILE,
    jobmanager_name,
    pod::{PodShape, pod_template},
    selector_labels, taskmanager_name, taskmanager_replicas,
};

pub fn deployment(plan: &ClusterPlan<'_>, config_hash: &str) -> Result<Deployment, InvalidField> {
    let job_name = plan.job.name_any();
    let namespace = plan.job.namespace().unwrap_or_else(|| "default".to_owned());
    let jobmanager_address = format!("{}.{namespace}.svc:{RPC_PORT}", jobmanager_name(&job_name));
    let shape = PodShape {
        component: Component::TaskManager,
        args: ClusterCommand::TaskManager(TaskManagerArgs {
            process: ProcessArgs {
                config: Some(format!("{CONFIG_DIR}/{CONFIG_FILE}").into()),
                // The TaskManager advertises its pod's IP (which Kubernetes expands from the
                // POD_IP variable): its host name is not in cluster DNS, so the JobManager and
                // the other TaskManagers could not reach it by name.
                dynamic_properties: vec!["taskmanager.host=$(POD_IP)".to_owned()],
            },
            jobmanager: Some(jobmanager_address),
        })
        .to_args(),
        ports: vec![("metrics", METRICS_PORT)],
        resources: plan.spec.task_manager.resources.clone(),
    };
    let replicas = if plan.suspended {
        0
    } else {
        taskmanager_replicas(plan.spec.parallelism, plan.spec.task_manager.slots)
    };
    Ok(Deployment {
        metadata: child_metadata(
            plan.job,
            taskmanager_name(&job_name),
            Some(Component::TaskManager),
        ),
        spec: Some(DeploymentSpec {
            replicas: Some(replicas),
            // Every old TaskManager is gone before a new one starts, so no TaskManager of
            // the previous cluster registers with the new JobManager.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".to_owned()),
                ..DeploymentStrategy::default()
            }),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&job_name, Component::TaskManager)),
                ..LabelSelector::default()
            },
            template: pod_template(plan, shape, config_hash)?,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    })
}
