//! Configuration with Flink's keys.
//!
//! Every key the runtime understands is declared once in [`OPTIONS`], with its type and
//! default. Setting an unknown key, or a value that does not parse, is an error that names the
//! key and says what is expected: a typo must never be silently ignored.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::key_group::DEFAULT_MAX_PARALLELISM;

/// The registry itself, Flink's key names with their types and defaults, lives in the contract
/// crate that the operator shares (architecture decision 13); it is re-exported here so the
/// runtime names keys as `flinkrs_core::config::PARALLELISM_DEFAULT`.
pub use flinkrs_contract::config::*;

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
        OptionType::PortRange => parse_port_range(value).map(|_| ()),
        OptionType::MemorySize => parse_memory_size(value).map(|_| ()),
        OptionType::Text => Ok(()),
    }
}

/// Parses Flink's port list: `9249`, `9249-9250`, or several of these separated by commas. The
/// ports in the order to try them.
pub fn parse_port_range(text: &str) -> std::result::Result<Vec<u16>, String> {
    let invalid =
        || format!("'{text}' is not a port or port range; write e.g. '9249' or '9249-9250'");
    let mut ports = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (first.trim(), last.trim()),
            None => (part, part),
        };
        let first: u16 = first.parse().map_err(|_| invalid())?;
        let last: u16 = last.parse().map_err(|_| invalid())?;
        if first > last {
            return Err(invalid());
        }
        ports.extend(first..=last);
    }
    Ok(ports)
}

/// Parses a memory size as Flink's `MemorySize.parse` does: a number and an optional unit
/// (bytes when none). Returns the bytes.
pub fn parse_memory_size(text: &str) -> std::result::Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let invalid = || format!("'{text}' is not a memory size; write e.g. '1536m' or '2g'");
    let amount: u64 = number.parse().map_err(|_| invalid())?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 0,
        "k" | "kb" | "kibibytes" => 10,
        "m" | "mb" | "mebibytes" => 20,
        "g" | "gb" | "gibibytes" => 30,
        "t" | "tb" | "tebibytes" => 40,
        _ => return Err(invalid()),
    };
    amount.checked_mul(1 << shift).ok_or_else(invalid)
}

/// Validated key/value configuration. Its `Debug` hides secrets as
/// [`Configuration::redacted_entries`] does.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Configuration {
    entries: BTreeMap<String, String>,
}

impl fmt::Debug for Configuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.redacted_entries()).finish()
    }
}

/// What a secret's value is shown as, as Flink shows it.
pub const HIDDEN_CONTENT: &str = "******";

/// Whether `key` holds a secret (a password, secret key, token or credentials), whose value
/// is never shown: Flink's `GlobalConfiguration.isSensitive` rule.
pub fn is_sensitive(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "password",
        "secret",
        "fs.azure.account.key",
        "apikey",
        "api-key",
        "auth-params",
        "service-key",
        "token",
        "basic-auth",
        "jaas.config",
        "http-headers",
    ]
    .iter()
    .any(|part| key.contains(part))
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
        let key = current_key(key);
        let option = find_option(key).ok_or_else(|| {
            let known: Vec<&str> = OPTIONS.iter().map(|option| option.key).collect();
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

    /// Every explicitly set entry, in key order, with the value of each secret
    /// ([`is_sensitive`]) shown as [`HIDDEN_CONTENT`]: what logs and the REST API show.
    pub fn redacted_entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries().map(|(key, value)| {
            if is_sensitive(key) {
                (key, HIDDEN_CONTENT)
            } else {
                (key, value)
            }
        })
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

    /// `rest.port`: where the REST API listens (0: any free port).
    pub fn rest_port(&self) -> u16 {
        self.raw(REST_PORT).trim().parse().unwrap_or(8081)
    }

    /// `rest.bind-address`: the address the REST server binds to.
    pub fn rest_bind_address(&self) -> &str {
        self.raw(REST_BIND_ADDRESS)
    }

    /// `metrics.reporter.prom.port`: the ports to try for `/metrics`, in order.
    pub fn prometheus_ports(&self) -> Vec<u16> {
        parse_port_range(self.raw(PROMETHEUS_PORT)).unwrap_or_else(|_| vec![9249])
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

    #[test]
    fn every_declared_default_is_a_valid_value_and_every_key_is_declared_once() {
        let mut keys = std::collections::BTreeSet::new();
        for option in OPTIONS {
            assert!(keys.insert(option.key), "{} declared twice", option.key);
            if !option.default.is_empty() {
                validate(option, option.default)
                    .unwrap_or_else(|error| panic!("{}: {error}", option.key));
            }
        }
        for (old, current) in DEPRECATED_KEYS {
            assert!(
                find_option(current).is_some(),
                "{old} maps to undeclared {current}"
            );
            assert!(
                find_option(old).is_none(),
                "{old} is both deprecated and declared"
            );
        }
    }

    #[test]
    fn cluster_keys_take_ports_port_ranges_and_memory_sizes() {
        let mut config = Configuration::new();
        config.set(REST_PORT, "0").unwrap();
        config.set(PROMETHEUS_PORT, "9249-9250").unwrap();
        config.set(TASKMANAGER_PROCESS_MEMORY, "1536m").unwrap();
        assert_eq!(
            parse_port_range("9249-9251,9300").unwrap(),
            [9249, 9250, 9251, 9300]
        );
        assert_eq!(parse_memory_size("2g").unwrap(), 2 << 30);
        assert_eq!(parse_memory_size("201326592b").unwrap(), 201_326_592);
        assert_eq!(
            config.set(REST_PORT, "70000").unwrap_err().to_string(),
            "configuration key 'rest.port': '70000' is not a port; use a number from 0 to 65535"
        );
        assert_eq!(
            config
                .set(PROMETHEUS_PORT, "9250-9249")
                .unwrap_err()
                .to_string(),
            "configuration key 'metrics.reporter.prom.port': '9250-9249' is not a port or port \
             range; write e.g. '9249' or '9249-9250'"
        );
        assert_eq!(
            config
                .set(JOBMANAGER_PROCESS_MEMORY, "2 fortnights")
                .unwrap_err()
                .to_string(),
            "configuration key 'jobmanager.memory.process.size': '2 fortnights' is not a memory \
             size; write e.g. '1536m' or '2g'"
        );
        assert_eq!(config.get(REST_PORT), Some("0"));
    }

    #[test]
    fn secrets_are_hidden_from_debug_and_from_the_shown_entries() {
        let mut config = Configuration::new();
        config.set("s3.secret-key", "hunter2").unwrap();
        config.set("s3.access-key", "minio").unwrap();
        assert_eq!(
            format!("{config:?}"),
            r#"{"s3.access-key": "minio", "s3.secret-key": "******"}"#
        );
        let shown: Vec<(&str, &str)> = config.redacted_entries().collect();
        assert_eq!(
            shown,
            [("s3.access-key", "minio"), ("s3.secret-key", "******")]
        );
        assert_eq!(config.get("s3.secret-key"), Some("hunter2"));
        assert!(is_sensitive("sasl.jaas.config"));
        assert!(!is_sensitive("execution.checkpointing.dir"));
    }
}
