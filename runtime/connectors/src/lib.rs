//! # flinkrs-connectors
//!
//! Sources and sinks, one folder per connector, as in Flink's connector list:
//!
//! | connector | source | sink |
//! |---|---|---|
//! | [`datagen`] | [`DataGenSource`](datagen::DataGenSource) | |
//! | [`filesystem`] | [`TextFileSource`](filesystem::TextFileSource) | [`FileSink`](filesystem::FileSink) (exactly-once), [`TextOutputSink`](filesystem::TextOutputSink) |
//! | [`socket`] | [`SocketTextSource`](socket::SocketTextSource) | |
//! | [`print`](mod@print) | | [`PrintSink`](print::PrintSink) |
//! | [`blackhole`] | | [`BlackholeSink`](blackhole::BlackholeSink), [`CountingBlackholeSink`](blackhole::CountingBlackholeSink) |
//!
//! [`RateLimitedSource`] throttles any source to a number of records per second.
//!
//! [`ConnectorSources`] and [`ConnectorSinks`] add Flink's shortcuts to the environment and to
//! streams: `env.read_text_file(..)`, `env.socket_text_stream(..)`, `env.from_sequence(..)`,
//! `stream.write_as_text(..)`, `stream.sink_to_files(..)`.
//!
//! This crate sits on top of `flinkrs-api`, `flinkrs-dataflow` and `flinkrs-core`
//! (`core → state → dataflow → {api, sql, connectors} → cluster`). Sources implement
//! [`SourceFunction`](flinkrs_dataflow::SourceFunction); sinks implement
//! [`SinkFunction`](flinkrs_api::sink::SinkFunction). It must not depend on `flinkrs-cluster`
//! or `flinkrs-sql`: they build on the connectors, not the reverse.
//!
//! ```
//! use flinkrs_api::prelude::*;
//! use flinkrs_connectors::ConnectorSources;
//!
//! let env = StreamExecutionEnvironment::new();
//! let evens = env.from_sequence(1, 10).filter(|n| n % 2 == 0);
//! assert_eq!(evens.execute_and_collect("evens").unwrap(), vec![2, 4, 6, 8, 10]);
//! ```

pub mod blackhole;
pub mod datagen;
mod extensions;
pub mod filesystem;
pub mod nexmark;
pub mod print;
mod rate_limited;
pub mod socket;

pub use extensions::{ConnectorSinks, ConnectorSources};
pub use rate_limited::RateLimitedSource;
