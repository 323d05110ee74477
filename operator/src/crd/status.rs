//! The observed state of a `FlinkJob`: what the operator reports back.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::spec::FlinkJobSpec;

#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct FlinkJobStatus {
    /// Where the FlinkJob is in its lifecycle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<JobPhase>,

    /// The Flink job id reported by the JobManager.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,

    /// The job of the cluster the last redeploy replaced. While the old JobManager still
    /// answers (its pod is terminating), the operator does not take that job for the new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_job_id: Option<String>,

    /// The Flink job status reported by the JobManager (RUNNING, FAILED, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_state: Option<String>,

    /// The latest completed checkpoint the JobManager reported for the current
    /// deployment's job (cleared when the cluster is redeployed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checkpoint: Option<CheckpointInfo>,

    /// The latest savepoint the operator took or restored from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_savepoint: Option<SavepointInfo>,

    /// A savepoint the operator triggered and is waiting for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_savepoint: Option<PendingSavepoint>,

    /// The last `spec.savepointTriggerNonce` the operator acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_savepoint_trigger_nonce: Option<i64>,

    /// The spec (as JSON) the operator is deploying or has deployed. Written
    /// before the operator acts, so a restarted operator finishes an interrupted
    /// upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reconciled_spec: Option<String>,

    /// The savepoint or checkpoint the current deployment starts from; while suspended,
    /// the state a resume starts from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_path: Option<String>,

    /// When the operator last (re)deployed the cluster (RFC 3339), for the readiness
    /// timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployed_at: Option<String>,

    /// How often the operator restarted a FAILED job since the spec last changed
    /// (see `spec.maxFailedJobRestarts`).
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub failed_job_restarts: i32,

    /// How many times the operator has deployed the cluster. The pods carry it in the
    /// `flinkrs.dev/cluster-generation` annotation, so each redeploy restarts every pod.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cluster_generation: i64,

    /// The `metadata.generation` last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready, Progressing and Degraded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,

    /// The deployed parallelism (the scale subresource's status replicas).
    #[serde(default)]
    pub replicas: i32,

    /// The label selector of the TaskManager pods (for the scale subresource).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

fn is_zero_i32(value: &i32) -> bool {
    *value == 0
}

impl FlinkJobStatus {
    /// The spec recorded in `lastReconciledSpec`, if any and if it parses.
    pub fn reconciled_spec(&self) -> Option<FlinkJobSpec> {
        self.read_reconciled_spec().ok().flatten()
    }

    /// The spec recorded in `lastReconciledSpec`: `None` before the first deployment, an
    /// error saying why when the field is there but does not parse.
    pub fn read_reconciled_spec(&self) -> Result<Option<FlinkJobSpec>, String> {
        match self.last_reconciled_spec.as_deref() {
            None => Ok(None),
            Some(json) => serde_json::from_str(json)
                .map(Some)
                .map_err(|error| error.to_string()),
        }
    }

    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// The lifecycle phase.
#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobPhase {
    /// Children are being created; the job is not running yet.
    Deploying,
    /// The job runs.
    Running,
    /// A new spec is recorded and the job is being redeployed.
    Upgrading,
    /// A savepoint is being taken before the job stops.
    Suspending,
    /// The job is stopped and its pods are scaled to zero.
    Suspended,
    /// The job failed and is being redeployed from its latest state.
    Recovering,
    /// A bounded job finished.
    Finished,
    /// The spec cannot be deployed (see the Degraded condition).
    Failed,
    /// The FlinkJob is being deleted.
    Deleting,
}

impl JobPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deploying => "Deploying",
            Self::Running => "Running",
            Self::Upgrading => "Upgrading",
            Self::Suspending => "Suspending",
            Self::Suspended => "Suspended",
            Self::Recovering => "Recovering",
            Self::Finished => "Finished",
            Self::Failed => "Failed",
            Self::Deleting => "Deleting",
        }
    }

    pub const ALL: [JobPhase; 9] = [
        Self::Deploying,
        Self::Running,
        Self::Upgrading,
        Self::Suspending,
        Self::Suspended,
        Self::Recovering,
        Self::Finished,
        Self::Failed,
        Self::Deleting,
    ];
}

#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointInfo {
    pub id: i64,
    pub path: String,
}

#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SavepointInfo {
    pub path: String,
    /// Why it was taken.
    pub purpose: SavepointPurpose,
}

/// Why the operator takes a savepoint.
#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SavepointPurpose {
    /// `spec.savepointTriggerNonce` changed.
    OnDemand,
    /// Before an upgrade or rescale in `savepoint` mode.
    Upgrade,
    /// Before suspending in `savepoint` mode.
    Suspend,
    /// Before deletion, with `savepointOnDelete`.
    Delete,
    /// Given in `spec.restoreFrom`.
    Restore,
}

impl SavepointPurpose {
    /// Whether the savepoint stops the job (`POST /jobs/:id/stop`).
    pub fn stops_job(self) -> bool {
        matches!(self, Self::Upgrade | Self::Suspend | Self::Delete)
    }
}

#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PendingSavepoint {
    /// The trigger id the operator chose and sent with `POST /jobs/:id/savepoints`.
    pub trigger_id: String,
    pub job_id: String,
    pub purpose: SavepointPurpose,
    /// The `savepointTriggerNonce` that asked for it (on-demand savepoints).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<i64>,
    /// When the operator triggered it (RFC 3339), for the savepoint timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggered_at: Option<String>,
}

/// A condition in the Kubernetes style.
#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// `Ready`, `Progressing` or `Degraded`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    pub reason: String,
    pub message: String,
    /// RFC 3339 time of the last status change.
    pub last_transition_time: String,
}
