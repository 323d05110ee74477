//! Part files: their names ([`OutputFileConfig`]) and the in-progress part file being written.
//!
//! A part file's life, as in Flink's FileSink:
//!
//! 1. **in-progress**: written, hidden: `.<prefix>-<uid>-<subtask>-<counter><suffix>.inprogress`;
//! 2. **pending**: closed (at a checkpoint, or when the rolling policy says so), still hidden,
//!    and recorded as a committable in the sink's state;
//! 3. **finished**: renamed to `<prefix>-<uid>-<subtask>-<counter><suffix>` once the
//!    checkpoint holding it completes. The rename is atomic: a reader sees the whole file or
//!    nothing.
//!
//! In S3 the same steps are a multipart upload to the finished name: started, its parts
//! uploaded, and completed at the commit (the module `s3`).
//!
//! `<uid>` is drawn at random by each subtask of each run (16 hex digits, never a `-`), so a
//! restarted or restored job never reuses a name; `<counter>` counts the subtask's part files
//! from 0.

use std::fmt::Display;
use std::io::Write;

use flinkrs_core::{Error, Result};

use super::local::LocalPart;
use super::rolling::PartFileInfo;
use super::s3::S3Part;

/// Ends the name of an in-progress or pending part file.
const IN_PROGRESS_SUFFIX: &str = ".inprogress";

/// The prefix and suffix of part file names, as Flink's `OutputFileConfig`: `part` and nothing
/// by default.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputFileConfig {
    part_prefix: String,
    part_suffix: String,
}

impl Default for OutputFileConfig {
    fn default() -> Self {
        OutputFileConfig {
            part_prefix: "part".to_owned(),
            part_suffix: String::new(),
        }
    }
}

impl OutputFileConfig {
    /// A prefix and suffix. The prefix must be non-empty and not start with `.` or `_` (that
    /// would hide the finished files from readers), and neither may hold a path separator.
    pub fn new(part_prefix: impl Into<String>, part_suffix: impl Into<String>) -> Result<Self> {
        let (part_prefix, part_suffix) = (part_prefix.into(), part_suffix.into());
        if part_prefix.is_empty() || part_prefix.starts_with(['.', '_']) {
            return Err(Error::InvalidJob(format!(
                "the file sink's part prefix '{part_prefix}' must be non-empty and not start \
                 with '.' or '_': readers skip such files as hidden"
            )));
        }
        for part in [&part_prefix, &part_suffix] {
            if part.contains(['/', '\\']) {
                return Err(Error::InvalidJob(format!(
                    "the file sink's part prefix and suffix must not hold a path separator: \
                     '{part}'"
                )));
            }
        }
        Ok(OutputFileConfig {
            part_prefix,
            part_suffix,
        })
    }

    pub fn part_prefix(&self) -> &str {
        &self.part_prefix
    }

    pub fn part_suffix(&self) -> &str {
        &self.part_suffix
    }

    /// The name of a finished part file: `<prefix>-<uid>-<subtask>-<counter><suffix>`.
    pub fn part_name(&self, unique_id: &str, subtask: usize, counter: u64) -> String {
        format!(
            "{}-{unique_id}-{subtask}-{counter}{}",
            self.part_prefix, self.part_suffix
        )
    }

    /// The unique id and subtask of an in-progress (or pending) part file of this config, from
    /// its name; `None` for any other file.
    pub fn parse_in_progress<'a>(&self, file_name: &'a str) -> Option<(&'a str, usize)> {
        self.parse_part_name(
            file_name
                .strip_prefix('.')?
                .strip_suffix(IN_PROGRESS_SUFFIX)?,
        )
    }

    /// The unique id and subtask of a part file of this config, from its finished name;
    /// `None` for any other name.
    pub fn parse_part_name<'a>(&self, part_name: &'a str) -> Option<(&'a str, usize)> {
        let part = part_name
            .strip_prefix(self.part_prefix.as_str())?
            .strip_prefix('-')?
            .strip_suffix(self.part_suffix.as_str())?;
        let mut fields = part.rsplitn(3, '-');
        let counter = fields.next()?;
        let subtask = fields.next()?;
        // A unique id holds no '-': what has one belongs to a sink whose prefix starts with
        // this one's (`part-late` against `part`).
        let unique_id = fields
            .next()
            .filter(|id| !id.is_empty() && !id.contains('-'))?;
        counter.parse::<u64>().ok()?;
        Some((unique_id, subtask.parse().ok()?))
    }
}

/// The hidden name a part file has until it is committed: `.<name>.inprogress`.
pub fn in_progress_name(part_name: &str) -> String {
    format!(".{part_name}{IN_PROGRESS_SUFFIX}")
}

/// The part file being written.
#[derive(Debug)]
pub(super) struct InProgressPart {
    /// The bucket's folder under the base path; empty for the base path itself.
    pub bucket: String,
    /// The name it gets when committed.
    pub part_name: String,
    body: PartBody,
    pub info: PartFileInfo,
}

/// Where the part file's bytes go.
#[derive(Debug)]
pub(super) enum PartBody {
    Local(LocalPart),
    S3(S3Part),
}

/// Counts the bytes written through it.
pub(super) struct Counting<'a, W: Write> {
    pub inner: &'a mut W,
    pub written: &'a mut u64,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buffer)?;
        *self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl InProgressPart {
    /// Part `part_name` of `bucket`, created at `now` (epoch ms), writing into `body`.
    pub fn new(bucket: String, part_name: String, body: PartBody, now: i64) -> Self {
        InProgressPart {
            bucket,
            part_name,
            body,
            info: PartFileInfo {
                size: 0,
                created_at: now,
                last_written_at: now,
            },
        }
    }

    /// Writes the record's `Display` and a line break.
    pub fn write_line(&mut self, record: &(impl Display + ?Sized)) -> Result<()> {
        match &mut self.body {
            PartBody::Local(part) => part.write_line(record, &mut self.info.size),
            PartBody::S3(part) => part.write_line(record, &mut self.info.size),
        }
    }

    /// Pushes buffered bytes to the file; in S3 they stay buffered until a part is full.
    pub fn flush(&mut self) -> Result<()> {
        match &mut self.body {
            PartBody::Local(part) => part.flush(),
            PartBody::S3(_) => Ok(()),
        }
    }

    /// Closes the part for commit: everything written is durable when this returns.
    pub fn close_for_commit(self) -> Result<super::commit::PendingFile> {
        let upload = match self.body {
            PartBody::Local(part) => {
                part.close_for_commit()?;
                None
            }
            PartBody::S3(part) => Some(part.close_for_commit()?),
        };
        Ok(super::commit::PendingFile {
            bucket: self.bucket,
            part_name: self.part_name,
            upload,
        })
    }

    /// Drops the part: what it holds was never part of a checkpoint.
    pub fn discard(self) -> Result<()> {
        match self.body {
            PartBody::Local(part) => part.discard(),
            PartBody::S3(part) => part.discard(),
        }
    }
}
