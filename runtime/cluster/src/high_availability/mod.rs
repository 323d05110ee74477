//! JobManager high availability on Kubernetes (`high-availability.type: kubernetes`), as
//! Flink's Kubernetes HA services keep it: one ConfigMap per cluster,
//! `<cluster-id>-cluster-config-map`, holds
//!
//! - the **leader**: the JobManager that may run the cluster's job, in the annotation
//!   `control-plane.alpha.kubernetes.io/leader` (client-go's ConfigMap lock). A JobManager
//!   waits for the lead before it runs the job, renews it every `retry-period`, and stops when
//!   it cannot renew for `renew-deadline`; another one takes the lead once it has not been
//!   renewed for `lease-duration`;
//! - each job's **latest completed checkpoint**, recorded before any task is told the
//!   checkpoint completed, so a sink never commits what a recovery would not start after.
//!
//! A JobManager that restarts (its pod restarted, or a new pod replaced it) takes the lead and
//! restores its job from the latest checkpoint the ConfigMap names, whatever restore path its
//! configuration still holds. In application mode with high availability the job's id is
//! derived from the cluster id, so the restarted JobManager finds its job's entry.

mod config_map;
mod leader;
#[cfg(test)]
mod tests;

use std::time::Duration;

use anyhow::{Context as _, bail};
use flinkrs_core::config::{
    HIGH_AVAILABILITY_CLUSTER_ID, HIGH_AVAILABILITY_TYPE, KUBERNETES_CLUSTER_ID,
    KUBERNETES_NAMESPACE, LEADER_ELECTION_LEASE_DURATION, LEADER_ELECTION_RENEW_DEADLINE,
    LEADER_ELECTION_RETRY_PERIOD,
};
use flinkrs_core::{Configuration, JobId};
use flinkrs_dataflow::{CompletedCheckpoint, CompletedCheckpointStore};

pub use config_map::{ConfigMapStore, LatestCheckpoint};
pub use leader::{Leadership, LeadershipLost};

/// Where the pod's namespace is, in every pod with a service account.
const POD_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The high-availability settings of a cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HaSettings {
    pub cluster_id: String,
    pub namespace: String,
    pub lease_duration: Duration,
    pub renew_deadline: Duration,
    pub retry_period: Duration,
}

impl HaSettings {
    /// The settings `config` asks for; `None` when high availability is off
    /// (`high-availability.type` NONE, the default). An unknown type, or Kubernetes without a
    /// cluster id, is an error naming the key.
    pub fn from_config(config: &Configuration) -> anyhow::Result<Option<HaSettings>> {
        let kind = config.text(HIGH_AVAILABILITY_TYPE).trim();
        match kind.to_ascii_lowercase().as_str() {
            "" | "none" => return Ok(None),
            "kubernetes"
            | "org.apache.flink.kubernetes.highavailability.kuberneteshaservicesfactory" => {}
            "zookeeper" => bail!(
                "{HIGH_AVAILABILITY_TYPE} '{kind}' is not supported: flinkrs keeps high \
                 availability in Kubernetes ConfigMaps; use 'kubernetes' or 'NONE'"
            ),
            _ => bail!(
                "{HIGH_AVAILABILITY_TYPE} '{kind}' is not a high-availability type; use \
                 'kubernetes' or 'NONE'"
            ),
        }
        let cluster_id = [KUBERNETES_CLUSTER_ID, HIGH_AVAILABILITY_CLUSTER_ID]
            .iter()
            .map(|key| config.text(key).trim())
            .find(|id| !id.is_empty())
            .map(str::to_owned)
            .with_context(|| {
                format!(
                    "{HIGH_AVAILABILITY_TYPE} is kubernetes but no cluster id is set: set \
                     {KUBERNETES_CLUSTER_ID} (the FlinkJob's name, as the operator does)"
                )
            })?;
        let namespace = match config.text(KUBERNETES_NAMESPACE).trim() {
            "" => std::fs::read_to_string(POD_NAMESPACE_FILE)
                .map(|namespace| namespace.trim().to_owned())
                .ok()
                .filter(|namespace| !namespace.is_empty())
                .unwrap_or_else(|| "default".to_owned()),
            namespace => namespace.to_owned(),
        };
        let settings = HaSettings {
            cluster_id,
            namespace,
            lease_duration: config.duration_of(LEADER_ELECTION_LEASE_DURATION),
            renew_deadline: config.duration_of(LEADER_ELECTION_RENEW_DEADLINE),
            retry_period: config.duration_of(LEADER_ELECTION_RETRY_PERIOD),
        };
        if settings.retry_period >= settings.lease_duration {
            bail!(
                "{LEADER_ELECTION_RETRY_PERIOD} ({:?}) must be shorter than \
                 {LEADER_ELECTION_LEASE_DURATION} ({:?}), or the leader loses the lead between \
                 renewals",
                settings.retry_period,
                settings.lease_duration
            );
        }
        Ok(Some(settings))
    }

    /// The name of the cluster's high-availability ConfigMap.
    pub fn config_map_name(&self) -> String {
        format!("{}-cluster-config-map", self.cluster_id)
    }

    /// The id of the cluster's job in application mode: the same on every start of the
    /// cluster, so a restarted JobManager recovers the job it ran.
    pub fn application_job_id(&self) -> JobId {
        application_job_id(&self.cluster_id)
    }
}

/// A job id derived from `cluster_id` alone: murmur3 (x64, 128 bits) of its bytes.
pub fn application_job_id(cluster_id: &str) -> JobId {
    let hash = flinkrs_core::murmur3::murmur3_x64_128(cluster_id.as_bytes(), 0);
    JobId(u128::from_be_bytes(hash))
}

/// Records a job's completed checkpoints in the high-availability ConfigMap, from the
/// checkpoint coordinator's thread, before the tasks are told they completed.
#[derive(Debug)]
pub struct HaCheckpointStore {
    pub store: ConfigMapStore,
    /// The leading JobManager: only it may record.
    pub identity: String,
    pub job: String,
    pub runtime: tokio::runtime::Handle,
}

/// The longest a checkpoint waits for the ConfigMap to record it; past it the checkpoint fails.
const RECORD_TIMEOUT: Duration = Duration::from_secs(10);

impl CompletedCheckpointStore for HaCheckpointStore {
    fn add(&self, checkpoint: &CompletedCheckpoint) -> flinkrs_core::Result<()> {
        let latest = LatestCheckpoint {
            checkpoint_id: checkpoint.checkpoint.0,
            location: checkpoint.location.to_string(),
        };
        // The timer must be made inside the runtime: this is the coordinator's thread.
        let recorded = self.runtime.block_on(async {
            tokio::time::timeout(
                RECORD_TIMEOUT,
                self.store
                    .record_checkpoint(&self.identity, &self.job, &latest),
            )
            .await
        });
        let problem = match recorded {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => format!("{error:#}"),
            Err(_) => format!("the Kubernetes API did not answer within {RECORD_TIMEOUT:?}"),
        };
        Err(flinkrs_core::Error::InvalidJob(format!(
            "checkpoint {} cannot be recorded in the high-availability ConfigMap '{}': \
             {problem}",
            checkpoint.checkpoint.0,
            self.store.name()
        )))
    }
}
