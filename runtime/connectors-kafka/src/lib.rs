//! Apache Kafka for flinkrs: a source and a sink in the spirit of Flink's `KafkaSource` and
//! `KafkaSink`, on librdkafka (the `rdkafka` crate, with its bundled C library).
//!
//! - [`KafkaSource`]: FLIP-27 style. Each topic partition is a split; a checkpoint holds every
//!   split with the offset to read next, so a restore (at any parallelism) resumes exactly
//!   there. Where a fresh start begins is Flink's `scan.startup.mode` ([`StartupMode`]). A
//!   bounded source stops at the offsets that were the latest when it started. Offsets are
//!   committed to the consumer group when a checkpoint completes, for monitoring only. An
//!   unbounded source looks for new partitions every `partition.discovery.interval.ms`
//!   (5 minutes by default) and reads them from their start (see [`source::reader`]).
//!   [`KafkaSource::with_watermark_strategy`] applies a watermark strategy per partition
//!   inside the reader, with idleness per partition.
//! - [`KafkaSink`]: `sink.delivery-guarantee` none, at-least-once or exactly-once
//!   ([`DeliveryGuarantee`]); exactly-once writes one Kafka transaction per checkpoint and
//!   commits it when the checkpoint completes (see [`sink`] for how a restore settles it).
//! - Records are read through a [`KafkaRecordDeserializer`] (raw text or bytes, JSON, CSV) and
//!   written through a [`KafkaRecordSerializer`].
//!
//! Where it sits: beside `flinkrs-connectors`, in its own crate so that only jobs that use
//! Kafka compile librdkafka.

mod client;
pub mod deserializer;
pub mod serializer;
pub mod sink;
pub mod source;

pub use client::KafkaProperties;
pub use deserializer::{
    CsvRecords, JsonRecords, KafkaRecord, KafkaRecordDeserializer, RawBytes, RawText,
};
pub use serializer::{JsonValues, KafkaRecordSerializer, RawValues, SerializedRecord};
pub use sink::{DeliveryGuarantee, KafkaSink, KafkaSinkBuilder};
pub use source::{KafkaSource, KafkaSourceBuilder, StartupMode};
