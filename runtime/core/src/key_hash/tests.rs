use serde::Serialize;
use serde::ser::{self, SerializeSeq, SerializeTuple, Serializer};

use super::*;

#[derive(Serialize)]
enum Shape {
    Empty,
    Count(u64),
    Named(String),
}

/// Serializes through `serialize_bytes`, as `serde_bytes` does.
struct ByteString<'a>(&'a [u8]);

impl Serialize for ByteString<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self.0)
    }
}

/// The key hash of a hand-built canonical encoding.
fn hash_of_encoding(bytes: &[u8]) -> i32 {
    murmur3::hash_aligned(0, bytes, bytes.len() as u32) as i32
}

/// Concatenates the pieces of an encoding.
fn encoding(pieces: &[&[u8]]) -> Vec<u8> {
    pieces.concat()
}

#[track_caller]
fn assert_vector<K: Serialize + ?Sized>(key: &K, hash: i32, group_128: usize, group_32768: usize) {
    assert_eq!(key_hash(key), hash, "key hash");
    assert_eq!(assign_to_key_group(key, 128), group_128, "key group at 128");
    assert_eq!(
        assign_to_key_group(key, 32768),
        group_32768,
        "key group at 32768"
    );
}

#[test]
fn key_hash_matches_independent_murmur3_vectors() {
    // Printed by scripts/key-hash/vectors.py (mmh3 over hand-built encodings). Changing any of
    // these moves keys of existing savepoints to other key groups.
    assert_vector(&0u64, 1669671676, 104, 3304);
    assert_vector(&1u64, 1392991556, 43, 9131);
    assert_vector(&-1i64, 1651860712, 60, 27836);
    assert_vector(&42u64, 1871679806, 99, 22243);
    assert_vector(&i64::MIN, 1366273829, 16, 18448);
    assert_vector(&u64::MAX, 1651860712, 60, 27836);
    assert_vector(&-1i128, -451333010, 97, 18017);
    assert_vector("", 593689054, 73, 29129);
    assert_vector("ab", 183059623, 26, 15514);
    assert_vector("flink", -856802293, 91, 2907);
    assert_vector("hello world", 1472374234, 67, 8131);
    assert_vector("thirteen-byte", -410999098, 115, 29427);
    assert_vector("größe", 438684803, 77, 3917);
    assert_vector(&(1u64, "a"), -1868688440, 1, 6017);
    assert_vector(&Some(3u64), -1744005333, 77, 20557);
    assert_vector(&None::<u64>, 1364076727, 104, 2152);
    assert_vector(&true, -463810133, 72, 29256);
    assert_vector(&false, 1364076727, 104, 2152);
    assert_vector(&'x', 2063150778, 111, 28655);
    assert_vector(&1.5f64, -260406309, 0, 2176);
    assert_vector(&-0.0f64, 1669671676, 104, 3304);
    assert_vector(&f64::NAN, 1428788237, 80, 6992);
    assert_vector(&(), 0, 94, 31198);
    assert_vector(&[1u64, 2, 3][..], -2106231504, 96, 20832);
    assert_vector(&Shape::Empty, 593689054, 73, 29129);
    assert_vector(&Shape::Count(7), 1356320828, 78, 16206);
    assert_vector(&Shape::Named("n".to_owned()), -899255580, 9, 4745);
}

#[test]
fn integer_widths_with_the_same_value_share_a_key_group() {
    let expected = key_hash(&42u64);
    assert_eq!(key_hash(&42i64), expected);
    assert_eq!(key_hash(&42i32), expected);
    assert_eq!(key_hash(&42u8), expected);
    assert_eq!(key_hash_i64(42), expected);
    assert_eq!(key_hash(&-7i8), key_hash(&-7i64));
    assert_eq!(key_hash(&u64::MAX), key_hash_i64(-1));
    assert_eq!(key_hash(&'x'), key_hash(&120u32));
}

