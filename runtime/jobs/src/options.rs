//! [`JobOptions`]: what `flinkrs run` hands a built-in job (`--input`, `--output`, `--rate`),
//! and the sources and sinks that follow from them.

use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flinkrs_api::prelude::*;
use flinkrs_api::source::CollectionSource;
use flinkrs_connectors::filesystem::{FileSink, OutputFileConfig, TextFileSource};
use flinkrs_connectors::socket::SocketTextSource;
use flinkrs_connectors::{ConnectorSinks, ConnectorSources, RateLimitedSource};

/// How a built-in job reads and writes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JobOptions {
    /// `--input`: a file or folder to read instead of the job's built-in data.
    pub input: Option<PathBuf>,
    /// `--output`: the folder the results go to, exactly once, through the [`FileSink`],
    /// instead of standard output.
    pub output: Option<PathBuf>,
    /// `--rate`: the most records per second the job's source emits.
    pub records_per_second: Option<u64>,
}

impl JobOptions {
    /// Options that read `input` and print the results at full speed.
    pub fn with_input(input: Option<&Path>) -> Self {
        JobOptions {
            input: input.map(Path::to_path_buf),
            ..JobOptions::default()
        }
    }

    /// `elements` in order from a non-parallel source, throttled to the rate if one is set.
    pub fn collection<T: Data + Sync>(
        &self,
        env: &StreamExecutionEnvironment,
        elements: Vec<T>,
    ) -> DataStream<T> {
        let Some(rate) = self.records_per_second else {
            return env.from_collection(elements);
        };
        let elements = Arc::new(elements);
        env.add_source_with_parallelism("Collection Source", Some(1), move |_| {
            Ok(RateLimitedSource::new(
                CollectionSource::new(Arc::clone(&elements)),
                rate,
            ))
        })
    }

    /// The lines of a text file or folder, throttled to the rate if one is set.
    pub fn text_file(&self, env: &StreamExecutionEnvironment, path: &Path) -> DataStream<String> {
        let Some(rate) = self.records_per_second else {
            return env.read_text_file(path);
        };
        let path = path.to_path_buf();
        env.add_source("Text File Source", move |info| {
            let source =
                TextFileSource::for_subtask(path.clone(), info.subtask_index, info.parallelism)?;
            Ok(RateLimitedSource::new(source, rate))
        })
    }

    /// The lines a TCP server at `host:port` sends, until it closes the connection, throttled
    /// to the rate if one is set: Flink's `socketTextStream`, at parallelism 1.
    pub fn socket(
        &self,
        env: &StreamExecutionEnvironment,
        host: &str,
        port: u16,
    ) -> DataStream<String> {
        let source = SocketTextSource::new(host, port, "\n");
        let Some(rate) = self.records_per_second else {
            return env.add_socket_source(source);
        };
        env.add_source_with_parallelism("Socket Stream", Some(1), move |_| {
            Ok(RateLimitedSource::new(source.clone(), rate))
        })
    }

    /// Prints `stream` (with `print_identifier` before each line, if given), or, with an
    /// output folder, writes it there through the exactly-once [`FileSink`] into part files
    /// `<part_prefix>-<uid>-<subtask>-<counter>`. The sink's uid is `<part_prefix>-file-sink`.
    pub fn emit<T: Data + Display>(
        &self,
        stream: &DataStream<T>,
        part_prefix: &str,
        print_identifier: Option<&str>,
    ) -> Result<()> {
        match (&self.output, print_identifier) {
            (Some(folder), _) => {
                let sink = FileSink::for_row_format(folder)
                    .with_output_file_config(OutputFileConfig::new(part_prefix, "")?)
                    .build()?;
                stream
                    .sink_to_files(sink)
                    .uid(&format!("{part_prefix}-file-sink"));
            }
            (None, Some(identifier)) => {
                stream.print_with_identifier(identifier);
            }
            (None, None) => {
                stream.print();
            }
        }
        Ok(())
    }
}
