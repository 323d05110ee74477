//! Flink-style shortcuts on the environment and on streams: `env.read_text_file(path)`,
//! `env.socket_text_stream(host, port, delimiter)`, `env.from_sequence(start, end)`,
//! `stream.write_as_text(path)`, `stream.sink_to_files(sink)`, `stream.sink_to_blackhole()`.
//!
//! They are extension traits because the API crate must not depend on its connectors.

use std::fmt::Display;
use std::path::PathBuf;

use flinkrs_api::stream::DataStreamSink;
use flinkrs_api::{DataStream, StreamExecutionEnvironment};
use flinkrs_core::Data;

use crate::blackhole::BlackholeSink;
use crate::datagen::DataGenSource;
use crate::filesystem::{FileSink, TextFileSource, TextOutputSink};
use crate::socket::SocketTextSource;

/// Sources of this crate, as methods of [`StreamExecutionEnvironment`].
pub trait ConnectorSources {
    /// The lines of a file, or of every file under a directory (see [`TextFileSource`]). A
    /// missing path fails the job before it starts, with an error naming the path.
    fn read_text_file(&self, path: impl Into<PathBuf>) -> DataStream<String>;

    /// The lines of a file or directory as raw bytes: [`read_text_file`] without UTF-8
    /// validation.
    ///
    /// [`read_text_file`]: ConnectorSources::read_text_file
    fn read_byte_lines(&self, path: impl Into<PathBuf>) -> DataStream<Vec<u8>>;

    /// The `delimiter`-separated lines sent by a TCP server (see [`SocketTextSource`]); a
    /// non-parallel source.
    fn socket_text_stream(&self, host: &str, port: u16, delimiter: &str) -> DataStream<String>;

    /// A socket text source with settings such as `max_retry`.
    fn add_socket_source(&self, source: SocketTextSource) -> DataStream<String>;

    /// Every number from `start` to `end`, both included, split over the parallel subtasks.
    #[expect(clippy::wrong_self_convention, reason = "Flink's name: `fromSequence`")]
    fn from_sequence(&self, start: u64, end: u64) -> DataStream<u64>;
}

impl ConnectorSources for StreamExecutionEnvironment {
    fn read_text_file(&self, path: impl Into<PathBuf>) -> DataStream<String> {
        let path = path.into();
        self.add_source("Text File Source", move |info| {
            TextFileSource::for_subtask(path.clone(), info.subtask_index, info.parallelism)
        })
    }

    fn read_byte_lines(&self, path: impl Into<PathBuf>) -> DataStream<Vec<u8>> {
        let path = path.into();
        self.add_source("Text File Source", move |info| {
            TextFileSource::bytes_for_subtask(path.clone(), info.subtask_index, info.parallelism)
        })
    }

    fn socket_text_stream(&self, host: &str, port: u16, delimiter: &str) -> DataStream<String> {
        self.add_socket_source(SocketTextSource::new(host, port, delimiter))
    }

    fn add_socket_source(&self, source: SocketTextSource) -> DataStream<String> {
        self.add_source_with_parallelism("Socket Stream", Some(1), move |_| Ok(source.clone()))
    }

    fn from_sequence(&self, start: u64, end: u64) -> DataStream<u64> {
        let source = DataGenSource::sequence(start, end);
        self.add_source("Sequence Source", move |_| Ok(source.clone()))
    }
}

/// Sinks of this crate, as methods of [`DataStream`].
pub trait ConnectorSinks<T> {
    /// Writes each record's `Display` on its own line (see [`TextOutputSink`]): Flink's
    /// `writeAsText`, which is not exactly-once.
    fn write_as_text(&self, path: impl Into<PathBuf>) -> DataStreamSink
    where
        T: Display;

    /// Writes each record's `Display` on its own line through the exactly-once [`FileSink`]:
    /// Flink's `sinkTo(FileSink.forRowFormat(..))`.
    fn sink_to_files(&self, sink: FileSink) -> DataStreamSink
    where
        T: Display;

    /// Drops every record (see [`BlackholeSink`]).
    fn sink_to_blackhole(&self) -> DataStreamSink;
}

impl<T: Data> ConnectorSinks<T> for DataStream<T> {
    fn write_as_text(&self, path: impl Into<PathBuf>) -> DataStreamSink
    where
        T: Display,
    {
        self.add_sink("Text File Sink", TextOutputSink::new(path))
    }

    fn sink_to_files(&self, sink: FileSink) -> DataStreamSink
    where
        T: Display,
    {
        self.add_sink("File Sink", sink)
    }

    fn sink_to_blackhole(&self) -> DataStreamSink {
        self.add_sink("Blackhole", BlackholeSink::default())
    }
}
