//! A real kube-apiserver (with etcd and kube-controller-manager) behaves as
//! the operator needs: namespaces, CRDs, watches, server-side apply and
//! garbage collection.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use flinkrs_testbed::KubeControlPlane;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{
    DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::{Api, CustomResource, CustomResourceExt, ResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const DEADLINE: Duration = Duration::from_secs(90);

/// A stand-in custom resource, shaped like the operator's.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "testbed.flinkrs.dev",
    version = "v1",
    kind = "Pipeline",
    namespaced
)]
struct PipelineSpec {
    parallelism: u32,
    image: String,
}

/// Polls `check` until it returns `Some`, for at most [`DEADLINE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if started.elapsed() > DEADLINE {
            bail!("{what}: not within {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_created_namespace_is_listed_with_the_system_ones() -> anyhow::Result<()> {
    let Some(control_plane) =
        KubeControlPlane::start("a_created_namespace_is_listed_with_the_system_ones").await
    else {
        return Ok(());
    };
    let namespaces: Api<Namespace> = Api::all(control_plane.client().await);
    let namespace = Namespace {
        metadata: ObjectMeta {
            name: Some("flinkrs-jobs".into()),
            ..ObjectMeta::default()
        },
        ..Namespace::default()
    };
    namespaces
        .create(&PostParams::default(), &namespace)
        .await?;
    let created = namespaces.get("flinkrs-jobs").await?;
    assert_eq!(
        created.status.and_then(|status| status.phase).as_deref(),
        Some("Active")
    );

    // kube-node-lease and kube-public appear shortly after start, so poll.
    let names = eventually("all five namespaces", || async {
        let mut names: Vec<String> = namespaces
            .list(&ListParams::default())
            .await?
            .into_iter()
            .map(|namespace| namespace.name_any())
            .collect();
        names.sort();
        Ok((names.len() == 5).then_some(names))
    })
    .await?;
    assert_eq!(
        names,
        [
            "default",
            "flinkrs-jobs",
            "kube-node-lease",
            "kube-public",
            "kube-system"
        ]
    );
    assert!(control_plane.server_url().starts_with("https://127.0.0.1:"));
    Ok(())
}

async fn install_pipeline_crd(client: &kube::Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &Pipeline::crd())
        .await?;
    eventually("the Pipeline CRD to be established", || async {
        let crd = crds.get("pipelines.testbed.flinkrs.dev").await?;
        let established = crd
            .status
            .and_then(|status| status.conditions)
            .unwrap_or_default()
            .iter()
            .any(|condition| condition.type_ == "Established" && condition.status == "True");
        Ok(established.then_some(()))
    })
    .await
}

#[tokio::test]
async fn a_custom_object_is_created_and_seen_by_a_watch() -> anyhow::Result<()> {
    let Some(control_plane) =
        KubeControlPlane::start("a_custom_object_is_created_and_seen_by_a_watch").await
    else {
        return Ok(());
    };
    let client = control_plane.client().await;
    install_pipeline_crd(&client).await?;
    let pipelines: Api<Pipeline> = Api::namespaced(client, "default");
    let mut events = pipelines
        .watch(&WatchParams::default().timeout(60), "0")
        .await?
        .boxed();

    let spec = PipelineSpec {
        parallelism: 3,
        image: "flinkrs:test".into(),
    };
    pipelines
        .create(
            &PostParams::default(),
            &Pipeline::new("wordcount", spec.clone()),
        )
        .await?;

    // Bookmarks only carry a resource version; the first real event must be
    // the creation.
    let next_change = async {
        while let Some(event) = events.try_next().await? {
            if !matches!(event, WatchEvent::Bookmark(_)) {
                return Ok(event);
            }
        }
        bail!("the watch ended")
    };
    let event = tokio::time::timeout(DEADLINE, next_change)
        .await
        .context("no watch event")??;
    let WatchEvent::Added(seen) = event else {
        bail!("expected an Added event, got {event:?}");
    };
    assert_eq!(seen.name_any(), "wordcount");
    assert_eq!(seen.spec, spec);
    let stored = pipelines.get("wordcount").await?;
    assert_eq!(stored.spec, spec);
    assert_eq!(stored.metadata.uid, seen.metadata.uid);
    Ok(())
}

fn field_managers(config_map: &ConfigMap) -> Vec<(String, String)> {
    config_map
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .map(|entry| {
            (
                entry.manager.clone().unwrap_or_default(),
                entry.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn server_side_apply_tracks_field_managers_and_conflicts() -> anyhow::Result<()> {
    let Some(control_plane) =
        KubeControlPlane::start("server_side_apply_tracks_field_managers_and_conflicts").await
    else {
        return Ok(());
    };
    let config_maps: Api<ConfigMap> = Api::namespaced(control_plane.client().await, "default");
    let apply = |mode: &str| {
        Patch::Apply(serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": "job-settings" },
            "data": { "execution.runtime-mode": mode },
        }))
    };

    let created = config_maps
        .patch(
            "job-settings",
            &PatchParams::apply("flinkrs-operator"),
            &apply("streaming"),
        )
        .await?;
    assert_eq!(
        field_managers(&created),
        [("flinkrs-operator".into(), "Apply".into())]
    );

    let conflict = config_maps
        .patch(
            "job-settings",
            &PatchParams::apply("someone-else"),
            &apply("batch"),
        )
        .await
        .expect_err("a second manager changing an owned field must conflict");
    let kube::Error::Api(status) = conflict else {
        bail!("expected an API error, got {conflict}");
    };
    assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));

    let forced = config_maps
        .patch(
            "job-settings",
            &PatchParams::apply("someone-else").force(),
            &apply("batch"),
        )
        .await?;
    let expected_data = BTreeMap::from([("execution.runtime-mode".to_owned(), "batch".to_owned())]);
    assert_eq!(forced.data, Some(expected_data));
    assert_eq!(
        field_managers(&forced),
        [("someone-else".into(), "Apply".into())]
    );
    Ok(())
}

#[tokio::test]
async fn deleting_an_owner_garbage_collects_its_dependent() -> anyhow::Result<()> {
    let Some(control_plane) =
        KubeControlPlane::start("deleting_an_owner_garbage_collects_its_dependent").await
    else {
        return Ok(());
    };
    let config_maps: Api<ConfigMap> = Api::namespaced(control_plane.client().await, "default");
    let named = |name: &str, owner: Option<OwnerReference>| ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            owner_references: owner.map(|owner| vec![owner]),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    let owner = config_maps
        .create(&PostParams::default(), &named("jobmanager", None))
        .await?;
    let reference = OwnerReference {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        name: owner.name_any(),
        uid: owner.uid().context("the owner has a uid")?,
        ..OwnerReference::default()
    };
    config_maps
        .create(
            &PostParams::default(),
            &named("jobmanager-config", Some(reference)),
        )
        .await?;
    config_maps
        .delete("jobmanager", &DeleteParams::background())
        .await?;

    eventually(
        "kube-controller-manager to collect the dependent",
        || async {
            Ok(config_maps
                .get_opt("jobmanager-config")
                .await?
                .is_none()
                .then_some(()))
        },
    )
    .await?;
    assert!(config_maps.get_opt("jobmanager").await?.is_none());
    Ok(())
}
