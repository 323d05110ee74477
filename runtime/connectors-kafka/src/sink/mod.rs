//! [`KafkaSink`]: writes a stream to a topic with Flink's `sink.delivery-guarantee`.
//!
//! - `none`: records are handed to the producer and never waited for.
//! - `at-least-once`: each checkpoint waits until every record written before it is
//!   acknowledged by the brokers; a failed delivery fails the job. A restore may write some
//!   records again.
//! - `exactly-once`: the records between two checkpoints form one Kafka transaction, which is
//!   committed when the checkpoint completes; `read_committed` consumers see each record
//!   once. See [`transaction`] for the transactional ids and how a restore settles what a
//!   failed attempt left behind.
//!
//! ```no_run
//! # use flinkrs_api::prelude::*;
//! # use flinkrs_kafka::{DeliveryGuarantee, KafkaSink, RawValues};
//! # let env = StreamExecutionEnvironment::new();
//! # let lines: DataStream<String> = env.from_collection(vec!["a".to_owned()]);
//! let sink = KafkaSink::builder()
//!     .bootstrap_servers("127.0.0.1:9092")
//!     .topic("lines")
//!     .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
//!     .transactional_id_prefix("lines-job")
//!     .serializer(RawValues)
//!     .build()
//!     .unwrap();
//! sink.sink(&lines, "Kafka");
//! ```

pub mod transaction;
mod writer;

use std::fmt;
use std::sync::Arc;

use flinkrs_api::DataStream;
use flinkrs_api::stream::DataStreamSink;
use flinkrs_core::{Data, Error, Result};

use crate::client::KafkaProperties;
use crate::serializer::KafkaRecordSerializer;
pub use writer::KafkaSinkWriter;

/// Flink's `sink.delivery-guarantee`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryGuarantee {
    None,
    AtLeastOnce,
    ExactlyOnce,
}

impl DeliveryGuarantee {
    /// `none`, `at-least-once` or `exactly-once`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "none" => Ok(Self::None),
            "at-least-once" => Ok(Self::AtLeastOnce),
            "exactly-once" => Ok(Self::ExactlyOnce),
            other => Err(Error::config(
                "sink.delivery-guarantee",
                format!(
                    "'{other}' is not a delivery guarantee; use none, at-least-once or exactly-once"
                ),
            )),
        }
    }
}

/// Default of how many transactional ids past the restored checkpoint a restore aborts per
/// old subtask (see [`transaction`]).
const DEFAULT_ABORT_LOOKAHEAD: u64 = 3;

pub(crate) struct SinkSettings {
    pub(crate) properties: KafkaProperties,
    pub(crate) topic: String,
    pub(crate) guarantee: DeliveryGuarantee,
    pub(crate) transactional_id_prefix: String,
    pub(crate) abort_lookahead: u64,
}

/// A Kafka sink; each parallel subtask gets its own clone and its own producer.
pub struct KafkaSink<T> {
    settings: Arc<SinkSettings>,
    serializer: Arc<dyn KafkaRecordSerializer<T>>,
}

impl<T> Clone for KafkaSink<T> {
    fn clone(&self) -> Self {
        KafkaSink {
            settings: Arc::clone(&self.settings),
            serializer: Arc::clone(&self.serializer),
        }
    }
}

impl<T> fmt::Debug for KafkaSink<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSink")
            .field(
                "bootstrap.servers",
                &self.settings.properties.bootstrap_servers(),
            )
            .field("topic", &self.settings.topic)
            .field("guarantee", &self.settings.guarantee)
            .finish()
    }
}

impl KafkaSink<()> {
    pub fn builder() -> KafkaSinkBuilder<()> {
        KafkaSinkBuilder {
            properties: KafkaProperties::default(),
            topic: None,
            guarantee: DeliveryGuarantee::AtLeastOnce,
            transactional_id_prefix: None,
            abort_lookahead: DEFAULT_ABORT_LOOKAHEAD,
            serializer: None,
        }
    }
}

impl<T: Data> KafkaSink<T> {
    /// A subtask's writer: what the job runs.
    pub fn writer(&self) -> KafkaSinkWriter<T> {
        KafkaSinkWriter::new(Arc::clone(&self.settings), Arc::clone(&self.serializer))
    }

