//! The `csv` format of the filesystem source: lines split on the field delimiter with `"`
//! quoting (`""` is a quote inside quotes), each field parsed straight into a builder of its
//! column's type (see [`csv_columns`](super::csv_columns)). Nothing is allocated per line: the
//! splitter reuses its field positions and its unquoting buffer, and the builders fill a batch.
//!
//! An empty field is the empty string, as in Flink: a `STRING` column reads it as `''`, and
//! other types fail to parse it (null under `csv.ignore-parse-errors`). Without that option
//! the first value of a file that does not parse fails the job, naming its line and column.

use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use datafusion_common::arrow::compute::{CastOptions, cast_with_options};
use datafusion_common::arrow::util::display::FormatOptions;
use flinkrs_core::{Error as CoreError, Result as CoreResult};

use super::csv_columns::TypedColumn;

#[derive(Clone, Debug)]
pub(crate) struct CsvFormat {
    pub schema: SchemaRef,
    pub delimiter: u8,
    pub ignore_errors: bool,
    /// Per column, whether the query never reads it: such a column is not parsed and reads
    /// as null, as Flink's projection pushdown leaves it out (only nullable columns are).
    /// Empty when every column is read.
    pub unread: Arc<[bool]>,
}

impl CsvFormat {
    fn is_read(&self, column: usize) -> bool {
        !self.unread.get(column).copied().unwrap_or(false)
    }
}

/// Where one field lies in its line, and whether it holds quotes to take out.
#[derive(Clone, Copy, Debug)]
struct FieldSpan {
    start: usize,
    end: usize,
    quoted: bool,
}

/// A batch of csv lines being read into the table's columns.
pub(crate) struct CsvColumns {
    format: CsvFormat,
    columns: Vec<TypedColumn>,
    spans: Vec<FieldSpan>,
    unquoted: String,
    /// The line number of each row appended.
    lines: Vec<u64>,
}

impl CsvColumns {
    /// Empty columns, with room for `rows` rows.
    pub fn new(format: &CsvFormat, rows: usize) -> CsvColumns {
        CsvColumns {
            format: format.clone(),
            columns: format
                .schema
                .fields()
                .iter()
                .enumerate()
                .map(|(index, field)| match format.is_read(index) {
                    true => TypedColumn::of_type(field.data_type(), rows),
                    false => TypedColumn::unread(field.data_type()),
                })
                .collect(),
            spans: Vec::new(),
            unquoted: String::new(),
            lines: Vec::with_capacity(rows),
        }
    }

    /// The rows appended.
    pub fn rows(&self) -> usize {
        self.lines.len()
    }

    /// Appends line `number` of `path` as a row. Under `ignore-parse-errors` a line with
    /// another number of fields than the table has columns is skipped, appending nothing, and
    /// a value that does not parse is null; otherwise either fails the batch.
    pub fn push_line(&mut self, line: &str, number: u64, path: &Path) -> CoreResult<()> {
        split(line.as_bytes(), self.format.delimiter, &mut self.spans);
        if self.spans.len() != self.columns.len() {
            if self.format.ignore_errors {
                return Ok(());
            }
            return Err(self.wrong_field_count(number, path));
        }
        let mut unparsed = None;
        for (index, (column, span)) in self.columns.iter_mut().zip(&self.spans).enumerate() {
            let text = match column.is_read() {
                true => field(line, *span, &mut self.unquoted),
                false => "",
            };
            if column.append(text) {
                continue;
            }
            if !self.format.ignore_errors {
                unparsed = Some(index);
                break;
            }
            column.append_null();
        }
        match unparsed {
            None => {
                self.lines.push(number);
                Ok(())
            }
            Some(column) => Err(self.unparsed_in_line(line, column, number, path)),
        }
    }

