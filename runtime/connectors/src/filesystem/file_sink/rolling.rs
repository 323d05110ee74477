//! When a part file rolls: [`RollingPolicy`], Flink's `DefaultRollingPolicy` with the option
//! names and defaults of Flink's SQL filesystem connector, and the [`Clock`] it is read with.
//!
//! Whatever the policy, the [`FileSink`](super::FileSink) also rolls at every checkpoint, as
//! Flink's `OnCheckpointRollingPolicy` does: a checkpoint closes the in-progress file, so what
//! it holds is committed when the checkpoint completes.

use std::fmt::Debug;
use std::time::Duration;

use flinkrs_core::config::parse_duration;
use flinkrs_core::time::now_millis;
use flinkrs_core::{Error, Result};

/// `sink.rolling-policy.file-size`: the part file size above which it rolls.
pub const FILE_SIZE: &str = "sink.rolling-policy.file-size";
/// `sink.rolling-policy.rollover-interval`: the longest a part file stays open.
pub const ROLLOVER_INTERVAL: &str = "sink.rolling-policy.rollover-interval";
/// `sink.rolling-policy.inactivity-interval`: the longest a part file stays open unwritten.
pub const INACTIVITY_INTERVAL: &str = "sink.rolling-policy.inactivity-interval";
/// `sink.rolling-policy.check-interval`: how often the two intervals are checked.
pub const CHECK_INTERVAL: &str = "sink.rolling-policy.check-interval";

const MIB: u64 = 1024 * 1024;

/// When the in-progress part file is closed and a new one started, as Flink's
/// `DefaultRollingPolicy`:
///
/// - on a record, when the file has grown **above** `max_part_size` (so a file may exceed it
///   by one record, as in Flink);
/// - on a check, every `check_interval`, when the file has been open for `rollover_interval`
///   or unwritten for `inactivity_interval`.
///
/// The defaults are those of Flink's SQL filesystem connector: 128 MiB, 30 min, 30 min and
/// 1 min. Set them with the `with_*` methods or by option name with
/// [`set_option`](Self::set_option).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollingPolicy {
    pub max_part_size: u64,
    pub rollover_interval: Duration,
    pub inactivity_interval: Duration,
    pub check_interval: Duration,
}

impl Default for RollingPolicy {
    fn default() -> Self {
        RollingPolicy {
            max_part_size: 128 * MIB,
            rollover_interval: Duration::from_secs(30 * 60),
            inactivity_interval: Duration::from_secs(30 * 60),
            check_interval: Duration::from_secs(60),
        }
    }
}

/// What the policy looks at: the in-progress part file's size and times (epoch milliseconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartFileInfo {
    pub size: u64,
    pub created_at: i64,
    pub last_written_at: i64,
}

impl RollingPolicy {
    pub fn with_max_part_size(mut self, bytes: u64) -> Self {
        self.max_part_size = bytes;
        self
    }

    pub fn with_rollover_interval(mut self, interval: Duration) -> Self {
        self.rollover_interval = interval;
        self
    }

    pub fn with_inactivity_interval(mut self, interval: Duration) -> Self {
        self.inactivity_interval = interval;
        self
    }

    pub fn with_check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval;
        self
    }

    /// Sets one option by the SQL filesystem connector's name: `sink.rolling-policy.file-size`
    /// (a memory size such as `128mb`, `64 KiB` or `1024`), or one of the intervals (a
    /// duration such as `30 min` or `10 s`). An unknown name or a malformed value is an error
    /// that names the option.
    pub fn set_option(&mut self, key: &str, value: &str) -> Result<()> {
        let invalid = |message: String| Error::config(key, message);
        match key {
            FILE_SIZE => self.max_part_size = parse_memory_size(value).map_err(invalid)?,
            ROLLOVER_INTERVAL => self.rollover_interval = parse_duration(value).map_err(invalid)?,
            INACTIVITY_INTERVAL => {
                self.inactivity_interval = parse_duration(value).map_err(invalid)?;
            }
            CHECK_INTERVAL => self.check_interval = parse_duration(value).map_err(invalid)?,
            _ => {
                return Err(invalid(format!(
                    "not an option of the file sink's rolling policy; the options are \
                     {FILE_SIZE}, {ROLLOVER_INTERVAL}, {INACTIVITY_INTERVAL} and {CHECK_INTERVAL}"
                )));
            }
        }
        self.validate()
    }

    /// Every size and interval must be positive, as Flink requires.
    pub fn validate(&self) -> Result<()> {
        let zero = |key: &str| Err(Error::config(key, "must be greater than zero"));
        if self.max_part_size == 0 {
            return zero(FILE_SIZE);
        }
        if self.rollover_interval.is_zero() {
            return zero(ROLLOVER_INTERVAL);
        }
        if self.inactivity_interval.is_zero() {
            return zero(INACTIVITY_INTERVAL);
        }
        if self.check_interval.is_zero() {
            return zero(CHECK_INTERVAL);
        }
        Ok(())
    }

    /// Flink's `shouldRollOnEvent`: checked before each record is written.
    pub fn should_roll_on_event(&self, part: &PartFileInfo) -> bool {
        part.size > self.max_part_size
    }

    /// Flink's `shouldRollOnProcessingTime`: checked every `check_interval`.
    pub fn should_roll_on_processing_time(&self, part: &PartFileInfo, now_millis: i64) -> bool {
        let reached = |since: i64, interval: Duration| {
            now_millis.saturating_sub(since)
                >= i64::try_from(interval.as_millis()).unwrap_or(i64::MAX)
        };
        reached(part.created_at, self.rollover_interval)
            || reached(part.last_written_at, self.inactivity_interval)
    }
}

/// Parses a memory size as Flink's `MemorySize` does: a number with an optional unit, binary
/// multiples: `b`/`bytes`, `k`/`kb`/`kibibytes`, `m`/`mb`/`mebibytes`, `g`/`gb`/`gibibytes`,
/// `t`/`tb`/`tebibytes` (and `kib`, `mib`, `gib`, `tib`), in any case.
pub fn parse_memory_size(text: &str) -> std::result::Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let amount: u64 = number.parse().map_err(|_| {
        format!("'{text}' is not a memory size; write e.g. '128mb', '64 kb', '1gb'")
    })?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kib" | "kibibytes" => 1024,
        "m" | "mb" | "mib" | "mebibytes" => MIB,
        "g" | "gb" | "gib" | "gibibytes" => 1024 * MIB,
        "t" | "tb" | "tib" | "tebibytes" => 1024 * 1024 * MIB,
        other => {
            return Err(format!(
                "'{other}' is not a memory unit in '{text}'; use b, kb, mb, gb or tb"
            ));
        }
    };
    amount
        .checked_mul(multiplier)
        .ok_or_else(|| format!("'{text}' is too large"))
}

/// Processing time for the sink: the system clock, or a clock a test moves by hand.
pub trait Clock: Send + Sync + Debug {
    /// Milliseconds since the epoch.
    fn now_millis(&self) -> i64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        now_millis()
    }
}
