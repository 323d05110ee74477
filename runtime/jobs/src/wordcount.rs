//! WordCount, as Flink's example: split lines into lower-case words, count each word.
//! Streaming mode prints every updated count; batch mode prints the final counts only.

use std::path::Path;

use compact_str::CompactString;
use flinkrs_api::prelude::*;
use flinkrs_connectors::ConnectorSources;

/// The built-in text, used when no `--input` is given. The file is shared with the script
/// that records Flink's answer (`scripts/flink-reference/record_wordcount.py`).
pub const TEXT: &str = include_str!("../data/wordcount.txt");

/// A word and its count. Words are [`CompactString`]s: up to 24 bytes live inline, so
/// counting words allocates nothing per word.
pub type WordCount = (CompactString, u64);

/// A byte that separates words.
const SEPARATOR: u8 = 0;
/// A byte of a word that lower-casing leaves alone: a lower-case letter, a digit, `_`.
const WORD: u8 = 1;
/// An upper-case ASCII letter: a byte of a word that lower-casing changes.
const UPPER: u8 = 2;

/// The class of each byte. Word bytes are ASCII letters, digits and the underscore, as Java's
/// `\w`. A table, so the scan does one load per byte instead of range checks, and notes on the
/// way whether a word has anything to lower-case.
const BYTE_CLASS: [u8; 256] = {
    let mut table = [SEPARATOR; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = if b.is_ascii_uppercase() {
            UPPER
        } else if b.is_ascii_alphanumeric() || b == b'_' {
            WORD
        } else {
            SEPARATOR
        };
        byte += 1;
    }
    table
};

/// Splits a line into lower-case words, on every character that is not a letter, a digit or
/// an underscore (Java's `\W+`, as Flink's Tokenizer does). Java's `\w` is ASCII-only, so
/// every byte of a multi-byte UTF-8 character separates words, and scanning bytes is exact.
pub fn tokenize(line: String, out: &mut Collector<'_, WordCount>) {
    let bytes = line.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        while index < bytes.len() && BYTE_CLASS[usize::from(bytes[index])] == SEPARATOR {
            index += 1;
        }
        let start = index;
        // The classes of the word's bytes, or-ed: `UPPER` is set when it needs lower-casing.
        let mut classes = SEPARATOR;
        while index < bytes.len() {
            let class = BYTE_CLASS[usize::from(bytes[index])];
            if class == SEPARATOR {
                break;
            }
            classes |= class;
            index += 1;
        }
        // A word starts and ends next to ASCII bytes, so its bounds are character boundaries
        // and `get` always succeeds; it only avoids a panic path.
        if start < index
            && let Some(word) = line.get(start..index)
        {
            let mut word = CompactString::new(word);
            if classes & UPPER != 0 {
                word.make_ascii_lowercase();
            }
            out.collect((word, 1));
        }
    }
}

/// The job: lines → (word, count).
pub fn counts(lines: &DataStream<String>) -> DataStream<WordCount> {
    lines
        .flat_map(tokenize)
        .name("Tokenizer")
        // The word is borrowed from the record: no copy for partitioning or the state lookup.
        .key_by_ref(|(word, _): &WordCount| word)
        .sum(|(_, count)| count)
        .name("Counter")
}

/// The lines of `input` (a file or directory), or the built-in text.
pub fn lines(env: &StreamExecutionEnvironment, input: Option<&Path>) -> Result<DataStream<String>> {
    match input {
        Some(path) => Ok(env.read_text_file(path)),
        None => Ok(env.from_collection(TEXT.lines().map(str::to_owned).collect())),
    }
}

/// Runs WordCount and prints `(word,count)` lines.
pub fn run(env: &StreamExecutionEnvironment, input: Option<&Path>) -> Result<JobResult> {
    counts(&lines(env, input)?)
        .map(|(word, count)| format!("({word},{count})"))
        .print();
    env.execute("WordCount")
}
