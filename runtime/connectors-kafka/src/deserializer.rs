//! Turning a Kafka record into a stream record: raw text or bytes, JSON and CSV, shared by
//! the DataStream builders and (through the same types) the SQL formats.
//!
//! A record that does not parse is an [`Error::MalformedInput`] naming its topic, partition
//! and offset, unless the format skips it (`json.ignore-parse-errors`).

use std::marker::PhantomData;

use flinkrs_core::{Error, Result};
use serde::de::DeserializeOwned;

/// One record as read from Kafka, borrowed from the client's buffer.
#[derive(Clone, Copy, Debug)]
pub struct KafkaRecord<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    /// The record's timestamp in epoch milliseconds, when it has one.
    pub timestamp: Option<i64>,
    pub key: Option<&'a [u8]>,
    /// The value; `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

impl KafkaRecord<'_> {
    /// Where the record is, for errors: `topic 'orders', partition 2, offset 17`.
    pub fn location(&self) -> String {
        format!(
            "topic '{}', partition {}, offset {}",
            self.topic, self.partition, self.offset
        )
    }

    /// An error about this record.
    pub fn malformed(&self, message: impl Into<String>) -> Error {
        Error::MalformedInput {
            location: self.location(),
            message: message.into(),
        }
    }
}

/// Makes a stream record of a Kafka record: `Ok(Some(value))`, `Ok(None)` to skip it, or an
/// error (which fails the job).
pub trait KafkaRecordDeserializer<T>: Send + Sync + 'static {
    fn deserialize(&self, record: &KafkaRecord<'_>) -> Result<Option<T>>;
}

impl<T, F> KafkaRecordDeserializer<T> for F
where
    F: Fn(&KafkaRecord<'_>) -> Result<Option<T>> + Send + Sync + 'static,
{
    fn deserialize(&self, record: &KafkaRecord<'_>) -> Result<Option<T>> {
        self(record)
    }
}

/// The value as UTF-8 text (Flink's `raw` format on a STRING column). A tombstone is
/// skipped; invalid UTF-8 is an error.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawText;

impl KafkaRecordDeserializer<String> for RawText {
    fn deserialize(&self, record: &KafkaRecord<'_>) -> Result<Option<String>> {
        let Some(value) = record.value else {
            return Ok(None);
        };
        match std::str::from_utf8(value) {
            Ok(text) => Ok(Some(text.to_owned())),
            Err(error) => Err(record.malformed(format!(
                "the value is not valid UTF-8 (at byte {}); the raw text format reads UTF-8",
                error.valid_up_to() + 1
            ))),
        }
    }
}

/// The value's bytes as they are (Flink's `raw` format on a BYTES column). A tombstone is
/// skipped.
#[derive(Clone, Copy, Debug, Default)]
pub struct RawBytes;

impl KafkaRecordDeserializer<Vec<u8>> for RawBytes {
    fn deserialize(&self, record: &KafkaRecord<'_>) -> Result<Option<Vec<u8>>> {
        Ok(record.value.map(<[u8]>::to_vec))
    }
}

/// The value as a JSON document of type `T` (Flink's `json` format). With
/// [`ignore_parse_errors`](Self::ignore_parse_errors) (`json.ignore-parse-errors`) a record
/// that does not parse is skipped instead of failing the job.
#[derive(Debug)]
pub struct JsonRecords<T> {
    ignore_parse_errors: bool,
    _type: PhantomData<fn() -> T>,
}

impl<T> Default for JsonRecords<T> {
    fn default() -> Self {
        JsonRecords {
            ignore_parse_errors: false,
            _type: PhantomData,
        }
    }
}

impl<T> Clone for JsonRecords<T> {
    fn clone(&self) -> Self {
        JsonRecords {
            ignore_parse_errors: self.ignore_parse_errors,
            _type: PhantomData,
        }
    }
}

impl<T> JsonRecords<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn ignore_parse_errors(mut self, ignore: bool) -> Self {
        self.ignore_parse_errors = ignore;
        self
    }
}

