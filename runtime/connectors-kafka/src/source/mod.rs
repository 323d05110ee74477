//! [`KafkaSource`]: reads topics, one split per partition (see [`reader`] for the loop).
//!
//! ```no_run
//! # use flinkrs_api::prelude::*;
//! # use flinkrs_kafka::{KafkaSource, RawText, StartupMode};
//! # let env = StreamExecutionEnvironment::new();
//! let source = KafkaSource::builder()
//!     .bootstrap_servers("127.0.0.1:9092")
//!     .topics(["orders"])
//!     .group_id("order-stats")
//!     .starting_offsets(StartupMode::EarliestOffset)
//!     .deserializer(RawText)
//!     .build()
//!     .unwrap();
//! let orders: DataStream<String> = source.stream(&env, "Orders");
//! ```

mod offsets;
pub mod reader;
pub mod split;
mod watermarks;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use flinkrs_api::watermark::WatermarkStrategy;
use flinkrs_api::{DataStream, StreamExecutionEnvironment};
use flinkrs_core::{Data, Error, Result};

use crate::client::KafkaProperties;
use crate::deserializer::KafkaRecordDeserializer;
pub use reader::KafkaSourceReader;
pub use split::PartitionSplit;

/// Where a source starts without a checkpoint: Flink's `scan.startup.mode`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartupMode {
    /// `earliest-offset`: each partition's first retained record.
    EarliestOffset,
    /// `latest-offset`: only records written after the source started.
    LatestOffset,
    /// `group-offsets`: the consumer group's committed offsets; a partition without one
    /// starts as `properties.auto.offset.reset` says (`earliest` or `latest`), and is an
    /// error when that is unset.
    GroupOffsets,
    /// `timestamp`: the first record at or after this epoch millisecond
    /// (`scan.startup.timestamp-millis`); a partition without one starts at its end.
    Timestamp(i64),
    /// `specific-offsets`: `(partition, offset)` pairs per topic
    /// (`scan.startup.specific-offsets`); a partition not listed starts at its earliest
    /// offset.
    SpecificOffsets(BTreeMap<(String, i32), i64>),
}

impl StartupMode {
    /// Parses Flink's `scan.startup.mode` with its companion options: `timestamp_millis` for
    /// `timestamp`, `specific_offsets` (`partition:0,offset:42;partition:1,offset:300`) for
    /// `specific-offsets` on `topic`.
    pub fn parse(
        mode: &str,
        topic: &str,
        timestamp_millis: Option<&str>,
        specific_offsets: Option<&str>,
    ) -> Result<Self> {
        match mode {
            "earliest-offset" => Ok(Self::EarliestOffset),
            "latest-offset" => Ok(Self::LatestOffset),
            "group-offsets" => Ok(Self::GroupOffsets),
            "timestamp" => {
                let text = timestamp_millis.ok_or_else(|| {
                    Error::config(
                        "scan.startup.timestamp-millis",
                        "scan.startup.mode 'timestamp' needs it: the epoch milliseconds to \
                         start at",
                    )
                })?;
                let millis = text.trim().parse().map_err(|_| {
                    Error::config(
                        "scan.startup.timestamp-millis",
                        format!("'{text}' is not a number of epoch milliseconds"),
                    )
                })?;
                Ok(Self::Timestamp(millis))
            }
            "specific-offsets" => {
                let text = specific_offsets.ok_or_else(|| {
                    Error::config(
                        "scan.startup.specific-offsets",
                        "scan.startup.mode 'specific-offsets' needs it, e.g. \
                         'partition:0,offset:42;partition:1,offset:300'",
                    )
                })?;
                parse_specific_offsets(text, topic).map(Self::SpecificOffsets)
            }
            other => Err(Error::config(
                "scan.startup.mode",
                format!(
                    "'{other}' is not a startup mode; use earliest-offset, latest-offset, \
                     group-offsets, timestamp or specific-offsets"
                ),
            )),
        }
    }
}

