//! # flinkrs-api
//!
//! The DataStream API, as close to Flink's as Rust allows: [`StreamExecutionEnvironment`],
//! [`DataStream`], [`KeyedStream`], windows, process functions, watermark strategies, and the
//! sinks every program needs (print, collect, discard).
//!
//! It sits on `flinkrs-dataflow`, which runs what this crate declares. Connectors (files,
//! sockets, generators) build on this crate; it must not depend on them.
//!
//! ```
//! use flinkrs_api::prelude::*;
//!
//! let env = StreamExecutionEnvironment::new();
//! let counts = env
//!     .from_collection(vec!["to be".to_owned(), "or not to be".to_owned()])
//!     .flat_map(|line: String, out: &mut Collector<'_, (String, u64)>| {
//!         for word in line.split_whitespace() {
//!             out.collect((word.to_owned(), 1));
//!         }
//!     })
//!     .key_by(|(word, _): &(String, u64)| word.clone())
//!     .sum(|(_, count)| count);
//! let mut result = counts.execute_and_collect("word count").unwrap();
//! result.sort();
//! assert_eq!(result.last(), Some(&("to".to_owned(), 2)));
//! ```

pub mod arrow;
pub mod connected;
pub mod env;
pub mod functions;
pub mod keyed;
pub mod process;
pub mod sink;
pub mod source;
pub mod stream;
pub mod watermark;
pub mod window;

/// The README's examples are compiled and run as doc tests, so the front door stays true.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use env::StreamExecutionEnvironment;
pub use keyed::KeyedStream;
pub use stream::DataStream;

/// Everything a DataStream program usually needs.
pub mod prelude {
    pub use flinkrs_core::{
        Batch, Configuration, Data, Error, Record, Result, RuntimeMode, Watermark,
    };
    pub use flinkrs_dataflow::{
        Boundedness, JobClient, JobListener, JobResult, JobStatus, OutputTag, RunningJob,
        SourceContext, SourceFunction, SourceStatus, TaskInfo,
    };
    pub use flinkrs_state::{KeyedStateBackend, ListState, MapState, ReducingState, ValueState};

    pub use crate::connected::{
        CoProcessFunction, ConnectedStreams, Either, KeyedCoProcessFunction,
    };
    pub use crate::env::StreamExecutionEnvironment;
    pub use crate::functions::Collector;
    pub use crate::keyed::KeyedStream;
    pub use crate::process::{
        KeyedContext, KeyedProcessFunction, ProcessContext, ProcessFunction, RuntimeContext,
        TimeDomain,
    };
    pub use crate::sink::{CollectHandle, DiscardingSink, PrintSink, SinkFunction};
    pub use crate::stream::{DataStream, DataStreamSink};
    pub use crate::watermark::{WatermarkGenerator, WatermarkOutput, WatermarkStrategy};
    pub use crate::window::{
        AggregateFunction, EventTimeSessionWindows, GlobalWindow, ProcessWindowFunction,
        ProcessingTimeSessionWindows, SlidingEventTimeWindows, SlidingProcessingTimeWindows,
        TimeWindow, TumblingEventTimeWindows, TumblingProcessingTimeWindows, WindowCollector,
        WindowContext, WindowedStream,
    };
}
