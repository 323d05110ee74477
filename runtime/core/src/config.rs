//! Configuration with Flink's keys.
//!
//! Every key the runtime understands is declared once in [`OPTIONS`], with its type and
//! default. Setting an unknown key, or a value that does not parse, is an error that names the
//! key and says what is expected: a typo must never be silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::cluster_options::CLUSTER_OPTIONS;
use crate::error::{Error, Result};
use crate::key_group::DEFAULT_MAX_PARALLELISM;

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
    /// `restart-strategy.type`: one of [`RestartStrategyType`]'s names.
    RestartStrategy,
    /// One of [`ExternalizedCheckpointRetention`]'s names.
    CheckpointRetention,
    /// A TCP port, 0 to 65535 (0: pick a free one).
    Port,
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
];

/// Whether to emit updates as they happen or final results at the end of bounded input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeMode {
    Streaming,
    Batch,
}

impl FromStr for RuntimeMode {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "streaming" => Ok(RuntimeMode::Streaming),
            "batch" => Ok(RuntimeMode::Batch),
            other => Err(format!(
                "'{other}' is not a runtime mode; use 'streaming' or 'batch'"
            )),
        }
    }
}

impl fmt::Display for RuntimeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RuntimeMode::Streaming => "STREAMING",
            RuntimeMode::Batch => "BATCH",
        })
    }
}

/// `restart-strategy.type`: how a failed job restarts. Flink's names and aliases are accepted,
/// in any case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartStrategyType {
    /// `none`, `off` or `disable`: the first failure fails the job.
    NoRestart,
    /// `fixed-delay` or `fixeddelay`.
    FixedDelay,
    /// `exponential-delay` or `exponentialdelay`.
    ExponentialDelay,
    /// `failure-rate` or `failurerate`.
    FailureRate,
}

impl FromStr for RestartStrategyType {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "off" | "disable" => Ok(RestartStrategyType::NoRestart),
            "fixed-delay" | "fixeddelay" => Ok(RestartStrategyType::FixedDelay),
            "exponential-delay" | "exponentialdelay" => Ok(RestartStrategyType::ExponentialDelay),
            "failure-rate" | "failurerate" => Ok(RestartStrategyType::FailureRate),
            _ => Err(format!(
                "'{text}' is not a restart strategy; use none, fixed-delay, exponential-delay \
                 or failure-rate"
            )),
        }
    }
}

impl fmt::Display for RestartStrategyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RestartStrategyType::NoRestart => "none",
            RestartStrategyType::FixedDelay => "fixed-delay",
            RestartStrategyType::ExponentialDelay => "exponential-delay",
            RestartStrategyType::FailureRate => "failure-rate",
        })
    }
}

/// `execution.checkpointing.externalized-checkpoint-retention`: whether a job's checkpoints
/// outlive it. Flink's values; case does not matter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExternalizedCheckpointRetention {
    /// Deleted when the job is cancelled or fails for good (Flink's default).
    NoExternalizedCheckpoints,
    /// Kept when the job fails for good, deleted when it is cancelled.
    DeleteOnCancellation,
    /// Kept when the job is cancelled or fails for good.
    RetainOnCancellation,
}

impl ExternalizedCheckpointRetention {
    /// Whether the checkpoints stay after the job was cancelled.
    pub fn retains_on_cancellation(self) -> bool {
        self == ExternalizedCheckpointRetention::RetainOnCancellation
    }

    /// Whether the checkpoints stay after the job failed and will not restart.
    pub fn retains_on_failure(self) -> bool {
        self != ExternalizedCheckpointRetention::NoExternalizedCheckpoints
    }
}

impl FromStr for ExternalizedCheckpointRetention {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text.trim().to_ascii_uppercase().as_str() {
            "NO_EXTERNALIZED_CHECKPOINTS" => {
                Ok(ExternalizedCheckpointRetention::NoExternalizedCheckpoints)
            }
            "DELETE_ON_CANCELLATION" => Ok(ExternalizedCheckpointRetention::DeleteOnCancellation),
            "RETAIN_ON_CANCELLATION" => Ok(ExternalizedCheckpointRetention::RetainOnCancellation),
            _ => Err(format!(
                "'{text}' is not a checkpoint retention; use NO_EXTERNALIZED_CHECKPOINTS, \
                 DELETE_ON_CANCELLATION or RETAIN_ON_CANCELLATION"
            )),
        }
    }
}

