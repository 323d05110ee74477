//! From a Kafka record to a table row: the value's columns in the value format, the key's
//! columns in the key format, and, for an `upsert-kafka` table, whether the record deletes its
//! key (a tombstone: a key without a value).
//!
//! As in Flink, a column in both the key and the value (`value.fields-include` = `ALL`) takes
//! the value's; the key is decoded only for the columns the value lacks (`EXCEPT_KEY`) and for
//! a tombstone. A plain `kafka` table skips tombstones.
//!
//! Values stay text here: the source casts whole columns to the table's types, so that a
//! value that does not parse is named with its column (see `kafka_source`).

use arrow_schema::{DataType, Schema};
use flinkrs_kafka::KafkaRecord;

use super::kafka::{Format, RecordLayout};

/// A row as read: where it came from (for errors), its values as text, and whether it is
/// an `upsert-kafka` tombstone (only the key's columns are set).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(super) struct KafkaRow {
    pub partition: i32,
    pub offset: i64,
    pub values: Vec<Option<String>>,
    pub deleted: bool,
}

/// A column a format reads: its position in the row, its name (JSON's field), and whether it
/// is text (an empty CSV field is then an empty string, not null).
#[derive(Clone, Debug)]
struct Column {
    index: usize,
    name: String,
    text: bool,
}

/// The key's or the value's columns and format.
#[derive(Clone, Debug)]
struct Part {
    what: &'static str,
    format: Format,
    columns: Vec<Column>,
}

/// Decodes the records of one table.
#[derive(Clone, Debug)]
pub(super) struct RecordDecoder {
    value: Part,
    key: Option<Part>,
    /// Whether a record's key holds columns its value lacks.
    key_completes_value: bool,
    width: usize,
    ignore_parse_errors: bool,
    upsert: bool,
}

impl RecordDecoder {
    pub(super) fn new(
        schema: &Schema,
        layout: &RecordLayout,
        value_format: Format,
        ignore_parse_errors: bool,
        upsert: bool,
    ) -> Self {
        let columns = |indices: &[usize]| {
            indices
                .iter()
                .map(|&index| {
                    let field = schema.field(index);
                    Column {
                        index,
                        name: field.name().clone(),
                        text: field.data_type() == &DataType::Utf8,
                    }
                })
                .collect()
        };
        let key = layout.key.as_ref().map(|(format, indices)| Part {
            what: "key",
            format: *format,
            columns: columns(indices),
        });
        let key_completes_value = layout
            .key
            .as_ref()
            .is_some_and(|(_, indices)| indices.iter().any(|i| !layout.value.contains(i)));
        RecordDecoder {
            value: Part {
                what: "value",
                format: value_format,
                columns: columns(&layout.value),
            },
            key,
            key_completes_value,
            width: schema.fields().len(),
            ignore_parse_errors,
            upsert,
        }
    }

    /// The record's row, `None` to skip it (a tombstone of a plain table, or a record that is
    /// not a row under ignore-parse-errors), or an error naming the record.
    pub(super) fn row(&self, record: &KafkaRecord<'_>) -> flinkrs_core::Result<Option<KafkaRow>> {
        let mut values = vec![None; self.width];
        let deleted = record.value.is_none();
        if deleted && !self.upsert {
            return Ok(None);
        }
        if (deleted || self.key_completes_value)
            && let (Some(part), Some(bytes)) = (&self.key, record.key)
        {
            let Some(key) = self.decode(record, part, bytes)? else {
                return Ok(None);
            };
            place(&mut values, part, key);
        }
        if let Some(bytes) = record.value {
            let Some(value) = self.decode(record, &self.value, bytes)? else {
                return Ok(None);
            };
            place(&mut values, &self.value, value);
        }
        Ok(Some(KafkaRow {
            partition: record.partition,
            offset: record.offset,
            values,
            deleted,
        }))
    }

