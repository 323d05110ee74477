//! The `filesystem` table source, csv and json formats (see [`csv_format`](super::csv_format)): Flink's options `path`, `format`,
//! `csv.field-delimiter`, `csv.ignore-parse-errors` and `json.ignore-parse-errors`. A
//! malformed row fails the job with the file and line; under `csv.ignore-parse-errors` a field
//! that does not parse is null and a row with the wrong number of fields is skipped, as in
//! Flink. The json format is in [`json_format`](super::json_format).
//!
//! Each file is a split: a checkpoint holds every unfinished file with the byte offset and
//! line the reader reached, and a restore (at any parallelism) resumes there.
//!
//! Files are read a large chunk at a time and their lines handed to the format without
//! copying them; the reader keeps its buffer from file to file.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;
use flinkrs_connectors::filesystem::{list_input_files, share_of_subtask};
use flinkrs_core::Error as CoreError;
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

use memchr::memchr;
use serde::{Deserialize, Serialize};

use super::csv_format::{CsvColumns, CsvFormat, malformed};
use super::json_format::JsonFormat;
use super::line_reader::{LineError, LineReader};
use super::partitions::Partitioning;
use super::{check_options, parse_option};
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};

const KNOWN: [&str; 7] = [
    "connector",
    "partition.default-name",
    "path",
    "format",
    "csv.field-delimiter",
    "csv.ignore-parse-errors",
    "json.ignore-parse-errors",
];

/// Flink's other filesystem and csv options, which flinkrs does not support yet.
const NOT_YET: [&str; 8] = [
    "csv.allow-comments",
    "csv.array-element-delimiter",
    "csv.disable-quote-character",
    "csv.escape-character",
    "csv.null-literal",
    "csv.quote-character",
    "source.monitor-interval",
    "source.path.regex-pattern",
];

/// `read` lists the columns the query reads, where the planner knows them: a csv table's
/// other nullable columns are not parsed (they read as null), as Flink's projection pushdown
/// into the filesystem source leaves them out.
pub(crate) fn add_source(
    env: &StreamExecutionEnvironment,
    table: &TableDefinition,
    read: Option<&[usize]>,
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
    let json = match table.options.get("format").map(String::as_str) {
        Some("csv") => false,
        Some("json") => true,
        Some(other) => {
            return Err(option_error(
                "format",
                &format!("'{other}' is not a format flinkrs reads; use 'csv' or 'json'"),
            ));
        }
        None => {
            return Err(option_error(
                "format",
                "missing; set 'format' = 'csv' or 'json'",
            ));
        }
    };
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
    let partitioning = Partitioning::of(table)?;
    // What the files hold: every column, or all but the partition keys.
    let file_schema = partitioning
        .as_ref()
        .map_or_else(|| Arc::clone(&schema), Partitioning::file_schema);
    let partitioning = partitioning.map(|partitioning| (partitioning, root.clone()));
    let unread: Arc<[bool]> = match read {
        Some(read) if partitioning.is_none() && !json => file_schema
            .fields()
            .iter()
            .enumerate()
            .map(|(index, field)| field.is_nullable() && !read.contains(&index))
            .collect(),
        _ => Arc::from([]),
    };
    let format = CsvFormat {
        schema: Arc::clone(&file_schema),
        delimiter,
        ignore_errors,
        unread,
    };
    let json = if json {
        Some(JsonFormat {
            schema: Arc::clone(&file_schema),
            ignore_errors: parse_option(table, "json.ignore-parse-errors", "true or false")?
                .unwrap_or(false),
        })
    } else {
        None
    };
    let stream = env.add_arrow_source(&table.qualified_name, schema, None, move |info| {
        let files = share_of_subtask(files.clone(), info.subtask_index, info.parallelism);
        Ok(FileSource::new(
            files,
            format.clone(),
            json.clone(),
            partitioning.clone(),
        ))
    })?;
    Ok(stream)
}

/// Reads this subtask's files in order, a batch of lines per poll.
struct FileSource {
    files: Vec<PathBuf>,
    format: CsvFormat,
    /// Set for the json format: lines are JSON objects, not csv.
    json: Option<JsonFormat>,
    /// Set for a partitioned table: its partitioning and the table's folder.
    partitioning: Option<(Partitioning, PathBuf)>,
    /// The file being read, as an index into `files`.
    file: usize,
    /// The current file, when it is open.
    reader: LineReader,
    /// The last line read of the current file (1-based).
    line: u64,
    /// The bytes of the current file read so far: where the next line starts.
    offset: u64,
    /// Per file, the byte offset and line to start at: after a restore, where the
    /// checkpointed reader was.
    starts: Vec<(u64, u64)>,
}

