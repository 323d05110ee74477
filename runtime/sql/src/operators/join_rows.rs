//! One side's rows of a join key: its distinct rows, each with how many times it is held.
//!
//! A row that arrives, or is retracted, is first looked up among the rows its side already
//! holds for the key. Most keys hold a few rows, which a scan finds fastest; but a key can
//! hold thousands (Nexmark q5 joins every auction's count in a window on the window), and
//! scanning them for each update made such a join quadratic. Past [`INDEXED_FROM`] rows a
//! side also keeps a hash table of row positions, as Flink's join keeps a side without a
//! unique key in a map state from row to count.

use std::hash::BuildHasher;
use std::ops::{Deref, DerefMut};

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use super::join::StoredRow;

/// From how many rows a side keeps a table of row positions.
const INDEXED_FROM: usize = 16;

/// Row hashes with a fixed seed, the same in every subtask and run.
const HASHER: FixedState = FixedState::with_seed(0x6a6f_696e);

fn hash(row: &[u8]) -> u64 {
    HASHER.hash_one(row)
}

/// The distinct rows of one side of a join key, in the order they came. Dereferences to
/// the rows: callers may change a row's count or associations in place, never its bytes.
#[derive(Debug, Default)]
pub(crate) struct SideRows {
    rows: Vec<StoredRow>,
    /// Positions in `rows`, by row content: kept while the side holds many rows.
    positions: Option<HashTable<u32>>,
}

impl SideRows {
    /// Holds `row` once more, recording `associations` (for an outer side) and `time`
    /// (for an interval join) when the row is new.
    pub(crate) fn add(&mut self, row: &[u8], associations: u32, time: i64) {
        match self.position(row) {
            Some(index) => {
                let stored = &mut self.rows[index];
                stored.count += 1;
                stored.associations = associations;
            }
            None => self.push(StoredRow {
                row: row.into(),
                count: 1,
                associations,
                time,
            }),
        }
    }

    /// Holds `row` once less; a retraction of a row not held changes nothing, as in Flink.
    pub(crate) fn retract(&mut self, row: &[u8]) {
        let Some(index) = self.position(row) else {
            return;
        };
        if self.rows[index].count > 1 {
            self.rows[index].count -= 1;
            return;
        }
        let last = self.rows.len() - 1;
        if let Some(positions) = &mut self.positions {
            let rows = &self.rows;
            if let Ok(entry) =
                positions.find_entry(hash(&rows[index].row), |&at| at as usize == index)
            {
                entry.remove();
            }
            if index != last {
                // The last row moves into the removed row's place.
                if let Some(at) =
                    positions.find_mut(hash(&rows[last].row), |&at| at as usize == last)
                {
                    *at = index as u32;
                }
            }
        }
        self.rows.swap_remove(index);
    }

    /// Appends a row known not to be held yet (a restored one).
    pub(crate) fn push(&mut self, row: StoredRow) {
        let index = self.rows.len();
        let rows = &self.rows;
        if let Some(positions) = &mut self.positions {
            positions.insert_unique(hash(&row.row), index as u32, |&at| {
                hash(&rows[at as usize].row)
            });
        }
        self.rows.push(row);
    }

    /// Keeps the rows `keep` returns true for.
    pub(crate) fn retain(&mut self, keep: impl FnMut(&StoredRow) -> bool) {
        let before = self.rows.len();
        self.rows.retain(keep);
        if self.rows.len() != before {
            // Positions moved: the table is rebuilt when the side next needs it.
            self.positions = None;
        }
    }

    /// Where `row` is held, building the table of positions once the side is large.
    fn position(&mut self, row: &[u8]) -> Option<usize> {
        if self.rows.len() < INDEXED_FROM {
            return self.rows.iter().position(|stored| &*stored.row == row);
        }
        let rows = &self.rows;
        let positions = self.positions.get_or_insert_with(|| {
            let mut positions = HashTable::with_capacity(rows.len());
            for (index, stored) in rows.iter().enumerate() {
                positions.insert_unique(hash(&stored.row), index as u32, |&at| {
                    hash(&rows[at as usize].row)
                });
            }
            positions
        });
        positions
            .find(hash(row), |&at| &*rows[at as usize].row == row)
            .map(|&at| at as usize)
    }
}

impl Deref for SideRows {
    type Target = [StoredRow];

    fn deref(&self) -> &[StoredRow] {
        &self.rows
    }
}

impl DerefMut for SideRows {
    fn deref_mut(&mut self) -> &mut [StoredRow] {
        &mut self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(value: u32) -> Vec<u8> {
        value.to_be_bytes().to_vec()
    }

    fn held(side: &SideRows) -> Vec<(u32, u32)> {
        let mut held: Vec<(u32, u32)> = side
            .iter()
            .map(|stored| {
                let bytes: [u8; 4] = stored.row.as_ref().try_into().unwrap();
                (u32::from_be_bytes(bytes), stored.count)
            })
            .collect();
        held.sort_unstable();
        held
    }

    /// Adds and retracts rows past the size at which the side indexes them, and checks
    /// each step against a plain count per row.
    #[test]
    fn counts_stay_exact_across_adds_and_retractions_of_a_large_side() {
        let mut side = SideRows::default();
        let mut expected = std::collections::BTreeMap::<u32, u32>::new();
        for step in 0..2_000u32 {
            let value = (step * 7919) % 97;
            if step % 3 == 2 {
                side.retract(&row(value));
                if let Some(count) = expected.get_mut(&value) {
                    *count -= 1;
                    if *count == 0 {
                        expected.remove(&value);
                    }
                }
            } else {
                side.add(&row(value), 0, 0);
                *expected.entry(value).or_default() += 1;
            }
            if step % 101 == 0 {
                side.retain(|stored| stored.row[3] % 5 != 0);
                expected.retain(|value, _| value % 5 != 0);
            }
            assert_eq!(
                held(&side),
                expected.iter().map(|(&v, &c)| (v, c)).collect::<Vec<_>>(),
                "after step {step}"
            );
        }
        assert!(
            side.len() >= INDEXED_FROM,
            "the test reaches the indexed size"
        );
    }

    #[test]
    fn a_retraction_of_a_row_not_held_changes_nothing() {
        let mut side = SideRows::default();
        for value in 0..40 {
            side.add(&row(value), 0, 0);
        }
        side.retract(&row(1_000));
        assert_eq!(side.len(), 40);
        assert_eq!(held(&side), (0..40).map(|v| (v, 1)).collect::<Vec<_>>());
    }
}
