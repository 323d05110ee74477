//! Windows, as in Flink's DataStream API: a [`KeyedStream`](crate::KeyedStream) is cut into
//! windows by time ([`KeyedStream::window`](crate::KeyedStream::window) with an assigner such
//! as [`TumblingEventTimeWindows`]) or by count
//! ([`KeyedStream::count_window`](crate::KeyedStream::count_window)), and a window function
//! (`reduce`, `aggregate`, `process`) turns each window into results.
//!
//! The semantics are Flink's: event-time windows fire when the watermark passes their
//! `max_timestamp()`, stay open for the allowed lateness (a late element within it fires the
//! window again), and are purged at `max_timestamp + allowed_lateness`; elements for purged
//! windows are dropped or sent to the late-data side output. Results carry the window's
//! `max_timestamp()`. Window contents live in keyed state, so they are checkpointed by key
//! group and rescale with the job.
//!
//! At the end of bounded input the final watermark fires every event-time window. In batch
//! runtime mode (`execution.runtime-mode = batch`) windows see no watermark but that final one,
//! as in Flink's batch execution: nothing is late, and each window fires exactly once with its
//! final contents. Processing-time windows still open at the end of input fire then in batch
//! mode only; in streaming mode they are not fired, as Flink drops pending processing-time
//! timers when a task finishes. Incomplete count windows never fire, as in Flink.
//!
//! ```
//! use std::time::Duration;
//! use flinkrs_api::prelude::*;
//!
//! let env = StreamExecutionEnvironment::new();
//! // Window contents live in keyed state, so elements are owned and serializable.
//! type Event = (String, i64, i32);
//! let events: Vec<Event> =
//!     vec![("a".into(), 1_000, 1), ("a".into(), 2_000, 2), ("a".into(), 6_000, 4)];
//! let timestamps = WatermarkStrategy::for_monotonous_timestamps()
//!     .with_timestamp_assigner(|event: &Event, _| event.1);
//! let sums = env
//!     .from_collection(events)
//!     .assign_timestamps_and_watermarks(timestamps)
//!     .key_by(|event: &Event| event.0.clone())
//!     .window(TumblingEventTimeWindows::of(Duration::from_secs(5)))
//!     .reduce(|a, b| (a.0, a.1, a.2 + b.2));
//! let result = sums.execute_and_collect("tumbling sums").unwrap();
//! assert_eq!(result, vec![("a".to_owned(), 1_000, 3), ("a".to_owned(), 6_000, 4)]);
//! ```

mod assigners;
mod contents;
mod count;
mod frozen_contents;
mod functions;
mod operator;
mod time_window;
mod windowed_stream;

#[cfg(test)]
mod tests;

pub use assigners::{
    EventTimeSessionWindows, ProcessingTimeSessionWindows, SlidingEventTimeWindows,
    SlidingProcessingTimeWindows, TumblingEventTimeWindows, TumblingProcessingTimeWindows,
    WindowAssigner,
};
pub use functions::{
    AggregateFunction, AggregateWindowFunction, InternalWindowFunction, ProcessWindowFunction,
    ProcessWindowFunctionAdapter, ReduceWindowFunction, WindowCollector, WindowContext,
};
#[doc(hidden)]
pub use operator::WindowSnapshotProbe;
pub use time_window::{GlobalWindow, TimeWindow, Window};
pub use windowed_stream::{BuildWindowOperator, WindowStrategy, WindowedStream};
