//! The `filesystem` table source, csv and json formats (see [`csv_format`](super::csv_format)): Flink's options `path`, `format`,
//! `csv.field-delimiter`, `csv.ignore-parse-errors` and `json.ignore-parse-errors`. A
//! malformed row fails the job with the file and line; under `csv.ignore-parse-errors` a field
//! that does not parse is null and a row with the wrong number of fields is skipped, as in
//! Flink. The json format is in [`json_format`](super::json_format).
//!
//! Each file is a split: a checkpoint holds every unfinished file with the byte offset and
//! line the reader reached, and a restore (at any parallelism) resumes there.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;
use flinkrs_connectors::filesystem::{list_input_files, share_of_subtask};
use flinkrs_core::Error as CoreError;
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

use serde::{Deserialize, Serialize};

use super::csv_format::{CsvColumns, CsvFormat, malformed};
use super::json_format::JsonFormat;
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
    let format = CsvFormat {
        schema: Arc::clone(&file_schema),
        delimiter,
        ignore_errors,
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
        Ok(FileSource {
            starts: vec![(0, 0); files.len()],
            files,
            format: format.clone(),
            json: json.clone(),
            partitioning: partitioning.clone(),
            file: 0,
            reader: None,
            line: 0,
            offset: 0,
            text: Vec::new(),
        })
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
    reader: Option<BufReader<File>>,
    /// The last line read of the current file (1-based).
    line: u64,
    /// The bytes of the current file read so far.
    offset: u64,
    /// The line being read, reused from line to line.
    text: Vec<u8>,
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
        let columns = self.format.schema.fields().len();
        let mut fields = CsvColumns::new(&self.format);
        let mut lines: Vec<u64> = Vec::new();
        // The json format's lines of this batch, each ended by `\n`.
        let mut json_lines = String::new();
        while lines.len() < context.batch_rows.max(1) {
            if self.file >= self.files.len() {
                break;
            }
            if self.reader.is_none() {
                self.open_current()?;
            }
            self.text.clear();
            let read =
                match &mut self.reader {
                    Some(reader) => reader.read_until(b'\n', &mut self.text).map_err(|source| {
                        CoreError::Io {
                            action: "read input file",
                            path: self.files[self.file].clone(),
                            source,
                        }
                    })?,
                    None => 0,
                };
            if read == 0 {
                self.reader = None;
                self.file += 1;
                // A batch holds one file's lines: its errors and partition values name it.
                if lines.is_empty() {
                    continue;
                }
                break;
            }
            self.line += 1;
            self.offset += read as u64;
            let path = &self.files[self.file];
            let line = std::str::from_utf8(&self.text)
                .map_err(|_| malformed(path, self.line, "the line is not UTF-8 text".into()))?
                .trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                continue;
            }
            if self.json.is_some() {
                json_lines.push_str(line);
                json_lines.push('\n');
                lines.push(self.line);
                continue;
            }
            if let Err(found) = fields.push_line(line) {
                if self.format.ignore_errors {
                    continue;
                }
                if !lines.is_empty() {
                    // An earlier line of this batch may be malformed too: report the first.
                    self.format.typed(fields.finish(), &lines, path)?;
                }
                return Err(malformed(
                    path,
                    self.line,
                    format!(
                        "the row has {found} fields, the table has {columns} columns (set \
                         'csv.ignore-parse-errors' = 'true' to skip such rows)"
                    ),
                ));
            }
            lines.push(self.line);
        }
        if !lines.is_empty() {
            // The batch's file: the current one, or the one just finished.
            let file = if self.reader.is_some() {
                self.file
            } else {
                self.file - 1
            };
            let path = &self.files[file];
            let typed = match &self.json {
                Some(json) => json.decode(&json_lines, &lines, path)?,
                None => self.format.typed(fields.finish(), &lines, path)?,
            };
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
            let (offset, line) = if index == self.file && self.reader.is_some() {
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
        self.reader = None;
        Ok(())
    }
}

impl FileSource {
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
        self.reader = Some(BufReader::with_capacity(1 << 16, file));
        self.line = line;
        self.offset = offset;
        Ok(())
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
        FileSource {
            starts: vec![(0, 0); files.len()],
            files,
            format: CsvFormat {
                schema,
                delimiter: b',',
                ignore_errors: false,
            },
            json: None,
            partitioning: None,
            file: 0,
            reader: None,
            line: 0,
            offset: 0,
            text: Vec::new(),
        }
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
