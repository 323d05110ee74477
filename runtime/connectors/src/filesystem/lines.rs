//! [`LineReader`]: splits a file into lines, reading it in large chunks.

use std::io::{self, Read};
use std::ops::Range;

/// Reads lines from `R` through one buffer it owns: a line is found in the buffer with a
/// vectorized search and handed out as a slice of it, so it is copied only by whoever keeps it.
#[derive(Debug)]
pub(crate) struct LineReader<R> {
    inner: R,
    buffer: Vec<u8>,
    /// The unread bytes are `buffer[start..end]`.
    start: usize,
    end: usize,
    at_end_of_input: bool,
}

impl<R: Read> LineReader<R> {
    /// `capacity` is the size of each read; a line longer than that grows the buffer.
    pub(crate) fn new(inner: R, capacity: usize) -> Self {
        LineReader {
            inner,
            buffer: vec![0; capacity.max(1)],
            start: 0,
            end: 0,
            at_end_of_input: false,
        }
    }

    /// The next line, with its `\n` (the last line of the input may have none), as a range of
    /// [`LineReader::buffer`]; `None` at the end of the input.
    pub(crate) fn next_line(&mut self) -> io::Result<Option<Range<usize>>> {
        let mut searched = self.start;
        loop {
            if let Some(position) = memchr::memchr(b'\n', &self.buffer[searched..self.end]) {
                let line = self.start..searched + position + 1;
                self.start = line.end;
                return Ok(Some(line));
            }
            searched = self.end;
            if self.at_end_of_input {
                if self.start == self.end {
                    return Ok(None);
                }
                let line = self.start..self.end;
                self.start = self.end;
                return Ok(Some(line));
            }
            searched -= self.start;
            self.fill()?;
        }
    }

    /// The unread complete lines as text: the longest run of whole lines from the read
    /// position, within the next `limit` bytes, that is valid UTF-8 and ends with a `\n`.
    /// `None` when there is none in the buffer (the next line is incomplete, longer than
    /// `limit`, or not UTF-8); [`LineReader::next_line`] then reads on. Checking many lines
    /// at once costs less than checking each; [`LineReader::consume`] marks those taken.
    pub(crate) fn text_lines(&self, limit: usize) -> Option<&str> {
        let unread = &self.buffer[self.start..self.end];
        let window = &unread[..unread.len().min(limit)];
        let end = memchr::memrchr(b'\n', window)? + 1;
        match std::str::from_utf8(&window[..end]) {
            Ok(text) => Some(text),
            Err(error) => {
                // The lines before the one that is not UTF-8.
                let valid = &window[..error.valid_up_to()];
                let end = memchr::memrchr(b'\n', valid)? + 1;
                std::str::from_utf8(&valid[..end]).ok()
            }
        }
    }

    /// Marks `bytes` more of the buffer as read: the lines taken from
    /// [`LineReader::text_lines`].
    pub(crate) fn consume(&mut self, bytes: usize) {
        self.start = (self.start + bytes).min(self.end);
    }

    /// The buffer that [`LineReader::next_line`] ranges index into.
    pub(crate) fn buffer(&self) -> &[u8] {
        &self.buffer
    }

    /// Moves the unread bytes to the front and reads more after them, growing the buffer when
    /// the unread bytes (one unfinished line) fill it.
    fn fill(&mut self) -> io::Result<()> {
        self.buffer.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        loop {
            match self.inner.read(&mut self.buffer[self.end..]) {
                Ok(0) => {
                    self.at_end_of_input = true;
                    return Ok(());
                }
                Ok(read) => {
                    self.end += read;
                    return Ok(());
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LineReader;

    fn lines(input: &[u8], capacity: usize) -> Vec<Vec<u8>> {
        let mut reader = LineReader::new(input, capacity);
        let mut lines = Vec::new();
        while let Some(line) = reader.next_line().expect("reading a slice cannot fail") {
            lines.push(reader.buffer()[line].to_vec());
        }
        lines
    }

    #[test]
    fn lines_keep_their_line_ends_and_the_last_line_may_have_none() {
        let expected: Vec<Vec<u8>> =
            vec![b"one\n".to_vec(), b"two\r\n".to_vec(), b"three".to_vec()];
        assert_eq!(lines(b"one\ntwo\r\nthree", 1024), expected);
    }

    #[test]
    fn lines_longer_than_the_buffer_grow_it() {
        let long = "x".repeat(100);
        let input = format!("{long}\nab\r\n\n{long}");
        let expected: Vec<Vec<u8>> = vec![
            format!("{long}\n").into_bytes(),
            b"ab\r\n".to_vec(),
            b"\n".to_vec(),
            long.into_bytes(),
        ];
        for capacity in [1, 2, 3, 7, 64, 4096] {
            assert_eq!(
                lines(input.as_bytes(), capacity),
                expected,
                "capacity {capacity}"
            );
        }
    }

    #[test]
    fn text_lines_are_the_complete_utf8_lines_ahead() {
        let mut reader = LineReader::new(&b"one\ntw\xC3\xB6\r\nbr\xFFoken\nlast"[..], 64);
        assert_eq!(reader.text_lines(64), None, "nothing read yet");
        let first = reader.next_line().unwrap().unwrap();
        assert_eq!(&reader.buffer()[first], b"one\n");
        // The line that is not UTF-8 and the unfinished last line are left to `next_line`.
        assert_eq!(reader.text_lines(64), Some("tw\u{f6}\r\n"));
        assert_eq!(reader.text_lines(4), None, "no whole line within the limit");
        reader.consume("tw\u{f6}\r\n".len());
        assert_eq!(reader.text_lines(64), None);
        let broken = reader.next_line().unwrap().unwrap();
        assert_eq!(&reader.buffer()[broken], b"br\xFFoken\n");
        assert_eq!(reader.text_lines(64), None);
        let last = reader.next_line().unwrap().unwrap();
        assert_eq!(&reader.buffer()[last], b"last");
    }

    #[test]
    fn empty_input_has_no_lines() {
        assert!(lines(b"", 16).is_empty());
    }
}
