//! [`Word`]: WordCount's key, a string that is cheap to hash and compare when it is short.
//!
//! WordCount looks up its state by word once per word of the input, and its records carry
//! the word through a channel, so the word's own cost is most of the job's. A general string
//! type compares and hashes through its length and a call to `memcmp`, and decides first
//! whether its bytes are inline or on the heap, on both sides of every comparison. Most words
//! are short: a word of up to [`SHORT`] bytes is kept inline, zero-padded, so that comparing two
//! words compares two fixed 16-byte arrays and hashing one feeds two `u64`s to the hasher.
//!
//! Longer words are kept in a [`CompactString`] (inline up to 24 bytes), so no word allocates
//! unless it is longer than 24 bytes. A word's form follows from its text alone ([`Word::from`]),
//! so two equal words always have the same form.
//!
//! A `Word` serializes as the bytes of its text, which postcard and the key hash encode exactly
//! as a string: the key hash, the key groups of savepoints and the state's
//! encoding are those of the `CompactString` WordCount used before, and of `String`.

use std::fmt;
use std::hash::{Hash, Hasher};

use compact_str::CompactString;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Most bytes of a word kept in the short form.
pub const SHORT: usize = 16;

/// `0x01` in every byte of a `u128`.
const LOW: u128 = u128::from_ne_bytes([0x01; 16]);
/// `0x80` in every byte of a `u128`.
const HIGH: u128 = u128::from_ne_bytes([0x80; 16]);

/// A word of text; see the [module docs](self).
#[derive(Clone, PartialEq, Eq)]
pub struct Word(Form);

#[derive(Clone, PartialEq, Eq)]
enum Form {
    /// Up to [`SHORT`] bytes, none of them NUL, followed by zeros: the length is where the
    /// zeros begin.
    Short([u8; SHORT]),
    /// Longer, or holding a NUL byte.
    Long(CompactString),
}

impl Word {
    /// The word `line[start..end]`, lower-cased when `lowercase` is set, for the tokenizer:
    /// those bytes must be ASCII letters, digits or underscores (so neither NUL nor part of a
    /// multi-byte character), as [`for_each_word`](crate::wordcount::for_each_word) finds them.
    ///
    /// A short word is read as one 16-byte load from the line and masked to its length, with
    /// no copy of a variable length; near the end of the line, the load is of the line's last
    /// 16 bytes, shifted.
    #[inline]
    pub(crate) fn from_line(line: &str, start: usize, end: usize, lowercase: bool) -> Word {
        let length = end.saturating_sub(start);
        if length > SHORT {
            return Word::long_from_line(line, start, end, lowercase);
        }
        let bytes = line.as_bytes();
        let value = match bytes.get(start..start + SHORT) {
            Some(window) => load(window),
            None => match bytes.len().checked_sub(SHORT) {
                // The line's last 16 bytes hold the word: shifted so that it comes first.
                Some(base) => load(&bytes[base..])
                    .checked_shr(8 * start.saturating_sub(base) as u32)
                    .unwrap_or(0),
                // A line shorter than 16 bytes.
                None => {
                    let mut short = [0u8; SHORT];
                    if let Some(word) = bytes.get(start..end) {
                        short[..length].copy_from_slice(word);
                    }
                    u128::from_le_bytes(short)
                }
            },
        };
        // Keep the word's bytes, clear those after it.
        let mut value = value & mask(8 * length as u32);
        if lowercase {
            value = ascii_lowercase(value);
        }
        Word(Form::Short(value.to_le_bytes()))
    }

    #[cold]
    fn long_from_line(line: &str, start: usize, end: usize, lowercase: bool) -> Word {
        let mut text = CompactString::new(line.get(start..end).unwrap_or_default());
        if lowercase {
            text.make_ascii_lowercase();
        }
        Word::from(text.as_str())
    }

    /// The word's bytes, UTF-8.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Form::Short(bytes) => {
                let (low, high) = halves(bytes);
                // Bytes after the word are zero and none of the word's are.
                let length = if high == 0 {
                    8 - low.leading_zeros() as usize / 8
                } else {
                    16 - high.leading_zeros() as usize / 8
                };
                &bytes[..length]
            }
            Form::Long(text) => text.as_bytes(),
        }
    }

    /// The word as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // Checked again, since the short form keeps bytes; they came from a `str`, so the
            // check always passes.
            Form::Short(_) => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            Form::Long(text) => text.as_str(),
        }
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }
}

/// The two little-endian `u64`s of a short word.
#[inline(always)]
fn halves(bytes: &[u8; SHORT]) -> (u64, u64) {
    let value = u128::from_le_bytes(*bytes);
    (value as u64, (value >> 64) as u64)
}

/// Sixteen bytes of `window` (which has at least 16) as a little-endian `u128`.
#[inline(always)]
fn load(window: &[u8]) -> u128 {
    let mut bytes = [0u8; SHORT];
    if let Some(window) = window.get(..SHORT) {
        bytes.copy_from_slice(window);
    }
    u128::from_le_bytes(bytes)
}

/// The low `bits` bits set (all 128 from 128 up).
#[inline(always)]
fn mask(bits: u32) -> u128 {
    1u128.checked_shl(bits).map_or(u128::MAX, |bit| bit - 1)
}

/// Lower-cases the ASCII upper-case letters among sixteen bytes that are all below 0x80.
#[inline(always)]
fn ascii_lowercase(bytes: u128) -> u128 {
    // Per byte, the top bit is set where 'A' <= byte <= 'Z' (see `in_range` in wordcount.rs).
    let at_least_a = (bytes | HIGH) - LOW * u128::from(b'A');
    let at_most_z = LOW * (0x80 + u128::from(b'Z')) - bytes;
    let upper = at_least_a & at_most_z & HIGH;
    // Moved from bit 7 to bit 5: the case bit.
    bytes | (upper >> 2)
}