    /// The batch of the rows appended, its cast columns cast to their types. A value that does
    /// not cast fails it (it is null under `ignore-parse-errors`), as does a null in a NOT NULL
    /// column.
    pub fn finish(mut self, path: &Path) -> CoreResult<RecordBatch> {
        let options = CastOptions {
            safe: self.format.ignore_errors,
            format_options: FormatOptions::default(),
        };
        let finished: Vec<ArrayRef> = self.columns.iter_mut().map(TypedColumn::finish).collect();
        let mut columns = Vec::with_capacity(finished.len());
        for (index, values) in finished.iter().enumerate() {
            if !self.columns[index].is_cast() {
                columns.push(Arc::clone(values));
                continue;
            }
            let data_type = self.format.schema.field(index).data_type();
            match cast_with_options(values, data_type, &options) {
                Ok(cast) => columns.push(cast),
                Err(error) => {
                    let texts = finished
                        .iter()
                        .enumerate()
                        .filter(|(index, _)| self.columns[*index].is_cast())
                        .map(|(index, text)| (index, Arc::clone(text)));
                    return Err(self
                        .first_uncast(texts, 0, path)
                        .unwrap_or_else(|| CoreError::function(format!("csv source: {error}"))));
                }
            }
        }
        for (index, column) in columns.iter().enumerate() {
            let field = self.format.schema.field(index);
            if !field.is_nullable() && column.null_count() > 0 {
                return Err(CoreError::MalformedInput {
                    location: format!("csv files of column '{}'", field.name()),
                    message: "a NOT NULL column is empty".into(),
                });
            }
        }
        RecordBatch::try_new(Arc::clone(&self.format.schema), columns)
            .map_err(|error| CoreError::function(format!("csv source: {error}")))
    }

    /// The error for line `number`, whose field count is not the table's: unless an earlier
    /// line of the batch holds a value that does not cast, which comes first.
    fn wrong_field_count(&self, number: u64, path: &Path) -> CoreError {
        let rows = self.rows();
        self.first_uncast(self.cast_texts(|_| rows), number, path)
            .unwrap_or_else(|| {
                malformed(
                    path,
                    number,
                    format!(
                        "the row has {} fields, the table has {} columns (set \
                         'csv.ignore-parse-errors' = 'true' to skip such rows)",
                        self.spans.len(),
                        self.columns.len()
                    ),
                )
            })
    }

    /// The error for the value of `column` in line `number`, which does not parse: unless a
    /// value of a cast column comes first, in an earlier line or left of it in this one.
    fn unparsed_in_line(
        &mut self,
        line: &str,
        column: usize,
        number: u64,
        path: &Path,
    ) -> CoreError {
        let rows = self.rows();
        // This line's values left of `column` are appended already.
        let appended = |index: usize| if index < column { rows + 1 } else { rows };
        if let Some(error) = self.first_uncast(self.cast_texts(appended), number, path) {
            return error;
        }
        let value = field(line, self.spans[column], &mut self.unquoted).to_owned();
        self.unparsed(column, &value, number, path)
    }

    /// The first `rows_of(column)` texts of each cast column.
    fn cast_texts(&self, rows_of: impl Fn(usize) -> usize) -> Vec<(usize, ArrayRef)> {
        self.columns
            .iter()
            .enumerate()
            .filter_map(|(index, column)| {
                let text = column.text_so_far()?;
                Some((index, text.slice(0, rows_of(index).min(text.len()))))
            })
            .collect()
    }

    /// The error for the earliest value (by line, then column) of cast columns' `texts` that
    /// does not cast; a row past the lines appended is line `number`, the one being read.
    fn first_uncast(
        &self,
        texts: impl IntoIterator<Item = (usize, ArrayRef)>,
        number: u64,
        path: &Path,
    ) -> Option<CoreError> {
        let strict = CastOptions {
            safe: false,
            format_options: FormatOptions::default(),
        };
        let (row, column, text) = texts
            .into_iter()
            .filter_map(|(column, text)| {
                let data_type = self.format.schema.field(column).data_type();
                let row = (0..text.len()).find(|&row| {
                    cast_with_options(&text.slice(row, 1), data_type, &strict).is_err()
                })?;
                Some((row, column, text))
            })
            .min_by_key(|(row, column, _)| (*row, *column))?;
        let value = text.as_string::<i32>().value(row);
        let line = self.lines.get(row).copied().unwrap_or(number);
        Some(self.unparsed(column, value, line, path))
    }

    /// The error for `value` of `column` in `line`, which is not a value of the column's type.
    fn unparsed(&self, column: usize, value: &str, line: u64, path: &Path) -> CoreError {
        let field = self.format.schema.field(column);
        malformed(
            path,
            line,
            format!(
                "'{value}' in column '{}' is not a {} (set 'csv.ignore-parse-errors' = 'true' \
                 to read it as null)",
                field.name(),
                crate::types::flink_type_name(field.data_type())
            ),
        )
    }
}

