//! [`TextOutputSink`]: writes each record's `Display` on its own line, behind `write_as_text`.
//! It flushes at checkpoints but is not exactly-once; [`FileSink`](super::FileSink) is.

use std::fmt::Display;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use flinkrs_api::sink::SinkFunction;
use flinkrs_core::{Batch, CheckpointId, Error, Result};
use flinkrs_dataflow::TaskInfo;

/// Size of the write buffer; records are written to the file in chunks of this size.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;

/// The file subtask `subtask` writes in `directory` at parallelism above 1: `part-<subtask>-0`.
/// The counter is always 0: files are not rolled.
pub fn text_output_file(directory: &Path, subtask: usize) -> PathBuf {
    directory.join(format!("part-{subtask}-0"))
}

/// Writes each record's `Display` followed by `\n`, like Flink's `writeAsText`.
///
/// - At parallelism 1 the sink writes the file `path` itself.
/// - At parallelism above 1, `path` is a directory (created when missing) and subtask `i`
///   writes [`text_output_file`]`(path, i)`, i.e. `<path>/part-<i>-0`.
///
/// An existing file is replaced. Writes are buffered and flushed at every checkpoint
/// (`snapshot_state`), at the end of input (`finish`) and on `close`. Format CSV rows with
/// [`CsvRow`](super::CsvRow).
#[derive(Debug)]
pub struct TextOutputSink {
    path: PathBuf,
    /// The file this subtask writes, once open.
    target: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl Clone for TextOutputSink {
    /// A sink for another subtask: same path, nothing open yet.
    fn clone(&self) -> Self {
        TextOutputSink::new(self.path.clone())
    }
}

impl TextOutputSink {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        TextOutputSink {
            target: path.clone(),
            path,
            writer: None,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn flush(&mut self) -> Result<()> {
        match &mut self.writer {
            Some(writer) => writer
                .flush()
                .map_err(|source| Error::io("write to", &self.target, source)),
            None => Ok(()),
        }
    }
}

fn create_directory(directory: &Path) -> Result<()> {
    std::fs::create_dir_all(directory)
        .map_err(|source| Error::io("create directory", directory, source))
}

impl<T: Display> SinkFunction<T> for TextOutputSink {
    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        self.target = if info.parallelism > 1 {
            create_directory(&self.path)?;
            text_output_file(&self.path, info.subtask_index)
        } else {
            if let Some(parent) = self
                .path
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
            {
                create_directory(parent)?;
            }
            self.path.clone()
        };
        let file = File::create(&self.target)
            .map_err(|source| Error::io("create", &self.target, source))?;
        self.writer = Some(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file));
        Ok(())
    }

    fn write_batch(&mut self, batch: &mut Batch<T>) -> Result<()> {
        let Some(writer) = &mut self.writer else {
            return Err(Error::InvalidJob(format!(
                "the file sink for '{}' was written to before open",
                self.path.display()
            )));
        };
        for record in batch.iter() {
            // Formats straight into the write buffer: no allocation per record.
            writeln!(writer, "{}", record.value)
                .map_err(|source| Error::io("write to", &self.target, source))?;
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<Vec<Vec<u8>>> {
        self.flush()?;
        Ok(Vec::new())
    }

    fn finish(&mut self) -> Result<()> {
        self.flush()
    }

    fn close(&mut self) -> Result<()> {
        let flushed = self.flush();
        self.writer = None;
        flushed
    }
}
