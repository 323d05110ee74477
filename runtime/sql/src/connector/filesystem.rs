//! The `filesystem` table source, csv format: Flink's options `path`, `format`,
//! `csv.field-delimiter` and `csv.ignore-parse-errors`. A malformed row fails the job with
//! the file and line; under `csv.ignore-parse-errors` a field that does not parse is null
//! and a row with the wrong number of fields is skipped, as in Flink.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use datafusion_common::arrow::compute::{CastOptions, cast_with_options};
use datafusion_common::arrow::util::display::FormatOptions;
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;
use flinkrs_connectors::filesystem::{list_input_files, share_of_subtask};
use flinkrs_core::Error as CoreError;
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

use super::{check_options, parse_option};
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};

const KNOWN: [&str; 5] = [
    "connector",
    "path",
    "format",
    "csv.field-delimiter",
    "csv.ignore-parse-errors",
];

/// Flink's other filesystem and csv options, which flinkrs does not support yet.
const NOT_YET: [&str; 9] = [
    "csv.allow-comments",
    "csv.array-element-delimiter",
    "csv.disable-quote-character",
    "csv.escape-character",
    "csv.null-literal",
    "csv.quote-character",
    "source.monitor-interval",
    "partition.default-name",
    "source.path.regex-pattern",
];

pub(crate) fn add_source(
    env: &StreamExecutionEnvironment,
    table: &TableDefinition,
) -> Result<ArrowStream> {
    if let Some(key) = NOT_YET.iter().find(|key| table.options.contains_key(**key)) {
        return Err(Error::unsupported(format!(
            "the filesystem option '{key}' (table '{}')",
            table.qualified_name
        )));
    }
    check_options("filesystem", &table.options, &KNOWN, &[], &[])?;
    let option_error = |key: &str, message: &str| Error::Option {
        table: table.qualified_name.clone(),
        key: key.to_owned(),
        message: message.to_owned(),
    };
    let path = table
        .options
        .get("path")
        .ok_or_else(|| option_error("path", "missing: the file or directory to read"))?;
    match table.options.get("format").map(String::as_str) {
        Some("csv") => {}
        Some("json") => return Err(Error::unsupported("the filesystem format 'json'")),
        Some(other) => {
            return Err(option_error(
                "format",
                &format!("'{other}' is not a format flinkrs reads; use 'csv'"),
            ));
        }
        None => return Err(option_error("format", "missing; set 'format' = 'csv'")),
    }
    let delimiter = match table.options.get("csv.field-delimiter") {
        None => b',',
        Some(text) => match text.replace("\\t", "\t").as_bytes() {
            [byte] => *byte,
            _ => {
                return Err(option_error(
                    "csv.field-delimiter",
                    &format!("'{text}' is not a single character"),
                ));
            }
        },
    };
    let ignore_errors: bool =
        parse_option(table, "csv.ignore-parse-errors", "true or false")?.unwrap_or(false);
    let root = PathBuf::from(path);
    let files = list_input_files(&root)?;
    let schema = Arc::clone(&table.physical);
    let format = CsvFormat {
        schema: Arc::clone(&schema),
        delimiter,
        ignore_errors,
    };
    let stream = env.add_arrow_source(&table.qualified_name, schema, None, move |info| {
        Ok(CsvSource {
            files: share_of_subtask(files.clone(), info.subtask_index, info.parallelism),
            format: format.clone(),
            file: 0,
            reader: None,
            line: 0,
        })
    })?;
    Ok(stream)
}

#[derive(Clone, Debug)]
struct CsvFormat {
    schema: SchemaRef,
    delimiter: u8,
    ignore_errors: bool,
}

/// Reads this subtask's files in order, a batch of lines per poll.
struct CsvSource {
    files: Vec<PathBuf>,
    format: CsvFormat,
    /// The file being read, as an index into `files`.
    file: usize,
    reader: Option<BufReader<File>>,
    /// The last line read of the current file (1-based).
    line: u64,
}

