//! [`TextFileSource`]: the lines of a file, or of every file under a directory.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use flinkrs_core::{Batch, Error, Record, Result};
use flinkrs_dataflow::{Boundedness, SourceContext, SourceFunction, SourceStatus};
use serde::{Deserialize, Serialize};

use super::discover::{list_input_files, share_of_subtask};
use super::lines::LineReader;

/// Size of the read buffer: files are read in chunks of this many bytes.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Most bytes of lines checked as UTF-8 at once: what a full batch leaves unread is checked
/// again on the next poll, so this bounds the repeated work.
const TEXT_WINDOW_BYTES: usize = 64 * 1024;

/// One split of a file source: a file, and how far into it the reader is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSplit {
    pub path: PathBuf,
    /// Bytes of the file consumed so far: where a restored reader seeks to.
    pub offset: u64,
    /// Lines consumed so far, for error messages.
    pub line_number: u64,
}

impl FileSplit {
    fn new(path: PathBuf) -> Self {
        FileSplit {
            path,
            offset: 0,
            line_number: 0,
        }
    }

    fn encode(&self) -> Result<Vec<u8>> {
        postcard::to_allocvec(self).map_err(|error| {
            Error::state(format!(
                "file source: cannot checkpoint the split of '{}': {error}; file paths must be \
                 UTF-8",
                self.path.display()
            ))
        })
    }

    fn decode(bytes: &[u8], source: &Path) -> Result<Self> {
        postcard::from_bytes(bytes).map_err(|error| {
            Error::state(format!(
                "file source for '{}': a checkpointed split cannot be decoded ({error}); the \
                 checkpoint was not written by this source or is corrupt",
                source.display()
            ))
        })
    }
}

/// What a file source makes of one line (without its line end).
pub trait FromLine: Sized + Send {
    /// Whether lines must be UTF-8 text. The source then checks many lines at once and makes
    /// their records with [`FromLine::from_text`].
    const TEXT: bool = false;

    /// `file` and `line_number` (1-based) locate the line for error messages.
    fn from_line(line: &[u8], file: &Path, line_number: u64) -> Result<Self>;

    /// The record of a line already known to be UTF-8 (only when [`FromLine::TEXT`]).
    fn from_text(line: &str, file: &Path, line_number: u64) -> Result<Self> {
        Self::from_line(line.as_bytes(), file, line_number)
    }
}

/// Lines must be UTF-8: invalid bytes are an error naming the file and line.
impl FromLine for String {
    const TEXT: bool = true;

