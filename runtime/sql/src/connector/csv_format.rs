//! The `csv` format of the filesystem source: lines split on the field delimiter with `"`
//! quoting (`""` is a quote inside quotes), straight into one string column per table column,
//! then cast to the table's types a batch at a time. Nothing is allocated per line: the
//! splitter reuses its field positions and its unquoting buffer.
//!
//! An empty field is the empty string, as in Flink: a `STRING` column reads it as `''`, and
//! other types fail to parse it (null under `csv.ignore-parse-errors`).

use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use datafusion_common::arrow::compute::{CastOptions, cast_with_options};
use datafusion_common::arrow::util::display::FormatOptions;
use flinkrs_core::Error as CoreError;

#[derive(Clone, Debug)]
pub(crate) struct CsvFormat {
    pub schema: SchemaRef,
    pub delimiter: u8,
    pub ignore_errors: bool,
}

/// Where one field lies in its line, and whether it holds quotes to take out.
#[derive(Clone, Copy, Debug)]
struct FieldSpan {
    start: usize,
    end: usize,
    quoted: bool,
}

/// A batch of csv lines being split into string columns.
pub(crate) struct CsvColumns {
    delimiter: u8,
    columns: Vec<StringBuilder>,
    spans: Vec<FieldSpan>,
    unquoted: String,
}

impl CsvColumns {
    pub fn new(format: &CsvFormat) -> CsvColumns {
        CsvColumns {
            delimiter: format.delimiter,
            columns: (0..format.schema.fields().len())
                .map(|_| StringBuilder::new())
                .collect(),
            spans: Vec::new(),
            unquoted: String::new(),
        }
    }

    /// Appends `line`'s fields, one to each column. A line with another number of fields
    /// appends nothing and returns `Err` with its field count.
    pub fn push_line(&mut self, line: &str) -> Result<(), usize> {
        split(line.as_bytes(), self.delimiter, &mut self.spans);
        if self.spans.len() != self.columns.len() {
            return Err(self.spans.len());
        }
        for (column, span) in self.columns.iter_mut().zip(&self.spans) {
            let raw = &line[span.start..span.end];
            if span.quoted {
                unquote(raw, &mut self.unquoted);
                column.append_value(&self.unquoted);
            } else {
                column.append_value(raw);
            }
        }
        Ok(())
    }

    /// The string columns of the lines pushed since the last call; the builders start over.
    pub fn finish(&mut self) -> Vec<ArrayRef> {
        self.columns
            .iter_mut()
            .map(|column| Arc::new(column.finish()) as ArrayRef)
            .collect()
    }
}

/// The spans of `line`'s fields, split on `delimiter` outside quotes.
fn split(line: &[u8], delimiter: u8, spans: &mut Vec<FieldSpan>) {
    spans.clear();
    let mut start = 0;
    let mut inside_quotes = false;
    let mut quoted = false;
    for (index, &byte) in line.iter().enumerate() {
        if byte == b'"' {
            inside_quotes = !inside_quotes;
            quoted = true;
        } else if byte == delimiter && !inside_quotes {
            spans.push(FieldSpan {
                start,
                end: index,
                quoted,
            });
            start = index + 1;
            quoted = false;
        }
    }
    spans.push(FieldSpan {
        start,
        end: line.len(),
        quoted,
    });
}

/// `raw` with its quotes taken out and each `""` inside quotes made one `"`, into `out`.
fn unquote(raw: &str, out: &mut String) {
    out.clear();
    let mut inside_quotes = false;
    let mut characters = raw.chars().peekable();
    while let Some(character) = characters.next() {
        if character != '"' {
            out.push(character);
        } else if inside_quotes && characters.peek() == Some(&'"') {
            out.push('"');
            characters.next();
        } else {
            inside_quotes = !inside_quotes;
        }
    }
}

