//! The registry of configuration keys, with Flink's names.
//!
//! Every key the runtime understands is declared once in [`OPTIONS`], with its value type,
//! default and a one-line description; [`DEPRECATED_KEYS`] maps the older names Flink still
//! accepts onto the current ones. This is data only: the runtime's `Configuration`
//! (`flinkrs-core`) validates values by [`OptionType`] and reads them through typed accessors,
//! and the operator writes these keys into the pods' `config.yaml`, so a test can check that
//! every key the operator writes is one the runtime accepts.

/// The value type of a configuration option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionType {
    PositiveInt,
    Duration,
    Text,
    RuntimeMode,
    Boolean,
    /// A whole number, zero allowed.
    Count,
    /// A finite decimal number, such as a backoff multiplier.
    Double,
    /// `restart-strategy.type`: none (off, disable), fixed-delay, exponential-delay or
    /// failure-rate, in any case.
    RestartStrategy,
    /// NO_EXTERNALIZED_CHECKPOINTS, DELETE_ON_CANCELLATION or RETAIN_ON_CANCELLATION.
    CheckpointRetention,
    /// A TCP port, 0 for any free one.
    Port,
    /// A port or ports, as Flink's reporters take them: `9249`, `9249-9250` or `9249,9251`.
    PortRange,
    /// A memory size in Flink's notation: a number and an optional unit (`b`, `k`, `m`, `g`,
    /// `t`, or `kb`, `mb`, …), e.g. `1536m`.
    MemorySize,
}

/// A declared configuration option.
#[derive(Debug)]
pub struct ConfigOption {
    pub key: &'static str,
    pub value_type: OptionType,
    pub default: &'static str,
    pub description: &'static str,
}

pub const PARALLELISM_DEFAULT: &str = "parallelism.default";
pub const PIPELINE_NAME: &str = "pipeline.name";
pub const RUNTIME_MODE: &str = "execution.runtime-mode";
pub const AUTO_WATERMARK_INTERVAL: &str = "pipeline.auto-watermark-interval";
pub const NUMBER_OF_TASK_SLOTS: &str = "taskmanager.numberOfTaskSlots";
pub const MAX_PARALLELISM: &str = "pipeline.max-parallelism";
pub const BUFFER_TIMEOUT: &str = "execution.buffer-timeout.interval";
pub const OPERATOR_CHAINING: &str = "pipeline.operator-chaining.enabled";
pub const BATCH_MAX_ROWS: &str = "taskmanager.network.batch.max-rows";
pub const BATCH_MAX_BYTES: &str = "taskmanager.network.batch.max-bytes";
pub const CHANNEL_CAPACITY: &str = "taskmanager.network.channel.buffers";
pub const CHECKPOINTING_INTERVAL: &str = "execution.checkpointing.interval";
pub const CHECKPOINTING_MIN_PAUSE: &str = "execution.checkpointing.min-pause";
pub const CHECKPOINTING_TIMEOUT: &str = "execution.checkpointing.timeout";
pub const TOLERABLE_FAILED_CHECKPOINTS: &str =
    "execution.checkpointing.tolerable-failed-checkpoints";
pub const CHECKPOINTS_NUM_RETAINED: &str = "execution.checkpointing.num-retained";
pub const CHECKPOINTS_DIRECTORY: &str = "execution.checkpointing.dir";
pub const SAVEPOINT_DIRECTORY: &str = "execution.checkpointing.savepoint-dir";
pub const STATE_RECOVERY_PATH: &str = "execution.state-recovery.path";
pub const SHUTDOWN_ON_APPLICATION_FINISH: &str = "execution.shutdown-on-application-finish";
pub const IGNORE_UNCLAIMED_STATE: &str = "execution.state-recovery.ignore-unclaimed-state";
pub const EXTERNALIZED_CHECKPOINT_RETENTION: &str =
    "execution.checkpointing.externalized-checkpoint-retention";
pub const RESTART_STRATEGY: &str = "restart-strategy.type";
pub const FIXED_DELAY_ATTEMPTS: &str = "restart-strategy.fixed-delay.attempts";
pub const FIXED_DELAY_DELAY: &str = "restart-strategy.fixed-delay.delay";
pub const EXPONENTIAL_DELAY_INITIAL_BACKOFF: &str =
    "restart-strategy.exponential-delay.initial-backoff";