/// The text of the field at `span` of `line`: the field itself, or unquoted into `unquoted`.
#[inline]
fn field<'a>(line: &'a str, span: FieldSpan, unquoted: &'a mut String) -> &'a str {
    let raw = &line[span.start..span.end];
    if !span.quoted {
        return raw;
    }
    unquote(raw, unquoted);
    unquoted
}

/// The spans of `line`'s fields, split on `delimiter` outside quotes. Only delimiters and
/// quotes matter, so the line is searched for them eight bytes at a time (see
/// [`bytes_equal`]) rather than looked at byte by byte.
fn split(line: &[u8], delimiter: u8, spans: &mut Vec<FieldSpan>) {
    spans.clear();
    let mut fields = Fields {
        spans,
        start: 0,
        inside_quotes: false,
        quoted: false,
    };
    let mut words = line.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        let mut found = bytes_equal(word, delimiter) | bytes_equal(word, b'"');
        while found != 0 {
            let index = offset + found.trailing_zeros() as usize / 8;
            fields.see(index, line[index] == b'"');
            found &= found - 1;
        }
        offset += 8;
    }
    for (index, &byte) in line.iter().enumerate().skip(offset) {
        if byte == delimiter || byte == b'"' {
            fields.see(index, byte == b'"');
        }
    }
    fields.close(line.len());
}

/// The fields [`split`] has found so far.
struct Fields<'a> {
    spans: &'a mut Vec<FieldSpan>,
    /// Where the current field starts.
    start: usize,
    inside_quotes: bool,
    /// Whether the current field holds a quote.
    quoted: bool,
}

impl Fields<'_> {
    /// Takes in the quote, or else the delimiter, at `index`.
    fn see(&mut self, index: usize, quote: bool) {
        if quote {
            self.inside_quotes = !self.inside_quotes;
            self.quoted = true;
        } else if !self.inside_quotes {
            self.close(index);
            self.start = index + 1;
            self.quoted = false;
        }
    }

    /// Ends the current field at `end`.
    fn close(&mut self, end: usize) {
        self.spans.push(FieldSpan {
            start: self.start,
            end,
            quoted: self.quoted,
        });
    }
}

