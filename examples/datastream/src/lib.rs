//! User programs: DataStream jobs as a Flink user writes them, against the public API of
//! `flinkrs-api` only. Each program in `src/bin/` is a complete `main`; the pipelines live
//! here so the tests can check their exact output. This crate is a template to copy, not part
//! of the runtime: the `flinkrs` binary's built-in jobs are in `runtime/jobs`.

use std::time::Duration;

use flinkrs_api::prelude::*;

/// The README's first program: split lines on whitespace, count each word, and format every
/// updated count as Flink prints a `Tuple2`: `(word,count)`.
pub fn word_counts(lines: &DataStream<String>) -> DataStream<String> {
    lines
        .flat_map(|line: String, out: &mut Collector<'_, (String, u64)>| {
            for word in line.split_whitespace() {
                out.collect((word.to_owned(), 1));
            }
        })
        .key_by(|(word, _): &(String, u64)| word.clone())
        .sum(|(_, count)| count)
        .map(|(word, count)| format!("({word},{count})"))
}

/// Kafka → keyed window → Kafka: how many events each key had per 10-second window of event
/// time (the Kafka record timestamps), as `key,window_start,count` lines. Five seconds of
/// out-of-orderness are allowed; a partition without records for a second goes idle so it
/// does not hold the windows back.
pub fn windowed_counts(events: &DataStream<String>) -> DataStream<String> {
    let strategy = WatermarkStrategy::for_bounded_out_of_orderness(Duration::from_secs(5))
        .with_idleness(Duration::from_secs(1));
    events
        .assign_timestamps_and_watermarks(strategy)
        .map(|key: String| (key, 1u64))
        .key_by(|(key, _): &(String, u64)| key.clone())
        .window(TumblingEventTimeWindows::of(Duration::from_secs(10)))
        .reduce_with(
            |(key, a), (_, b)| (key, a + b),
            |key: &String, window: &TimeWindow, (_, count): (String, u64)| {
                format!("{key},{},{count}", window.start)
            },
        )
}
