//! [`ConfigMapStore`]: the cluster's high-availability ConfigMap, read and written with
//! optimistic concurrency: every write replaces the object at the version it was read at, and
//! a write that lost a race reads again and retries.

use std::collections::BTreeMap;

use anyhow::{Context as _, anyhow, bail};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ObjectMeta, PostParams};
use serde::{Deserialize, Serialize};

use super::HaSettings;

/// How many times a write that lost a race is tried again before it gives up.
const WRITE_ATTEMPTS: usize = 10;

/// The annotation that holds the leader, as client-go's ConfigMap lock writes it.
pub(super) const LEADER_ANNOTATION: &str = "control-plane.alpha.kubernetes.io/leader";

/// A job's latest completed checkpoint, as the ConfigMap records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LatestCheckpoint {
    pub checkpoint_id: u64,
    /// What `flinkrs run -s` takes: a `chk-<n>` folder or S3 prefix.
    pub location: String,
}

/// The cluster's high-availability ConfigMap.
#[derive(Clone)]
pub struct ConfigMapStore {
    api: Api<ConfigMap>,
    name: String,
    cluster_id: String,
}

impl std::fmt::Debug for ConfigMapStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConfigMap {}", self.name)
    }
}

/// The data key of `job`'s latest checkpoint.
fn checkpoint_key(job: &str) -> String {
    format!("latestCheckpoint-{job}")
}

impl ConfigMapStore {
    /// The store of `settings`' cluster, through `client`.
    pub fn new(client: kube::Client, settings: &HaSettings) -> Self {
        ConfigMapStore {
            api: Api::namespaced(client, &settings.namespace),
            name: settings.config_map_name(),
            cluster_id: settings.cluster_id.clone(),
        }
    }

    /// The store of `settings`' cluster, with the client the environment gives: in a pod, its
    /// service account; elsewhere `KUBECONFIG` or `~/.kube/config`.
    pub async fn connect(settings: &HaSettings) -> anyhow::Result<Self> {
        let client = kube::Client::try_default().await.context(
            "high availability needs the Kubernetes API: no in-cluster service account and no \
             kubeconfig (KUBECONFIG or ~/.kube/config) was found",
        )?;
        Ok(Self::new(client, settings))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The ConfigMap, if it exists.
    pub(super) async fn read(&self) -> anyhow::Result<Option<ConfigMap>> {
        self.api.get_opt(&self.name).await.with_context(|| {
            format!(
                "cannot read the high-availability ConfigMap '{}'; check that the JobManager's \
                 service account may get, create and update ConfigMaps",
                self.name
            )
        })
    }

    /// Creates the ConfigMap as `change` leaves an empty one; `false` if another JobManager
    /// created it first.
    pub(super) async fn create(
        &self,
        change: impl FnOnce(&mut ConfigMap) -> anyhow::Result<()>,
    ) -> anyhow::Result<bool> {
        let labels = BTreeMap::from([
            ("app".to_owned(), self.cluster_id.clone()),
            ("configmap-type".to_owned(), "high-availability".to_owned()),
            ("type".to_owned(), "flink-native-kubernetes".to_owned()),
        ]);
        let mut config_map = ConfigMap {
            metadata: ObjectMeta {
                name: Some(self.name.clone()),
                labels: Some(labels),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        change(&mut config_map)?;
        let created = self.api.create(&PostParams::default(), &config_map).await;
        self.written(created, "create")
    }

    /// Whether a write went through (`false` when another writer got there first, HTTP 409),
    /// or why it failed.
    fn written(&self, outcome: Result<ConfigMap, kube::Error>, verb: &str) -> anyhow::Result<bool> {
        match outcome {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(anyhow!(error)).with_context(|| {
                format!(
                    "cannot {verb} the high-availability ConfigMap '{}'; check that the \
                     JobManager's service account may {verb} ConfigMaps",
                    self.name
                )
            }),
        }
    }

    /// Replaces `config_map` (read before) with `change` applied; `false` if it changed since
    /// it was read.
    pub(super) async fn replace(
        &self,
        mut config_map: ConfigMap,
        change: impl FnOnce(&mut ConfigMap) -> anyhow::Result<()>,
    ) -> anyhow::Result<bool> {
        change(&mut config_map)?;
        let replaced = self
            .api
            .replace(&self.name, &PostParams::default(), &config_map)
            .await;
        self.written(replaced, "update")
    }

    /// Applies `change` to the ConfigMap (created when missing), retrying when another writer
    /// got there first. `change` sees the latest version on every try.
    pub(super) async fn update(
        &self,
        change: impl Fn(&mut ConfigMap) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        for _ in 0..WRITE_ATTEMPTS {
            let written = match self.read().await? {
                Some(config_map) => self.replace(config_map, &change).await?,
                None => self.create(&change).await?,
            };
            if written {
                return Ok(());
            }
        }
        bail!(
            "the high-availability ConfigMap '{}' kept changing under {WRITE_ATTEMPTS} \
             attempts to update it",
            self.name
        )
    }

    /// `job`'s latest completed checkpoint, if the ConfigMap records one.
    pub async fn latest_checkpoint(&self, job: &str) -> anyhow::Result<Option<LatestCheckpoint>> {
        let Some(config_map) = self.read().await? else {
            return Ok(None);
        };
        let key = checkpoint_key(job);
        let Some(text) = config_map.data.as_ref().and_then(|data| data.get(&key)) else {
            return Ok(None);
        };
        let latest = serde_json::from_str(text).with_context(|| {
            format!(
                "the high-availability ConfigMap '{}' holds '{text}' under '{key}', which is \
                 not a checkpoint record; delete the key to start the job from its configured \
                 restore path",
                self.name
            )
        })?;
        Ok(Some(latest))
    }

    /// Records `latest` as `job`'s latest checkpoint, if this JobManager (`identity`) leads:
    /// an older one never replaces a newer one.
    pub async fn record_checkpoint(
        &self,
        identity: &str,
        job: &str,
        latest: &LatestCheckpoint,
    ) -> anyhow::Result<()> {
        let key = checkpoint_key(job);
        let value = serde_json::to_string(latest)?;
        self.update(|config_map| {
            let holder = super::leader::holder(config_map);
            if holder.as_deref() != Some(identity) {
                bail!(
                    "this JobManager ({identity}) no longer leads the cluster (the leader is \
                     {}); it may not record checkpoints",
                    holder.as_deref().unwrap_or("nobody")
                );
            }
            let data = config_map.data.get_or_insert_with(BTreeMap::new);
            let newer = data
                .get(&key)
                .and_then(|text| serde_json::from_str::<LatestCheckpoint>(text).ok())
                .is_none_or(|recorded| recorded.checkpoint_id < latest.checkpoint_id);
            if newer {
                data.insert(key.clone(), value.clone());
            }
            Ok(())
        })
        .await
    }

    /// Forgets `job`'s checkpoints: it ended for good (finished, cancelled, or failed beyond
    /// its restarts), and must not be recovered.
    pub async fn remove_job(&self, job: &str) -> anyhow::Result<()> {
        let key = checkpoint_key(job);
        if self.read().await?.is_none() {
            return Ok(());
        }
        self.update(|config_map| {
            if let Some(data) = config_map.data.as_mut() {
                data.remove(&key);
            }
            Ok(())
        })
        .await
    }
}
