//! A control plane with the CRD, a `jobs` namespace and the operator running
//! in-process with fake JobManagers, and the lookups the lifecycle tests share.

use std::time::Duration;

use k8s_openapi::api::{apps::v1::Deployment, core::v1::ConfigMap, events::v1::Event};
use kube::{
    Api, Client,
    api::{ListParams, Patch, PatchParams},
};
use serde_json::json;

use flinkrs_operator::{
    config::Timeouts,
    crd::{FlinkJob, FlinkJobStatus, JobPhase},
    jobmanager_client::{FakeJobManager, FakeJobManagers},
    resources::rest_url,
};

use super::{InProcessOperator, create_namespace, eventually, install_crd};

pub const DEADLINE: Duration = Duration::from_secs(60);
pub const NAMESPACE: &str = "jobs";

/// A control plane with the CRD, the `jobs` namespace and a running operator.
pub struct Setup {
    // Dropped last: the operator must stop before the API server does.
    pub operator: Option<InProcessOperator>,
    pub client: Client,
    pub jobmanagers: FakeJobManagers,
    pub control_plane: flinkrs_testbed::KubeControlPlane,
}

impl Setup {
    pub async fn start(test: &str) -> Option<Self> {
        Self::start_with(test, Timeouts::default()).await
    }

    /// With an operator that reports stuck savepoints and deployments after `timeouts`.
    pub async fn start_with(test: &str, timeouts: Timeouts) -> Option<Self> {
        let control_plane = flinkrs_testbed::KubeControlPlane::start(test).await?;
        let client = control_plane.client().await;
        install_crd(&client).await;
        create_namespace(&client, NAMESPACE).await;
        let jobmanagers = FakeJobManagers::new();
        let mut config = flinkrs_operator::OperatorConfig::for_tests("operator-under-test");
        config.timeouts = timeouts;
        let operator = Some(InProcessOperator::start_with(&client, &jobmanagers, config));
        Some(Self {
            operator,
            client,
            jobmanagers,
            control_plane,
        })
    }

    pub fn jobs(&self) -> Api<FlinkJob> {
        Api::namespaced(self.client.clone(), NAMESPACE)
    }

    pub fn deployments(&self) -> Api<Deployment> {
        Api::namespaced(self.client.clone(), NAMESPACE)
    }

    pub fn jobmanager(&self, job: &str) -> FakeJobManager {
        self.jobmanagers.manager(&rest_url(job, NAMESPACE))
    }

    /// Waits until the FlinkJob's status satisfies `check`, and returns it.
    pub async fn status_where(
        &self,
        job: &str,
        what: &str,
        check: impl Fn(&FlinkJobStatus) -> bool,
    ) -> FlinkJobStatus {
        let jobs = self.jobs();
        eventually(what, DEADLINE, || {
            let jobs = jobs.clone();
            let check = &check;
            async move {
                let status = jobs.get(job).await.ok()?.status?;
                check(&status).then_some(status)
            }
        })
        .await
    }

    pub async fn running(&self, job: &str) -> FlinkJobStatus {
        self.status_where(job, &format!("{job} to be Running"), |status| {
            status.phase == Some(JobPhase::Running) && status.observed_generation.is_some()
        })
        .await
    }

    /// Waits until a Deployment satisfies `check`.
    pub async fn deployment_where(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&Deployment) -> bool,
    ) -> Deployment {
        let deployments = self.deployments();
        eventually(what, DEADLINE, || {
            let deployments = deployments.clone();
            let check = &check;
            async move { deployments.get(name).await.ok().filter(|d| check(d)) }
        })
        .await
    }

    pub async fn patch_spec(&self, job: &str, spec: serde_json::Value) {
        self.jobs()
            .patch(
                job,
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": spec })),
            )
            .await
            .expect("the spec patch is accepted");
    }

    /// Touches an annotation, so the operator looks at the FlinkJob now rather
    /// than at its next periodic requeue.
    pub async fn nudge(&self, job: &str, value: &str) {
        let patch = json!({"metadata": {"annotations": {"flinkrs.dev/test-nudge": value}}});
        self.jobs()
            .patch(job, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .expect("the annotation patch is accepted");
    }

    pub async fn config_yaml(&self, job: &str) -> String {
        let config_maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), NAMESPACE);
        let config_map = config_maps
            .get(&format!("{job}-config"))
            .await
            .expect("the ConfigMap exists");
        config_map.data.expect("data")["config.yaml"].clone()
    }

    /// Event reasons and notes on a FlinkJob, oldest first.
    pub async fn events(&self, job: &str) -> Vec<(String, String)> {
        let events: Api<Event> = Api::namespaced(self.client.clone(), NAMESPACE);
        let mut list: Vec<Event> = events
            .list(&ListParams::default())
            .await
            .expect("events listed")
            .items
            .into_iter()
            .filter(|event| event.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(job))
            .collect();
        list.sort_by_key(|event| event.event_time.clone().map(|time| time.0));
        list.into_iter()
            .map(|event| {
                (
                    event.reason.unwrap_or_default(),
                    event.note.unwrap_or_default(),
                )
            })
            .collect()
    }
}

pub fn replicas(deployment: &Deployment) -> i32 {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.replicas)
        .unwrap_or(-1)
}

pub fn main_container(deployment: &Deployment) -> &k8s_openapi::api::core::v1::Container {
    &deployment
        .spec
        .as_ref()
        .expect("spec")
        .template
        .spec
        .as_ref()
        .expect("pod spec")
        .containers[0]
}

pub fn config_line<'a>(config: &'a str, key: &str) -> Option<&'a str> {
    config
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(": "))
}
