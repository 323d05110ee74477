//! The key hash: which key group a key belongs to, stable by definition.
//!
//! Savepoints store keyed state by key group, so the hash of a key must be the same in every
//! process, on every platform and in every future version. It is therefore not std's `Hash`
//! (whose impls Rust does not promise to keep), but a hash of the key's *canonical encoding*,
//! specified here. Changing anything in this specification moves keys of existing savepoints
//! to other key groups: it must not change.
//!
//! # Canonical encoding
//!
//! The encoding follows the key's serde data model (`Serialize`), value by value:
//!
//! | serde value | bytes |
//! | --- | --- |
//! | `i8`, `i16`, `i32`, `i64`, `u8`, `u16`, `u32`, `u64` | the value as a 64-bit two's-complement integer (a `u64` reinterpreted), 8 bytes little-endian |
//! | `i128`, `u128` | 16 bytes little-endian, two's complement |
//! | `bool` | one byte, 0 or 1 |
//! | `char` | its code point, as an integer above (8 bytes) |
//! | `f32`, `f64` | the value as an `f64`, its IEEE 754 bits as 8 bytes little-endian; `-0.0` is written as `0.0` and every NaN as `0x7ff8_0000_0000_0000` |
//! | `str`, bytes | the byte length as a `u32` little-endian, then the bytes (UTF-8 for `str`) |
//! | unit, unit struct | nothing |
//! | `Option` | `None`: byte 0; `Some(v)`: byte 1, then `v` |
//! | tuple, struct, tuple struct, newtype struct | the fields in order, concatenated (names are not written) |
//! | sequence, map | the element count as a `u32` little-endian, then the elements; a map entry is its key, then its value |
//! | enum variant | the variant index as a `u32` little-endian, then the content as above |
//!
//! So an integer key encodes the same whatever its width: `42u64`, `42i32` and `42i64` all
//! land in one key group, and so does an Arrow `BIGINT` 42 hashed with [`key_hash_i64`]. A
//! string and a byte string with the same bytes encode alike too. A `Vec<u8>` is a sequence
//! of integers in serde, not a byte string (unless it is serialized with `serialize_bytes`).
//!
//! Lengths and counts are taken modulo 2^32. The encoding uses serde's compact forms
//! (`is_human_readable` is false): an IP address is its bytes, not its text. A value that
//! serializes through `collect_str` encodes as the `str` of its `Display` output.
//!
//! Two cases a well-behaved key does not reach, both still deterministic:
//! - A sequence or map whose `Serialize` impl does not give its length up front (serde's
//!   `len: None`, e.g. a struct with `#[serde(flatten)]`) is written as its elements, then
//!   their count as a `u32` little-endian. (The codec of snapshots rejects such keys anyway.)
//! - Hashing cannot fail. If a key's `Serialize` impl returns an error, the encoding ends
//!   there and the bytes written so far are hashed: the same key, serialized the same way,
//!   still hashes the same.
//!
//! # Hash and key group
//!
//! The key hash is MurmurHash3 x86_32 with seed 0 over the canonical encoding, as a signed
//! 32-bit integer (the bits of the unsigned result). It is computed while serializing, with
//! no buffer beyond the up to three bytes that do not fill a 4-byte block yet. The key group
//! is then Flink's: [`murmur_hash`](crate::key_group::murmur_hash) of the key hash, modulo
//! the max parallelism ([`key_group_for_hash`]).
//!
//! `scripts/key-hash/vectors.py` computes the encoding and hash of a table of keys with an
//! independent MurmurHash3 implementation; the tests pin its output.

mod encoder;
mod murmur3;
#[cfg(test)]
mod tests;

use serde::Serialize;

use crate::key_group::key_group_for_hash;
use encoder::CanonicalEncoder;

/// The key hash of `key`: MurmurHash3 x86_32 (seed 0) of its canonical encoding, as specified
/// in the [module docs](self).
#[inline]
pub fn key_hash<K: Serialize + ?Sized>(key: &K) -> i32 {
    let mut encoder = CanonicalEncoder::default();
    // An error only ends the encoding early; what was written is the key's encoding.
    let _ = key.serialize(&mut encoder);
    encoder.state.finish() as i32
}

/// The key group `key` belongs to, among `max_parallelism` key groups.
#[inline]
pub fn assign_to_key_group<K: Serialize + ?Sized>(key: &K, max_parallelism: usize) -> usize {
    key_group_for_hash(key_hash(key), max_parallelism)
}

/// The key hash of an integer key, equal to [`key_hash`] of the same value in any integer type
/// up to 64 bits (a `u64` key passes its bits: `value as i64`). Meant for hashing Arrow
/// integer columns one value at a time.
#[inline]
pub fn key_hash_i64(value: i64) -> i32 {
    // Eight bytes are exactly two blocks and no tail.
    let bits = value as u64;
    let hash = murmur3::mix_block(murmur3::mix_block(0, bits as u32), (bits >> 32) as u32);
    murmur3::finish(hash, 8) as i32
}

/// The key hash of a string key, equal to [`key_hash`] of the same `&str` or `String`.
#[inline]
pub fn key_hash_str(value: &str) -> i32 {
    key_hash_bytes(value.as_bytes())
}

/// The key hash of a byte string key, equal to [`key_hash`] of a value that serializes with
/// `serialize_bytes` (such as `serde_bytes::Bytes`), and to [`key_hash_str`] of the same bytes.
#[inline]
pub fn key_hash_bytes(value: &[u8]) -> i32 {
    // The length prefix is one whole block, so the bytes start on a block boundary.
    let length = value.len() as u32;
    let hash = murmur3::mix_block(0, length);
    murmur3::hash_aligned(hash, value, length.wrapping_add(4)) as i32
}
