//! A throttled streaming WordCount over a generated text, written through the exactly-once
//! file sink, and the updates it must commit: `(w,1)` to `(w,n)` for a word seen n times.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flinkrs_api::prelude::*;
use flinkrs_connectors::filesystem::{FILE_SIZE, FileSink, TextFileSource};
use flinkrs_connectors::{ConnectorSinks, RateLimitedSource};

const LINES: usize = 2_000;
const WORDS_PER_LINE: usize = 5;
/// The words of the input, and so the updates of a complete run.
pub const WORDS: usize = LINES * WORDS_PER_LINE;
/// Lines per second: a run lasts about a second, many checkpoint intervals.
const RATE: u64 = 2_000;

/// Writes the input into `dir`: line `i` holds five of thirteen words, so every word occurs
/// many times.
pub fn write_input(dir: &Path) -> PathBuf {
    let path = dir.join("words.txt");
    let text: String = (0..LINES)
        .map(|line| {
            let words: Vec<String> = (0..WORDS_PER_LINE)
                .map(|word| format!("w{}", (line * 7 + word) % 13))
                .collect();
            words.join(" ") + "\n"
        })
        .collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Every update a streaming WordCount of `input` emits, sorted.
pub fn expected_updates(input: &Path) -> Vec<String> {
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    for word in std::fs::read_to_string(input).unwrap().split_whitespace() {
        *counts.entry(word.to_owned()).or_default() += 1;
    }
    let mut updates: Vec<String> = counts
        .iter()
        .flat_map(|(word, n)| (1..=*n).map(move |count| format!("({word},{count})")))
        .collect();
    updates.sort();
    updates
}

/// Adds WordCount of `input` to `env`, throttled, its updates written through the file sink
/// into `output` (a folder or an `s3://` prefix) with 2 KiB part files.
pub fn into_files(
    env: StreamExecutionEnvironment,
    input: &Path,
    output: &str,
) -> StreamExecutionEnvironment {
    let input = input.to_path_buf();
    let sink = FileSink::for_row_format(output)
        .with_option(FILE_SIZE, "2kb")
        .unwrap()
        .build()
        .unwrap();
    env.add_source("Lines", move |info| {
        let lines =
            TextFileSource::for_subtask(input.clone(), info.subtask_index, info.parallelism)?;
        Ok(RateLimitedSource::new(lines, RATE))
    })
    .flat_map(|line: String, out: &mut Collector<'_, (String, u64)>| {
        for word in line.split_whitespace() {
            out.collect((word.to_owned(), 1));
        }
    })
    .key_by(|(word, _): &(String, u64)| word.clone())
    .sum(|(_, count)| count)
    .uid("counts")
    .map(|(word, count)| format!("({word},{count})"))
    .sink_to_files(sink)
    .uid("file-sink");
    env
}
