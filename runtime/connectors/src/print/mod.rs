//! The `print` connector: each record on standard output (or error), like Flink's `print`
//! connector.
//!
//! The sink lives in the DataStream API, because `DataStream::print()`,
//! `print_with_identifier` and `print_to_err` use it; it is re-exported here so that every
//! connector can be found in one list. Lines carry the prefix `N> ` (the 1-based subtask) at
//! parallelism above 1, and `id:` before it when an identifier is given.

pub use flinkrs_api::sink::PrintSink;
