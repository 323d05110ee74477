//! The `filesystem` table sink: `INSERT INTO` a csv or json table writes its rows exactly once
//! into part files under `path` (a folder, or `s3://bucket/prefix`), through the runtime's
//! [`FileSink`]: committed with each completed checkpoint, or at the end of a bounded job, as
//! Flink's filesystem connector does. Part files roll with Flink's `sink.rolling-policy.*`
//! options. A `PARTITIONED BY` table's rows go to their partitions' folders
//! (`dt=2024-01-01/`), without the partition columns, as Flink writes them.
//!
//! A partition commit policy (`sink.partition-commit.policy.kind` = `success-file`) adds
//! Flink's partition committer after the writers ([`super::partition_commit`]).
//!
//! As in Flink, the sink takes inserts only: a query that updates its rows (a group
//! aggregate in streaming mode) is refused when it is planned.

use std::fmt;

use arrow_schema::DataType;
use flinkrs_connectors::filesystem::{FileRecord, FileSink};

use super::check_options;
use super::partition_commit::{self, CommitSettings};
use super::partition_committer::{PartitionCommitter, PartitionWriter};
use super::partitions::Partitioning;
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};
use crate::render::ResultRow;

/// The options a filesystem table may hold when it is written: its own, the csv reader's
/// (the same table can be read), the rolling policy's, and partition commit's.
const KNOWN: [&str; 17] = [
    "connector",
    "partition.default-name",
    "json.ignore-parse-errors",
    "path",
    "format",
    "csv.field-delimiter",
    "csv.ignore-parse-errors",
    "sink.rolling-policy.file-size",
    "sink.rolling-policy.rollover-interval",
    "sink.rolling-policy.check-interval",
    "sink.rolling-policy.inactivity-interval",
    partition_commit::TRIGGER,
    partition_commit::DELAY,
    partition_commit::POLICY,
    partition_commit::SUCCESS_FILE_NAME,
    partition_commit::TIMESTAMP_PATTERN,
    partition_commit::WATERMARK_TIME_ZONE,
];

/// Writes `rows` into `table`'s folder; `updating` says whether the query emits updates.
pub(crate) fn add_sink(
    rows: flinkrs_api::DataStream<ResultRow>,
    table: &TableDefinition,
    updating: bool,
) -> Result<()> {
    check_options("filesystem", &table.options, &KNOWN, &[], &[])?;
    let option_error = |key: &str, message: String| Error::Option {
        table: table.qualified_name.clone(),
        key: key.to_owned(),
        message,
    };
    if updating {
        return Err(Error::validation(format!(
            "Table sink '{}' doesn't support consuming update changes: the filesystem \
             connector writes inserts only; aggregate over a window (TUMBLE) or in batch mode",
            table.qualified_name
        )));
    }
    let path = table
        .options
        .get("path")
        .ok_or_else(|| option_error("path", "missing: the folder to write".to_owned()))?;
    let format = match table.options.get("format").map(String::as_str) {
        Some("csv") => LineFormat::Csv {
            delimiter: csv_delimiter(table)?,
        },
        Some("json") => LineFormat::Json {
            columns: JsonColumn::of(table)?,
        },
        Some(other) => {
            return Err(option_error(
                "format",
                format!("'{other}' is not a format flinkrs writes; use 'csv' or 'json'"),
            ));
        }
        None => {
            return Err(option_error(
                "format",
                "missing; set 'format' = 'csv' or 'json'".to_owned(),
            ));
        }
    };
    let mut sink = FileSink::for_row_format(path);
    for (key, value) in &table.options {
        if key.starts_with("sink.rolling-policy.") {
            sink = sink
                .with_option(key, value)
                .map_err(|error| option_error(key, error.to_string()))?;
        }
    }
    let sink = sink
        .build()
        .map_err(|error| option_error("path", error.to_string()))?;
    let commit = CommitSettings::of(table, path)?;
    let writer = LineWriter {
        format,
        partitioning: Partitioning::of(table)?,
    };
    let lines = rows.map(move |row| writer.line(&row));
    let uid = format!("filesystem-sink-{}", table.qualified_name);
    let Some(commit) = commit else {
        lines.add_sink("File Sink", sink).uid(&uid);
        return Ok(());
    };
    // Flink's `StreamingFileWriter` and its `PartitionCommitter` at parallelism 1.
    let commit = std::sync::Arc::new(commit);
    lines
        .transform("StreamingFileWriter", move |info| {
            PartitionWriter::<FileLine>::new(sink.clone(), info)
        })
        .uid(&uid)
        .transform("PartitionCommitter", move |info| {
            PartitionCommitter::new(std::sync::Arc::clone(&commit), info)
        })
        .set_parallelism(1)
        .uid(&format!("partition-committer-{}", table.qualified_name))
        .discard();
    Ok(())
}