impl From<&str> for Word {
    /// The short form when the text fits and holds no NUL byte, else the long one.
    fn from(text: &str) -> Word {
        let bytes = text.as_bytes();
        if bytes.len() <= SHORT && !bytes.contains(&0) {
            let mut short = [0u8; SHORT];
            short[..bytes.len()].copy_from_slice(bytes);
            Word(Form::Short(short))
        } else {
            Word(Form::Long(CompactString::new(text)))
        }
    }
}

impl Hash for Word {
    /// A short word feeds its two halves to the hasher; a long one hashes as its `str`.
    /// Equal words have equal forms, so they hash alike.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            Form::Short(bytes) => {
                let (low, high) = halves(bytes);
                state.write_u64(low);
                state.write_u64(high);
            }
            Form::Long(text) => text.as_str().hash(state),
        }
    }
}

impl fmt::Display for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl fmt::Debug for Word {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl Serialize for Word {
    /// The bytes of the text. Every encoding that records and keys go through encodes them
    /// exactly as it encodes a string: postcard (the codec of channels and state), the key
    /// hash's canonical encoding, and the count of a batch's bytes. Serializing the short form
    /// as a `str` would check its bytes as UTF-8 again, for every record a channel counts.
    /// (A self-describing format such as JSON would show a byte array.)
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.as_bytes())
    }
}

impl<'de> Deserialize<'de> for Word {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Word, D::Error> {
        deserializer.deserialize_str(WordVisitor)
    }
}

struct WordVisitor;

impl Visitor<'_> for WordVisitor {
    type Value = Word;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a word (a UTF-8 string)")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Word, E> {
        Ok(Word::from(text))
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Word, E> {
        std::str::from_utf8(bytes)
            .map(Word::from)
            .map_err(|_| E::invalid_value(de::Unexpected::Bytes(bytes), &self))
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use compact_str::CompactString;
    use proptest::prelude::*;

    use super::Word;

    fn hash(word: &Word) -> u64 {
        foldhash::fast::FixedState::default().hash_one(word)
    }

    #[test]
    fn a_word_from_a_line_is_the_same_as_from_its_text() {
        let line = "Hello, ABCDEFGHIJKLMNOP abcdefghijklmnopq x_1 WORLD";
        for (start, end) in [(0, 5), (7, 23), (24, 41), (42, 45), (46, 51)] {
            let text = &line[start..end];
            let lower = text.to_ascii_lowercase();
            assert_eq!(Word::from_line(line, start, end, false), Word::from(text));
            let word = Word::from_line(line, start, end, true);
            assert_eq!(word, Word::from(lower.as_str()));
            assert_eq!(word.as_str(), lower);
            assert_eq!(word.len(), end - start);
            assert_eq!(hash(&word), hash(&Word::from(lower.as_str())));
        }
    }

    #[test]
    fn words_of_every_length_keep_their_text() {
        for length in 0..40 {
            let text: String = (0..length)
                .map(|i| (b'a' + (i % 26) as u8) as char)
                .collect();
            let word = Word::from(text.as_str());
            assert_eq!(word.as_str(), text);
            assert_eq!(word.to_string(), text);
            assert_eq!(format!("{word:?}"), format!("{text:?}"));
            assert_eq!(word.is_empty(), length == 0);
        }
    }

    #[test]
    fn a_word_encodes_as_the_compact_string_it_replaces() {
        for text in [
            "",
            "flink",
            "exactly16bytes!!",
            "a word longer than sixteen",
            "nul\0",
        ] {
            let word = Word::from(text);
            let compact = CompactString::new(text);
            // The state's encoding, and so savepoints, are unchanged, both ways.
            let bytes = postcard::to_allocvec(&word).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&compact).unwrap(), "{text:?}");
            assert_eq!(postcard::from_bytes::<Word>(&bytes).unwrap(), word);
            // So are the key hash and key groups.
            assert_eq!(
                flinkrs_core::key_hash(&word),
                flinkrs_core::key_hash(&compact),
                "{text:?}"
            );
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_are_no_word() {
        // A postcard string: its length, then its bytes.
        let error = postcard::from_bytes::<Word>(&[2, b'a', 0xff]).unwrap_err();
        assert!(!error.to_string().is_empty());
    }

    proptest! {
        #[test]
        fn equal_words_are_equal_and_hash_alike_whatever_their_length(
            a in "[a-z_0-9]{0,30}",
            b in "[a-z_0-9]{0,30}",
        ) {
            let (word_a, word_b) = (Word::from(a.as_str()), Word::from(b.as_str()));
            prop_assert_eq!(word_a == word_b, a == b);
            if a == b {
                prop_assert_eq!(hash(&word_a), hash(&word_b));
            }
            // Read out of a line, with text around it.
            let line = format!("{a} {b}");
            let from_line = Word::from_line(&line, 0, a.len(), false);
            prop_assert_eq!(&from_line, &word_a);
            prop_assert_eq!(from_line.as_str(), a.as_str());
            // At the end of the line: a short word is read from the line's last 16 bytes.
            let at_end = Word::from_line(&line, a.len() + 1, line.len(), false);
            prop_assert_eq!(&at_end, &word_b);
            prop_assert_eq!(at_end.as_str(), b.as_str());
        }
    }
}
