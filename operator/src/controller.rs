//! Wiring: the kube `Controller` per watched namespace, the HTTP endpoint and
//! leader election.

use std::sync::Arc;

use futures::{StreamExt, future::select_all};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Service},
};
use kube::{
    Api, Client,
    runtime::{
        Controller,
        events::{Recorder, Reporter},
        watcher,
    },
};

use crate::{
    Error, OperatorConfig, Result,
    crd::FlinkJob,
    http_server,
    jobmanager_client::JobManagerClientFactory,
    leader_election::LeaderElector,
    reconcile::{Context, error_policy, reconcile},
};

/// Runs the operator until it fails (or, with leader election, loses the Lease).
/// Tests run it in a task and abort the task to "kill" the operator.
pub async fn run(
    client: Client,
    config: OperatorConfig,
    jobmanagers: Arc<dyn JobManagerClientFactory>,
) -> Result<()> {
    run_until(client, config, jobmanagers, std::future::pending()).await
}

/// Runs the operator until `shutdown` resolves (SIGTERM), then stops reconciling and, with
/// leader election, releases the Lease, so another replica takes over at once instead of
/// after the Lease expires.
pub async fn run_until(
    client: Client,
    config: OperatorConfig,
    jobmanagers: Arc<dyn JobManagerClientFactory>,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let http = match config.http_address {
        Some(address) => {
            let listener = tokio::net::TcpListener::bind(address)
                .await
                .map_err(|source| Error::HttpServer {
                    address: address.to_string(),
                    source,
                })?;
            tracing::info!(%address, "serving /metrics and /healthz");
            Some(tokio::spawn(http_server::serve(
                listener,
                config.metrics.clone(),
                config.health.clone(),
            )))
        }
        None => None,
    };
    let result = match config.leader_election.clone() {
        Some(election) => {
            let elector = LeaderElector::new(client.clone(), election, &config.identity);
            tokio::pin!(shutdown);
            let outcome = tokio::select! {
                acquired = elector.acquire() => match acquired {
                    Ok(()) => tokio::select! {
                        result = run_controllers(client, &config, jobmanagers) => result,
                        lost = elector.keep_leading() => Err(lost),
                        () = &mut shutdown => Ok(()),
                    },
                    Err(error) => Err(error),
                },
                () = &mut shutdown => Ok(()),
            };
            config.health.set_running(false);
            if let Err(error) = elector.release().await {
                tracing::warn!(%error, "could not release the Lease; it expires on its own");
            }
            outcome
        }
        None => {
            let outcome = tokio::select! {
                result = run_controllers(client, &config, jobmanagers) => result,
                () = shutdown => Ok(()),
            };
            config.health.set_running(false);
            outcome
        }
    };
    if let Some(http) = http {
        http.abort();
    }
    result
}

async fn run_controllers(
    client: Client,
    config: &OperatorConfig,
    jobmanagers: Arc<dyn JobManagerClientFactory>,
) -> Result<()> {
    let reporter = Reporter {
        controller: "flinkrs-operator".to_owned(),
        instance: Some(config.identity.clone()),
    };
    let context = Arc::new(Context {
        client: client.clone(),
        jobmanagers,
        recorder: Recorder::new(client.clone(), reporter),
        metrics: config.metrics.clone(),
        health: config.health.clone(),
        timeouts: config.timeouts,
        job_defaults: config.job_defaults.clone(),
        failures: Default::default(),
    });
    let namespaces: Vec<Option<&str>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config
            .namespaces
            .iter()
            .map(|namespace| Some(namespace.as_str()))
            .collect()
    };
    let controllers = namespaces.into_iter().map(|namespace| {
        let context = context.clone();
        let client = client.clone();
        Box::pin(async move {
            let jobs: Api<FlinkJob> = api_for(&client, namespace);
            let labelled =
                watcher::Config::default().labels("app.kubernetes.io/managed-by=flinkrs-operator");
            Controller::new(jobs, watcher::Config::default())
                .owns(api_for::<Deployment>(&client, namespace), labelled.clone())
                .owns(api_for::<Service>(&client, namespace), labelled.clone())
                .owns(api_for::<ConfigMap>(&client, namespace), labelled)
                .run(reconcile, error_policy, context)
                .for_each(|result| async move {
                    match result {
                        Ok((object, _)) => tracing::debug!(flinkjob = %object.name, "reconciled"),
                        Err(error) => tracing::debug!(%error, "reconcile did not complete"),
                    }
                })
                .await;
        })
    });
    config.health.set_running(true);
    select_all(controllers).await;
    config.health.set_running(false);
    Ok(())
}

fn api_for<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<DynamicType = ()>,
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}
