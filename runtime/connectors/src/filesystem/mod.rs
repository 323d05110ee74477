//! The `filesystem` connector: text files in, text or CSV files out.
//!
//! - [`TextFileSource`]: the lines of a file or of every file under a directory, as `String`s
//!   or, skipping UTF-8 validation, as raw bytes.
//! - [`FileSink`]: one line per record; part files `part-<subtask>-0` at parallelism above 1.
//! - CSV: [`CsvRow`] and [`format_csv_row`] to write rows, [`parse_csv_line`] to read them.

mod csv;
mod discover;
mod lines;
mod sink;
mod source;
#[cfg(test)]
mod tests;

pub use csv::{CsvField, CsvFields, CsvRow, format_csv_row, parse_csv_line, write_csv_field};
pub use discover::{is_hidden, list_input_files, share_of_subtask};
pub use sink::{FileSink, part_file};
pub use source::{FromLine, TextFileSource};
