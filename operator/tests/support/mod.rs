//! Shared helpers of the integration tests that run against the testbed's real
//! kube-apiserver.

#![allow(dead_code, reason = "each test binary uses a different subset")]

pub mod cluster;

use std::{future::Future, path::PathBuf, time::Duration};

use k8s_openapi::{
    api::core::v1::Namespace,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
};

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Polls `check` until it returns `Some`, or fails the test with `what` after `deadline`.
pub async fn eventually<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let give_up = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < give_up,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Creates the CRD from the committed `crds/flinkjobs.yaml` and waits until it is Established.
pub async fn install_crd(client: &Client) {
    let text = std::fs::read_to_string(repo_root().join("crds/flinkjobs.yaml"))
        .expect("crds/flinkjobs.yaml");
    let crd: CustomResourceDefinition = serde_yaml::from_str(&text).expect("the CRD parses");
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.create(&PostParams::default(), &crd)
        .await
        .expect("the API server accepts the CRD");
    eventually("the CRD to be Established", Duration::from_secs(30), || {
        let api = api.clone();
        async move {
            let crd = api.get("flinkjobs.flinkrs.dev").await.ok()?;
            let established = crd
                .status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            established.then_some(())
        }
    })
    .await;
}

pub async fn create_namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    api.create(&PostParams::default(), &namespace)
        .await
        .expect("namespace created");
}

/// Reads an example manifest from `examples/flinkjobs/`, every YAML document of it.
pub fn example_documents(file: &str) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(repo_root().join("examples/flinkjobs").join(file))
        .expect("example exists");
    serde_yaml::Deserializer::from_str(&text)
        .map(|document| {
            serde_yaml::with::singleton_map_recursive::deserialize(document).expect("valid YAML")
        })
        .collect()
}

/// The operator running in-process against the test's API server, with fake
/// JobManagers. Dropping it aborts the task, like killing the process.
pub struct InProcessOperator {
    task: tokio::task::JoinHandle<flinkrs_operator::Result<()>>,
    pub metrics: std::sync::Arc<flinkrs_operator::metrics::Metrics>,
}

impl InProcessOperator {
    pub fn start(
        client: &Client,
        jobmanagers: &flinkrs_operator::jobmanager_client::FakeJobManagers,
    ) -> Self {
        let config = flinkrs_operator::OperatorConfig::for_tests("operator-under-test");
        Self::start_with(client, jobmanagers, config)
    }

    pub fn start_with(
        client: &Client,
        jobmanagers: &flinkrs_operator::jobmanager_client::FakeJobManagers,
        config: flinkrs_operator::OperatorConfig,
    ) -> Self {
        let metrics = config.metrics.clone();
        let task = tokio::spawn(flinkrs_operator::run(
            client.clone(),
            config,
            std::sync::Arc::new(jobmanagers.clone()),
        ));
        Self { task, metrics }
    }

    /// Aborts the operator and waits until its task has ended.
    pub async fn kill(self) {
        self.task.abort();
        let ended = self.task.await;
        assert!(
            ended.as_ref().is_err_and(|error| error.is_cancelled()),
            "the operator had stopped on its own: {ended:?}"
        );
    }
}

/// Creates the FlinkJob (and any Secret) of an example in `namespace`.
pub async fn apply_example(
    client: &Client,
    namespace: &str,
    file: &str,
) -> flinkrs_operator::crd::FlinkJob {
    use flinkrs_operator::crd::FlinkJob;
    use k8s_openapi::api::core::v1::Secret;
    let mut created = None;
    for document in example_documents(file) {
        match document["kind"].as_str() {
            Some("Secret") => {
                let secret: Secret = serde_json::from_value(document).expect("a Secret");
                Api::<Secret>::namespaced(client.clone(), namespace)
                    .create(&PostParams::default(), &secret)
                    .await
                    .expect("Secret created");
            }
            Some("FlinkJob") => {
                let job: FlinkJob = serde_json::from_value(document).expect("a FlinkJob");
                let job = Api::<FlinkJob>::namespaced(client.clone(), namespace)
                    .create(&PostParams::default(), &job)
                    .await
                    .expect("FlinkJob created");
                created = Some(job);
            }
            other => panic!("{file}: unexpected kind {other:?}"),
        }
    }
    created.expect("the example has a FlinkJob")
}