impl SourceFunction<ArrowBatch> for CsvSource {
    fn poll_batch(
        &mut self,
        batch: &mut ArrowBatch,
        context: &SourceContext,
    ) -> flinkrs_core::Result<SourceStatus> {
        let columns = self.format.schema.fields().len();
        let mut fields: Vec<StringBuilder> = (0..columns).map(|_| StringBuilder::new()).collect();
        let mut lines: Vec<u64> = Vec::new();
        let mut text = String::new();
        while lines.len() < context.batch_rows.max(1) {
            let Some(path) = self.files.get(self.file) else {
                break;
            };
            if self.reader.is_none() {
                let file = File::open(path).map_err(|source| CoreError::Io {
                    action: "open csv file",
                    path: path.clone(),
                    source,
                })?;
                self.reader = Some(BufReader::new(file));
                self.line = 0;
            }
            text.clear();
            let read = match &mut self.reader {
                Some(reader) => reader
                    .read_line(&mut text)
                    .map_err(|source| CoreError::Io {
                        action: "read csv file",
                        path: path.clone(),
                        source,
                    })?,
                None => 0,
            };
            if read == 0 {
                self.reader = None;
                self.file += 1;
                continue;
            }
            self.line += 1;
            let line = text.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                continue;
            }
            let values = split_csv_line(line, self.format.delimiter);
            if values.len() != columns {
                if self.format.ignore_errors {
                    continue;
                }
                if !lines.is_empty() {
                    // An earlier line of this batch may be malformed too: report the first.
                    let strings: Vec<ArrayRef> = fields
                        .iter()
                        .map(|builder| Arc::new(builder.finish_cloned()) as ArrayRef)
                        .collect();
                    self.typed(strings, &lines, Some(path))?;
                }
                return Err(malformed(
                    path,
                    self.line,
                    format!(
                        "the row has {} fields, the table has {columns} columns (set \
                         'csv.ignore-parse-errors' = 'true' to skip such rows)",
                        values.len()
                    ),
                ));
            }
            for (builder, value) in fields.iter_mut().zip(values) {
                builder.append_value(value);
            }
            lines.push(self.line);
        }
        if !lines.is_empty() {
            let path = self
                .files
                .get(self.file.min(self.files.len().saturating_sub(1)));
            let strings: Vec<ArrayRef> = fields
                .iter_mut()
                .map(|builder| Arc::new(builder.finish()) as ArrayRef)
                .collect();
            let typed = self.typed(strings, &lines, path)?;
            *batch = ArrowBatch::new(typed);
        }
        Ok(if self.file >= self.files.len() {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        })
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

impl CsvSource {
    /// Casts the text columns to the table's types; a value that does not parse fails the
    /// job naming the file, line and column, or becomes null under `ignore-parse-errors`.
    fn typed(
        &self,
        strings: Vec<ArrayRef>,
        lines: &[u64],
        path: Option<&PathBuf>,
    ) -> flinkrs_core::Result<RecordBatch> {
        let schema = &self.format.schema;
        let options = CastOptions {
            safe: self.format.ignore_errors,
            format_options: FormatOptions::default(),
        };
        let mut columns = Vec::with_capacity(strings.len());
        for (index, strings) in strings.into_iter().enumerate() {
            let field = schema.field(index);
            if field.data_type() == &DataType::Utf8 {
                columns.push(strings);
                continue;
            }
            match cast_with_options(&strings, field.data_type(), &options) {
                Ok(array) => columns.push(array),
                Err(_) => {
                    // Find the first value that does not parse, for the message.
                    let strict = CastOptions {
                        safe: false,
                        format_options: FormatOptions::default(),
                    };
                    let row = (0..strings.len())
                        .find(|&row| {
                            cast_with_options(&strings.slice(row, 1), field.data_type(), &strict)
                                .is_err()
                        })
                        .unwrap_or(0);
                    let value = arrow_array::cast::AsArray::as_string::<i32>(&strings)
                        .value(row)
                        .to_owned();
                    let path = path.cloned().unwrap_or_default();
                    return Err(malformed(
                        &path,
                        lines.get(row).copied().unwrap_or(0),
                        format!(
                            "'{value}' in column '{}' is not a {} (set \
                             'csv.ignore-parse-errors' = 'true' to read it as null)",
                            field.name(),
                            crate::types::flink_type_name(field.data_type())
                        ),
                    ));
                }
            }
        }
        for (index, column) in columns.iter().enumerate() {
            let field = schema.field(index);
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(CoreError::MalformedInput {
                    location: format!("csv files of column '{}'", field.name()),
                    message: "a NOT NULL column is empty".into(),
                });
            }
        }
        RecordBatch::try_new(Arc::clone(schema), columns)
            .map_err(|error| CoreError::function(format!("csv source: {error}")))
    }
}

fn malformed(path: &std::path::Path, line: u64, message: String) -> CoreError {
    CoreError::MalformedInput {
        location: format!("file '{}' line {line}", path.display()),
        message,
    }
}

/// Splits one csv line on `delimiter`, with `"` quoting (`""` is a quote inside quotes). An
/// empty field is the empty string, as in Flink: a `STRING` column reads it as `''`, and
/// other types fail to parse it (null under `csv.ignore-parse-errors`).
fn split_csv_line(line: &str, delimiter: u8) -> Vec<String> {
    let delimiter = char::from(delimiter);
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(character) = chars.next() {
        if quoted {
            if character == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(character);
            }
        } else if character == '"' {
            quoted = true;
        } else if character == delimiter {
            fields.push(std::mem::take(&mut field));
        } else {
            field.push(character);
        }
    }
    fields.push(field);
    fields
}

#[cfg(test)]
mod tests {
    use super::split_csv_line;

    #[test]
    fn csv_fields_split_on_the_delimiter_outside_quotes() {
        assert_eq!(
            split_csv_line("a,\"b,c\",,\"\",\"say \"\"hi\"\"\"", b','),
            vec!["a", "b,c", "", "", "say \"hi\""]
        );
        assert_eq!(split_csv_line("1|x", b'|'), vec!["1", "x"]);
    }
}