fn csv_delimiter(table: &TableDefinition) -> Result<char> {
    let Some(text) = table.options.get("csv.field-delimiter") else {
        return Ok(',');
    };
    let text = text.replace("\\t", "\t");
    let mut characters = text.chars();
    match (characters.next(), characters.next()) {
        (Some(character), None) => Ok(character),
        _ => Err(Error::Option {
            table: table.qualified_name.clone(),
            key: "csv.field-delimiter".into(),
            message: format!("'{text}' is not a single character"),
        }),
    }
}

/// How a row becomes a line of its file.
#[derive(Clone, Debug)]
enum LineFormat {
    Csv { delimiter: char },
    Json { columns: Vec<JsonColumn> },
}

/// A column as the json format writes it: its name, already a JSON string with its colon, and
/// how its value is written.
#[derive(Clone, Debug)]
struct JsonColumn {
    key: String,
    kind: JsonKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonKind {
    /// Numbers: the rendered value as it is.
    Number,
    Boolean,
    /// A timestamp: a string, without the fraction's trailing zeros, as Flink's `SQL` standard.
    Timestamp,
    String,
}

impl JsonColumn {
    /// The columns of `table`'s files; a type the json writer cannot write is an error.
    fn of(table: &TableDefinition) -> Result<Vec<JsonColumn>> {
        let mut columns = Vec::new();
        for field in table.physical.fields() {
            let kind = match field.data_type() {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Float32
                | DataType::Float64
                | DataType::Decimal128(..) => JsonKind::Number,
                DataType::Boolean => JsonKind::Boolean,
                DataType::Timestamp(..) => JsonKind::Timestamp,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Date32 => {
                    JsonKind::String
                }
                other => {
                    return Err(Error::unsupported(format!(
                        "writing a {} column ('{}' of table '{}') in the json format",
                        crate::types::flink_type_name(other),
                        field.name(),
                        table.qualified_name
                    )));
                }
            };
            let mut key = String::new();
            json_string(field.name(), &mut key);
            key.push(':');
            columns.push(JsonColumn { key, kind });
        }
        Ok(columns)
    }
}

/// Turns rows into the lines of their partitions' files.
#[derive(Clone, Debug)]
struct LineWriter {
    format: LineFormat,
    partitioning: Option<Partitioning>,
}

/// One line of a part file, and the partition folder it goes to ("" when unpartitioned).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct FileLine {
    folder: String,
    text: String,
}

impl FileRecord for FileLine {
    fn line(&self) -> &dyn fmt::Display {
        &self.text
    }

    fn bucket(&self) -> &str {
        &self.folder
    }
}

impl LineWriter {
    fn line(&self, row: &ResultRow) -> FileLine {
        let mut folder = String::new();
        let mut text = String::new();
        let written = |column: &usize| {
            !self
                .partitioning
                .as_ref()
                .is_some_and(|partitioning| partitioning.is_key(*column))
        };
        match &self.format {
            LineFormat::Csv { delimiter } => {
                for (index, value) in row
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(column, _)| written(column))
                    .map(|(_, value)| value)
                    .enumerate()
                {
                    if index > 0 {
                        text.push(*delimiter);
                    }
                    if let Some(value) = value {
                        csv_field(value, *delimiter, &mut text);
                    }
                }
            }
            LineFormat::Json { columns } => {
                text.push('{');
                for (index, (column, value)) in columns
                    .iter()
                    .zip(&row.values)
                    .enumerate()
                    .filter(|(column, _)| written(column))
                    .map(|(_, pair)| pair)
                    .enumerate()
                {
                    if index > 0 {
                        text.push(',');
                    }
                    text.push_str(&column.key);
                    json_value(value.as_deref(), column.kind, &mut text);
                }
                text.push('}');
            }
        }
        if let Some(partitioning) = &self.partitioning {
            let values: Vec<Option<&str>> = partitioning
                .key_columns()
                .into_iter()
                .map(|column| row.values.get(column).and_then(Option::as_deref))
                .collect();
            partitioning.folder_into(&values, &mut folder);
        }
        FileLine { folder, text }
    }
}

/// A csv field, quoted (with its quotes doubled) when it holds the delimiter, a quote or a
/// line break.
fn csv_field(value: &str, delimiter: char, out: &mut String) {
    let quoted = value
        .chars()
        .any(|c| c == delimiter || c == '"' || c == '\n' || c == '\r');
    if !quoted {
        out.push_str(value);
        return;
    }
    out.push('"');
    for (position, part) in value.split('"').enumerate() {
        if position > 0 {
            out.push_str("\"\"");
        }
        out.push_str(part);
    }
    out.push('"');
}

