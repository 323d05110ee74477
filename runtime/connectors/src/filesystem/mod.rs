//! The `filesystem` connector: text files in, text or CSV files out.
//!
//! - [`TextFileSource`]: the lines of a file or of every file under a directory, as `String`s
//!   or, skipping UTF-8 validation, as raw bytes.
//! - [`FileSink`]: one line per record, exactly once: part files committed in two phases with
//!   the checkpoints, rolled by size and time, like Flink's `FileSink`.
//! - [`TextOutputSink`]: one line per record into one file per subtask, behind `write_as_text`;
//!   flushed at checkpoints but not exactly-once.
//! - CSV: [`CsvRow`] and [`format_csv_row`] to write rows, [`parse_csv_line`] to read them.

mod csv;
mod discover;
mod file_sink;
mod lines;
mod source;
#[cfg(test)]
mod tests;
mod text_output;

pub use csv::{CsvField, CsvFields, CsvRow, format_csv_row, parse_csv_line, write_csv_field};
pub use discover::{is_hidden, list_input_files, share_of_subtask};
pub use file_sink::{
    CHECK_INTERVAL, Clock, FILE_SIZE, FileRecord, FileSink, FileSinkBuilder, INACTIVITY_INTERVAL,
    OutputFileConfig, PartFileInfo, PendingFile, PendingUpload, ROLLOVER_INTERVAL, RollingPolicy,
    SystemClock, in_progress_name, parse_memory_size,
};
pub use source::{FromLine, TextFileSource};
pub use text_output::{TextOutputSink, text_output_file};
