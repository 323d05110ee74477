//! Turning a stream record into a Kafka record: its value, and optionally its key and
//! partition. The writer reuses one [`SerializedRecord`] for every record, so serializing
//! allocates nothing once its buffers have grown.

use std::marker::PhantomData;

use flinkrs_core::{Error, Result};
use serde::Serialize;

/// The Kafka record a stream record becomes. Buffers are cleared before each record.
#[derive(Debug, Default)]
pub struct SerializedRecord {
    pub value: Vec<u8>,
    pub key: Vec<u8>,
    /// Whether the record has a key (an empty `key` with `has_key` is an empty key).
    pub has_key: bool,
    /// A fixed partition; `None` lets the producer's partitioner choose (by key hash, or
    /// sticky for records without a key, as Kafka's default).
    pub partition: Option<i32>,
    /// The record has no value (`value` is ignored): a tombstone, which a compacted topic
    /// and `upsert-kafka` read as the deletion of its key.
    pub tombstone: bool,
}

impl SerializedRecord {
    pub(crate) fn clear(&mut self) {
        self.value.clear();
        self.key.clear();
        self.has_key = false;
        self.partition = None;
        self.tombstone = false;
    }
}

/// Writes a stream record's Kafka key, value and partition into `out` (cleared).
pub trait KafkaRecordSerializer<T>: Send + Sync + 'static {
    fn serialize(&self, value: &T, out: &mut SerializedRecord) -> Result<()>;
}

impl<T, F> KafkaRecordSerializer<T> for F
where
    F: Fn(&T, &mut SerializedRecord) -> Result<()> + Send + Sync + 'static,
{
    fn serialize(&self, value: &T, out: &mut SerializedRecord) -> Result<()> {
        self(value, out)
    }
}

/// The value's bytes as they are (Flink's `raw` format), without a key.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawValues;

impl<T: AsRef<[u8]>> KafkaRecordSerializer<T> for RawValues {
    fn serialize(&self, value: &T, out: &mut SerializedRecord) -> Result<()> {
        out.value.extend_from_slice(value.as_ref());
        Ok(())
    }
}

/// The value as a JSON document (Flink's `json` format), without a key.
#[derive(Debug)]
pub struct JsonValues<T>(PhantomData<fn(&T)>);

impl<T> Default for JsonValues<T> {
    fn default() -> Self {
        JsonValues(PhantomData)
    }
}

impl<T> Clone for JsonValues<T> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl<T> JsonValues<T> {
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T: Serialize + 'static> KafkaRecordSerializer<T> for JsonValues<T> {
    fn serialize(&self, value: &T, out: &mut SerializedRecord) -> Result<()> {
        serde_json::to_writer(&mut out.value, value)
            .map_err(|error| Error::function(format!("Kafka sink: JSON serialization: {error}")))
    }
}