impl fmt::Display for ExternalizedCheckpointRetention {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExternalizedCheckpointRetention::NoExternalizedCheckpoints => {
                "NO_EXTERNALIZED_CHECKPOINTS"
            }
            ExternalizedCheckpointRetention::DeleteOnCancellation => "DELETE_ON_CANCELLATION",
            ExternalizedCheckpointRetention::RetainOnCancellation => "RETAIN_ON_CANCELLATION",
        })
    }
}

/// Parses a duration the way Flink's `TimeUtils.parseDuration` does: a number and an optional
/// unit (`ms`, `s`, `min`, `h`, `d` and their long forms); no unit means milliseconds.
pub fn parse_duration(text: &str) -> std::result::Result<Duration, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let amount: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration; write e.g. '200 ms', '10 s', '1 min'"))?;
    let millis_per_unit = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "min" | "m" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        other => {
            return Err(format!(
                "'{other}' is not a time unit in '{text}'; use ms, s, min, h or d"
            ));
        }
    };
    Ok(Duration::from_millis(
        amount.saturating_mul(millis_per_unit),
    ))
}

fn validate(option: &ConfigOption, value: &str) -> std::result::Result<(), String> {
    match option.value_type {
        OptionType::PositiveInt => match value.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(()),
            _ => Err(format!("'{value}' is not a whole number of at least 1")),
        },
        OptionType::Duration => parse_duration(value).map(|_| ()),
        OptionType::RuntimeMode => value.parse::<RuntimeMode>().map(|_| ()),
        OptionType::Boolean => match value.trim() {
            "true" | "false" => Ok(()),
            _ => Err(format!("'{value}' is not a boolean; use 'true' or 'false'")),
        },
        OptionType::Count => match value.trim().parse::<u32>() {
            Ok(_) => Ok(()),
            _ => Err(format!("'{value}' is not a whole number of at least 0")),
        },
        OptionType::Double => match value.trim().parse::<f64>() {
            Ok(number) if number.is_finite() => Ok(()),
            _ => Err(format!("'{value}' is not a number; write e.g. '1.5'")),
        },
        OptionType::RestartStrategy => value.parse::<RestartStrategyType>().map(|_| ()),
        OptionType::CheckpointRetention => {
            value.parse::<ExternalizedCheckpointRetention>().map(|_| ())
        }
        OptionType::Port => match value.trim().parse::<u16>() {
            Ok(_) => Ok(()),
            _ => Err(format!(
                "'{value}' is not a port; use a number from 0 to 65535"
            )),
        },
        OptionType::Text => Ok(()),
    }
}

/// Looks up a declared option.
pub fn find_option(key: &str) -> Option<&'static ConfigOption> {
    all_options().find(|option| option.key == key)
}

/// Every declared option: the job's ([`OPTIONS`]) and the cluster's processes'
/// ([`CLUSTER_OPTIONS`]).
pub fn all_options() -> impl Iterator<Item = &'static ConfigOption> {
    OPTIONS.iter().chain(CLUSTER_OPTIONS)
}

/// Validated key/value configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Configuration {
    entries: BTreeMap<String, String>,
}

impl Configuration {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets a key, rejecting unknown keys and malformed values with a message that names them.
    /// A key Flink has renamed is accepted under its old name too, and stored under the new
    /// one ([`DEPRECATED_KEYS`]).
    pub fn set(&mut self, key: &str, value: impl Into<String>) -> Result<()> {
        let value = value.into();
        let key = DEPRECATED_KEYS
            .iter()
            .find(|(old, _)| *old == key)
            .map_or(key, |(_, current)| current);
        let option = find_option(key).ok_or_else(|| {
            let known: Vec<&str> = all_options().map(|option| option.key).collect();
            Error::config(
                key,
                format!("unknown key; known keys are: {}", known.join(", ")),
            )
        })?;
        validate(option, &value).map_err(|message| Error::config(key, message))?;
        self.entries.insert(key.to_owned(), value.trim().to_owned());
        Ok(())
    }

