//! The desired state of a `FlinkJob`: what the user writes.
//!
//! Schema rules that the API server can check on its own are CEL rules
//! (`x-kubernetes-validations`) on these types, so a bad manifest is rejected by
//! `kubectl apply` with a message that names the field. Rules that need the
//! cluster (does the Secret exist?) live in `reconcile::validate`.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::status::FlinkJobStatus;

/// Flink configuration keys the operator derives from the typed spec fields.
/// Setting them in `flinkConfiguration` would silently fight the operator, so the
/// API server rejects them (see the CEL rule on `flinkConfiguration`).
pub const OPERATOR_OWNED_FLINK_KEYS: [&str; 6] = [
    "parallelism.default",
    "taskmanager.numberOfTaskSlots",
    "state.checkpoints.dir",
    "execution.savepoint.path",
    "jobmanager.rpc.address",
    "execution.checkpointing.interval",
];

/// A Flink job and the JobManager/TaskManager cluster that runs it
/// (Flink's application mode: one cluster per job).
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[expect(
    clippy::duplicated_attributes,
    reason = "kube's printcolumn(...) repeats `type_` once per column"
)]
#[kube(
    group = "flinkrs.dev",
    version = "v1alpha1",
    kind = "FlinkJob",
    plural = "flinkjobs",
    shortname = "fj",
    namespaced,
    status = "FlinkJobStatus",
    derive = "PartialEq",
    doc = "A Flink job and the JobManager/TaskManager cluster that runs it.",
    scale(
        spec_replicas_path = ".spec.parallelism",
        status_replicas_path = ".status.replicas",
        label_selector_path = ".status.selector"
    ),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Job State", type_ = "string", json_path = ".status.jobState"),
    printcolumn(
        name = "Parallelism",
        type_ = "integer",
        json_path = ".spec.parallelism"
    ),
    printcolumn(
        name = "Last Checkpoint",
        type_ = "string",
        json_path = ".status.lastCheckpoint.path"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self.upgradeMode == 'stateless' || has(self.checkpointing)")
    .message("upgradeMode savepoint and last-state keep state, so they need spec.checkpointing with a storage URI")
    .field_path(".upgradeMode"))]
#[serde(rename_all = "camelCase")]
pub struct FlinkJobSpec {
    /// The container image with the `flinkrs` binary, e.g. `ghcr.io/example/flinkrs:0.1.0`.
    #[x_kube(validation = Rule::new("self.size() > 0").message("image must name a container image"))]
    pub image: String,

    /// What the JobManager runs: exactly one of `sql`, `builtin` or `args`.
    pub job: JobSource,

