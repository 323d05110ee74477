//! Splits of a numbered sequence of rows, for the sources whose values are a function of the
//! row index: datagen, the collection source, the Arrow generator.
//!
//! On a fresh start, subtask `i` of `p` reads the split `i` of `p`: rows `first + i`,
//! `first + i + p`, … Those splits stay the same for the life of the job, through restores
//! at any parallelism, as Flink's enumerators keep the splits they made: a restored subtask
//! reads whichever splits it is handed, one run of rows from each in turn, so several
//! unbounded splits all make progress. Because a row's value depends only on its index, a
//! replay after a restore reproduces exactly the rows the failed run emitted after the
//! checkpoint.

use std::collections::VecDeque;

use flinkrs_core::{Error, Result};

/// One split: every `count`-th row index from `first + index`, read up to `next`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceSplit {
    /// Which split, of `count`.
    pub index: u64,
    pub count: u64,
    /// The next row index to read.
    pub next: u64,
}

impl SequenceSplit {
    /// Twenty-four bytes: index, count and next row, little-endian.
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(24);
        for word in [self.index, self.count, self.next] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        bytes
    }

    /// Decodes a split written by [`encode`](Self::encode); `source` names the source in the
    /// error a malformed state gets.
    pub fn decode(state: &[u8], source: &str) -> Result<Self> {
        let bytes: &[u8; 24] = state.try_into().map_err(|_| {
            Error::state(format!(
                "{source}: a checkpointed split has {} bytes; expected 24 (split index, split \
                 count, next row), so the checkpoint was not written by this source",
                state.len()
            ))
        })?;
        let word = |i: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            u64::from_le_bytes(word)
        };
        let split = SequenceSplit {
            index: word(0),
            count: word(1),
            next: word(2),
        };
        if split.index >= split.count {
            return Err(Error::state(format!(
                "{source}: a checkpointed split says it is split {} of {}; the checkpoint is \
                 corrupt",
                split.index, split.count
            )));
        }
        Ok(split)
    }
}

/// A run of rows to emit: `len` row indices from `first`, `step` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowRun {
    pub first: u64,
    pub step: u64,
    pub len: usize,
}

impl RowRun {
    /// The run's row indices, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = u64> + use<> {
        let RowRun { first, step, len } = *self;
        (0..len).map(move |i| first + i as u64 * step)
    }
}

/// The splits one source subtask reads.
#[derive(Clone, Debug, Default)]
pub struct SequenceSplits {
    /// Unfinished splits, the one to read next in front.
    splits: VecDeque<SequenceSplit>,
    /// Whether the splits are set: by a restore or by [`assign`](Self::assign).
    assigned: bool,
}

impl SequenceSplits {
    /// No splits yet: [`assign`](Self::assign) or [`restore`](Self::restore) sets them.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the splits of a restore, replacing any. An empty list is a subtask with nothing
    /// to read.
    pub fn restore(&mut self, items: &[Vec<u8>], source: &str) -> Result<()> {
        self.splits = items
            .iter()
            .map(|item| SequenceSplit::decode(item, source))
            .collect::<Result<_>>()?;
        self.assigned = true;
        Ok(())
    }

    /// On a fresh start, takes split `subtask` of `parallelism` of the rows numbered from
    /// `first`. Does nothing after a restore.
    pub fn assign(&mut self, subtask: usize, parallelism: usize, first: u64) {
        if self.assigned {
            return;
        }
        self.assigned = true;
        let count = parallelism.max(1) as u64;
        // More subtasks than row numbers left below u64::MAX: this one has none.
        if let Some(next) = first.checked_add(subtask as u64) {
            self.splits.push_back(SequenceSplit {
                index: subtask as u64,
                count,
                next,
            });
        }
    }

    pub fn is_assigned(&self) -> bool {
        self.assigned
    }

    /// The unfinished splits, for a checkpoint.
    pub fn snapshot(&self) -> Vec<Vec<u8>> {
        self.splits.iter().map(SequenceSplit::encode).collect()
    }