    /// One allocation per line, of exactly its size: the record owns its text.
    fn from_text(line: &str, _file: &Path, _line_number: u64) -> Result<Self> {
        Ok(line.to_owned())
    }

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
/// path order, skipping hidden names (starting with `.` or `_`). Each file is a split
/// ([`FileSplit`]): on a fresh start file `i` of that order is read by subtask
/// `i % parallelism`; a checkpoint holds each unfinished split with its byte offset, and a
/// restore, at any parallelism, deals the splits out again and seeks each to its offset. Each
/// line is emitted without its `\n` or `\r\n`.
///
/// A missing path fails the job at start with [`Error::Io`] naming it: in
/// [`TextFileSource::for_subtask`] (what `read_text_file` uses, so the job does not even
/// start) or else in `open`.
#[derive(Debug)]
pub struct TextFileSource<T = String> {
    path: PathBuf,
    /// This subtask's unfinished splits, the one being read in front; `None` until listed or
    /// restored.
    splits: Option<VecDeque<FileSplit>>,
    /// The front split's open file.
    reader: Option<LineReader<File>>,
    _output: PhantomData<fn() -> T>,
}

impl<T> Clone for TextFileSource<T> {
    /// A copy at the same position, without the open file (it reopens and seeks).
    fn clone(&self) -> Self {
        TextFileSource {
            path: self.path.clone(),
            splits: self.splits.clone(),
            reader: None,
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
            splits: None,
            reader: None,
            _output: PhantomData,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The files of this subtask's unfinished splits, once assigned or restored.
    pub fn files(&self) -> Option<Vec<&Path>> {
        let splits = self.splits.as_ref()?;
        Some(splits.iter().map(|split| split.path.as_path()).collect())
    }

    fn assign(&mut self, subtask: usize, parallelism: usize) -> Result<()> {
        let files = list_input_files(&self.path)?;
        let share = share_of_subtask(files, subtask, parallelism);
        self.splits = Some(share.into_iter().map(FileSplit::new).collect());
        Ok(())
    }

    /// Opens the front split's file at its offset; `false` when every split is read.
    fn open_front_split(&mut self) -> Result<bool> {
        let Some(split) = self.splits.as_ref().and_then(VecDeque::front) else {
            return Ok(false);
        };
        let path = &split.path;
        let mut file = File::open(path).map_err(|source| Error::io("open", path, source))?;
        if split.offset > 0 {
            file.seek(SeekFrom::Start(split.offset))
                .map_err(|source| Error::io("seek in", path, source))?;
        }
        self.reader = Some(LineReader::new(file, READ_CHUNK_BYTES));
        Ok(true)
    }
}

/// The line without its `\n` or `\r\n`.
fn strip_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

impl<T: FromLine> SourceFunction<Batch<T>> for TextFileSource<T> {
    fn open(&mut self, context: &SourceContext) -> Result<()> {
        if self.splits.is_none() {
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
        if self.splits.is_none() {
            self.assign(context.subtask_index(), context.parallelism())?;
        }
        while batch.len() < context.batch_rows {
            let Some(reader) = self.reader.as_mut() else {
                if self.open_front_split()? {
                    continue;
                }
                return Ok(SourceStatus::Finished);
            };
            let Some(split) = self.splits.as_mut().and_then(VecDeque::front_mut) else {
                return Ok(SourceStatus::Finished);
            };
            if T::TEXT
                && let Some(text) = reader.text_lines(TEXT_WINDOW_BYTES)
            {
                let (mut taken, mut failed) = (0, None);
                for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
                    // `\n` is ASCII, so the line's bounds are character boundaries.
                    let Some(line) = text.get(taken..=end) else {
                        break;
                    };
                    if batch.len() >= context.batch_rows {
                        break;
                    }
                    taken = end + 1;
                    split.offset += line.len() as u64;
                    split.line_number += 1;
                    let line = line.strip_suffix('\n').unwrap_or(line);
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    match T::from_text(line, &split.path, split.line_number) {
                        Ok(record) => batch.push(Record::new(record)),
                        Err(error) => {
                            failed = Some(error);
                            break;
                        }
                    }
                }
                reader.consume(taken);
                match failed {
                    Some(error) => return Err(error),
                    None => continue,
                }
            }
            let line = reader
                .next_line()
                .map_err(|source| Error::io("read", &split.path, source))?;
            let Some(line) = line else {
                // The split is read to its end: the next one is opened on the next turn.
                self.reader = None;
                if let Some(splits) = self.splits.as_mut() {
                    splits.pop_front();
                }
                continue;
            };
            split.offset += line.len() as u64;
            split.line_number += 1;
            let line = strip_line_end(&reader.buffer()[line]);
            batch.push(Record::new(T::from_line(
                line,
                &split.path,
                split.line_number,
            )?));
        }
        Ok(SourceStatus::MoreAvailable)
    }

    /// Every unfinished split, with its byte offset and line number.
    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        let Some(splits) = &self.splits else {
            return Ok(Vec::new());
        };
        splits.iter().map(FileSplit::encode).collect()
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        let splits = splits
            .iter()
            .map(|split| FileSplit::decode(split, &self.path))
            .collect::<Result<_>>()?;
        self.splits = Some(splits);
        self.reader = None;
        Ok(())
    }
}