    /// The default parallelism of the job (Flink's `parallelism.default`).
    /// `kubectl scale fj/NAME --replicas=N` sets this field.
    #[x_kube(validation = Rule::new("self >= 1 && self <= 32768")
        .message("parallelism must be between 1 and 32768 (the number of parallel subtasks of each operator)"))]
    pub parallelism: i32,

    /// TaskManager pods: slots per TaskManager and pod resources.
    #[serde(default)]
    pub task_manager: TaskManagerSpec,

    /// The JobManager pod's resources.
    #[serde(default)]
    pub job_manager: JobManagerSpec,

    /// Periodic checkpoints and where they are stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpointing: Option<CheckpointingSpec>,

    /// How a running job is upgraded or suspended: `stateless` (state is dropped),
    /// `savepoint` (a savepoint is taken first and the new job starts from it) or
    /// `last-state` (the new job starts from the latest checkpoint).
    #[serde(default)]
    pub upgrade_mode: UpgradeMode,

    /// `running` or `suspended`. Suspending stops the job (with a savepoint when
    /// `upgradeMode` is `savepoint`) and scales its pods to zero.
    #[serde(default)]
    pub state: JobLifecycleState,

    /// A savepoint or retained checkpoint to start the job from
    /// (Flink's `execution.savepoint.path`). Used on the first deployment, and
    /// again whenever this field changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('s3://') || self.startsWith('file://')")
        .message("restoreFrom must be an s3:// or file:// savepoint path"))]
    pub restore_from: Option<String>,

    /// Change this number (to any new value) to take a savepoint now, like the
    /// Flink Kubernetes Operator's `savepointTriggerNonce`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub savepoint_trigger_nonce: Option<i64>,

    /// Change this number (to any new value) to restart the job, with its state carried
    /// over as `upgradeMode` says, like the Flink Kubernetes Operator's `restartNonce`.
    /// Also starts a job again that was CANCELED or FAILED.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_nonce: Option<i64>,

    /// Start even if the savepoint or checkpoint holds state of an operator the job no
    /// longer has (Flink's `execution.savepoint.ignore-unclaimed-state`); that state is
    /// dropped. Off by default: a removed operator's state stops the restore with an error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_non_restored_state: Option<bool>,

    /// In `savepoint` mode, when the job is not RUNNING (so no savepoint can be taken),
    /// upgrade or suspend from its latest checkpoint instead, as the Flink Kubernetes
    /// Operator's `kubernetes.operator.job.upgrade.last-state-fallback.enabled` does.
    /// With `false` the operator reports the situation in the status and waits.
    #[serde(default = "default_true")]
    pub last_state_fallback: bool,

    /// Restart a job that FAILED (Flink's restart strategy gave up on it) from its
    /// latest state, at most this many times until the spec changes. Unset or 0: a FAILED
    /// job stays FAILED, and the status says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self >= 0").message("maxFailedJobRestarts must not be negative"))]
    pub max_failed_job_restarts: Option<i32>,

    /// Take a savepoint before the FlinkJob is deleted (its location is reported
    /// in an event).
    #[serde(default)]
    pub savepoint_on_delete: bool,

    /// Extra pod settings (node selector, tolerations, volumes, sidecars, env of
    /// the `flink-main-container`) merged under the pods the operator builds, for both
    /// components (`jobManager.podTemplate` and `taskManager.podTemplate` add to it per
    /// component). The pods default to Pod Security "restricted" (non-root, no privilege
    /// escalation, every capability dropped, the RuntimeDefault seccomp profile); a template
    /// that sets these fields overrides them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::preserve_unknown_object")]
    pub pod_template: Option<serde_json::Value>,

    /// The ServiceAccount the JobManager and TaskManager pods run as. Unset: the operator's
    /// default (the chart's `flinkrs-job`, which may do what high availability needs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,

    /// JobManager high availability on Kubernetes (Flink's `high-availability.type:
    /// kubernetes`): the leader and the latest checkpoint live in the ConfigMap
    /// `<name>-cluster-config-map`, so a JobManager pod that restarts recovers the job, under
    /// the same job id, from its latest checkpoint. Unset: the operator's default (on with
    /// the chart, whose job service account has the RBAC it needs). `false` turns it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_availability: Option<bool>,

    /// Extra Flink configuration (`key: value`, Flink's keys), written into the
    /// ConfigMap the pods read.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[x_kube(validation = Rule::new("!('parallelism.default' in self) && !('taskmanager.numberOfTaskSlots' in self) && !('state.checkpoints.dir' in self) && !('execution.savepoint.path' in self) && !('jobmanager.rpc.address' in self) && !('execution.checkpointing.interval' in self)")
        .message("flinkConfiguration must not set parallelism.default, taskmanager.numberOfTaskSlots, state.checkpoints.dir, execution.savepoint.path, jobmanager.rpc.address or execution.checkpointing.interval: use spec.parallelism, spec.taskManager.slots, spec.checkpointing and spec.restoreFrom"))]
    pub flink_configuration: BTreeMap<String, String>,
}

/// What the JobManager runs.
#[derive(KubeSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[x_kube(validation = Rule::new("[has(self.sql), has(self.builtin), has(self.args)].filter(x, x).size() == 1")
    .message("job must set exactly one of sql, builtin or args"))]
#[x_kube(validation = Rule::new("has(self.builtin) || !(has(self.input) || has(self.output) || has(self.rate))")
    .message("job.input, job.output and job.rate apply to builtin jobs only"))]
#[serde(rename_all = "camelCase")]
pub struct JobSource {
    /// A Flink SQL script (CREATE TABLE ... WITH, INSERT INTO ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.trim().size() > 0").message("job.sql must not be empty"))]
    pub sql: Option<String>,

    /// The name of a job built into the runtime image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<BuiltinJob>,

    /// Arguments for a Rust job program linked into a custom image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.size() > 0").message("job.args must list at least one argument"))]
    pub args: Option<Vec<String>>,

    /// A built-in job's input file or folder, instead of its built-in data (`--input`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,

    /// Where a built-in job writes its results, exactly once, through the file sink: a
    /// folder, or an S3 prefix `s3://BUCKET/PREFIX` reached with the checkpoint storage's
    /// `s3.*` settings (`--output`). Unset, the job prints them to the TaskManagers' logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,

    /// Throttles a built-in job's source to this many records per second (`--rate`), for
    /// demos and failure drills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self > 0").message("job.rate must be a positive number of records per second"))]
    pub rate: Option<u64>,
}

/// Jobs that ship with the runtime image.
#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BuiltinJob {
    Wordcount,
    Scoreboard,
    WindowedSensors,
}

impl BuiltinJob {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wordcount => "wordcount",
            Self::Scoreboard => "scoreboard",
            Self::WindowedSensors => "windowed-sensors",
        }
    }
}