    /// Whether every split is read to `last` (inclusive).
    pub fn is_finished(&mut self, last: u64) -> bool {
        self.splits.retain(|split| split.next <= last);
        self.splits.is_empty()
    }

    /// The next run of at most `max` rows (at least one), none past `last` (inclusive), from
    /// the front split; that split then goes to the back. `None` when every split is read.
    pub fn next_run(&mut self, max: usize, last: u64) -> Option<RowRun> {
        let max = max.max(1) as u64;
        while let Some(mut split) = self.splits.pop_front() {
            if split.next > last {
                continue;
            }
            let left = ((last - split.next) / split.count).saturating_add(1);
            let len = left.min(max);
            let run = RowRun {
                first: split.next,
                step: split.count,
                len: len as usize,
            };
            // Past u64::MAX nothing is left of the split: it is dropped.
            if let Some(next) = len
                .checked_mul(split.count)
                .and_then(|advance| split.next.checked_add(advance))
            {
                split.next = next;
                self.splits.push_back(split);
            }
            return Some(run);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(splits: &mut SequenceSplits, max: usize, last: u64) -> Vec<u64> {
        let mut rows = Vec::new();
        while let Some(run) = splits.next_run(max, last) {
            rows.extend(run.iter());
        }
        rows
    }

    #[test]
    fn a_fresh_subtask_reads_every_parallelism_th_row_from_its_index() {
        let mut splits = SequenceSplits::new();
        splits.assign(1, 3, 10);
        assert_eq!(rows(&mut splits, 2, 20), vec![11, 14, 17, 20]);
        assert!(splits.is_finished(20));
    }

    #[test]
    fn restored_splits_are_read_in_turn_and_survive_a_round_trip() {
        let mut before = SequenceSplits::new();
        before.assign(0, 3, 0);
        assert_eq!(before.next_run(2, 100).unwrap().first, 0);
        let mut other = SequenceSplits::new();
        other.assign(2, 3, 0);
        let items: Vec<Vec<u8>> = before
            .snapshot()
            .into_iter()
            .chain(other.snapshot())
            .collect();

        let mut restored = SequenceSplits::new();
        restored.restore(&items, "test").unwrap();
        // A later assign does not replace restored splits.
        restored.assign(0, 1, 0);
        assert_eq!(rows(&mut restored, 2, 14), vec![6, 9, 2, 5, 12, 8, 11, 14]);
    }

    #[test]
    fn a_subtask_restored_without_splits_reads_nothing() {
        let mut splits = SequenceSplits::new();
        splits.restore(&[], "test").unwrap();
        splits.assign(0, 1, 0);
        assert_eq!(splits.next_run(10, u64::MAX), None);
        assert!(splits.is_finished(u64::MAX));
    }

    #[test]
    fn the_last_row_number_ends_a_split_without_overflow() {
        let mut splits = SequenceSplits::new();
        splits.assign(0, 1, u64::MAX - 2);
        assert_eq!(
            rows(&mut splits, 2, u64::MAX),
            vec![u64::MAX - 2, u64::MAX - 1, u64::MAX]
        );
        let mut beyond = SequenceSplits::new();
        beyond.assign(3, 4, u64::MAX - 1);
        assert_eq!(beyond.next_run(1, u64::MAX), None);
    }

    #[test]
    fn malformed_splits_are_named() {
        let error = SequenceSplit::decode(&[0; 5], "datagen source").unwrap_err();
        assert!(
            error
                .to_string()
                .contains("datagen source: a checkpointed split has 5 bytes"),
            "{error}"
        );
        let bad = SequenceSplit {
            index: 3,
            count: 2,
            next: 0,
        }
        .encode();
        let error = SequenceSplit::decode(&bad, "datagen source").unwrap_err();
        assert!(error.to_string().contains("split 3 of 2"), "{error}");
    }
}
