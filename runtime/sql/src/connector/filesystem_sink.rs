//! The `filesystem` table sink: `INSERT INTO` a csv table writes its rows exactly once into
//! part files under `path` (a folder, or `s3://bucket/prefix`), through the runtime's
//! [`FileSink`]: committed with each completed checkpoint, or at the end of a bounded job, as
//! Flink's filesystem connector does. Part files roll with Flink's `sink.rolling-policy.*`
//! options.
//!
//! As in Flink, the sink takes inserts only: a query that updates its rows (a group
//! aggregate in streaming mode) is refused when it is planned.

use std::fmt;

use flinkrs_connectors::ConnectorSinks;
use flinkrs_connectors::filesystem::FileSink;

use super::check_options;
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};
use crate::render::ResultRow;

/// The options a filesystem table may hold when it is written: its own, the csv reader's
/// (the same table can be read), and the rolling policy's.
const KNOWN: [&str; 9] = [
    "connector",
    "path",
    "format",
    "csv.field-delimiter",
    "csv.ignore-parse-errors",
    "sink.rolling-policy.file-size",
    "sink.rolling-policy.rollover-interval",
    "sink.rolling-policy.check-interval",
    "sink.rolling-policy.inactivity-interval",
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
    match table.options.get("format").map(String::as_str) {
        Some("csv") => {}
        Some("json") => return Err(Error::unsupported("writing the filesystem format 'json'")),
        Some(other) => {
            return Err(option_error(
                "format",
                format!("'{other}' is not a format flinkrs writes; use 'csv'"),
            ));
        }
        None => {
            return Err(option_error(
                "format",
                "missing; set 'format' = 'csv'".to_owned(),
            ));
        }
    }
    let delimiter = match table.options.get("csv.field-delimiter") {
        None => ',',
        Some(text) => {
            let text = text.replace("\\t", "\t");
            let mut characters = text.chars();
            match (characters.next(), characters.next()) {
                (Some(character), None) => character,
                _ => {
                    return Err(option_error(
                        "csv.field-delimiter",
                        format!("'{text}' is not a single character"),
                    ));
                }
            }
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
    rows.map(move |row| CsvLine { row, delimiter })
        .sink_to_files(sink)
        .uid(&format!("filesystem-sink-{}", table.qualified_name));
    Ok(())
}

/// A row written as one csv line (without its line break): fields separated by the
/// delimiter, null as an empty field, and a field quoted (with its quotes doubled) when it
/// holds the delimiter, a quote or a line break.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct CsvLine {
    row: ResultRow,
    delimiter: char,
}

impl fmt::Display for CsvLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, value) in self.row.values.iter().enumerate() {
            if index > 0 {
                write!(f, "{}", self.delimiter)?;
            }
            let Some(value) = value else { continue };
            let quoted = value
                .chars()
                .any(|c| c == self.delimiter || c == '"' || c == '\n' || c == '\r');
            if quoted {
                f.write_str("\"")?;
                for (position, part) in value.split('"').enumerate() {
                    if position > 0 {
                        f.write_str("\"\"")?;
                    }
                    f.write_str(part)?;
                }
                f.write_str("\"")?;
            } else {
                f.write_str(value)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::RowKind;

    fn line(values: &[Option<&str>], delimiter: char) -> String {
        CsvLine {
            row: ResultRow {
                kind: RowKind::Insert,
                values: values.iter().map(|v| v.map(str::to_owned)).collect(),
            },
            delimiter,
        }
        .to_string()
    }

    #[test]
    fn fields_are_quoted_only_when_they_must_be() {
        assert_eq!(
            line(&[Some("a"), Some("1"), None, Some("x")], ','),
            "a,1,,x"
        );
        assert_eq!(
            line(&[Some("a,b"), Some("say \"hi\""), Some("two\nlines")], ','),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\""
        );
        assert_eq!(line(&[Some("a,b"), Some("c|d")], '|'), "a,b|\"c|d\"");
    }
}