/// TaskManager pods.
#[derive(KubeSchema, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TaskManagerSpec {
    /// Slots per TaskManager (Flink's `taskmanager.numberOfTaskSlots`). The
    /// operator runs ceil(parallelism / slots) TaskManagers.
    #[serde(default = "default_slots")]
    #[x_kube(validation = Rule::new("self >= 1").message("taskManager.slots must be at least 1"))]
    pub slots: i32,

    /// CPU and memory of each TaskManager pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<PodResources>,

    /// Pod settings for the TaskManagers only, laid over `spec.podTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::preserve_unknown_object")]
    pub pod_template: Option<serde_json::Value>,
}

impl Default for TaskManagerSpec {
    fn default() -> Self {
        Self {
            slots: default_slots(),
            resources: None,
            pod_template: None,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_slots() -> i32 {
    1
}

/// The JobManager pod.
#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct JobManagerSpec {
    /// CPU and memory of the JobManager pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<PodResources>,

    /// Pod settings for the JobManager only, laid over `spec.podTemplate`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::crd::schema::preserve_unknown_object")]
    pub pod_template: Option<serde_json::Value>,
}

/// CPU and memory of a pod, as Kubernetes quantities. Both become requests; memory
/// is also the limit and Flink's process memory size.
#[derive(KubeSchema, Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PodResources {
    /// CPU, e.g. `500m` or `2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]+(\\\\.[0-9]+)?m?$')")
        .message("cpu must be a CPU quantity such as 500m or 2"))]
    pub cpu: Option<String>,

    /// Memory, e.g. `1Gi` or `1536Mi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]+(Mi|Gi)$')")
        .message("memory must be a whole number of Mi or Gi, such as 1536Mi or 2Gi"))]
    pub memory: Option<String>,
}

/// Periodic checkpoints.
#[derive(KubeSchema, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[x_kube(validation = Rule::new("!self.storage.startsWith('s3://') || has(self.credentialsSecret) || (has(self.anonymous) && self.anonymous)")
    .message("an s3:// checkpoint storage needs checkpointing.credentialsSecret, or anonymous: true for a public bucket")
    .field_path(".storage"))]
#[serde(rename_all = "camelCase")]
pub struct CheckpointingSpec {
    /// How often to checkpoint (Flink's `execution.checkpointing.interval`), e.g. `10s`, `1min`.
    #[serde(default = "default_interval")]
    #[x_kube(validation = Rule::new("self.matches('^[0-9]+ ?(ms|s|min|h)$')")
        .message("checkpointing.interval must be a duration such as 500ms, 10s, 1min or 1h"))]
    pub interval: String,

    /// Where checkpoints go (Flink's `state.checkpoints.dir`): `s3://bucket/path` or `file:///path`.
    #[x_kube(validation = Rule::new("self.startsWith('s3://') || self.startsWith('file://')")
        .message("checkpointing.storage must start with s3:// or file://"))]
    pub storage: String,

    /// The Secret with the S3 access key and secret key. Its values reach the pods
    /// as environment variables, never through the ConfigMap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<SecretCredentials>,

    /// Read and write an s3:// storage without credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anonymous: Option<bool>,

    /// The S3 endpoint for S3-compatible stores such as MinIO (`s3.endpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.startsWith('http://') || self.startsWith('https://')")
        .message("checkpointing.endpoint must be an http:// or https:// URL"))]
    pub endpoint: Option<String>,
}

fn default_interval() -> String {
    "10s".to_owned()
}

/// A reference to the Secret that holds S3 credentials.
#[derive(KubeSchema, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SecretCredentials {
    /// The Secret's name, in the FlinkJob's namespace.
    #[x_kube(validation = Rule::new("self.size() > 0").message("credentialsSecret.name must name a Secret"))]
    pub name: String,
    /// The key holding the access key id.
    #[serde(default = "default_access_key_key")]
    pub access_key_key: String,
    /// The key holding the secret access key.
    #[serde(default = "default_secret_key_key")]
    pub secret_key_key: String,
}

fn default_access_key_key() -> String {
    "access-key".to_owned()
}

fn default_secret_key_key() -> String {
    "secret-key".to_owned()
}

/// How the operator carries state across an upgrade, rescale or suspension.
#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum UpgradeMode {
    /// Stop the job and start the new one with empty state.
    #[default]
    Stateless,
    /// Take a savepoint, stop the job, start the new one from the savepoint.
    Savepoint,
    /// Stop the job and start the new one from its latest completed checkpoint.
    LastState,
}

impl UpgradeMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stateless => "stateless",
            Self::Savepoint => "savepoint",
            Self::LastState => "last-state",
        }
    }
}

/// Whether the job should run.
#[derive(JsonSchema, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum JobLifecycleState {
    #[default]
    Running,
    Suspended,
}
