//! Partition commit of the `filesystem` sink, as Flink's `sink.partition-commit.*` options
//! define it: when a partition of a `PARTITIONED BY` table is complete, its commit policies
//! run; `success-file` writes an empty file (`_SUCCESS`) into the partition's folder.
//!
//! A partition is committable once the files written into it are committed (their checkpoint
//! completed, on every writer subtask) and its trigger says so:
//! - `process-time`: `sink.partition-commit.delay` after the committer first heard of it (no
//!   delay: at once);
//! - `partition-time`: once the watermark, at that checkpoint, is past the time its values
//!   give (`partition.time-extractor.timestamp-pattern`, in
//!   `sink.partition-commit.watermark-time-zone`) plus the delay.
//!
//! At the end of a bounded input every partition left is committed. The writers and the
//! committer are in [`super::partition_committer`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{NaiveDate, NaiveDateTime};
use flinkrs_core::config::parse_duration;

use crate::catalog::TableDefinition;
use crate::error::{Error, Result};

pub(crate) const TRIGGER: &str = "sink.partition-commit.trigger";
pub(crate) const DELAY: &str = "sink.partition-commit.delay";
pub(crate) const POLICY: &str = "sink.partition-commit.policy.kind";
pub(crate) const SUCCESS_FILE_NAME: &str = "sink.partition-commit.success-file.name";
pub(crate) const TIMESTAMP_PATTERN: &str = "partition.time-extractor.timestamp-pattern";
pub(crate) const WATERMARK_TIME_ZONE: &str = "sink.partition-commit.watermark-time-zone";

/// When a partition is committable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trigger {
    ProcessTime,
    PartitionTime,
}

/// A partitioned sink's commit settings: what `add_sink` hands the committer.
#[derive(Clone, Debug)]
pub(crate) struct CommitSettings {
    /// The table's folder on the local file system.
    pub root: PathBuf,
    pub trigger: Trigger,
    pub delay_millis: i64,
    /// `success-file`'s file name; `None` when the policy does not write one.
    pub success_file: Option<String>,
    /// The partition keys, in `PARTITIONED BY` order.
    pub keys: Vec<String>,
    /// `$dt $hm:00`; `None`: the first partition value.
    pub pattern: Option<String>,
    /// The folder name of a null partition value.
    pub default_name: String,
}

impl CommitSettings {
    /// The table's commit settings, or `None` when it has no commit policy. Bad values are
    /// errors naming their option.
    pub fn of(table: &TableDefinition, path: &str) -> Result<Option<CommitSettings>> {
        let options = &table.options;
        let error = |key: &str, message: String| Error::Option {
            table: table.qualified_name.clone(),
            key: key.to_owned(),
            message,
        };
        let trigger = match options.get(TRIGGER).map(String::as_str) {
            None | Some("process-time") => Trigger::ProcessTime,
            Some("partition-time") => Trigger::PartitionTime,
            Some(other) => {
                return Err(error(
                    TRIGGER,
                    format!("'{other}' is not a trigger; use 'process-time' or 'partition-time'"),
                ));
            }
        };
        let delay = match options.get(DELAY) {
            None => Duration::ZERO,
            Some(text) => parse_duration(text).map_err(|message| error(DELAY, message))?,
        };
        let mut success_file = None;
        if let Some(kinds) = options.get(POLICY) {
            for kind in kinds.split(',').map(str::trim) {
                match kind {
                    "success-file" => {
                        let name = options
                            .get(SUCCESS_FILE_NAME)
                            .map_or("_SUCCESS", String::as_str);
                        if name.is_empty() || name.contains('/') {
                            return Err(error(
                                SUCCESS_FILE_NAME,
                                format!("'{name}' is not a file name"),
                            ));
                        }
                        success_file = Some(name.to_owned());
                    }
                    // Flink's words: the metastore is a Hive table's.
                    "metastore" => {
                        return Err(error(
                            POLICY,
                            "Can not configure a 'metastore' partition commit policy for a file \
                             system table. You can only configure 'metastore' partition commit \
                             policy for a hive table."
                                .into(),
                        ));
                    }
                    "custom" => {
                        return Err(error(
                            POLICY,
                            "the commit policy 'custom' is not supported yet; flinkrs commits \
                             partitions with 'success-file'"
                                .into(),
                        ));
                    }
                    other => {
                        return Err(error(
                            POLICY,
                            format!(
                                "'{other}' is not a commit policy; use 'success-file', \
                                 'metastore' or 'custom'"
                            ),
                        ));
                    }
                }
            }
        }
        // As in Flink, without a policy nothing is committed, whatever the trigger.
        let Some(success_file) = success_file else {
            return Ok(None);
        };
        if table.partition_keys.is_empty() {
            return Err(error(
                POLICY,
                "commits partitions, but the table has no PARTITIONED BY".into(),
            ));
        }
        match options.get(WATERMARK_TIME_ZONE).map(String::as_str) {
            None | Some("UTC") => {}
            Some(other) => {
                return Err(error(
                    WATERMARK_TIME_ZONE,
                    format!("the time zone '{other}' is not supported yet; only 'UTC' is"),
                ));
            }
        }
        let pattern = options.get(TIMESTAMP_PATTERN).cloned();
        if let Some(pattern) = &pattern
            && let Some(unknown) = pattern_keys(pattern)
                .into_iter()
                .find(|key| !table.partition_keys.contains(key))
        {
            return Err(error(
                TIMESTAMP_PATTERN,
                format!(
                    "'${unknown}' is not a partition key; the keys are {}",
                    table.partition_keys.join(", ")
                ),
            ));
        }
        let local = path.strip_prefix("file://").unwrap_or(path);
        if local.contains("://") {
            return Err(error(
                POLICY,
                format!("'success-file' on '{path}' is not supported yet: local folders only"),
            ));
        }
        Ok(Some(CommitSettings {
            root: PathBuf::from(local),
            trigger,
            delay_millis: i64::try_from(delay.as_millis()).unwrap_or(i64::MAX),
            success_file: Some(success_file),
            keys: table.partition_keys.clone(),
            pattern,
            default_name: table
                .options
                .get("partition.default-name")
                .cloned()
                .unwrap_or_else(|| "__DEFAULT_PARTITION__".to_owned()),
        }))
    }