/// `partition:0,offset:42;partition:1,offset:300`, as Flink writes specific offsets.
fn parse_specific_offsets(text: &str, topic: &str) -> Result<BTreeMap<(String, i32), i64>> {
    let bad = |entry: &str| {
        Error::config(
            "scan.startup.specific-offsets",
            format!(
                "'{entry}' is not 'partition:<number>,offset:<number>'; separate partitions \
                 with ';'"
            ),
        )
    };
    let mut offsets = BTreeMap::new();
    for entry in text
        .split(';')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
    {
        let (partition, offset) = entry.split_once(',').ok_or_else(|| bad(entry))?;
        let partition = partition
            .trim()
            .strip_prefix("partition:")
            .and_then(|number| number.trim().parse().ok())
            .ok_or_else(|| bad(entry))?;
        let offset = offset
            .trim()
            .strip_prefix("offset:")
            .and_then(|number| number.trim().parse().ok())
            .ok_or_else(|| bad(entry))?;
        offsets.insert((topic.to_owned(), partition), offset);
    }
    Ok(offsets)
}

/// Everything a reader needs, shared by every subtask.
pub(crate) struct SourceSettings {
    pub(crate) properties: KafkaProperties,
    pub(crate) topics: Vec<String>,
    pub(crate) startup: StartupMode,
    pub(crate) bounded: bool,
    /// How often each reader looks for partitions added to its topics; `None` never.
    pub(crate) discovery_interval: Option<Duration>,
}

/// Flink's property for the DataStream builder, read by the source (not librdkafka).
pub const PARTITION_DISCOVERY_INTERVAL: &str = "partition.discovery.interval.ms";
/// Flink's default: every 5 minutes for an unbounded source.
pub const DEFAULT_PARTITION_DISCOVERY_INTERVAL: Duration = Duration::from_secs(300);

/// A Kafka source: build one with [`KafkaSource::builder`], then add it to a job with
/// [`stream`](Self::stream) or make each subtask's [`reader`](Self::reader) yourself.
pub struct KafkaSource<T> {
    settings: Arc<SourceSettings>,
    deserializer: Arc<dyn KafkaRecordDeserializer<T>>,
    watermarks: Option<WatermarkStrategy<T>>,
}

impl<T> Clone for KafkaSource<T> {
    fn clone(&self) -> Self {
        KafkaSource {
            settings: Arc::clone(&self.settings),
            deserializer: Arc::clone(&self.deserializer),
            watermarks: self.watermarks.clone(),
        }
    }
}

impl<T> fmt::Debug for KafkaSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSource")
            .field(
                "bootstrap.servers",
                &self.settings.properties.bootstrap_servers(),
            )
            .field("topics", &self.settings.topics)
            .field("startup", &self.settings.startup)
            .field("bounded", &self.settings.bounded)
            .field("discovery_interval", &self.settings.discovery_interval)
            .finish()
    }
}

impl KafkaSource<()> {
    pub fn builder() -> KafkaSourceBuilder<()> {
        KafkaSourceBuilder {
            properties: KafkaProperties::default(),
            topics: Vec::new(),
            startup: StartupMode::GroupOffsets,
            bounded: false,
            deserializer: None,
        }
    }
}

impl<T: Data> KafkaSource<T> {
    /// One subtask's reader.
    pub fn reader(&self) -> KafkaSourceReader<T> {
        KafkaSourceReader::new(
            Arc::clone(&self.settings),
            Arc::clone(&self.deserializer),
            self.watermarks.clone(),
        )
    }

    /// Applies `strategy` inside the source, per partition (Flink's `fromSource(source,
    /// strategy, name)`): each partition gets its own generator, and a reader's watermark is
    /// the minimum over its partitions; with `with_idleness`, a partition without records
    /// for that long does not hold the watermark back. Timestamps are the Kafka record
    /// timestamps unless the strategy assigns its own.
    pub fn with_watermark_strategy(mut self, strategy: WatermarkStrategy<T>) -> Self {
        self.watermarks = Some(strategy);
        self
    }

