//! WordCount, as Flink's example: split lines into lower-case words, count each word.
//! Streaming mode prints every updated count; batch mode prints the final counts only.

use flinkrs_api::prelude::*;

use crate::options::JobOptions;
use crate::word::Word;

/// The built-in text, used when no `--input` is given. The file is shared with the script
/// that records Flink's answer (`scripts/flink-reference/record_wordcount.py`).
pub const TEXT: &str = include_str!("../data/wordcount.txt");

/// A word and its count. A [`Word`] of up to 24 bytes lives inline, so counting words
/// allocates nothing per word, and one of up to 16 bytes hashes and compares as two `u64`s.
pub type WordCount = (Word, u64);

/// Splits a line into lower-case words, on every character that is not a letter, a digit or
/// an underscore (Java's `\W+`, as Flink's Tokenizer does). Java's `\w` is ASCII-only, so
/// every byte of a multi-byte UTF-8 character separates words, and scanning bytes is exact.
pub fn tokenize(line: String, out: &mut Collector<'_, WordCount>) {
    for_each_word(line.as_bytes(), |start, end, may_have_upper| {
        out.collect((Word::from_line(&line, start, end, may_have_upper), 1));
    });
}

/// Bytes of a line classified at once: one bit per byte in a `u64`.
const BLOCK: usize = 64;
/// `0x01` in every byte of a word.
const LOW: u64 = u64::from_ne_bytes([0x01; 8]);
/// `0x80` in every byte of a word.
const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);

/// Calls `emit(start, end, may_have_upper)` for every word of `bytes`, in order: a maximal run
/// of ASCII letters, digits and underscores, `bytes[start..end]`. `may_have_upper` is false
/// when no upper-case ASCII letter occurs in the line up to the word's end, so the word needs
/// no lower-casing.
///
/// The bytes are classified eight at a time with integer arithmetic (SWAR) into one bit per
/// byte, 64 bytes per step; words are then read off the bit masks, so the cost per byte is a
/// few instructions and the cost per word a few more, without a branch per byte.
#[inline]
pub fn for_each_word(bytes: &[u8], mut emit: impl FnMut(usize, usize, bool)) {
    // Where the word that runs into the current block began.
    let mut open: Option<usize> = None;
    // Whether the byte before the block is a word byte (bit 0), and any upper case so far.
    let mut carry = 0u64;
    let mut seen_upper = false;
    // One block more than the full ones: the last is partial, or empty when the length is a
    // multiple of the block, so a word running to the end of the line always ends in it.
    for base in (0..=bytes.len()).step_by(BLOCK) {
        let block = &bytes[base..bytes.len().min(base + BLOCK)];
        let (words, upper) = classify_block(block);
        seen_upper |= upper;
        let before = (words << 1) | carry;
        let mut starts = words & !before;
        // A bit for every separator byte that follows a word byte: the end of that word.
        // Bytes past the end of the line read as separators.
        let mut ends = !words & before;
        carry = words >> (BLOCK - 1);
        loop {
            let start = match open {
                Some(start) => start,
                None if starts != 0 => {
                    let start = base + starts.trailing_zeros() as usize;
                    starts &= starts - 1;
                    start
                }
                None => break,
            };
            if ends == 0 {
                open = Some(start);
                break;
            }
            emit(start, base + ends.trailing_zeros() as usize, seen_upper);
            ends &= ends - 1;
            open = None;
        }
    }
}

/// One bit per byte of `block` (at most 64 bytes) that is a word byte, and whether the block
/// holds an upper-case letter.
#[inline]
fn classify_block(block: &[u8]) -> (u64, bool) {
    let (mut words, mut upper) = (0u64, 0u64);
    let mut chunks = block.chunks_exact(8);
    let mut shift = 0;
    for chunk in &mut chunks {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(chunk);
        let (w, u) = classify_eight(u64::from_le_bytes(eight));
        words |= w << shift;
        upper |= u;
        shift += 8;
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Padding with NUL, a separator.
        let mut eight = [0u8; 8];
        eight[..rest.len()].copy_from_slice(rest);
        let (w, u) = classify_eight(u64::from_le_bytes(eight));
        words |= w << shift;
        upper |= u;
    }
    (words, upper != 0)
}

/// For eight bytes (little-endian in a `u64`): one bit per byte that is a word byte, and a
/// value that is not zero when one of them is an upper-case letter.
#[inline(always)]
fn classify_eight(bytes: u64) -> (u64, u64) {
    // Bytes from 0x80 up (parts of multi-byte characters) separate words; the tests below
    // see only the low seven bits, so nothing borrows across bytes.
    let ascii = !bytes & HIGH;
    let low7 = bytes & !HIGH;
    // Setting bit 5 maps exactly 'A'..='Z' and 'a'..='z' onto 'a'..='z'.
    let letter = in_range(low7 | (LOW * 0x20), b'a', b'z');
    let digit = in_range(low7, b'0', b'9');
    let underscore = !((low7 ^ (LOW * u64::from(b'_'))) | HIGH).wrapping_sub(LOW) & HIGH;
    let word = (letter | digit | underscore) & ascii;
    // An upper-case letter is a letter with bit 5 clear; shifted by two, bit 5 of each byte
    // lands on its top bit.
    let upper = letter & !(low7 << 2) & ascii;
    (high_bits_to_mask(word), upper)
}