pub const EXPONENTIAL_DELAY_MAX_BACKOFF: &str = "restart-strategy.exponential-delay.max-backoff";
pub const EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER: &str =
    "restart-strategy.exponential-delay.backoff-multiplier";
pub const EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD: &str =
    "restart-strategy.exponential-delay.reset-backoff-threshold";
pub const EXPONENTIAL_DELAY_JITTER_FACTOR: &str =
    "restart-strategy.exponential-delay.jitter-factor";
pub const EXPONENTIAL_DELAY_ATTEMPTS: &str =
    "restart-strategy.exponential-delay.attempts-before-reset-backoff";
pub const FAILURE_RATE_MAX_FAILURES_PER_INTERVAL: &str =
    "restart-strategy.failure-rate.max-failures-per-interval";
pub const FAILURE_RATE_INTERVAL: &str = "restart-strategy.failure-rate.failure-rate-interval";
pub const FAILURE_RATE_DELAY: &str = "restart-strategy.failure-rate.delay";
// S3 for checkpoint storage, with the keys of Flink's native S3 filesystem (flink-s3-fs-native).
pub const S3_ENDPOINT: &str = "s3.endpoint";
pub const S3_REGION: &str = "s3.region";
pub const S3_PATH_STYLE_ACCESS: &str = "s3.path-style-access";
pub const S3_ACCESS_KEY: &str = "s3.access-key";
pub const S3_SECRET_KEY: &str = "s3.secret-key";
// The cluster's processes: where the JobManager is, and the ports each process serves.
pub const JOBMANAGER_RPC_ADDRESS: &str = "jobmanager.rpc.address";
pub const JOBMANAGER_RPC_PORT: &str = "jobmanager.rpc.port";
pub const REST_PORT: &str = "rest.port";
pub const REST_ADDRESS: &str = "rest.address";
pub const REST_BIND_ADDRESS: &str = "rest.bind-address";
pub const PROMETHEUS_PORT: &str = "metrics.reporter.prom.port";
pub const JOBMANAGER_PROCESS_MEMORY: &str = "jobmanager.memory.process.size";
pub const TASKMANAGER_PROCESS_MEMORY: &str = "taskmanager.memory.process.size";
// The cluster's processes: where they listen, what they advertise, how they keep in touch.
pub const JOBMANAGER_BIND_HOST: &str = "jobmanager.bind-host";
pub const TASKMANAGER_HOST: &str = "taskmanager.host";
pub const TASKMANAGER_BIND_HOST: &str = "taskmanager.bind-host";
pub const TASKMANAGER_RPC_PORT: &str = "taskmanager.rpc.port";
pub const TASKMANAGER_DATA_PORT: &str = "taskmanager.data.port";
pub const TASKMANAGER_RESOURCE_ID: &str = "taskmanager.resource-id";
pub const HEARTBEAT_INTERVAL: &str = "heartbeat.interval";
pub const HEARTBEAT_TIMEOUT: &str = "heartbeat.timeout";
pub const REGISTRATION_INITIAL_TIMEOUT: &str = "cluster.registration.initial-timeout";
pub const REGISTRATION_MAX_TIMEOUT: &str = "cluster.registration.max-timeout";
pub const SLOT_REQUEST_TIMEOUT: &str = "slot.request.timeout";
// JobManager high availability on Kubernetes, with Flink's keys: the leader and the latest
// checkpoint of each job live in a ConfigMap.
pub const HIGH_AVAILABILITY_TYPE: &str = "high-availability.type";
pub const HIGH_AVAILABILITY_STORAGE_DIR: &str = "high-availability.storageDir";
pub const HIGH_AVAILABILITY_CLUSTER_ID: &str = "high-availability.cluster-id";
pub const KUBERNETES_CLUSTER_ID: &str = "kubernetes.cluster-id";
pub const KUBERNETES_NAMESPACE: &str = "kubernetes.namespace";
pub const LEADER_ELECTION_LEASE_DURATION: &str =
    "high-availability.kubernetes.leader-election.lease-duration";
pub const LEADER_ELECTION_RENEW_DEADLINE: &str =
    "high-availability.kubernetes.leader-election.renew-deadline";
pub const LEADER_ELECTION_RETRY_PERIOD: &str =
    "high-availability.kubernetes.leader-election.retry-period";