    /// Adds the source to `env` as a parallel source named `name` (Flink's `fromSource`).
    pub fn stream(&self, env: &StreamExecutionEnvironment, name: &str) -> DataStream<T> {
        let source = self.clone();
        env.add_source(name, move |_info| Ok(source.reader()))
    }
}

/// Builds a [`KafkaSource`]; Flink's `KafkaSource.builder()`.
pub struct KafkaSourceBuilder<T> {
    properties: KafkaProperties,
    topics: Vec<String>,
    startup: StartupMode,
    bounded: bool,
    deserializer: Option<Arc<dyn KafkaRecordDeserializer<T>>>,
}

impl<T> fmt::Debug for KafkaSourceBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSourceBuilder")
            .field("topics", &self.topics)
            .field("startup", &self.startup)
            .finish()
    }
}

impl<T> KafkaSourceBuilder<T> {
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.properties.set("bootstrap.servers", servers);
        self
    }

    pub fn topics<S: Into<String>>(mut self, topics: impl IntoIterator<Item = S>) -> Self {
        self.topics = topics.into_iter().map(Into::into).collect();
        self
    }

    /// The consumer group: where `group-offsets` starts and where completed checkpoints
    /// commit their offsets (for monitoring).
    pub fn group_id(mut self, group: impl Into<String>) -> Self {
        self.properties.set("group.id", group);
        self
    }

    pub fn starting_offsets(mut self, startup: StartupMode) -> Self {
        self.startup = startup;
        self
    }

    /// Stops at the offsets that are the latest when each subtask starts (Flink's
    /// `setBounded(OffsetsInitializer.latest())`): the job then ends by itself.
    pub fn bounded(mut self) -> Self {
        self.bounded = true;
        self
    }

    /// How often each reader looks for partitions added to its topics while the job runs
    /// (Flink's `partition.discovery.interval.ms`; default 5 minutes, and never for a bounded
    /// source). New partitions are read from their earliest offset, each by the subtask
    /// Flink's enumerator would pick. A zero interval turns discovery off.
    pub fn partition_discovery_interval(mut self, interval: Duration) -> Self {
        self.properties.set(
            PARTITION_DISCOVERY_INTERVAL,
            interval.as_millis().to_string(),
        );
        self
    }

    /// Any librdkafka consumer property, e.g. `isolation.level` or `request.timeout.ms`;
    /// `partition.discovery.interval.ms` is taken by the source itself, as in Flink.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.set(key, value);
        self
    }

    pub fn deserializer<U, D: KafkaRecordDeserializer<U>>(
        self,
        deserializer: D,
    ) -> KafkaSourceBuilder<U> {
        KafkaSourceBuilder {
            properties: self.properties,
            topics: self.topics,
            startup: self.startup,
            bounded: self.bounded,
            deserializer: Some(Arc::new(deserializer)),
        }
    }

    /// Checks the settings: bootstrap servers, at least one topic, a deserializer, a
    /// discovery interval that is a number of milliseconds.
    pub fn build(mut self) -> Result<KafkaSource<T>> {
        let discovery_interval = match self.properties.remove(PARTITION_DISCOVERY_INTERVAL) {
            _ if self.bounded => None,
            None => Some(DEFAULT_PARTITION_DISCOVERY_INTERVAL),
            Some(text) => {
                let millis: i64 = text.trim().parse().map_err(|_| {
                    Error::config(
                        PARTITION_DISCOVERY_INTERVAL,
                        format!(
                            "'{text}' is not a number of milliseconds; use e.g. 30000, or 0 \
                             to turn partition discovery off"
                        ),
                    )
                })?;
                (millis > 0).then(|| Duration::from_millis(millis as u64))
            }
        };
        if self.properties.bootstrap_servers().is_empty() {
            return Err(Error::config(
                "properties.bootstrap.servers",
                "the Kafka source needs the brokers to connect to, e.g. 'host:9092'",
            ));
        }
        if self.topics.is_empty() {
            return Err(Error::config(
                "topic",
                "the Kafka source needs at least one topic to read",
            ));
        }
        let deserializer = self.deserializer.ok_or_else(|| {
            Error::config(
                "value.format",
                "the Kafka source needs a deserializer (raw, json, csv or a function)",
            )
        })?;
        Ok(KafkaSource {
            settings: Arc::new(SourceSettings {
                properties: self.properties,
                topics: self.topics,
                startup: self.startup,
                bounded: self.bounded,
                discovery_interval,
            }),
            deserializer,
            watermarks: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_modes_parse_with_flinks_names_and_bad_ones_name_the_key() {
        assert_eq!(
            StartupMode::parse("earliest-offset", "t", None, None).unwrap(),
            StartupMode::EarliestOffset
        );
        assert_eq!(
            StartupMode::parse("timestamp", "t", Some("1700000000000"), None).unwrap(),
            StartupMode::Timestamp(1_700_000_000_000)
        );
        let specific = StartupMode::parse(
            "specific-offsets",
            "t",
            None,
            Some("partition:0,offset:42;partition:1,offset:300"),
        )
        .unwrap();
        let expected = BTreeMap::from([(("t".to_owned(), 0), 42), (("t".to_owned(), 1), 300)]);
        assert_eq!(specific, StartupMode::SpecificOffsets(expected));

        let error = StartupMode::parse("earliest", "t", None, None)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("configuration key 'scan.startup.mode': 'earliest' is not"),
            "{error}"
        );
        let error = StartupMode::parse("specific-offsets", "t", None, Some("0:42"))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("'scan.startup.specific-offsets': '0:42' is not"),
            "{error}"
        );
        let error = StartupMode::parse("timestamp", "t", None, None)
            .unwrap_err()
            .to_string();
        assert!(error.contains("scan.startup.timestamp-millis"), "{error}");
    }

    #[test]
    fn a_source_without_servers_or_topics_is_refused() {
        let error = KafkaSource::builder()
            .topics(["t"])
            .deserializer(crate::RawText)
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("properties.bootstrap.servers"), "{error}");
        let error = KafkaSource::builder()
            .bootstrap_servers("127.0.0.1:1")
            .deserializer(crate::RawText)
            .build()
            .unwrap_err()
            .to_string();
        assert!(error.contains("'topic'"), "{error}");
    }

    #[test]
    fn partition_discovery_defaults_to_five_minutes_and_is_off_when_bounded_or_zero() {
        let interval = |builder: KafkaSourceBuilder<()>| {
            builder
                .bootstrap_servers("127.0.0.1:1")
                .topics(["t"])
                .deserializer(crate::RawText)
                .build()
                .map(|source| source.settings.discovery_interval)
        };
        assert_eq!(
            interval(KafkaSource::builder()).unwrap(),
            Some(Duration::from_secs(300))
        );
        assert_eq!(interval(KafkaSource::builder().bounded()).unwrap(), None);
        let every_second = KafkaSource::builder().property(PARTITION_DISCOVERY_INTERVAL, "1000");
        assert_eq!(
            interval(every_second).unwrap(),
            Some(Duration::from_secs(1))
        );
        let off = KafkaSource::builder().partition_discovery_interval(Duration::ZERO);
        assert_eq!(interval(off).unwrap(), None);
        let error =
            interval(KafkaSource::builder().property(PARTITION_DISCOVERY_INTERVAL, "5 min"))
                .unwrap_err()
                .to_string();
        assert!(
            error.starts_with(
                "configuration key 'partition.discovery.interval.ms': '5 min' is not a number"
            ),
            "{error}"
        );
    }
}
