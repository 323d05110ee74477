//! WordCount, as Flink's example: split lines into lower-case words, count each word.
//! Streaming mode prints every updated count; batch mode prints the final counts only.

use std::path::Path;

use flinkrs_api::prelude::*;
use flinkrs_connectors::ConnectorSources;

/// The built-in text, used when no `--input` is given.
pub const TEXT: &[&str] = &[
    "The stream flows on and on, and every word that flows is counted",
    "once for every time it flows; the counts flow out as the words flow in.",
    "A word counted in streaming mode is printed each time its count changes,",
    "a word counted in batch mode is printed once, with its final count.",
];

/// Splits a line into lower-case words, on every character that is not a letter, a digit or
/// an underscore (Java's `\W+`, as Flink's Tokenizer does).
pub fn tokenize(line: String, out: &mut Collector<'_, (String, u64)>) {
    for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if !word.is_empty() {
            out.collect((word.to_ascii_lowercase(), 1));
        }
    }
}

/// The job: lines → (word, count).
pub fn counts(lines: &DataStream<String>) -> DataStream<(String, u64)> {
    lines
        .flat_map(tokenize)
        .name("Tokenizer")
        .key_by(|(word, _): &(String, u64)| word.clone())
        .sum(|(_, count)| count)
        .name("Counter")
}

/// The lines of `input` (a file or directory), or the built-in text.
pub fn lines(env: &StreamExecutionEnvironment, input: Option<&Path>) -> Result<DataStream<String>> {
    match input {
        Some(path) => Ok(env.read_text_file(path)),
        None => Ok(env.from_collection(TEXT.iter().map(|line| (*line).to_owned()).collect())),
    }
}

/// Runs WordCount and prints `(word,count)` lines.
pub fn run(env: &StreamExecutionEnvironment, input: Option<&Path>) -> Result<JobResult> {
    counts(&lines(env, input)?)
        .map(|(word, count)| format!("({word},{count})"))
        .print();
    env.execute("WordCount")
}