impl CsvFormat {
    /// Casts the text columns to the table's types; a value that does not parse fails the
    /// job naming the file, line and column, or becomes null under `ignore-parse-errors`.
    pub fn typed(
        &self,
        strings: Vec<ArrayRef>,
        lines: &[u64],
        path: &Path,
    ) -> flinkrs_core::Result<RecordBatch> {
        let options = CastOptions {
            safe: self.ignore_errors,
            format_options: FormatOptions::default(),
        };
        let mut columns = Vec::with_capacity(strings.len());
        for (index, strings) in strings.into_iter().enumerate() {
            let field = self.schema.field(index);
            if field.data_type() == &DataType::Utf8 {
                columns.push(strings);
                continue;
            }
            match cast_with_options(&strings, field.data_type(), &options) {
                Ok(array) => columns.push(array),
                Err(_) => return Err(self.first_unparsed(&strings, index, lines, path)),
            }
        }
        for (index, column) in columns.iter().enumerate() {
            let field = self.schema.field(index);
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(CoreError::MalformedInput {
                    location: format!("csv files of column '{}'", field.name()),
                    message: "a NOT NULL column is empty".into(),
                });
            }
        }
        RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|error| CoreError::function(format!("csv source: {error}")))
    }

    /// The error for the first value of column `index` that does not parse.
    fn first_unparsed(
        &self,
        strings: &ArrayRef,
        index: usize,
        lines: &[u64],
        path: &Path,
    ) -> CoreError {
        let field = self.schema.field(index);
        let strict = CastOptions {
            safe: false,
            format_options: FormatOptions::default(),
        };
        let row = (0..strings.len())
            .find(|&row| {
                cast_with_options(&strings.slice(row, 1), field.data_type(), &strict).is_err()
            })
            .unwrap_or(0);
        let value = arrow_array::cast::AsArray::as_string::<i32>(strings).value(row);
        malformed(
            path,
            lines.get(row).copied().unwrap_or(0),
            format!(
                "'{value}' in column '{}' is not a {} (set 'csv.ignore-parse-errors' = 'true' \
                 to read it as null)",
                field.name(),
                crate::types::flink_type_name(field.data_type())
            ),
        )
    }
}

pub(crate) fn malformed(path: &Path, line: u64, message: String) -> CoreError {
    CoreError::MalformedInput {
        location: format!("file '{}' line {line}", path.display()),
        message,
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_schema::{Field, Schema};

    use super::*;

    fn strings(line: &str, delimiter: u8, width: usize) -> Result<Vec<String>, usize> {
        let fields: Vec<Field> = (0..width)
            .map(|index| Field::new(format!("c{index}"), DataType::Utf8, true))
            .collect();
        let format = CsvFormat {
            schema: Arc::new(Schema::new(fields)),
            delimiter,
            ignore_errors: false,
        };
        let mut columns = CsvColumns::new(&format);
        columns.push_line(line)?;
        Ok(columns
            .finish()
            .iter()
            .map(|column| column.as_string::<i32>().value(0).to_owned())
            .collect())
    }

    #[test]
    fn csv_fields_split_on_the_delimiter_outside_quotes() {
        assert_eq!(
            strings("a,\"b,c\",,\"\",\"say \"\"hi\"\"\"", b',', 5).unwrap(),
            ["a", "b,c", "", "", "say \"hi\""]
        );
        assert_eq!(strings("1|x", b'|', 2).unwrap(), ["1", "x"]);
        assert_eq!(strings("ab\"c,d\"e", b',', 1).unwrap(), ["abc,de"]);
        assert_eq!(strings("é,\"ü\"", b',', 2).unwrap(), ["é", "ü"]);
    }

    #[test]
    fn a_line_with_another_field_count_appends_nothing() {
        let format = CsvFormat {
            schema: Arc::new(Schema::new(vec![
                Field::new("a", DataType::Utf8, true),
                Field::new("b", DataType::Utf8, true),
            ])),
            delimiter: b',',
            ignore_errors: false,
        };
        let mut columns = CsvColumns::new(&format);
        assert_eq!(columns.push_line("1,2,3"), Err(3));
        assert_eq!(columns.push_line("1"), Err(1));
        columns.push_line("x,y").unwrap();
        let finished = columns.finish();
        assert_eq!(finished[0].len(), 1);
        assert_eq!(finished[1].as_string::<i32>().value(0), "y");
    }
}
