//! Key groups: the unit of keyed state and of rescaling.
//!
//! A key's hash ([`key_hash`](mod@crate::key_hash)) is spread by [`murmur_hash`] and taken modulo
//! `max_parallelism`, giving its key group; each subtask owns a contiguous range of them. This
//! is the same arithmetic as Flink's `KeyGroupRangeAssignment`, so a checkpoint taken at
//! parallelism p restores at any parallelism up to `max_parallelism`.

use serde::{Deserialize, Serialize};

/// Flink's default for `pipeline.max-parallelism` when none is set.
pub const DEFAULT_MAX_PARALLELISM: usize = 128;

/// An inclusive range of key groups `[start, end]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyGroupRange {
    pub start: usize,
    pub end: usize,
}

impl KeyGroupRange {
    /// The key groups owned by `operator_index` when `max_parallelism` key groups are spread
    /// over `parallelism` subtasks.
    pub fn for_operator(max_parallelism: usize, parallelism: usize, operator_index: usize) -> Self {
        assert!(
            parallelism > 0 && parallelism <= max_parallelism,
            "parallelism out of range"
        );
        let start = (operator_index * max_parallelism).div_ceil(parallelism);
        let end = ((operator_index + 1) * max_parallelism - 1) / parallelism;
        KeyGroupRange { start, end }
    }

    pub fn contains(&self, key_group: usize) -> bool {
        (self.start..=self.end).contains(&key_group)
    }

    pub fn len(&self) -> usize {
        self.end + 1 - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.end < self.start
    }
}

/// Flink's `MathUtils.murmurHash(int)`: spreads a 32-bit hash code so that nearby codes land
/// in different key groups. The result is never negative.
#[inline]
pub fn murmur_hash(code: i32) -> i32 {
    let mut h = code.wrapping_mul(0xcc9e_2d51_u32 as i32);
    h = h.rotate_left(15);
    h = h.wrapping_mul(0x1b87_3593);
    h = h.rotate_left(13);
    h = h.wrapping_mul(5).wrapping_add(0xe654_6b64_u32 as i32);
    h ^= 4;
    // fmix32, with logical shifts as in Java's >>>.
    let mut u = h as u32;
    u ^= u >> 16;
    u = u.wrapping_mul(0x85eb_ca6b);
    u ^= u >> 13;
    u = u.wrapping_mul(0xc2b2_ae35);
    u ^= u >> 16;
    let h = u as i32;
    if h >= 0 {
        h
    } else if h != i32::MIN {
        -h
    } else {
        0
    }
}

/// The key group of a key's 32-bit hash code ([`key_hash`](crate::key_hash::key_hash)).
#[inline]
pub fn key_group_for_hash(hash_code: i32, max_parallelism: usize) -> usize {
    murmur_hash(hash_code) as usize % max_parallelism
}

/// The subtask that owns `key_group`, as in Flink's `computeOperatorIndexForKeyGroup`.
#[inline]
pub fn operator_index_for_key_group(
    max_parallelism: usize,
    parallelism: usize,
    key_group: usize,
) -> usize {
    key_group * parallelism / max_parallelism
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur_hash_matches_flink_for_known_inputs() {
        // Values printed by Flink's MathUtils.murmurHash(int), run on the JVM.
        assert_eq!(murmur_hash(0), 593_689_054);
        assert_eq!(murmur_hash(1), 68_075_478);
        assert_eq!(murmur_hash(42), 1_134_849_565);
        assert_eq!(murmur_hash(-1), 1_982_413_648);
    }

    #[test]
    fn ranges_are_contiguous_and_cover_every_key_group() {
        for parallelism in [1, 2, 3, 4, 7, 128] {
            let mut next = 0;
            for index in 0..parallelism {
                let range = KeyGroupRange::for_operator(128, parallelism, index);
                assert_eq!(range.start, next, "parallelism {parallelism} index {index}");
                next = range.end + 1;
                for key_group in range.start..=range.end {
                    assert_eq!(
                        operator_index_for_key_group(128, parallelism, key_group),
                        index
                    );
                }
            }
            assert_eq!(next, 128);
        }
    }

    #[test]
    fn key_groups_are_stable_and_in_range() {
        // Pinned values from scripts/key-hash/vectors.py: changing the key hash would move
        // keys of existing savepoints to other key groups, so these must never change.
        assert_eq!(key_group_for_hash(-856_802_293, 128), 91);
        assert_eq!(key_group_for_hash(1_871_679_806, 128), 99);
        assert_eq!(key_group_for_hash(1_871_679_806, 32768), 22243);
        for hash in (i32::MIN..=i32::MAX).step_by(65_537) {
            assert!(key_group_for_hash(hash, 128) < 128);
        }
    }
}