#[test]
fn primitives_equal_the_serde_path() {
    let mut value = 0x9e37_79b9_7f4a_7c15u64;
    let mut integers = vec![0, 1, -1, 42, i64::MIN, i64::MAX, i64::from(i32::MIN)];
    for _ in 0..1_000 {
        // A fixed xorshift sequence: values from all over the 64-bit range, high bits included.
        value ^= value << 13;
        value ^= value >> 7;
        value ^= value << 17;
        integers.push(value as i64);
    }
    for &integer in &integers {
        assert_eq!(key_hash_i64(integer), key_hash(&integer), "{integer}");
        assert_eq!(
            key_hash_i64(integer),
            key_hash(&(integer as u64)),
            "{integer}"
        );
    }

    let mut strings: Vec<String> = (0..40).map(|length| "k".repeat(length)).collect();
    strings.extend(["größe", "日本語のキー", "word\0", "\u{1f600}"].map(str::to_owned));
    for string in &strings {
        assert_eq!(
            key_hash_str(string),
            key_hash(string.as_str()),
            "{string:?}"
        );
        assert_eq!(key_hash_str(string), key_hash(string), "{string:?}");
        let bytes = string.as_bytes();
        assert_eq!(
            key_hash_bytes(bytes),
            key_hash(&ByteString(bytes)),
            "{string:?}"
        );
        assert_eq!(key_hash_bytes(bytes), key_hash_str(string), "{string:?}");
    }
}

#[test]
fn key_groups_are_spread_evenly() {
    let mut counts = [0usize; 128];
    for key in 0..10_000u64 {
        counts[assign_to_key_group(&key, 128)] += 1;
    }
    // 78 per group on average; every group is used and none is overloaded.
    assert!(
        counts.iter().all(|&n| (50..=110).contains(&n)),
        "{counts:?}"
    );
}

#[test]
fn strings_of_different_length_differ() {
    // The length prefix tells a string from the same string padded with NUL bytes.
    assert_ne!(key_hash("ab"), key_hash("ab\0"));
    assert_ne!(key_hash_str("ab"), key_hash_str("ab\0"));
    assert_ne!(key_hash(&("a", "b")), key_hash(&("ab", "")));
}

#[test]
fn equal_floats_hash_alike() {
    assert_eq!(key_hash(&-0.0f64), key_hash(&0.0f64));
    let other_nan = f64::from_bits(0xfff0_0000_0000_0001);
    assert!(other_nan.is_nan());
    assert_eq!(key_hash(&other_nan), key_hash(&f64::NAN));
    assert_eq!(key_hash(&f32::NAN), key_hash(&f64::NAN));
    assert_eq!(key_hash(&1.5f32), key_hash(&1.5f64));
}

/// Writes 7u64, then fails.
struct FailsAfterOneField;

impl Serialize for FailsAfterOneField {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&7u64)?;
        Err(ser::Error::custom("no second field"))
    }
}

#[test]
fn a_failing_serialize_impl_hashes_what_it_wrote_before_failing() {
    assert_eq!(key_hash(&FailsAfterOneField), key_hash(&7u64));
    assert_eq!(key_hash(&FailsAfterOneField), key_hash(&FailsAfterOneField));
}

/// A sequence that does not tell serde its length up front.
struct UnsizedSequence(Vec<u64>);

impl Serialize for UnsizedSequence {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut sequence = serializer.serialize_seq(None)?;
        for element in &self.0 {
            sequence.serialize_element(element)?;
        }
        sequence.end()
    }
}

#[test]
fn a_sequence_of_unknown_length_writes_its_count_after_the_elements() {
    let (five, six, count) = (5u64.to_le_bytes(), 6u64.to_le_bytes(), 2u32.to_le_bytes());
    assert_eq!(
        key_hash(&UnsizedSequence(vec![5, 6])),
        hash_of_encoding(&encoding(&[&five, &six, &count]))
    );
    assert_eq!(
        key_hash(&[5u64, 6][..]),
        hash_of_encoding(&encoding(&[&count, &five, &six]))
    );
}

/// Serializes through `collect_str`, as types with a `Display` form often do.
struct Displayed(u32);

impl Serialize for Displayed {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("item-{}", self.0))
    }
}

#[test]
fn collect_str_hashes_like_the_displayed_string() {
    assert_eq!(key_hash(&Displayed(12)), key_hash("item-12"));
}

#[test]
fn maps_are_their_count_then_keys_and_values() {
    let map = std::collections::BTreeMap::from([("a", 1u64), ("b", 2u64)]);
    let (count, one, two) = (2u32.to_le_bytes(), 1u64.to_le_bytes(), 2u64.to_le_bytes());
    let (a, b) = ([1, 0, 0, 0, b'a'], [1, 0, 0, 0, b'b']);
    assert_eq!(
        key_hash(&map),
        hash_of_encoding(&encoding(&[&count, &a, &one, &b, &two]))
    );
}
