//! MurmurHash3, x64 128-bit variant (Austin Appleby's public-domain algorithm): a hash that is
//! fixed by definition, so values derived from it (operator ids) are the same in every process
//! and every future version.
//!
//! The 16 bytes returned are `h1` then `h2`, each little-endian: the byte order of Guava's
//! `Hashing.murmur3_128(seed).hashBytes(..).asBytes()`, which Flink uses for its `OperatorID`s.

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

/// The 128-bit MurmurHash3 (x64 variant) of `data`.
pub fn murmur3_x64_128(data: &[u8], seed: u32) -> [u8; 16] {
    let mut h1 = u64::from(seed);
    let mut h2 = u64::from(seed);
    let mut blocks = data.chunks_exact(16);
    for block in blocks.by_ref() {
        let (k1, k2) = block.split_at(8);
        h1 ^= mix_k1(le_u64(k1));
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(le_u64(k2));
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let tail = blocks.remainder();
    if tail.len() > 8 {
        h2 ^= mix_k2(le_u64(&tail[8..]));
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(le_u64(&tail[..tail.len().min(8)]));
    }
    let length = data.len() as u64;
    h1 ^= length;
    h2 ^= length;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix64(h1);
    h2 = fmix64(h2);
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    let mut out = [0; 16];
    out[..8].copy_from_slice(&h1.to_le_bytes());
    out[8..].copy_from_slice(&h2.to_le_bytes());
    out
}

/// Up to eight bytes as a little-endian word; missing high bytes are zero (the tail rule).
fn le_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |word, byte| (word << 8) | u64::from(*byte))
}

fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

/// The finalization mix: every input bit affects every output bit.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: [u8; 16]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reference values from the Python `mmh3` package (`mmh3.hash_bytes(data, seed)`), which
    /// wraps the original C++ implementation.
    #[test]
    fn matches_the_reference_implementation() {
        let cases: [(&str, u32, &str); 6] = [
            ("", 0, "00000000000000000000000000000000"),
            ("a", 0, "897859f6655555855a890e51483ab5e6"),
            ("hello", 0, "029bbd41b3a7d8cb191dae486a901e5b"),
            ("enrich-orders", 0, "7f6d5ac814a3d4568cece298d26b739b"),
            (
                "the quick brown fox jumps over the lazy dog",
                0,
                "b386ade2fee9e4bc7f4b6e4074e3e20a",
            ),
            ("hello", 42, "086faf60c9b3b8c47abcefb075b83423"),
        ];
        for (input, seed, expected) in cases {
            assert_eq!(
                hex(murmur3_x64_128(input.as_bytes(), seed)),
                expected,
                "input {input:?}, seed {seed}"
            );
        }
    }
}