impl<T: DeserializeOwned + 'static> KafkaRecordDeserializer<T> for JsonRecords<T> {
    fn deserialize(&self, record: &KafkaRecord<'_>) -> Result<Option<T>> {
        let Some(value) = record.value else {
            return Ok(None);
        };
        match serde_json::from_slice(value) {
            Ok(parsed) => Ok(Some(parsed)),
            Err(_) if self.ignore_parse_errors => Ok(None),
            Err(error) => Err(record.malformed(format!(
                "the value is not a JSON document of the expected type: {error}; set \
                 json.ignore-parse-errors to skip such records"
            ))),
        }
    }
}

/// The value as one CSV line (Flink's `csv` format), split into its fields with the same
/// parser as the filesystem source. With `csv.ignore-parse-errors` a malformed line is
/// skipped.
#[derive(Clone, Copy, Debug, Default)]
pub struct CsvRecords {
    ignore_parse_errors: bool,
}

impl CsvRecords {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn ignore_parse_errors(mut self, ignore: bool) -> Self {
        self.ignore_parse_errors = ignore;
        self
    }
}

impl KafkaRecordDeserializer<Vec<String>> for CsvRecords {
    fn deserialize(&self, record: &KafkaRecord<'_>) -> Result<Option<Vec<String>>> {
        let Some(value) = record.value else {
            return Ok(None);
        };
        let line = match std::str::from_utf8(value) {
            Ok(line) => line.trim_end_matches(['\r', '\n']),
            Err(_) if self.ignore_parse_errors => return Ok(None),
            Err(error) => {
                return Err(record.malformed(format!(
                    "the value is not valid UTF-8 (at byte {}); the csv format reads UTF-8",
                    error.valid_up_to() + 1
                )));
            }
        };
        match flinkrs_connectors::filesystem::parse_csv_line(line, 1) {
            Ok(fields) => Ok(Some(fields)),
            Err(_) if self.ignore_parse_errors => Ok(None),
            Err(error) => Err(record.malformed(format!(
                "the value is not a CSV line: {error}; set csv.ignore-parse-errors to skip \
                 such records"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(value: &[u8]) -> KafkaRecord<'_> {
        KafkaRecord {
            topic: "orders",
            partition: 2,
            offset: 17,
            timestamp: None,
            key: None,
            value: Some(value),
        }
    }

    #[test]
    fn a_malformed_json_record_names_topic_partition_and_offset_or_is_skipped() {
        let strict = JsonRecords::<(u64, String)>::new();
        let error = strict
            .deserialize(&record(b"{oops"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("malformed input in topic 'orders', partition 2, offset 17: "),
            "{error}"
        );
        assert!(error.contains("json.ignore-parse-errors"), "{error}");
        assert_eq!(
            strict.deserialize(&record(b"[7, \"seven\"]")).unwrap(),
            Some((7, "seven".to_owned()))
        );
        let lenient = strict.clone().ignore_parse_errors(true);
        assert_eq!(lenient.deserialize(&record(b"{oops")).unwrap(), None);
    }

    #[test]
    fn raw_text_refuses_invalid_utf8_and_skips_tombstones() {
        let error = RawText
            .deserialize(&record(b"ab\xffc"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "malformed input in topic 'orders', partition 2, offset 17: the value is not \
             valid UTF-8 (at byte 3); the raw text format reads UTF-8"
        );
        let tombstone = KafkaRecord {
            value: None,
            ..record(b"")
        };
        assert_eq!(RawText.deserialize(&tombstone).unwrap(), None);
    }

    #[test]
    fn csv_splits_quoted_fields_and_names_a_bad_line() {
        assert_eq!(
            CsvRecords::new()
                .deserialize(&record(b"1,\"a,b\",c\n"))
                .unwrap(),
            Some(vec!["1".to_owned(), "a,b".to_owned(), "c".to_owned()])
        );
        let error = CsvRecords::new()
            .deserialize(&record(b"1,\"open"))
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("malformed input in topic 'orders', partition 2, offset 17: "),
            "{error}"
        );
        assert_eq!(
            CsvRecords::new()
                .ignore_parse_errors(true)
                .deserialize(&record(b"1,\"open"))
                .unwrap(),
            None
        );
    }
}
