//! [`RowRng`]: the random numbers of one generated row, a pure function of the source's seed
//! and the row's index.

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

/// The random number generator a datagen generator gets for a row. It is seeded from the
/// source's seed and the row index, when the generator first draws from it, so a row's values
/// never depend on the rows before it: a replay after a restore (at any parallelism)
/// reproduces them exactly. A generator that draws nothing costs nothing.
#[derive(Clone, Debug)]
pub struct RowRng {
    seed: u64,
    index: u64,
    rng: Option<SmallRng>,
}

impl RowRng {
    pub fn new(seed: u64) -> Self {
        RowRng {
            seed,
            index: 0,
            rng: None,
        }
    }

    /// Moves to row `index`: the next draw starts that row's sequence.
    #[inline]
    pub fn start_row(&mut self, index: u64) {
        self.index = index;
        self.rng = None;
    }

    #[inline]
    fn rng(&mut self) -> &mut SmallRng {
        let (seed, index) = (self.seed, self.index);
        self.rng
            .get_or_insert_with(|| SmallRng::seed_from_u64(mix(seed, index)))
    }
}

impl RngCore for RowRng {
    fn next_u32(&mut self) -> u32 {
        self.rng().next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.rng().next_u64()
    }

    fn fill_bytes(&mut self, destination: &mut [u8]) {
        self.rng().fill_bytes(destination)
    }
}

/// Spreads a seed and a row index over all 64 bits (splitmix64's finaliser), so neighbouring
/// rows get unrelated generators.
fn mix(seed: u64, index: u64) -> u64 {
    let mut z = seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use rand::Rng;

    use super::*;

    #[test]
    fn a_rows_draws_depend_on_its_index_only() {
        let mut rng = RowRng::new(7);
        rng.start_row(5);
        let first: Vec<u32> = (0..3).map(|_| rng.random_range(0..1000)).collect();
        rng.start_row(6);
        let other: u32 = rng.random_range(0..1000);
        let mut again = RowRng::new(7);
        again.start_row(5);
        let replayed: Vec<u32> = (0..3).map(|_| again.random_range(0..1000)).collect();
        assert_eq!(first, replayed);
        again.start_row(6);
        assert_eq!(again.random_range(0..1000), other);
    }
}