    /// `part`'s column values as text, `None` to skip the record (under ignore-parse-errors),
    /// or an error naming the record.
    fn decode(
        &self,
        record: &KafkaRecord<'_>,
        part: &Part,
        bytes: &[u8],
    ) -> flinkrs_core::Result<Option<Vec<Option<String>>>> {
        let what = part.what;
        let not_a_row = |message: String| {
            if self.ignore_parse_errors {
                Ok(None)
            } else {
                Err(record.malformed(message))
            }
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return not_a_row(format!("the {what} is not valid UTF-8"));
        };
        let columns = &part.columns;
        match part.format {
            Format::Raw => Ok(Some(vec![Some(text.to_owned())])),
            Format::Csv => {
                let fields = match flinkrs_connectors::filesystem::parse_csv_line(
                    text.trim_end_matches(['\r', '\n']),
                    1,
                ) {
                    Ok(fields) => fields,
                    Err(error) => {
                        return not_a_row(format!("the {what} is not a CSV row: {error}"));
                    }
                };
                if fields.len() != columns.len() {
                    return not_a_row(format!(
                        "the {what} has {} fields, the table's {what} has {} columns (set \
                         'csv.ignore-parse-errors' = 'true' to skip such rows)",
                        fields.len(),
                        columns.len()
                    ));
                }
                Ok(Some(
                    fields
                        .into_iter()
                        .zip(columns)
                        .map(|(field, column)| (column.text || !field.is_empty()).then_some(field))
                        .collect(),
                ))
            }
            Format::Json => {
                let object = match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::Object(object)) => object,
                    Ok(_) => return not_a_row(format!("the {what} is not a JSON object")),
                    Err(error) => {
                        return not_a_row(format!(
                            "the {what} is not JSON: {error} (set 'json.ignore-parse-errors' = \
                             'true' to skip such records)"
                        ));
                    }
                };
                Ok(Some(
                    columns
                        .iter()
                        .map(|column| match object.get(&column.name) {
                            None | Some(serde_json::Value::Null) => None,
                            Some(serde_json::Value::String(text)) => Some(text.clone()),
                            Some(other) => Some(other.to_string()),
                        })
                        .collect(),
                ))
            }
        }
    }
}

/// Puts `part`'s decoded values at their columns.
fn place(values: &mut [Option<String>], part: &Part, decoded: Vec<Option<String>>) {
    for (column, value) in part.columns.iter().zip(decoded) {
        values[column.index] = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::Field;

    fn schema() -> Schema {
        Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("cnt", DataType::Int64, true),
        ])
    }

    fn record<'a>(key: Option<&'a [u8]>, value: Option<&'a [u8]>) -> KafkaRecord<'a> {
        KafkaRecord {
            topic: "counts",
            partition: 1,
            offset: 7,
            timestamp: None,
            key,
            value,
        }
    }

    fn decoder(value: Vec<usize>, upsert: bool) -> RecordDecoder {
        let layout = RecordLayout {
            key: Some((Format::Csv, vec![0])),
            value,
        };
        RecordDecoder::new(&schema(), &layout, Format::Json, false, upsert)
    }

    fn values(row: Option<KafkaRow>) -> (Vec<Option<String>>, bool) {
        let row = row.expect("a row");
        (row.values, row.deleted)
    }

    #[test]
    fn the_value_wins_over_the_key_and_the_key_completes_an_except_key_value() {
        let some = |text: &str| Some(text.to_owned());
        let all = decoder(vec![0, 1], false);
        let row = all
            .row(&record(Some(b"Key"), Some(br#"{"name":"Value","cnt":3}"#)))
            .unwrap();
        assert_eq!(values(row), (vec![some("Value"), some("3")], false));
        let except_key = decoder(vec![1], false);
        let row = except_key
            .row(&record(Some(b"Key"), Some(br#"{"cnt":3}"#)))
            .unwrap();
        assert_eq!(values(row), (vec![some("Key"), some("3")], false));
        // Without a key, the key's columns are null.
        let row = except_key
            .row(&record(None, Some(br#"{"cnt":4}"#)))
            .unwrap();
        assert_eq!(values(row), (vec![None, some("4")], false));
    }

    #[test]
    fn a_tombstone_deletes_its_key_in_an_upsert_table_and_is_skipped_otherwise() {
        let tombstone = record(Some(b"Bob"), None);
        let row = decoder(vec![0, 1], true).row(&tombstone).unwrap();
        assert_eq!(values(row), (vec![Some("Bob".to_owned()), None], true));
        assert!(
            decoder(vec![0, 1], false)
                .row(&tombstone)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_key_that_does_not_parse_names_the_record() {
        let error = decoder(vec![1], true)
            .row(&record(Some(b"a,b"), Some(br#"{"cnt":1}"#)))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("topic 'counts', partition 1, offset 7")
                && error.contains("the key has 2 fields, the table's key has 1 columns"),
            "{error}"
        );
    }
}
