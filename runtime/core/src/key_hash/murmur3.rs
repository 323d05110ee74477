//! MurmurHash3 x86_32, seed 0, fed incrementally.
//!
//! The bytes of a key's canonical encoding arrive in pieces (a length, then a string, then an
//! integer), not as one slice. This state consumes each piece as it comes and keeps at most
//! three bytes that do not yet fill a 4-byte block, so hashing a key allocates nothing.

const C1: u32 = 0xcc9e_2d51;
const C2: u32 = 0x1b87_3593;

/// The mixing of one 4-byte block, or of the final partial block, before it joins the state.
#[inline]
fn scramble(block: u32) -> u32 {
    block.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2)
}

/// Folds one full 4-byte block (little-endian) into the running hash.
#[inline]
pub(super) fn mix_block(hash: u32, block: u32) -> u32 {
    (hash ^ scramble(block))
        .rotate_left(13)
        .wrapping_mul(5)
        .wrapping_add(0xe654_6b64)
}

/// The finalisation: xors in the total length (modulo 2^32, as MurmurHash3 takes it) and
/// runs fmix32, so that every input bit affects every output bit.
#[inline]
pub(super) fn finish(hash: u32, total_length: u32) -> u32 {
    let mut h = hash ^ total_length;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// Hashes `bytes` as if they followed `hash`'s input on a block boundary; `total_length` is
/// the length of the whole input.
#[inline]
pub(super) fn hash_aligned(mut hash: u32, bytes: &[u8], total_length: u32) -> u32 {
    let mut blocks = bytes.chunks_exact(4);
    for block in &mut blocks {
        hash = mix_block(
            hash,
            u32::from_le_bytes([block[0], block[1], block[2], block[3]]),
        );
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut partial = 0u32;
        for (index, &byte) in tail.iter().enumerate() {
            partial |= u32::from(byte) << (8 * index);
        }
        hash ^= scramble(partial);
    }
    finish(hash, total_length)
}

/// A MurmurHash3 x86_32 computation in progress.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Murmur3 {
    hash: u32,
    /// Bytes not yet forming a full block, packed little-endian: byte `i` at bits `8i..8i+8`.
    pending: u32,
    /// How many bytes `pending` holds, 0 to 3.
    pending_length: u32,
    /// Bytes consumed so far, modulo 2^32.
    total_length: u32,
}

impl Murmur3 {
    /// Appends four bytes, `word` in little-endian order.
    #[inline]
    pub(super) fn write_u32(&mut self, word: u32) {
        // The pending bytes come first in the stream, so they form the low end of the block;
        // what does not fit stays pending. With nothing pending this is one plain block.
        let joined = u64::from(self.pending) | (u64::from(word) << (8 * self.pending_length));
        self.hash = mix_block(self.hash, joined as u32);
        self.pending = (joined >> 32) as u32;
        self.total_length = self.total_length.wrapping_add(4);
    }

    /// Appends eight bytes, `word` in little-endian order.
    #[inline]
    pub(super) fn write_u64(&mut self, word: u64) {
        self.write_u32(word as u32);
        self.write_u32((word >> 32) as u32);
    }

    #[inline]
    pub(super) fn write_u8(&mut self, byte: u8) {
        self.pending |= u32::from(byte) << (8 * self.pending_length);
        self.pending_length += 1;
        self.total_length = self.total_length.wrapping_add(1);
        if self.pending_length == 4 {
            self.hash = mix_block(self.hash, self.pending);
            self.pending = 0;
            self.pending_length = 0;
        }
    }

    #[inline]
    pub(super) fn write_bytes(&mut self, bytes: &[u8]) {
        let mut blocks = bytes.chunks_exact(4);
        if self.pending_length == 0 {
            for block in &mut blocks {
                self.hash = mix_block(
                    self.hash,
                    u32::from_le_bytes([block[0], block[1], block[2], block[3]]),
                );
            }
            self.total_length = self
                .total_length
                .wrapping_add((bytes.len() - blocks.remainder().len()) as u32);
        } else {
            for block in &mut blocks {
                self.write_u32(u32::from_le_bytes([block[0], block[1], block[2], block[3]]));
            }
        }
        for &byte in blocks.remainder() {
            self.write_u8(byte);
        }
    }

    /// The hash of everything written.
    #[inline]
    pub(super) fn finish(self) -> u32 {
        let mut hash = self.hash;
        if self.pending_length > 0 {
            hash ^= scramble(self.pending);
        }
        finish(hash, self.total_length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(pieces: &[&[u8]]) -> u32 {
        let mut state = Murmur3::default();
        for piece in pieces {
            state.write_bytes(piece);
        }
        state.finish()
    }

    #[test]
    fn reference_values_of_murmur3_x86_32_with_seed_0() {
        // Published test values of MurmurHash3_x86_32 (seed 0).
        assert_eq!(streamed(&[]), 0);
        assert_eq!(streamed(&[b"hello"]), 0x248b_fa47);
        assert_eq!(
            streamed(&[b"The quick brown fox jumps over the lazy dog"]),
            0x2e4f_f723
        );
    }

    #[test]
    fn the_hash_does_not_depend_on_how_the_input_is_split() {
        let input: Vec<u8> = (0..=40u8).map(|n| n.wrapping_mul(37)).collect();
        let whole = hash_aligned(0, &input, input.len() as u32);
        assert_eq!(streamed(&[&input]), whole);
        for first in 0..input.len() {
            for second in first..input.len() {
                let pieces = [&input[..first], &input[first..second], &input[second..]];
                assert_eq!(streamed(&pieces), whole, "split at {first} and {second}");
            }
        }
        // Words and single bytes at every offset of the block give the same stream of bytes.
        for offset in 0..4 {
            let mut state = Murmur3::default();
            state.write_bytes(&input[..offset]);
            state.write_u64(u64::from_le_bytes(
                input[offset..offset + 8].try_into().unwrap(),
            ));
            state.write_u32(u32::from_le_bytes(
                input[offset + 8..offset + 12].try_into().unwrap(),
            ));
            state.write_u8(input[offset + 12]);
            let length = offset + 13;
            assert_eq!(
                state.finish(),
                hash_aligned(0, &input[..length], length as u32),
                "offset {offset}"
            );
        }
    }
}