    /// Parses a `-D key=value` dynamic property and sets it.
    pub fn set_dynamic_property(&mut self, property: &str) -> Result<()> {
        let (key, value) = property.split_once('=').ok_or_else(|| {
            Error::config(property, "a dynamic property is written '-D key=value'")
        })?;
        self.set(key.trim(), value)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Every explicitly set entry, in key order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// A text option as set, or its default (an option of type [`OptionType::Text`]).
    pub fn text(&self, key: &str) -> &str {
        self.raw(key)
    }

    fn raw(&self, key: &str) -> &str {
        self.get(key)
            .or_else(|| find_option(key).map(|option| option.default))
            .unwrap_or_default()
    }

    fn positive_int(&self, key: &str) -> usize {
        // Values were validated on `set`; defaults are known-good.
        self.raw(key).parse().unwrap_or(1)
    }

    fn duration(&self, key: &str) -> Duration {
        parse_duration(self.raw(key)).unwrap_or_default()
    }

    pub fn parallelism(&self) -> usize {
        self.positive_int(PARALLELISM_DEFAULT)
    }

    pub fn max_parallelism(&self) -> usize {
        self.get(MAX_PARALLELISM)
            .and_then(|v| v.parse().ok())
            .unwrap_or(DEFAULT_MAX_PARALLELISM)
    }

    pub fn runtime_mode(&self) -> RuntimeMode {
        self.raw(RUNTIME_MODE)
            .parse()
            .unwrap_or(RuntimeMode::Streaming)
    }

    pub fn pipeline_name(&self) -> Option<&str> {
        self.get(PIPELINE_NAME).filter(|name| !name.is_empty())
    }

    pub fn auto_watermark_interval(&self) -> Duration {
        self.duration(AUTO_WATERMARK_INTERVAL)
    }

    pub fn slots_per_task_manager(&self) -> usize {
        self.positive_int(NUMBER_OF_TASK_SLOTS)
    }

    pub fn buffer_timeout(&self) -> Duration {
        self.duration(BUFFER_TIMEOUT)
    }

    pub fn operator_chaining(&self) -> bool {
        self.raw(OPERATOR_CHAINING) == "true"
    }

    pub fn batch_max_rows(&self) -> usize {
        self.positive_int(BATCH_MAX_ROWS)
    }

    pub fn batch_max_bytes(&self) -> usize {
        self.positive_int(BATCH_MAX_BYTES)
    }

    pub fn channel_capacity(&self) -> usize {
        self.positive_int(CHANNEL_CAPACITY)
    }

    /// The checkpoint interval, or `None` when checkpointing is off.
    pub fn checkpoint_interval(&self) -> Option<Duration> {
        Some(self.duration(CHECKPOINTING_INTERVAL)).filter(|interval| !interval.is_zero())
    }

    pub fn checkpoint_min_pause(&self) -> Duration {
        self.duration(CHECKPOINTING_MIN_PAUSE)
    }

    pub fn checkpoint_timeout(&self) -> Duration {
        self.duration(CHECKPOINTING_TIMEOUT)
    }

    pub fn tolerable_failed_checkpoints(&self) -> u32 {
        self.raw(TOLERABLE_FAILED_CHECKPOINTS).parse().unwrap_or(0)
    }

    pub fn checkpoints_num_retained(&self) -> usize {
        self.positive_int(CHECKPOINTS_NUM_RETAINED)
    }

    /// `execution.state-recovery.path`, if set.
    pub fn state_recovery_path(&self) -> Option<&str> {
        self.get(STATE_RECOVERY_PATH)
            .filter(|path| !path.is_empty())
    }

    pub fn ignore_unclaimed_state(&self) -> bool {
        self.raw(IGNORE_UNCLAIMED_STATE) == "true"
    }

    /// `restart-strategy.type` as set, if it is: the default depends on whether checkpointing
    /// is on.
    pub fn restart_strategy_type(&self) -> Option<RestartStrategyType> {
        self.get(RESTART_STRATEGY)
            .and_then(|value| value.parse().ok())
    }

    /// A whole number, zero allowed (an option of type [`OptionType::Count`]).
    pub fn count(&self, key: &str) -> u32 {
        self.raw(key).parse().unwrap_or(0)
    }

    /// A positive whole number (an option of type [`OptionType::PositiveInt`]).
    pub fn positive_count(&self, key: &str) -> usize {
        self.positive_int(key)
    }

    /// A duration (an option of type [`OptionType::Duration`]).
    pub fn duration_of(&self, key: &str) -> Duration {
        self.duration(key)
    }

    /// A decimal number (an option of type [`OptionType::Double`]).
    pub fn double(&self, key: &str) -> f64 {
        self.raw(key).trim().parse().unwrap_or(0.0)
    }

    pub fn externalized_checkpoint_retention(&self) -> ExternalizedCheckpointRetention {
        self.raw(EXTERNALIZED_CHECKPOINT_RETENTION)
            .parse()
            .unwrap_or(ExternalizedCheckpointRetention::NoExternalizedCheckpoints)
    }

    /// `execution.checkpointing.dir` as set, if it is.
    pub fn checkpoints_directory(&self) -> Option<&str> {
        self.get(CHECKPOINTS_DIRECTORY)
            .filter(|dir| !dir.is_empty())
    }

    /// `execution.checkpointing.savepoint-dir`, if set.
    pub fn savepoint_directory(&self) -> Option<&str> {
        self.get(SAVEPOINT_DIRECTORY).filter(|dir| !dir.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let error = Configuration::new()
            .set("parallelism.defualt", "2")
            .unwrap_err();
        let message = error.to_string();
        assert!(message.starts_with("configuration key 'parallelism.defualt': unknown key;"));
        assert!(message.contains("parallelism.default"));
    }

    #[test]
    fn malformed_values_are_rejected() {
        let mut config = Configuration::new();
        assert_eq!(
            config
                .set("parallelism.default", "zero")
                .unwrap_err()
                .to_string(),
            "configuration key 'parallelism.default': 'zero' is not a whole number of at least 1"
        );
        assert_eq!(
            config
                .set("execution.runtime-mode", "micro")
                .unwrap_err()
                .to_string(),
            "configuration key 'execution.runtime-mode': 'micro' is not a runtime mode; use \
             'streaming' or 'batch'"
        );
        assert_eq!(
            config
                .set_dynamic_property("pipeline.name")
                .unwrap_err()
                .to_string(),
            "configuration key 'pipeline.name': a dynamic property is written '-D key=value'"
        );
        assert_eq!(
            config,
            Configuration::new(),
            "a rejected value changes nothing"
        );
    }

    #[test]
    fn typed_getters_read_values_and_defaults() {
        let mut config = Configuration::new();
        assert_eq!(config.parallelism(), 1);
        assert_eq!(config.max_parallelism(), 128);
        assert_eq!(config.auto_watermark_interval(), Duration::from_millis(200));
        config
            .set_dynamic_property("parallelism.default=4")
            .unwrap();
        config.set("execution.runtime-mode", "BATCH").unwrap();
        config
            .set("pipeline.auto-watermark-interval", "2 s")
            .unwrap();
        assert_eq!(config.parallelism(), 4);
        assert_eq!(config.runtime_mode(), RuntimeMode::Batch);
        assert_eq!(config.auto_watermark_interval(), Duration::from_secs(2));
    }

    #[test]
    fn durations_parse_like_flink() {
        assert_eq!(parse_duration("250").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("10 s").unwrap(), Duration::from_secs(10));
        assert_eq!(parse_duration("1min").unwrap(), Duration::from_secs(60));
        assert!(parse_duration("ten seconds").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }

    #[test]
    fn s3_keys_are_accepted_under_flinks_names_and_fallback_names() {
        let mut config = Configuration::new();
        config
            .set_dynamic_property("s3.endpoint=http://127.0.0.1:9000")
            .unwrap();
        config.set("s3.region", "eu-west-1").unwrap();
        // The Hadoop-style spellings Flink falls back to are stored under the current keys.
        config.set("s3.path.style.access", "true").unwrap();
        config.set("s3.access.key", "AK").unwrap();
        config.set("s3.secret.key", "SK").unwrap();
        let entries: Vec<(&str, &str)> = config.entries().collect();
        assert_eq!(
            entries,
            [
                ("s3.access-key", "AK"),
                ("s3.endpoint", "http://127.0.0.1:9000"),
                ("s3.path-style-access", "true"),
                ("s3.region", "eu-west-1"),
                ("s3.secret-key", "SK"),
            ]
        );
        let error = config
            .set("s3.path-style-access", "yes")
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "configuration key 's3.path-style-access': 'yes' is not a boolean; use 'true' or \
             'false'"
        );
    }

    #[test]
    fn checkpointing_is_off_by_default_and_takes_flinks_keys() {
        let mut config = Configuration::new();
        assert_eq!(config.checkpoint_interval(), None);
        assert_eq!(config.checkpoint_timeout(), Duration::from_secs(600));
        assert_eq!(config.tolerable_failed_checkpoints(), 0);
        assert_eq!(config.checkpoints_num_retained(), 1);
        config
            .set("execution.checkpointing.interval", "10 s")
            .unwrap();
        config
            .set("execution.checkpointing.tolerable-failed-checkpoints", "0")
            .unwrap();
        // Flink's deprecated name is accepted and stored under the current one.
        config.set("state.checkpoints.num-retained", "3").unwrap();
        assert_eq!(config.checkpoint_interval(), Some(Duration::from_secs(10)));
        assert_eq!(config.checkpoints_num_retained(), 3);
        assert_eq!(
            config.get("execution.checkpointing.num-retained"),
            Some("3")
        );
        let error = config
            .set("execution.checkpointing.tolerable-failed-checkpoints", "-1")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("'-1' is not a whole number of at least 0"),
            "{error}"
        );
    }

    #[test]
    fn restart_strategy_keys_take_flinks_names_aliases_and_defaults() {
        let mut config = Configuration::new();
        assert_eq!(
            config.restart_strategy_type(),
            None,
            "unset: depends on checkpointing"
        );
        assert_eq!(config.count(FIXED_DELAY_ATTEMPTS), 1);
        assert_eq!(
            config.duration_of(FIXED_DELAY_DELAY),
            Duration::from_secs(1)
        );
        assert_eq!(config.double(EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER), 1.5);
        assert_eq!(config.double(EXPONENTIAL_DELAY_JITTER_FACTOR), 0.1);
        assert_eq!(
            config.duration_of(EXPONENTIAL_DELAY_MAX_BACKOFF),
            Duration::from_secs(60)
        );
        assert_eq!(config.count(EXPONENTIAL_DELAY_ATTEMPTS), i32::MAX as u32);
        for (value, expected) in [
            ("off", RestartStrategyType::NoRestart),
            ("disable", RestartStrategyType::NoRestart),
            ("None", RestartStrategyType::NoRestart),
            ("fixeddelay", RestartStrategyType::FixedDelay),
            ("exponential-delay", RestartStrategyType::ExponentialDelay),
            ("FailureRate", RestartStrategyType::FailureRate),
        ] {
            config.set(RESTART_STRATEGY, value).unwrap();
            assert_eq!(config.restart_strategy_type(), Some(expected), "{value}");
        }
        // Flink's older key is accepted and stored under the current one.
        config.set("restart-strategy", "fixed-delay").unwrap();
        assert_eq!(config.get(RESTART_STRATEGY), Some("fixed-delay"));
        assert_eq!(
            config
                .set(RESTART_STRATEGY, "sometimes")
                .unwrap_err()
                .to_string(),
            "configuration key 'restart-strategy.type': 'sometimes' is not a restart strategy; \
             use none, fixed-delay, exponential-delay or failure-rate"
        );
        assert_eq!(
            config
                .set(EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER, "twice")
                .unwrap_err()
                .to_string(),
            "configuration key 'restart-strategy.exponential-delay.backoff-multiplier': 'twice' \
             is not a number; write e.g. '1.5'"
        );
    }

    #[test]
    fn checkpoint_retention_defaults_to_flinks_and_parses_any_case() {
        let mut config = Configuration::new();
        assert_eq!(
            config.externalized_checkpoint_retention(),
            ExternalizedCheckpointRetention::NoExternalizedCheckpoints
        );
        config
            .set(EXTERNALIZED_CHECKPOINT_RETENTION, "retain_on_cancellation")
            .unwrap();
        let retention = config.externalized_checkpoint_retention();
        assert_eq!(
            retention,
            ExternalizedCheckpointRetention::RetainOnCancellation
        );
        assert!(retention.retains_on_cancellation() && retention.retains_on_failure());
        let delete = ExternalizedCheckpointRetention::DeleteOnCancellation;
        assert!(!delete.retains_on_cancellation() && delete.retains_on_failure());
        let error = config
            .set(EXTERNALIZED_CHECKPOINT_RETENTION, "KEEP")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains(
                "use NO_EXTERNALIZED_CHECKPOINTS, DELETE_ON_CANCELLATION or RETAIN_ON_CANCELLATION"
            ),
            "{error}"
        );
    }
}