    /// Whether `partition` (its folder, `dt=…/hm=…`) may be committed: first heard of at
    /// processing time `created`, now `now`, with the watermark `watermark`.
    pub fn committable(
        &self,
        partition: &str,
        created: i64,
        now: i64,
        watermark: i64,
    ) -> std::result::Result<bool, String> {
        Ok(match self.trigger {
            Trigger::ProcessTime => {
                self.delay_millis == 0 || now > created.saturating_add(self.delay_millis)
            }
            Trigger::PartitionTime => {
                watermark
                    > self
                        .partition_time(partition)?
                        .saturating_add(self.delay_millis)
            }
        })
    }

    /// The partition's time in epoch milliseconds (UTC), from its values as Flink's default
    /// extractor reads them.
    pub fn partition_time(&self, partition: &str) -> std::result::Result<i64, String> {
        let values = self.values(partition);
        let text = match &self.pattern {
            None => values.first().cloned().flatten().unwrap_or_default(),
            Some(pattern) => {
                let mut text = pattern.clone();
                // Longer keys first, so that `$dt` does not eat the start of `$dth`.
                let mut keys: Vec<(usize, &String)> = self.keys.iter().enumerate().collect();
                keys.sort_by_key(|(_, key)| std::cmp::Reverse(key.len()));
                for (index, key) in keys {
                    let value = values[index].as_deref().unwrap_or_default();
                    text = text.replace(&format!("${key}"), value);
                }
                text
            }
        };
        timestamp_millis(&text).ok_or_else(|| {
            format!(
                "the partition '{partition}' gives the time '{text}', which is not \
                 'yyyy-MM-dd[ HH:mm[:ss]]' ({TIMESTAMP_PATTERN})"
            )
        })
    }

    /// The partition's values, unescaped; `None` for the default partition.
    fn values(&self, partition: &str) -> Vec<Option<String>> {
        let mut values = vec![None; self.keys.len()];
        for component in partition.split('/') {
            if let Some((key, value)) = component.split_once('=')
                && let Some(index) = self.keys.iter().position(|name| name == key)
            {
                values[index] =
                    (value != self.default_name).then(|| super::partitions::unescape(value));
            }
        }
        values
    }

    /// The folder of `partition`.
    pub fn folder(&self, partition: &str) -> PathBuf {
        Path::new(&self.root).join(partition)
    }
}

/// The keys `$key` that `pattern` names.
fn pattern_keys(pattern: &str) -> Vec<String> {
    pattern
        .split('$')
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// `yyyy-MM-dd`, `yyyy-MM-dd HH:mm` or `yyyy-MM-dd HH:mm:ss[.fff]` in epoch milliseconds.
fn timestamp_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    let time = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
        .or_else(|| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|date| date.and_hms_opt(0, 0, 0))
        })?;
    Some(time.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(trigger: Trigger, delay_millis: i64, pattern: Option<&str>) -> CommitSettings {
        CommitSettings {
            root: PathBuf::from("/t"),
            trigger,
            delay_millis,
            success_file: Some("_SUCCESS".into()),
            keys: vec!["dt".into(), "hm".into()],
            pattern: pattern.map(str::to_owned),
            default_name: "__DEFAULT_PARTITION__".into(),
        }
    }

    #[test]
    fn a_partition_time_comes_from_the_pattern_and_the_escaped_values() {
        let settings = settings(Trigger::PartitionTime, 60_000, Some("$dt $hm:00"));
        // 2015-07-15 00:01:00 UTC.
        let time = 1_436_918_460_000;
        assert_eq!(
            settings.partition_time("dt=2015-07-15/hm=00%3A01"),
            Ok(time)
        );
        assert_eq!(
            settings.committable("dt=2015-07-15/hm=00%3A01", 0, 0, time + 60_000),
            Ok(false)
        );
        assert_eq!(
            settings.committable("dt=2015-07-15/hm=00%3A01", 0, 0, time + 60_001),
            Ok(true)
        );
        let by_date = self::settings(Trigger::PartitionTime, 0, None);
        assert_eq!(
            by_date.partition_time("dt=2015-07-15/hm=x"),
            Ok(1_436_918_400_000)
        );
        assert_eq!(
            by_date.partition_time("dt=__DEFAULT_PARTITION__/hm=x"),
            Err(
                "the partition 'dt=__DEFAULT_PARTITION__/hm=x' gives the time '', which is \
                 not 'yyyy-MM-dd[ HH:mm[:ss]]' (partition.time-extractor.timestamp-pattern)"
                    .into()
            )
        );
    }

    #[test]
    fn process_time_commits_after_the_delay_since_the_partition_was_first_heard_of() {
        let at_once = settings(Trigger::ProcessTime, 0, None);
        assert_eq!(
            at_once.committable("dt=x/hm=y", 100, 100, i64::MIN),
            Ok(true)
        );
        let later = settings(Trigger::ProcessTime, 1_000, None);
        assert_eq!(
            later.committable("dt=x/hm=y", 100, 1_100, i64::MIN),
            Ok(false)
        );
        assert_eq!(
            later.committable("dt=x/hm=y", 100, 1_101, i64::MIN),
            Ok(true)
        );
    }
}
