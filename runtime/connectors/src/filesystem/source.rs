//! [`TextFileSource`]: the lines of a file, or of every file under a directory.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use flinkrs_core::{Batch, Error, Record, Result};
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};

use super::discover::{list_input_files, share_of_subtask};
use super::lines::LineReader;

/// Size of the read buffer: files are read in chunks of this many bytes.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// What a file source makes of one line (without its line end).
pub trait FromLine: Sized + Send {
    /// `file` and `line_number` (1-based) locate the line for error messages.
    fn from_line(line: &[u8], file: &Path, line_number: u64) -> Result<Self>;
}

/// Lines must be UTF-8: invalid bytes are an error naming the file and line.
impl FromLine for String {
    fn from_line(line: &[u8], file: &Path, line_number: u64) -> Result<Self> {
        let text = std::str::from_utf8(line).map_err(|error| Error::MalformedInput {
            location: format!("{}:{line_number}", file.display()),
            message: format!(
                "the line is not valid UTF-8 (at byte {}); the file source reads UTF-8 text",
                error.valid_up_to() + 1
            ),
        })?;
        // One allocation per line, of exactly its size: the record owns its text.
        Ok(text.to_owned())
    }
}

/// The raw bytes: no decoding, no validation.
impl FromLine for Vec<u8> {
    fn from_line(line: &[u8], _file: &Path, _line_number: u64) -> Result<Self> {
        Ok(line.to_vec())
    }
}

/// Reads text files line by line, like Flink's `readTextFile` / `FileSource` with
/// `TextLineInputFormat`. Lines are `String`s ([`TextFileSource::new`]) or, as a fast path
/// that skips UTF-8 validation, raw bytes ([`TextFileSource::bytes`]).
///
/// The path is a file or a directory; a directory is read recursively, every regular file in
/// path order, skipping hidden names (starting with `.` or `_`). File `i` of that order is
/// read by subtask `i % parallelism`. Each line is emitted without its `\n` or `\r\n`.
///
/// A missing path fails the job at start with [`Error::Io`] naming it: in
/// [`TextFileSource::for_subtask`] (what `read_text_file` uses, so the job does not even
/// start) or else in `open`.
#[derive(Debug)]
pub struct TextFileSource<T = String> {
    path: PathBuf,
    /// This subtask's files, once listed.
    files: Option<Vec<PathBuf>>,
    file_index: usize,
    reader: Option<LineReader<File>>,
    /// Bytes of the current file consumed so far: where to resume after a restore.
    offset: u64,
    /// Lines of the current file read so far, for error messages.
    line_number: u64,
    _output: PhantomData<fn() -> T>,
}

impl<T> Clone for TextFileSource<T> {
    /// A copy at the same position, without the open file (it reopens and seeks).
    fn clone(&self) -> Self {
        TextFileSource {
            path: self.path.clone(),
            files: self.files.clone(),
            file_index: self.file_index,
            reader: None,
            offset: self.offset,
            line_number: self.line_number,
            _output: PhantomData,
        }
    }
}

impl TextFileSource<String> {
    /// Reads the lines of `path` as `String`s; nothing is checked until the source is
    /// assigned to a subtask.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::lines_of(path)
    }

    /// Lists the input now and keeps the files of `subtask` of `parallelism`; fails when the
    /// path is missing or unreadable.
    pub fn for_subtask(
        path: impl Into<PathBuf>,
        subtask: usize,
        parallelism: usize,
    ) -> Result<Self> {
        let mut source = Self::new(path);
        source.assign(subtask, parallelism)?;
        Ok(source)
    }
}

impl TextFileSource<Vec<u8>> {
    /// Reads the lines of `path` as raw bytes, without UTF-8 validation.
    pub fn bytes(path: impl Into<PathBuf>) -> Self {
        Self::lines_of(path)
    }

    /// [`TextFileSource::bytes`], listing the input now, as [`TextFileSource::for_subtask`].
    pub fn bytes_for_subtask(
        path: impl Into<PathBuf>,
        subtask: usize,
        parallelism: usize,
    ) -> Result<Self> {
        let mut source = Self::bytes(path);
        source.assign(subtask, parallelism)?;
        Ok(source)
    }
}