/// A file split in a checkpoint: the file, and how far the reader got into it.
#[derive(Debug, Serialize, Deserialize)]
struct FileSplit {
    path: PathBuf,
    offset: u64,
    line: u64,
}

impl SourceFunction<ArrowBatch> for FileSource {
    fn poll_batch(
        &mut self,
        batch: &mut ArrowBatch,
        context: &SourceContext,
    ) -> flinkrs_core::Result<SourceStatus> {
        let limit = context.batch_rows.max(1);
        let mut rows = BatchRows::new(&self.format, self.json.as_ref(), limit);
        while rows.len() < limit && self.file < self.files.len() {
            if !self.reader.is_open() {
                self.open_current()?;
            }
            let path = &self.files[self.file];
            let text = match self.reader.lines() {
                Ok(text) => text,
                Err(LineError::Io(source)) => {
                    return Err(CoreError::Io {
                        action: "read input file",
                        path: path.clone(),
                        source,
                    });
                }
                Err(LineError::NotUtf8) => {
                    let message = "the line is not UTF-8 text".into();
                    return Err(malformed(path, self.line + 1, message));
                }
            };
            if text.is_empty() {
                self.reader.close();
                self.file += 1;
                // A batch holds one file's lines: its errors and partition values name it.
                if !rows.is_empty() {
                    break;
                }
                continue;
            }
            let consumed = read_lines(text, &mut rows, limit, &mut self.line, path)?;
            self.reader.consume(consumed);
            self.offset += consumed as u64;
        }
        if !rows.is_empty() {
            // The batch's file: the current one, or the one just finished.
            let file = if self.reader.is_open() {
                self.file
            } else {
                self.file - 1
            };
            let path = &self.files[file];
            let typed = rows.finish(path)?;
            *batch = ArrowBatch::new(match &self.partitioning {
                Some((partitioning, root)) => {
                    let values = partitioning.values_of(root, path)?;
                    partitioning.complete(typed, &values, path)?
                }
                None => typed,
            });
        }
        Ok(self.status())
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    /// Every unfinished file, with the byte offset and line the reader reached.
    fn snapshot_state(&mut self) -> flinkrs_core::Result<Vec<Vec<u8>>> {
        let mut splits = Vec::with_capacity(self.files.len().saturating_sub(self.file));
        for (index, path) in self.files.iter().enumerate().skip(self.file) {
            let (offset, line) = if index == self.file && self.reader.is_open() {
                (self.offset, self.line)
            } else {
                self.starts.get(index).copied().unwrap_or_default()
            };
            let split = FileSplit {
                path: path.clone(),
                offset,
                line,
            };
            splits.push(postcard::to_allocvec(&split).map_err(|error| {
                CoreError::state(format!(
                    "filesystem source: cannot checkpoint the split of '{}': {error}; file \
                     paths must be UTF-8",
                    path.display()
                ))
            })?);
        }
        Ok(splits)
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> flinkrs_core::Result<()> {
        let splits = splits
            .iter()
            .map(|bytes| {
                postcard::from_bytes::<FileSplit>(bytes).map_err(|error| {
                    CoreError::state(format!(
                        "filesystem source: a checkpointed split cannot be decoded ({error}); \
                         the checkpoint was not written by this source or is corrupt"
                    ))
                })
            })
            .collect::<flinkrs_core::Result<Vec<_>>>()?;
        self.starts = splits
            .iter()
            .map(|split| (split.offset, split.line))
            .collect();
        self.files = splits.into_iter().map(|split| split.path).collect();
        self.file = 0;
        self.reader.close();
        Ok(())
    }
}

impl FileSource {
    fn new(
        files: Vec<PathBuf>,
        format: CsvFormat,
        json: Option<JsonFormat>,
        partitioning: Option<(Partitioning, PathBuf)>,
    ) -> FileSource {
        FileSource {
            starts: vec![(0, 0); files.len()],
            files,
            format,
            json,
            partitioning,
            file: 0,
            reader: LineReader::default(),
            line: 0,
            offset: 0,
        }
    }

    fn status(&self) -> SourceStatus {
        if self.file >= self.files.len() {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        }
    }

    /// Opens the current file at its start, or where a restored checkpoint left it.
    fn open_current(&mut self) -> flinkrs_core::Result<()> {
        let path = self.files[self.file].clone();
        let mut file = File::open(&path).map_err(|source| CoreError::Io {
            action: "open input file",
            path: path.clone(),
            source,
        })?;
        let (offset, line) = self.starts.get(self.file).copied().unwrap_or_default();
        if offset > 0 {
            file.seek(SeekFrom::Start(offset))
                .map_err(|source| CoreError::Io {
                    action: "seek to the checkpointed position in input file",
                    path,
                    source,
                })?;
        }
        self.reader.open(file);
        self.line = line;
        self.offset = offset;
        Ok(())
    }
}

/// Feeds `text`'s lines to `rows` until it holds `limit` rows, numbering them after `line`,
/// which ends as the number of the last line read. Returns the bytes read: the lines up to
/// there, with their line ends. Empty lines are skipped, and line ends (`\n`, `\r\n`) dropped.
fn read_lines(
    text: &str,
    rows: &mut BatchRows,
    limit: usize,
    line: &mut u64,
    path: &Path,
) -> flinkrs_core::Result<usize> {
    let bytes = text.as_bytes();
    let mut start = 0;
    while start < bytes.len() && rows.len() < limit {
        let end = memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |at| start + at + 1);
        let row = trim_line_end(&text[start..end]);
        start = end;
        *line += 1;
        if !row.is_empty() {
            rows.push(row, *line, path)?;
        }
    }
    Ok(start)
}

/// `line` without the `\n` and `\r` that end it.
fn trim_line_end(line: &str) -> &str {
    let mut end = line.len();
    while end > 0 && matches!(line.as_bytes()[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &line[..end]
}

/// At most this many rows' room is reserved in a batch's builders up front.
const MAX_ROWS_RESERVED: usize = 8192;

/// The rows of the batch being read, in the table's format.
enum BatchRows {
    Csv(CsvColumns),
    /// The json format's lines, each ended by `\n`, and their numbers: decoded when the batch
    /// ends.
    Json {
        format: JsonFormat,
        text: String,
        lines: Vec<u64>,
    },
}

impl BatchRows {
    /// No rows yet, in json if `json` is set, else in csv; with room for up to `limit` rows.
    fn new(csv: &CsvFormat, json: Option<&JsonFormat>, limit: usize) -> BatchRows {
        match json {
            Some(json) => BatchRows::Json {
                format: json.clone(),
                text: String::new(),
                lines: Vec::new(),
            },
            None => BatchRows::Csv(CsvColumns::new(csv, limit.min(MAX_ROWS_RESERVED))),
        }
    }

    fn len(&self) -> usize {
        match self {
            BatchRows::Csv(columns) => columns.rows(),
            BatchRows::Json { lines, .. } => lines.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds line `number` of `path`, not empty and without its line end.
    fn push(&mut self, line: &str, number: u64, path: &Path) -> flinkrs_core::Result<()> {
        match self {
            BatchRows::Csv(columns) => columns.push_line(line, number, path),
            BatchRows::Json { text, lines, .. } => {
                text.push_str(line);
                text.push('\n');
                lines.push(number);
                Ok(())
            }
        }
    }

    fn finish(self, path: &Path) -> flinkrs_core::Result<RecordBatch> {
        match self {
            BatchRows::Csv(columns) => columns.finish(path),
            BatchRows::Json {
                format,
                text,
                lines,
            } => format.decode(&text, &lines, path),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Int64Type;
    use arrow_schema::{DataType, Field, Schema};
    use flinkrs_core::Configuration;
    use flinkrs_dataflow::{StreamBatch, TaskInfo};

    use super::*;

    fn context(batch_rows: usize) -> SourceContext {
        SourceContext {
            info: TaskInfo {
                job_name: "test".into(),
                task_name: "Source: t".into(),
                operator_name: "Source: t".into(),
                operator_id: "t".into(),
                subtask_index: 0,
                parallelism: 1,
                max_parallelism: 128,
                config: Arc::new(Configuration::new()),
                job_id: flinkrs_core::JobId(0),
                attempt_number: 0,
            },
            batch_rows,
        }
    }

    fn source(files: Vec<PathBuf>) -> FileSource {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let format = CsvFormat {
            schema,
            delimiter: b',',
            ignore_errors: false,
            unread: Arc::from([]),
        };
        FileSource::new(files, format, None, None)
    }

    /// Polls to the end, returning the values read.
    fn read_all(source: &mut FileSource, context: &SourceContext) -> Vec<i64> {
        let mut values = Vec::new();
        loop {
            let mut batch = ArrowBatch::default();
            let status = source.poll_batch(&mut batch, context).unwrap();
            if !batch.is_empty() {
                let column = batch.record_batch().column(0).as_primitive::<Int64Type>();
                values.extend(column.values().iter().copied());
            }
            if status == SourceStatus::Finished {
                return values;
            }
        }
    }

    #[test]
    fn a_restored_csv_source_resumes_each_file_where_the_checkpoint_was() {
        let folder = tempfile::tempdir().unwrap();
        let first = folder.path().join("a.csv");
        let second = folder.path().join("b.csv");
        std::fs::write(&first, "1\n2\n3\n4\n5\n").unwrap();
        std::fs::write(&second, "6\n7\n").unwrap();
        let context = context(2);
        let mut reader = source(vec![first.clone(), second.clone()]);
        let mut batch = ArrowBatch::default();
        assert_eq!(
            reader.poll_batch(&mut batch, &context).unwrap(),
            SourceStatus::MoreAvailable
        );
        assert_eq!(batch.record_batch().num_rows(), 2);
        let splits = reader.snapshot_state().unwrap();
        assert_eq!(splits.len(), 2, "both files are unfinished");

        let mut restored = source(Vec::new());
        restored.restore_state(splits).unwrap();
        assert_eq!(read_all(&mut restored, &context), [3, 4, 5, 6, 7]);

        // A malformed line after a restore still names its file and line.
        std::fs::write(&first, "1\n2\nx\n").unwrap();
        let mut reader = source(vec![first.clone()]);
        reader
            .poll_batch(&mut ArrowBatch::default(), &context)
            .unwrap();
        let mut resumed = source(Vec::new());
        resumed
            .restore_state(reader.snapshot_state().unwrap())
            .unwrap();
        let error = resumed
            .poll_batch(&mut ArrowBatch::default(), &context)
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains(&format!("{}' line 3", first.display())),
            "{error}"
        );
    }

    /// The line numbers and values of `content`'s first `lines` lines, as the csv reader numbers
    /// them: empty lines count, and have no value.
    fn values_of_lines(content: &str, lines: u64) -> Vec<i64> {
        content
            .split('\n')
            .take(lines as usize)
            .filter_map(|line| line.trim().parse().ok())
            .collect()
    }

    #[test]
    fn a_checkpoint_in_the_middle_of_a_chunk_resumes_after_the_last_row_read() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.csv");
        // More than a chunk, with empty lines, `\r\n` ends, a line longer than the whole
        // buffer, and a last line without a line end.
        let mut content = String::new();
        for value in 0..300_000 {
            match value % 7 {
                0 => content.push_str(&format!("{value}\r\n")),
                1 => content.push_str(&format!("\n{value}\n")),
                _ => content.push_str(&format!("{value}\n")),
            }
            if value == 150_000 {
                content.push_str(&" ".repeat(3 * crate::connector::line_reader::CHUNK_BYTES));
                content.push_str("-1\n");
            }
        }
        content.push_str("300000");
        std::fs::write(&path, &content).unwrap();
        let expected = values_of_lines(&content, u64::MAX);
        assert_eq!(expected.len(), 300_002);

        let context = context(1000);
        let mut reader = source(vec![path.clone()]);
        let mut read = Vec::new();
        let mut batches = 0;
        loop {
            let mut batch = ArrowBatch::default();
            let status = reader.poll_batch(&mut batch, &context).unwrap();
            if !batch.is_empty() {
                let column = batch.record_batch().column(0).as_primitive::<Int64Type>();
                read.extend(column.values().iter().copied());
            }
            if status == SourceStatus::Finished {
                break;
            }
            batches += 1;
            if batches % 37 != 1 {
                continue;
            }
            // The split names the offset and number of the last line read ...
            let splits = reader.snapshot_state().unwrap();
            let split: FileSplit = postcard::from_bytes(&splits[0]).unwrap();
            let offset = split.offset as usize;
            assert!(offset == 0 || content.as_bytes()[offset - 1] == b'\n');
            assert_eq!(content[..offset].matches('\n').count() as u64, split.line);
            assert_eq!(values_of_lines(&content, split.line), read);
            // ... and a restore reads the rest.
            let mut restored = source(Vec::new());
            restored.restore_state(splits).unwrap();
            assert_eq!(read_all(&mut restored, &context), expected[read.len()..]);
        }
        assert_eq!(read, expected);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_named() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("a.csv");
        std::fs::write(&path, b"1\n2\n\xff3\n4\n").unwrap();
        for batch_rows in [1, 2, 10] {
            let mut reader = source(vec![path.clone()]);
            let error = loop {
                match reader.poll_batch(&mut ArrowBatch::default(), &context(batch_rows)) {
                    Ok(_) => continue,
                    Err(error) => break error.to_string(),
                }
            };
            assert!(
                error.contains("line 3: the line is not UTF-8 text"),
                "{error}"
            );
        }
    }

    #[test]
    fn a_split_that_does_not_decode_is_a_clear_error() {
        let error = source(Vec::new())
            .restore_state(vec![vec![0xff; 3]])
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("a checkpointed split cannot be decoded"),
            "{error}"
        );
    }
}
