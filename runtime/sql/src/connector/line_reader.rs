//! [`LineReader`]: the lines of a file of the filesystem source, read a chunk at a time
//! into one buffer and handed out as whole lines of UTF-8 text, so that nothing is read,
//! copied or checked line by line.

use std::fs::File;
use std::io::{ErrorKind, Read};

use memchr::{memchr, memrchr};

/// How many bytes of a file are read at once.
pub(crate) const CHUNK_BYTES: usize = 1 << 20;

/// At most about this many bytes of lines are checked to be UTF-8 and handed out at once: a
/// batch that ends in the middle of them has the rest checked again at the next poll.
const WINDOW_BYTES: usize = 64 << 10;

/// Why [`LineReader::lines`] has no lines to give.
pub(super) enum LineError {
    Io(std::io::Error),
    /// The next line is not UTF-8.
    NotUtf8,
}

/// The open file's lines: its bytes are read a chunk at a time into a buffer, kept from file
/// to file, and handed out a window of whole lines at a time, checked to be UTF-8 text.
#[derive(Default)]
pub(super) struct LineReader {
    file: Option<File>,
    buffer: Vec<u8>,
    /// Where in `buffer` the bytes not consumed yet start.
    start: usize,
    /// Where in `buffer` the bytes read end.
    end: usize,
    /// Whether the file has no more bytes to read.
    at_end: bool,
}

impl LineReader {
    /// Starts reading `file` from where it is.
    pub(super) fn open(&mut self, file: File) {
        if self.buffer.is_empty() {
            self.buffer = vec![0; CHUNK_BYTES];
        }
        self.file = Some(file);
        self.start = 0;
        self.end = 0;
        self.at_end = false;
    }

    pub(super) fn close(&mut self) {
        self.file = None;
    }

    pub(super) fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// The next lines not consumed, each ended by `\n` but the last line of a file, which may
    /// have none: whole lines, starting with at least one, and empty at the end of the file.
    pub(super) fn lines(&mut self) -> Result<&str, LineError> {
        let length = self.whole_lines().map_err(LineError::Io)?;
        let bytes = &self.buffer[self.start..self.start + length];
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text),
            Err(error) => {
                // The lines before the one that is not UTF-8, which is an error once it is next.
                let valid = &bytes[..error.valid_up_to()];
                let good = memrchr(b'\n', valid).map_or(0, |newline| newline + 1);
                match std::str::from_utf8(&bytes[..good]) {
                    Ok(text) if !text.is_empty() => Ok(text),
                    _ => Err(LineError::NotUtf8),
                }
            }
        }
    }

    /// Marks the first `bytes` of the last [`lines`](Self::lines) as read.
    pub(super) fn consume(&mut self, bytes: usize) {
        self.start += bytes;
    }

    /// The length of the whole lines next in the buffer, up to about [`WINDOW_BYTES`]; reads
    /// more of the file until there is one, or the file ends.
    fn whole_lines(&mut self) -> std::io::Result<usize> {
        loop {
            let pending = &self.buffer[self.start..self.end];
            let window = &pending[..pending.len().min(WINDOW_BYTES)];
            if let Some(newline) = memrchr(b'\n', window).or_else(|| memchr(b'\n', pending)) {
                return Ok(newline + 1);
            }
            if self.at_end {
                return Ok(pending.len());
            }
            self.read_more()?;
        }
    }

    /// Moves the bytes not consumed to the front of the buffer and reads the file after them,
    /// growing the buffer for a line longer than it.
    fn read_more(&mut self) -> std::io::Result<()> {
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        let Some(file) = &mut self.file else {
            self.at_end = true;
            return Ok(());
        };
        loop {
            match file.read(&mut self.buffer[self.end..]) {
                Ok(0) => self.at_end = true,
                Ok(read) => self.end += read,
                Err(error) if error.kind() == ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
            return Ok(());
        }
    }
}
