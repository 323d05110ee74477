//! Key groups: the unit of keyed state and of rescaling.
//!
//! A key hashes to one of `max_parallelism` key groups; each subtask owns a contiguous range of
//! them. This is the same arithmetic as Flink's `KeyGroupRangeAssignment`, so a checkpoint
//! taken at parallelism p restores at any parallelism up to `max_parallelism`.

use std::hash::{Hash, Hasher};

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

/// The key group of a key's 32-bit hash code.
pub fn key_group_for_hash(hash_code: i32, max_parallelism: usize) -> usize {
    murmur_hash(hash_code) as usize % max_parallelism
}

/// A key's hash code. It must be the same in every process of a cluster, so it uses a fixed
/// hasher (FNV-1a), never a randomly seeded one.
pub fn key_hash_code<K: Hash + ?Sized>(key: &K) -> i32 {
    let mut hasher = StableHasher::default();
    key.hash(&mut hasher);
    let h = hasher.finish();
    (h ^ (h >> 32)) as i32
}

/// The key group a key belongs to.
pub fn assign_to_key_group<K: Hash + ?Sized>(key: &K, max_parallelism: usize) -> usize {
    key_group_for_hash(key_hash_code(key), max_parallelism)
}

/// The subtask that owns `key_group`, as in Flink's `computeOperatorIndexForKeyGroup`.
pub fn operator_index_for_key_group(
    max_parallelism: usize,
    parallelism: usize,
    key_group: usize,
) -> usize {
    key_group * parallelism / max_parallelism
}

/// The stable key hasher: it must give the same hash in every process and in every future
/// version, since key groups of savepoints depend on it. It consumes the bytes `Hash` feeds it
/// eight at a time, each word mixed by a rotate, xor and multiply; the result is then folded
/// to 32 bits and spread by [`murmur_hash`], which does the avalanche.
#[derive(Clone, Copy, Debug)]
pub struct StableHasher(u64);

const STABLE_SEED: u64 = 0xcbf2_9ce4_8422_2325;
const STABLE_MULTIPLIER: u64 = 0x517c_c1b7_2722_0a95;

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(STABLE_SEED)
    }
}

impl StableHasher {
    #[inline]
    fn mix(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(STABLE_MULTIPLIER);
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut buffer = [0u8; 8];
            buffer.copy_from_slice(word);
            self.mix(u64::from_le_bytes(buffer));
        }
        let tail = words.remainder();
        if !tail.is_empty() {
            let mut buffer = [0u8; 8];
            buffer[..tail.len()].copy_from_slice(tail);
            // The length tells "ab" from "ab\0".
            self.mix(u64::from_le_bytes(buffer) ^ ((tail.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, value: u8) {
        self.mix(u64::from(value));
    }

    #[inline]
    fn write_u32(&mut self, value: u32) {
        self.mix(u64::from(value));
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        self.mix(value);
    }

    #[inline]
    fn write_i32(&mut self, value: i32) {
        self.mix(u64::from(value as u32));
    }

    #[inline]
    fn write_i64(&mut self, value: i64) {
        self.mix(value as u64);
    }

    #[inline]
    fn write_usize(&mut self, value: usize) {
        self.mix(value as u64);
    }
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

    /// Computed by an independent model of the hash spec above (bytes in little-endian
    /// words, rotate-xor-multiply, fold, murmur).
    const KEY_HASH_OF_FLINK: i32 = -1_017_090_510;
    const KEY_GROUP_OF_42: usize = 35;

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
    fn key_groups_are_stable_and_in_range() {
        // Pinned values: changing the key hash would move keys of existing savepoints to
        // other key groups, so these must never change.
        assert_eq!(key_hash_code("flink"), KEY_HASH_OF_FLINK);
        assert_eq!(assign_to_key_group(&42u64, 128), KEY_GROUP_OF_42);
        for key in 0..10_000u64 {
            assert!(assign_to_key_group(&key, 128) < 128);
        }
    }
}