fn json_value(value: Option<&str>, kind: JsonKind, out: &mut String) {
    let Some(value) = value else {
        out.push_str("null");
        return;
    };
    match kind {
        JsonKind::Number => out.push_str(value),
        JsonKind::Boolean => out.push_str(if value == "TRUE" { "true" } else { "false" }),
        JsonKind::Timestamp => {
            let trimmed = match value.split_once('.') {
                Some((seconds, fraction)) if fraction.bytes().all(|b| b == b'0') => seconds,
                Some(_) => value.trim_end_matches('0'),
                None => value,
            };
            json_string(trimmed, out);
        }
        JsonKind::String => json_string(value, out),
    }
}

/// `text` as a JSON string, quoted and escaped.
fn json_string(text: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            control if control < ' ' => {
                let _ = write!(out, "\\u{:04x}", u32::from(control));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use arrow_schema::{Field, Schema};

    use super::*;
    use crate::render::RowKind;

    fn table(fields: Vec<Field>, partition_keys: &[&str]) -> TableDefinition {
        let physical = Arc::new(Schema::new(fields));
        TableDefinition {
            qualified_name: "c.d.t".into(),
            physical: Arc::clone(&physical),
            computed: Vec::new(),
            schema: physical,
            watermark: None,
            primary_key: Vec::new(),
            partition_keys: partition_keys.iter().map(|key| (*key).to_owned()).collect(),
            options: BTreeMap::new(),
            temporary: false,
        }
    }

    fn row(values: &[Option<&str>]) -> ResultRow {
        ResultRow {
            kind: RowKind::Insert,
            values: values.iter().map(|v| v.map(str::to_owned)).collect(),
        }
    }

    fn csv(values: &[Option<&str>], delimiter: char) -> String {
        LineWriter {
            format: LineFormat::Csv { delimiter },
            partitioning: None,
        }
        .line(&row(values))
        .text
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(csv(&[Some("a"), Some("1"), None, Some("x")], ','), "a,1,,x");
        assert_eq!(
            csv(&[Some("a,b"), Some("say \"hi\""), Some("two\nlines")], ','),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\""
        );
        assert_eq!(csv(&[Some("a,b"), Some("c|d")], '|'), "a,b|\"c|d\"");
    }

    #[test]
    fn json_lines_write_each_type_as_flinks_json_format_does() {
        let table = table(
            vec![
                Field::new("id", DataType::Int64, true),
                Field::new("name", DataType::Utf8, true),
                Field::new("ok", DataType::Boolean, true),
                Field::new(
                    "ts",
                    DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, None),
                    true,
                ),
                Field::new("price", DataType::Float64, true),
            ],
            &[],
        );
        let writer = LineWriter {
            format: LineFormat::Json {
                columns: JsonColumn::of(&table).unwrap(),
            },
            partitioning: None,
        };
        let line = writer.line(&row(&[
            Some("7"),
            Some("say \"hi\"\n"),
            Some("TRUE"),
            Some("2024-01-02 03:04:05.500"),
            None,
        ]));
        assert_eq!(
            line.text,
            r#"{"id":7,"name":"say \"hi\"\n","ok":true,"ts":"2024-01-02 03:04:05.5","price":null}"#
        );
        let line = writer.line(&row(&[
            Some("8"),
            Some(""),
            Some("FALSE"),
            Some("2024-01-02 03:04:05.000"),
            Some("1.5"),
        ]));
        assert_eq!(
            line.text,
            r#"{"id":8,"name":"","ok":false,"ts":"2024-01-02 03:04:05","price":1.5}"#
        );
    }

    #[test]
    fn a_partitioned_row_goes_to_its_folder_without_its_partition_columns() {
        let table = table(
            vec![
                Field::new("dt", DataType::Utf8, true),
                Field::new("v", DataType::Int32, true),
                Field::new("hr", DataType::Int32, true),
            ],
            &["dt", "hr"],
        );
        let writer = LineWriter {
            format: LineFormat::Csv { delimiter: ',' },
            partitioning: Partitioning::of(&table).unwrap(),
        };
        let line = writer.line(&row(&[Some("2024/01/02"), Some("5"), Some("10")]));
        assert_eq!(
            (line.folder.as_str(), line.text.as_str()),
            ("dt=2024%2F01%2F02/hr=10", "5")
        );
        let line = writer.line(&row(&[None, Some("6"), Some("")]));
        assert_eq!(
            (line.folder.as_str(), line.text.as_str()),
            ("dt=__DEFAULT_PARTITION__/hr=__DEFAULT_PARTITION__", "6")
        );
    }
}
