//! User programs: DataStream jobs as a Flink user writes them, against the public API of
//! `flinkrs-api` only. Each program in `src/bin/` is a complete `main`; the pipelines live
//! here so the tests can check their exact output. This crate is a template to copy, not part
//! of the runtime: the `flinkrs` binary's built-in jobs are in `runtime/jobs`.

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