/// The top bit of every byte of `x` (each below 0x80) is set where `lo <= byte <= hi`.
#[inline(always)]
fn in_range(x: u64, lo: u8, hi: u8) -> u64 {
    // Per byte: 0x80 + x - lo, at least 0x80 exactly when x >= lo, never negative.
    let at_least_lo = (x | HIGH) - LOW * u64::from(lo);
    // Per byte: 0x80 + hi - x, at least 0x80 exactly when x <= hi, never negative.
    let at_most_hi = LOW * (0x80 + u64::from(hi)) - x;
    at_least_lo & at_most_hi & HIGH
}

/// Gathers the top bit of each byte of `x` into the low eight bits (byte `i` to bit `i`).
#[inline(always)]
fn high_bits_to_mask(x: u64) -> u64 {
    // Each top bit, moved to bit 0 of its byte, is multiplied into a distinct bit of the top
    // byte; no two products overlap, so nothing carries.
    ((x & HIGH) >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
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

/// The lines of the `--input` file or folder, of the TCP server it names
/// (`socket://HOST:PORT`), or the built-in text, at the `--rate`.
pub fn lines(env: &StreamExecutionEnvironment, options: &JobOptions) -> Result<DataStream<String>> {
    match &options.input {
        Some(path) => match crate::input::socket_address(path)? {
            Some((host, port)) => Ok(options.socket(env, &host, port)),
            None => Ok(options.text_file(env, path)),
        },
        None => Ok(options.collection(env, TEXT.lines().map(str::to_owned).collect())),
    }
}

/// Runs WordCount: `(word,count)` lines, printed or written into the `--output` folder.
pub fn run(env: &StreamExecutionEnvironment, options: &JobOptions) -> Result<JobResult> {
    let counts = counts(&lines(env, options)?).map(|(word, count)| format!("({word},{count})"));
    options.emit(&counts, "part", None)?;
    env.execute("WordCount")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::for_each_word;

    /// The words of `bytes` found one byte at a time: the specification the fast scan meets.
    fn words_byte_by_byte(bytes: &[u8]) -> Vec<(usize, usize)> {
        let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut words = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if is_word(bytes[index]) {
                let start = index;
                while index < bytes.len() && is_word(bytes[index]) {
                    index += 1;
                }
                words.push((start, index));
            } else {
                index += 1;
            }
        }
        words
    }

    fn words_found(bytes: &[u8]) -> Vec<(usize, usize)> {
        let mut words = Vec::new();
        for_each_word(bytes, |start, end, may_have_upper| {
            let has_upper = bytes[start..end].iter().any(u8::is_ascii_uppercase);
            assert!(
                may_have_upper || !has_upper,
                "upper case missed in {start}..{end}"
            );
            words.push((start, end));
        });
        words
    }

    #[test]
    fn every_byte_value_is_classified_as_javas_word_class() {
        for byte in 0..=255u8 {
            // The byte alone, and between word bytes, at every offset of an eight-byte chunk.
            for offset in 0..9 {
                let mut line = vec![b'x'; offset];
                line.push(byte);
                line.extend_from_slice(b"yz");
                assert_eq!(
                    words_found(&line),
                    words_byte_by_byte(&line),
                    "byte {byte:#04x} at {offset}"
                );
            }
        }
    }

    #[test]
    fn words_across_block_boundaries_and_at_the_end() {
        for length in [63, 64, 65, 127, 128, 129, 200] {
            let word_only = vec![b'a'; length];
            assert_eq!(words_found(&word_only), vec![(0, length)]);
            let mut ends_in_space = word_only.clone();
            ends_in_space.push(b' ');
            assert_eq!(words_found(&ends_in_space), vec![(0, length)]);
        }
        assert_eq!(words_found(b""), Vec::new());
        assert_eq!(words_found(b"  "), Vec::new());
    }

    proptest! {
        #[test]
        fn the_fast_scan_finds_the_words_a_byte_scan_finds(
            line in proptest::collection::vec(
                prop_oneof![
                    4 => proptest::sample::select(b"aZ_9 ,-\xc3\x80\x7f\x00".to_vec()),
                    1 => any::<u8>(),
                ],
                0..300,
            )
        ) {
            prop_assert_eq!(words_found(&line), words_byte_by_byte(&line));
        }
    }
}