impl<T> TextFileSource<T> {
    fn lines_of(path: impl Into<PathBuf>) -> Self {
        TextFileSource {
            path: path.into(),
            files: None,
            file_index: 0,
            reader: None,
            offset: 0,
            line_number: 0,
            _output: PhantomData,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// This subtask's files, once assigned.
    pub fn files(&self) -> Option<&[PathBuf]> {
        self.files.as_deref()
    }

    fn assign(&mut self, subtask: usize, parallelism: usize) -> Result<()> {
        let files = list_input_files(&self.path)?;
        self.files = Some(share_of_subtask(files, subtask, parallelism));
        Ok(())
    }

    /// Opens the current file, at the restored offset; `false` when all files are read.
    fn open_current_file(&mut self) -> Result<bool> {
        let Some(file_path) = self
            .files
            .as_ref()
            .and_then(|files| files.get(self.file_index))
        else {
            return Ok(false);
        };
        let mut file =
            File::open(file_path).map_err(|source| Error::io("open", file_path, source))?;
        if self.offset > 0 {
            file.seek(SeekFrom::Start(self.offset))
                .map_err(|source| Error::io("seek in", file_path, source))?;
        }
        self.reader = Some(LineReader::new(file, READ_CHUNK_BYTES));
        Ok(true)
    }

    fn next_file(&mut self) {
        self.reader = None;
        self.file_index += 1;
        self.offset = 0;
        self.line_number = 0;
    }
}

/// The file being read: file `file_index` of `files`, or the configured path before the
/// files are listed.
fn current_file<'a>(
    files: &'a Option<Vec<PathBuf>>,
    file_index: usize,
    path: &'a Path,
) -> &'a Path {
    files
        .as_ref()
        .and_then(|files| files.get(file_index))
        .map_or(path, PathBuf::as_path)
}

/// The line without its `\n` or `\r\n`.
fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl<T: FromLine> SourceFunction<Batch<T>> for TextFileSource<T> {
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        if self.files.is_none() {
            self.assign(context.subtask_index(), context.parallelism())?;
        }
        Ok(())
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn poll_batch(
        &mut self,
        batch: &mut Batch<T>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        if self.files.is_none() {
            self.assign(context.subtask_index(), context.parallelism())?;
        }
        while batch.len() < context.batch_rows {
            let Some(reader) = self.reader.as_mut() else {
                if self.open_current_file()? {
                    continue;
                }
                return Ok(SourceStatus::Finished);
            };
            let file = current_file(&self.files, self.file_index, &self.path);
            let line = reader
                .next_line()
                .map_err(|source| Error::io("read", file, source))?;
            let Some(line) = line else {
                self.next_file();
                continue;
            };
            self.offset += line.len() as u64;
            self.line_number += 1;
            let line = strip_line_end(&reader.buffer()[line]);
            batch.push(Record::new(T::from_line(line, file, self.line_number)?));
        }
        Ok(SourceStatus::MoreAvailable)
    }

    /// File index, byte offset and line number within this subtask's files.
    fn snapshot_state(&mut self) -> Result<Vec<u8>> {
        let mut state = Vec::with_capacity(24);
        state.extend_from_slice(&(self.file_index as u64).to_le_bytes());
        state.extend_from_slice(&self.offset.to_le_bytes());
        state.extend_from_slice(&self.line_number.to_le_bytes());
        Ok(state)
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<()> {
        let words: Vec<u64> = state
            .chunks_exact(8)
            .filter_map(|chunk| <[u8; 8]>::try_from(chunk).ok().map(u64::from_le_bytes))
            .collect();
        let (&[file_index, offset, line_number], 24) = (words.as_slice(), state.len()) else {
            return Err(Error::state(format!(
                "file source state for '{}' has {} bytes; expected 24",
                self.path.display(),
                state.len()
            )));
        };
        self.file_index = usize::try_from(file_index).unwrap_or(usize::MAX);
        self.offset = offset;
        self.line_number = line_number;
        self.reader = None;
        Ok(())
    }
}
