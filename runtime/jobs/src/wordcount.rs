//! WordCount, as Flink's example: split lines into lower-case words, count each word.
//! Streaming mode prints every updated count; batch mode prints the final counts only.

use compact_str::CompactString;
use flinkrs_api::prelude::*;

use crate::options::JobOptions;

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

/// The lines of the `--input` file or folder, or the built-in text, at the `--rate`.
pub fn lines(env: &StreamExecutionEnvironment, options: &JobOptions) -> Result<DataStream<String>> {
    match &options.input {
        Some(path) => Ok(options.text_file(env, path)),
        None => Ok(options.collection(env, TEXT.lines().map(str::to_owned).collect())),
    }
}

/// Runs WordCount: `(word,count)` lines, printed or written into the `--output` folder.
pub fn run(env: &StreamExecutionEnvironment, options: &JobOptions) -> Result<JobResult> {
    let counts = counts(&lines(env, options)?).map(|(word, count)| format!("({word},{count})"));
    options.emit(&counts, "part", None)?;
    env.execute("WordCount")
}