/// Keys Flink still accepts under an older name: (old name, current name).
pub const DEPRECATED_KEYS: &[(&str, &str)] = &[
    ("state.checkpoints.num-retained", CHECKPOINTS_NUM_RETAINED),
    ("state.checkpoints.dir", CHECKPOINTS_DIRECTORY),
    ("state.savepoints.dir", SAVEPOINT_DIRECTORY),
    ("execution.savepoint.path", STATE_RECOVERY_PATH),
    (
        "execution.savepoint.ignore-unclaimed-state",
        IGNORE_UNCLAIMED_STATE,
    ),
    ("restart-strategy", RESTART_STRATEGY),
    // The fallback keys Flink's S3 options accept (Hadoop's spellings).
    ("s3.path.style.access", S3_PATH_STYLE_ACCESS),
    ("s3.access.key", S3_ACCESS_KEY),
    ("s3.secret.key", S3_SECRET_KEY),
    ("high-availability", HIGH_AVAILABILITY_TYPE),
    (
        "high-availability.zookeeper.storageDir",
        HIGH_AVAILABILITY_STORAGE_DIR,
    ),
    (
        "high-availability.zookeeper.path.cluster-id",
        HIGH_AVAILABILITY_CLUSTER_ID,
    ),
];

/// Every option the runtime reads. Keys follow Flink's names where Flink has one.
pub const OPTIONS: &[ConfigOption] = &[
    ConfigOption {
        key: PARALLELISM_DEFAULT,
        value_type: OptionType::PositiveInt,
        default: "1",
        description: "Parallelism of operators that do not set their own.",
    },
    ConfigOption {
        key: PIPELINE_NAME,
        value_type: OptionType::Text,
        default: "",
        description: "The job's name, shown in logs and the summary line.",
    },
    ConfigOption {
        key: RUNTIME_MODE,
        value_type: OptionType::RuntimeMode,
        default: "streaming",
        description: "streaming (emit updates) or batch (bounded input, final results only).",
    },
    ConfigOption {
        key: AUTO_WATERMARK_INTERVAL,
        value_type: OptionType::Duration,
        default: "200 ms",
        description: "How often periodic watermark generators emit.",
    },
    ConfigOption {
        key: NUMBER_OF_TASK_SLOTS,
        value_type: OptionType::PositiveInt,
        default: "1",
        description: "Slots offered by each TaskManager.",
    },
    ConfigOption {
        key: MAX_PARALLELISM,
        value_type: OptionType::PositiveInt,
        default: "128",
        description: "Number of key groups: the upper bound for rescaling keyed state.",
    },
    ConfigOption {
        key: BUFFER_TIMEOUT,
        value_type: OptionType::Duration,
        default: "100 ms",
        description: "Longest time a partly filled batch waits before it is sent.",
    },
    ConfigOption {
        key: OPERATOR_CHAINING,
        value_type: OptionType::Boolean,
        default: "true",
        description: "Chain forward-connected operators of equal parallelism into one task.",
    },
    ConfigOption {
        key: BATCH_MAX_ROWS,
        value_type: OptionType::PositiveInt,
        default: "4096",
        description: "Most records in one batch sent over a channel.",
    },
    ConfigOption {
        key: BATCH_MAX_BYTES,
        value_type: OptionType::PositiveInt,
        default: "262144",
        description: "Most in-memory bytes of records in one batch sent over a channel.",
    },
    ConfigOption {
        key: CHANNEL_CAPACITY,
        value_type: OptionType::PositiveInt,
        default: "4",
        description: "Batches a channel holds before the sender waits (backpressure).",
    },
    ConfigOption {
        key: CHECKPOINTING_INTERVAL,
        value_type: OptionType::Duration,
        default: "0 ms",
        description: "How often to take a checkpoint; 0 (the default) turns checkpointing off.",
    },
    ConfigOption {
        key: CHECKPOINTING_MIN_PAUSE,
        value_type: OptionType::Duration,
        default: "0 ms",
        description: "Shortest pause between the end of one checkpoint and the start of the next.",
    },
    ConfigOption {
        key: CHECKPOINTING_TIMEOUT,
        value_type: OptionType::Duration,
        default: "10 min",
        description: "A checkpoint not complete after this long is aborted.",
    },
    ConfigOption {
        key: TOLERABLE_FAILED_CHECKPOINTS,
        value_type: OptionType::Count,
        default: "0",
        description: "Consecutive failed checkpoints tolerated before the job fails over.",
    },
    ConfigOption {
        key: CHECKPOINTS_NUM_RETAINED,
        value_type: OptionType::PositiveInt,
        default: "1",
        description: "Completed checkpoints kept; older ones are deleted.",
    },
    ConfigOption {
        key: CHECKPOINTS_DIRECTORY,
        value_type: OptionType::Text,
        default: "",
        description: "Where checkpoints are written (a path, file:// or s3://bucket/prefix); \
                      the system's temporary folder when unset.",
    },
    ConfigOption {
        key: SAVEPOINT_DIRECTORY,
        value_type: OptionType::Text,
        default: "",
        description: "Where savepoints go when their trigger names no folder (a path, file:// \
                      or s3://bucket/prefix).",
    },
    ConfigOption {
        key: SHUTDOWN_ON_APPLICATION_FINISH,
        value_type: OptionType::Boolean,
        default: "true",
        description: "Whether an application-mode JobManager stops when its job has ended; \
                      false keeps it serving the ended job over REST until it is stopped (the \
                      operator sets false, so a finished job is not started again).",
    },
    ConfigOption {
        key: STATE_RECOVERY_PATH,
        value_type: OptionType::Text,
        default: "",
        description: "The checkpoint or savepoint to restore from: a chk-<n> folder or its \
                      _metadata, local or s3://.",
    },
    ConfigOption {
        key: IGNORE_UNCLAIMED_STATE,
        value_type: OptionType::Boolean,
        default: "false",
        description: "Restore even if the checkpoint has state of operators the job lacks.",
    },
    ConfigOption {
        key: EXTERNALIZED_CHECKPOINT_RETENTION,
        value_type: OptionType::CheckpointRetention,
        default: "NO_EXTERNALIZED_CHECKPOINTS",
        description: "What happens to a job's checkpoints when it is cancelled or fails for good: \
                      NO_EXTERNALIZED_CHECKPOINTS (deleted), DELETE_ON_CANCELLATION (kept \
                      after a failure only) or RETAIN_ON_CANCELLATION (kept).",
    },
    ConfigOption {
        key: RESTART_STRATEGY,
        value_type: OptionType::RestartStrategy,
        default: "",
        description: "How a failed job restarts: none (off, disable), fixed-delay, \
                      exponential-delay or failure-rate. Unset: exponential-delay when \
                      checkpointing is on, none when it is off.",
    },
    ConfigOption {
        key: FIXED_DELAY_ATTEMPTS,
        value_type: OptionType::Count,
        default: "1",
        description: "fixed-delay: restarts before the job is declared failed.",
    },
    ConfigOption {
        key: FIXED_DELAY_DELAY,
        value_type: OptionType::Duration,
        default: "1 s",
        description: "fixed-delay: the delay before each restart.",
    },
    ConfigOption {
        key: EXPONENTIAL_DELAY_INITIAL_BACKOFF,
        value_type: OptionType::Duration,
        default: "1 s",
        description: "exponential-delay: the delay before the first restart.",
    },
    ConfigOption {
        key: EXPONENTIAL_DELAY_MAX_BACKOFF,
        value_type: OptionType::Duration,
        default: "1 min",
        description: "exponential-delay: the longest delay before a restart.",
    },
    ConfigOption {
        key: EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER,
        value_type: OptionType::Double,
        default: "1.5",
        description: "exponential-delay: the delay is multiplied by this after every failure.",
    },
    ConfigOption {
        key: EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
        value_type: OptionType::Duration,
        default: "1 h",
        description: "exponential-delay: running this long without failure resets the delay \
                      and the attempt count.",
    },
    ConfigOption {
        key: EXPONENTIAL_DELAY_JITTER_FACTOR,
        value_type: OptionType::Double,
        default: "0.1",
        description: "exponential-delay: a random part of the delay, up to this fraction of \
                      it, is added or subtracted.",
    },
    ConfigOption {
        key: EXPONENTIAL_DELAY_ATTEMPTS,
        value_type: OptionType::Count,
        default: "2147483647",
        description: "exponential-delay: restarts before the job is declared failed (counted \
                      since the delay was last reset); the default is as good as infinite.",
    },
    ConfigOption {
        key: FAILURE_RATE_MAX_FAILURES_PER_INTERVAL,
        value_type: OptionType::PositiveInt,
        default: "1",
        description: "failure-rate: restarts allowed within one failure-rate interval.",
    },
    ConfigOption {
        key: FAILURE_RATE_INTERVAL,
        value_type: OptionType::Duration,
        default: "1 min",
        description: "failure-rate: the interval over which failures are counted.",
    },
    ConfigOption {
        key: FAILURE_RATE_DELAY,
        value_type: OptionType::Duration,
        default: "1 s",
        description: "failure-rate: the delay before each restart.",
    },
    ConfigOption {
        key: S3_ENDPOINT,
        value_type: OptionType::Text,
        default: "",
        description: "The S3 endpoint of MinIO or another S3-compatible store, e.g. \
                      http://127.0.0.1:9000; AWS's own when unset.",
    },
    ConfigOption {
        key: S3_REGION,
        value_type: OptionType::Text,
        default: "",
        description: "The S3 region; from AWS_REGION or the AWS profile when unset (us-east-1 \
                      with s3.endpoint).",
    },
    ConfigOption {
        key: S3_PATH_STYLE_ACCESS,
        value_type: OptionType::Boolean,
        default: "false",
        description: "Address buckets in the path (http://host/bucket/key), as MinIO needs; \
                      on by default when s3.endpoint is set.",
    },
    ConfigOption {
        key: S3_ACCESS_KEY,
        value_type: OptionType::Text,
        default: "",
        description: "The S3 access key; AWS_ACCESS_KEY_ID and the AWS credential chain when \
                      unset.",
    },
    ConfigOption {
        key: S3_SECRET_KEY,
        value_type: OptionType::Text,
        default: "",
        description: "The S3 secret key, set together with s3.access-key.",
    },
    ConfigOption {
        key: JOBMANAGER_RPC_ADDRESS,
        value_type: OptionType::Text,
        default: "localhost",
        description: "The host the JobManager is reached at (TaskManagers connect there).",
    },
    ConfigOption {
        key: JOBMANAGER_RPC_PORT,
        value_type: OptionType::Port,
        default: "6123",
        description: "The JobManager's control-plane port.",
    },
    ConfigOption {
        key: REST_PORT,
        value_type: OptionType::Port,
        default: "8081",
        description: "The port of the REST API (and of `flinkrs run`'s while its job runs); \
                      0 picks a free one.",
    },
    ConfigOption {
        key: REST_ADDRESS,
        value_type: OptionType::Text,
        default: "localhost",
        description: "The address clients use to reach the REST API.",
    },
    ConfigOption {
        key: REST_BIND_ADDRESS,
        value_type: OptionType::Text,
        default: "127.0.0.1",
        description: "The address the REST server binds to; 0.0.0.0 for every interface.",
    },
    ConfigOption {
        key: PROMETHEUS_PORT,
        value_type: OptionType::PortRange,
        default: "9249",
        description: "The port of /metrics in Prometheus's format (Flink's PrometheusReporter), \
                      or a range (9249-9250) from which the first free one is taken.",
    },
    ConfigOption {
        key: JOBMANAGER_PROCESS_MEMORY,
        value_type: OptionType::MemorySize,
        default: "1600m",
        description: "The JobManager process's total memory (informational for now).",
    },
    ConfigOption {
        key: TASKMANAGER_PROCESS_MEMORY,
        value_type: OptionType::MemorySize,
        default: "1728m",
        description: "A TaskManager process's total memory (informational for now).",
    },
    ConfigOption {
        key: JOBMANAGER_BIND_HOST,
        value_type: OptionType::Text,
        default: "0.0.0.0",
        description: "The local address the JobManager's control plane listens on.",
    },
    ConfigOption {
        key: TASKMANAGER_HOST,
        value_type: OptionType::Text,
        default: "",
        description: "The host a TaskManager advertises to the JobManager and the other \
                      TaskManagers (a pod IP); empty means this machine's host name.",
    },
    ConfigOption {
        key: TASKMANAGER_BIND_HOST,
        value_type: OptionType::Text,
        default: "0.0.0.0",
        description: "The local address a TaskManager listens on.",
    },
    ConfigOption {
        key: TASKMANAGER_RPC_PORT,
        value_type: OptionType::Port,
        default: "0",
        description: "A TaskManager's control-plane (gRPC) port; 0 picks a free one.",
    },
    ConfigOption {
        key: TASKMANAGER_DATA_PORT,
        value_type: OptionType::Port,
        default: "0",
        description: "A TaskManager's data-plane port, for records between TaskManagers; \
                      0 picks a free one.",
    },
    ConfigOption {
        key: TASKMANAGER_RESOURCE_ID,
        value_type: OptionType::Text,
        default: "",
        description: "A TaskManager's id; empty means its advertised address and port with a \
                      random suffix.",
    },
    ConfigOption {
        key: HEARTBEAT_INTERVAL,
        value_type: OptionType::Duration,
        default: "10 s",
        description: "How often a TaskManager and the JobManager exchange heartbeats.",
    },
    ConfigOption {
        key: HEARTBEAT_TIMEOUT,
        value_type: OptionType::Duration,
        default: "50 s",
        description: "How long without a heartbeat before the other side counts as lost.",
    },
    ConfigOption {
        key: REGISTRATION_INITIAL_TIMEOUT,
        value_type: OptionType::Duration,
        default: "100 ms",
        description: "A TaskManager's first wait before it retries a failed registration; \
                      each retry waits twice as long.",
    },
    ConfigOption {
        key: REGISTRATION_MAX_TIMEOUT,
        value_type: OptionType::Duration,
        default: "30 s",
        description: "The longest a TaskManager waits between registration attempts.",
    },
    ConfigOption {
        key: SLOT_REQUEST_TIMEOUT,
        value_type: OptionType::Duration,
        default: "5 min",
        description: "How long a job waits for enough free slots before it fails.",
    },
    ConfigOption {
        key: HIGH_AVAILABILITY_TYPE,
        value_type: OptionType::Text,
        default: "NONE",
        description: "JobManager high availability: NONE, or KUBERNETES (also Flink's factory \
                      class name), which keeps the leader and each job's latest checkpoint \
                      in a ConfigMap so a restarted JobManager recovers its job.",
    },
    ConfigOption {
        key: HIGH_AVAILABILITY_STORAGE_DIR,
        value_type: OptionType::Text,
        default: "",
        description: "Accepted for Flink's configurations; the checkpoints themselves hold \
                      the state, so the ConfigMap points at them directly.",
    },
    ConfigOption {
        key: HIGH_AVAILABILITY_CLUSTER_ID,
        value_type: OptionType::Text,
        default: "",
        description: "The cluster's id for high availability, when kubernetes.cluster-id is \
                      not set.",
    },
    ConfigOption {
        key: KUBERNETES_CLUSTER_ID,
        value_type: OptionType::Text,
        default: "",
        description: "The cluster's id: its high-availability ConfigMap is \
                      <cluster-id>-cluster-config-map.",
    },
    ConfigOption {
        key: KUBERNETES_NAMESPACE,
        value_type: OptionType::Text,
        default: "",
        description: "The namespace of the high-availability ConfigMap; unset, the pod's own \
                      namespace, else default.",
    },
    ConfigOption {
        key: LEADER_ELECTION_LEASE_DURATION,
        value_type: OptionType::Duration,
        default: "15 s",
        description: "How long a JobManager's leadership lasts without renewal before \
                      another JobManager may take it.",
    },
    ConfigOption {
        key: LEADER_ELECTION_RENEW_DEADLINE,
        value_type: OptionType::Duration,
        default: "15 s",
        description: "How long the leader keeps trying to renew before it gives up its \
                      leadership and stops.",
    },
    ConfigOption {
        key: LEADER_ELECTION_RETRY_PERIOD,
        value_type: OptionType::Duration,
        default: "5 s",
        description: "How often the leader renews, and a candidate tries to take the lead.",
    },
];

/// The declared option `key`, under its current name.
pub fn find_option(key: &str) -> Option<&'static ConfigOption> {
    OPTIONS.iter().find(|option| option.key == key)
}

/// The current name of `key`: itself, or the name Flink renamed it to ([`DEPRECATED_KEYS`]).
pub fn current_key(key: &str) -> &str {
    DEPRECATED_KEYS
        .iter()
        .find(|(old, _)| *old == key)
        .map_or(key, |(_, current)| current)
}

/// Whether the runtime accepts `key`, under its current or an older name.
pub fn is_known_key(key: &str) -> bool {
    find_option(current_key(key)).is_some()
}