    /// Adds the sink to `stream` (Flink's `sinkTo`).
    pub fn sink(&self, stream: &DataStream<T>, name: &str) -> DataStreamSink {
        stream.add_sink(name, self.writer())
    }
}

/// Builds a [`KafkaSink`]; Flink's `KafkaSink.builder()`.
pub struct KafkaSinkBuilder<T> {
    properties: KafkaProperties,
    topic: Option<String>,
    guarantee: DeliveryGuarantee,
    transactional_id_prefix: Option<String>,
    abort_lookahead: u64,
    serializer: Option<Arc<dyn KafkaRecordSerializer<T>>>,
}

impl<T> fmt::Debug for KafkaSinkBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSinkBuilder")
            .field("topic", &self.topic)
            .field("guarantee", &self.guarantee)
            .finish()
    }
}

impl<T> KafkaSinkBuilder<T> {
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.properties.set("bootstrap.servers", servers);
        self
    }

    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    pub fn delivery_guarantee(mut self, guarantee: DeliveryGuarantee) -> Self {
        self.guarantee = guarantee;
        self
    }

    /// `sink.transactional-id-prefix`: required for exactly-once, and unique per job, as
    /// in Flink (two jobs with one prefix fence each other's transactions).
    pub fn transactional_id_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.transactional_id_prefix = Some(prefix.into());
        self
    }

    /// How many transactional ids past the restored checkpoint a restore aborts for each
    /// old subtask (default 3): raise it when many checkpoints in a row may fail.
    pub fn abort_lookahead(mut self, ids: u64) -> Self {
        self.abort_lookahead = ids;
        self
    }

    /// Any librdkafka producer property, e.g. `transaction.timeout.ms`.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.set(key, value);
        self
    }

    pub fn serializer<U, S: KafkaRecordSerializer<U>>(self, serializer: S) -> KafkaSinkBuilder<U> {
        KafkaSinkBuilder {
            properties: self.properties,
            topic: self.topic,
            guarantee: self.guarantee,
            transactional_id_prefix: self.transactional_id_prefix,
            abort_lookahead: self.abort_lookahead,
            serializer: Some(Arc::new(serializer)),
        }
    }

    pub fn build(self) -> Result<KafkaSink<T>> {
        if self.properties.bootstrap_servers().is_empty() {
            return Err(Error::config(
                "properties.bootstrap.servers",
                "the Kafka sink needs the brokers to connect to, e.g. 'host:9092'",
            ));
        }
        let topic = self
            .topic
            .ok_or_else(|| Error::config("topic", "the Kafka sink needs the topic to write to"))?;
        let prefix = match (self.guarantee, self.transactional_id_prefix) {
            (DeliveryGuarantee::ExactlyOnce, None) => {
                return Err(Error::config(
                    "sink.transactional-id-prefix",
                    "sink.delivery-guarantee 'exactly-once' needs a transactional id prefix, \
                     unique to this job",
                ));
            }
            (_, prefix) => prefix.unwrap_or_default(),
        };
        let serializer = self.serializer.ok_or_else(|| {
            Error::config(
                "value.format",
                "the Kafka sink needs a serializer (raw, json or a function)",
            )
        })?;
        Ok(KafkaSink {
            settings: Arc::new(SinkSettings {
                properties: self.properties,
                topic,
                guarantee: self.guarantee,
                transactional_id_prefix: prefix,
                abort_lookahead: self.abort_lookahead,
            }),
            serializer,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_once_needs_a_prefix_and_guarantees_parse_by_flinks_names() {
        let error = KafkaSink::builder()
            .bootstrap_servers("127.0.0.1:1")
            .topic("out")
            .delivery_guarantee(DeliveryGuarantee::ExactlyOnce)
            .serializer::<String, _>(crate::RawValues)
            .build()
            .map(drop)
            .unwrap_err()
            .to_string();
        assert!(error.contains("'sink.transactional-id-prefix'"), "{error}");
        assert_eq!(
            DeliveryGuarantee::parse("at-least-once").unwrap(),
            DeliveryGuarantee::AtLeastOnce
        );
        let error = DeliveryGuarantee::parse("exactly_once")
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("configuration key 'sink.delivery-guarantee': 'exactly_once'"),
            "{error}"
        );
    }
}
