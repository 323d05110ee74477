//! The JobManager Deployment and its Service (RPC 6123, REST 8081, metrics 9249).

use flinkrs_contract::cli::{ClusterCommand, JobManagerArgs, ProcessArgs};
use k8s_openapi::{
    api::{
        apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy},
        core::v1::{Service, ServicePort, ServiceSpec},
    },
    apimachinery::pkg::{apis::meta::v1::LabelSelector, util::intstr::IntOrString},
};
use kube::ResourceExt;

use super::{
    CONFIG_DIR, ClusterPlan, Component, InvalidField, METRICS_PORT, REST_PORT, RPC_PORT,
    child_metadata,
    flink_config::{CONFIG_FILE, SQL_FILE},
    jobmanager_name,
    pod::{PodShape, pod_template},
    selector_labels,
};

const PORTS: [(&str, i32); 3] = [
    ("rpc", RPC_PORT),
    ("rest", REST_PORT),
    ("metrics", METRICS_PORT),
];

/// `flinkrs jobmanager` with the configuration and the job to run, built with the runtime's
/// own command-line definitions (the contract crate's [`ClusterCommand`]).
pub fn jobmanager_args(plan: &ClusterPlan<'_>) -> Vec<String> {
    let job = &plan.spec.job;
    let mut args = JobManagerArgs {
        process: ProcessArgs {
            config: Some(format!("{CONFIG_DIR}/{CONFIG_FILE}").into()),
            dynamic_properties: Vec::new(),
        },
        ..JobManagerArgs::default()
    };
    if let Some(builtin) = job.builtin {
        args.example = Some(builtin.as_str().to_owned());
        args.input.clone_from(&job.input);
        args.output.clone_from(&job.output);
        args.rate = job.rate;
    } else if job.sql.is_some() {
        args.sql_file = Some(format!("{CONFIG_DIR}/{SQL_FILE}").into());
    } else if let Some(program_args) = &job.args {
        args.program_args = program_args.clone();
    }
    ClusterCommand::JobManager(args).to_args()
}

pub fn deployment(plan: &ClusterPlan<'_>, config_hash: &str) -> Result<Deployment, InvalidField> {
    let job_name = plan.job.name_any();
    let shape = PodShape {
        component: Component::JobManager,
        args: jobmanager_args(plan),
        ports: PORTS.to_vec(),
        resources: plan.spec.job_manager.resources.clone(),
    };
    Ok(Deployment {
        metadata: child_metadata(
            plan.job,
            jobmanager_name(&job_name),
            Some(Component::JobManager),
        ),
        spec: Some(DeploymentSpec {
            replicas: Some(if plan.suspended { 0 } else { 1 }),
            // Two JobManagers of one job must never run side by side.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".to_owned()),
                ..DeploymentStrategy::default()
            }),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&job_name, Component::JobManager)),
                ..LabelSelector::default()
            },
            template: pod_template(plan, shape, config_hash)?,
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    })
}

pub fn service(plan: &ClusterPlan<'_>) -> Service {
    let job_name = plan.job.name_any();
    Service {
        metadata: child_metadata(
            plan.job,
            jobmanager_name(&job_name),
            Some(Component::JobManager),
        ),
        spec: Some(ServiceSpec {
            selector: Some(selector_labels(&job_name, Component::JobManager)),
            ports: Some(
                PORTS
                    .iter()
                    .map(|(name, port)| ServicePort {
                        name: Some((*name).to_owned()),
                        port: *port,
                        target_port: Some(IntOrString::String((*name).to_owned())),
                        protocol: Some("TCP".to_owned()),
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}