const EVERY_BYTE_ONE: u64 = 0x0101_0101_0101_0101;
const EVERY_BYTE_LOW_BITS: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// The bytes of `word` that equal `byte`, as the high bit of each. XOR makes them zero, and a
/// byte is zero when neither its high bit is set nor its low seven bits are, which adding 0x7f
/// tells by carrying into the high bit (never past it, into the next byte).
fn bytes_equal(word: u64, byte: u8) -> u64 {
    let difference = word ^ (EVERY_BYTE_ONE * u64::from(byte));
    let nonzero = ((difference & EVERY_BYTE_LOW_BITS) + EVERY_BYTE_LOW_BITS) | difference;
    !nonzero & !EVERY_BYTE_LOW_BITS
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

pub(crate) fn malformed(path: &Path, line: u64, message: String) -> CoreError {
    CoreError::MalformedInput {
        location: format!("file '{}' line {line}", path.display()),
        message,
    }
}

#[cfg(test)]
mod tests {
    use arrow_schema::{DataType, Field, Schema, TimeUnit};

    use super::*;

    fn format(fields: Vec<Field>, ignore_errors: bool) -> CsvFormat {
        CsvFormat {
            schema: Arc::new(Schema::new(fields)),
            delimiter: b',',
            ignore_errors,
            unread: Arc::from([]),
        }
    }

    /// Reads `lines`, numbered from 1, into a batch.
    fn read(format: &CsvFormat, lines: &[&str]) -> CoreResult<RecordBatch> {
        let mut columns = CsvColumns::new(format, lines.len());
        for (number, line) in (1..).zip(lines) {
            columns.push_line(line, number, Path::new("t.csv"))?;
        }
        columns.finish(Path::new("t.csv"))
    }

    fn strings(line: &str, delimiter: u8, width: usize) -> Vec<String> {
        let fields: Vec<Field> = (0..width)
            .map(|index| Field::new(format!("c{index}"), DataType::Utf8, true))
            .collect();
        let format = CsvFormat {
            delimiter,
            ..format(fields, false)
        };
        let batch = read(&format, &[line]).unwrap();
        batch
            .columns()
            .iter()
            .map(|column| column.as_string::<i32>().value(0).to_owned())
            .collect()
    }

    #[test]
    fn csv_fields_split_on_the_delimiter_outside_quotes() {
        assert_eq!(
            strings("a,\"b,c\",,\"\",\"say \"\"hi\"\"\"", b',', 5),
            ["a", "b,c", "", "", "say \"hi\""]
        );
        assert_eq!(strings("1|x", b'|', 2), ["1", "x"]);
        assert_eq!(strings("ab\"c,d\"e", b',', 1), ["abc,de"]);
        assert_eq!(strings("é,\"ü\"", b',', 2), ["é", "ü"]);
    }

    /// [`split`] a byte at a time, as it was written first.
    fn split_bytewise(line: &[u8], delimiter: u8) -> Vec<(usize, usize, bool)> {
        let mut spans = Vec::new();
        let (mut start, mut inside_quotes, mut quoted) = (0, false, false);
        for (index, &byte) in line.iter().enumerate() {
            if byte == b'"' {
                inside_quotes = !inside_quotes;
                quoted = true;
            } else if byte == delimiter && !inside_quotes {
                spans.push((start, index, quoted));
                (start, quoted) = (index + 1, false);
            }
        }
        spans.push((start, line.len(), quoted));
        spans
    }

    #[test]
    fn split_finds_every_delimiter_and_quote_of_long_lines() {
        let mut spans = Vec::new();
        let pieces = [
            "",
            "a",
            ",",
            "\"",
            "é",
            "|",
            "\u{80}",
            "\u{2c}\u{2c}",
            "\"\"",
            "12345678",
        ];
        for seed in 0..5000_usize {
            // A line of pieces picked by the digits of the seed, long enough for whole words.
            let mut line = String::new();
            let mut rest = seed * 7919;
            for _ in 0..(seed % 23) {
                line.push_str(pieces[rest % pieces.len()]);
                rest = rest / pieces.len() + seed;
            }
            for delimiter in [b',', b'|', b'"'] {
                split(line.as_bytes(), delimiter, &mut spans);
                let found: Vec<_> = spans
                    .iter()
                    .map(|span| (span.start, span.end, span.quoted))
                    .collect();
                assert_eq!(found, split_bytewise(line.as_bytes(), delimiter), "{line}");
            }
        }
    }

    fn pair(ignore_errors: bool) -> CsvFormat {
        format(
            vec![
                Field::new("a", DataType::Utf8, true),
                Field::new("b", DataType::Int32, true),
            ],
            ignore_errors,
        )
    }

    #[test]
    fn a_line_with_another_field_count_appends_nothing() {
        let batch = read(&pair(true), &["1,2,3", "x,7", "1"]).unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert_eq!(batch.column(0).as_string::<i32>().value(0), "x");

        let error = read(&pair(false), &["x,7", "1,2,3"]).unwrap_err();
        assert!(
            error.to_string().contains(
                "line 2: the row has 3 fields, the table has 2 columns (set \
                 'csv.ignore-parse-errors' = 'true' to skip such rows)"
            ),
            "{error}"
        );
    }

    /// A table of every kind of column: parsed ones, and cast ones.
    fn every_kind(ignore_errors: bool) -> CsvFormat {
        format(
            vec![
                Field::new("i8", DataType::Int8, true),
                Field::new("i16", DataType::Int16, true),
                Field::new("i32", DataType::Int32, true),
                Field::new("i64", DataType::Int64, true),
                Field::new("f32", DataType::Float32, true),
                Field::new("f64", DataType::Float64, true),
                Field::new("ts", DataType::Timestamp(TimeUnit::Millisecond, None), true),
                Field::new("s", DataType::Utf8, true),
                Field::new("b", DataType::Boolean, true),
                Field::new("d", DataType::Date32, true),
                Field::new("m", DataType::Decimal128(10, 2), true),
                Field::new("us", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            ],
            ignore_errors,
        )
    }

    const GOOD: [&str; 3] = [
        "1,2,3,4,0.5,0.31,2026-01-01 00:00:00.001,x,true,2026-01-01,1.25,2026-01-01 00:00:00.000001",
        "-1, 2 ,\"3\",-9223372036854775808,1e3,-0.0,2024-02-29T12:00:00Z,,false,1970-01-01,-3,\
         1969-12-31 23:59:59",
        "127,-32768,2147483647,9223372036854775807,-7,1.5e-3,1900-03-01 00:00:00.9,\"a,b\",TRUE,\
         2000-02-29,0.01,2000-01-01",
    ];

    const BAD: [&str; 2] = [
        "128,x,1.5,,y,z,2026-02-30 00:00:00,s,maybe,2026-13-01,abc,never",
        ",,,,,,,,,,,",
    ];

    /// What the format read before it parsed fields itself: each column's text, cast.
    fn cast_text(table: &CsvFormat, lines: &[&str]) -> Vec<ArrayRef> {
        let text = format(
            table
                .schema
                .fields()
                .iter()
                .map(|field| Field::new(field.name(), DataType::Utf8, true))
                .collect(),
            false,
        );
        let options = CastOptions {
            safe: table.ignore_errors,
            format_options: FormatOptions::default(),
        };
        let strings = read(&text, lines).unwrap();
        strings
            .columns()
            .iter()
            .zip(table.schema.fields())
            .map(|(strings, field)| {
                cast_with_options(strings, field.data_type(), &options).unwrap()
            })
            .collect()
    }

    #[test]
    fn fields_read_as_a_cast_of_their_text() {
        let format = every_kind(false);
        let batch = read(&format, &GOOD).unwrap();
        assert_eq!(batch.columns(), cast_text(&format, &GOOD));

        let format = every_kind(true);
        let lines = [GOOD[0], BAD[0], GOOD[1], BAD[1], GOOD[2]];
        let batch = read(&format, &lines).unwrap();
        assert_eq!(batch.columns(), cast_text(&format, &lines));
        assert_eq!(batch.column(0).null_count(), 2);
        // Only the empty string is a STRING.
        assert_eq!(batch.column(7).null_count(), 0);
    }

    #[test]
    fn the_first_value_that_does_not_parse_is_named() {
        let message = |lines: &[&str]| read(&every_kind(false), lines).unwrap_err().to_string();
        let error = message(&[GOOD[0], BAD[0]]);
        assert!(
            error.contains(
                "'t.csv' line 2: '128' in column 'i8' is not a TINYINT (set \
                 'csv.ignore-parse-errors' = 'true' to read it as null)"
            ),
            "{error}"
        );
        let error = message(&[GOOD[0], GOOD[2], &GOOD[1].replace("false", "maybe")]);
        assert!(
            error.contains("line 3: 'maybe' in column 'b' is not a BOOLEAN"),
            "{error}"
        );

        // A date is cast when the batch ends, and still named when it comes first: on an
        // earlier line, or left of the bad value on the same line.
        let dated = format(
            vec![
                Field::new("d", DataType::Date32, true),
                Field::new("n", DataType::Int32, true),
            ],
            false,
        );
        let message = |lines: &[&str]| read(&dated, lines).unwrap_err().to_string();
        for (lines, expected) in [
            (
                ["2026-01-01,1", "2026-01-01,x"],
                "line 2: 'x' in column 'n' is not a INT",
            ),
            (
                ["2026-02-30,1", "2026-01-01,x"],
                "line 1: '2026-02-30' in column 'd' is not",
            ),
            (
                ["2026-01-01,1", "2026-02-30,x"],
                "line 2: '2026-02-30' in column 'd' is not",
            ),
            (
                ["2026-02-30,1", "1,2,3"],
                "line 1: '2026-02-30' in column 'd' is not",
            ),
            (["2026-01-01,1", "1,2,3"], "line 2: the row has 3 fields"),
        ] {
            let error = message(&lines);
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn a_not_null_column_that_reads_null_is_an_error() {
        let format = format(vec![Field::new("n", DataType::Int64, false)], true);
        let error = read(&format, &["1", "x"]).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("csv files of column 'n': a NOT NULL column is empty"),
            "{error}"
        );
    }
}
