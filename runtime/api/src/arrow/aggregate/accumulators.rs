//! Accumulator columns: one value per group slot for each aggregate, updated a batch at a
//! time from the rows' slots.
//!
//! The values are chunked copy-on-write vectors ([`CowVec`]), so a checkpoint freezes a column
//! in O(chunks) ([`AccumulatorColumn::freeze`]). The operator takes back the chunks a batch
//! writes before the batch's update loops ([`AccumulatorColumn::own_chunks`]); the loops then
//! find every chunk they write owned.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};
use flinkrs_state::{CowVec, FrozenVec};

use super::AggregateKind;
use super::plan::BoundAggregate;

/// The slot of a row that takes no part (a late row).
pub(crate) const SKIP: u32 = u32::MAX;

/// Slots per chunk of an accumulator column: the unit a checkpoint shares and a write after it
/// takes back.
pub(crate) const CHUNK: usize = CowVec::<i64>::CHUNK;

/// One aggregate's values, indexed by slot. `seen` says whether a group has had a non-null
/// value (a `SUM`, `MIN` or `MAX` of none is null); a `COUNT` has no `seen`.
pub(crate) struct AccumulatorColumn {
    kind: AggregateKind,
    column: Option<usize>,
    values: CowVec<i64>,
    seen: CowVec<bool>,
}

/// An accumulator column as a checkpoint froze it.
pub(crate) struct FrozenColumn {
    kind: AggregateKind,
    values: FrozenVec<i64>,
    seen: FrozenVec<bool>,
}

impl FrozenColumn {
    /// Slots the column holds.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// A group's value, as [`AccumulatorColumn::get`]; `None` for a slot past the column.
    pub(crate) fn get(&self, slot: u32) -> Option<Option<i64>> {
        let index = slot as usize;
        let value = *self.values.get(index)?;
        Some(match self.kind {
            AggregateKind::Count => Some(value),
            _ => self.seen.get(index)?.then_some(value),
        })
    }
}

impl AccumulatorColumn {
    pub(crate) fn new(aggregate: BoundAggregate) -> Self {
        AccumulatorColumn {
            kind: aggregate.kind,
            column: aggregate.column,
            values: CowVec::new(),
            seen: CowVec::new(),
        }
    }

    fn tracks_seen(&self) -> bool {
        self.kind != AggregateKind::Count
    }

    /// Makes room for `capacity` slots.
    pub(crate) fn grow(&mut self, capacity: usize) {
        while self.values.len() < capacity {
            self.values.push(0);
        }
        if self.tracks_seen() {
            while self.seen.len() < capacity {
                self.seen.push(false);
            }
        }
    }

    /// Starts slot `slot` afresh for a new group.
    #[inline]
    pub(crate) fn reset(&mut self, slot: u32) {
        *self.values.get_mut(slot as usize) = 0;
        if self.tracks_seen() {
            *self.seen.get_mut(slot as usize) = false;
        }
    }

    /// Whether a checkpoint may still share chunks of this column: then a batch takes back the
    /// chunks it writes first ([`own_chunks`](Self::own_chunks)).
    pub(crate) fn has_shared_chunks(&self) -> bool {
        self.values.has_shared_chunks() || self.seen.has_shared_chunks()
    }

    /// Takes back the chunks numbered `chunks` (of [`CHUNK`] slots each), ahead of a batch that
    /// writes them.
    pub(crate) fn own_chunks(&mut self, chunks: &[u32]) {
        let first_slots = chunks.iter().map(|&chunk| chunk as usize * CHUNK);
        self.values.own_chunks_of(first_slots.clone());
        if self.tracks_seen() {
            self.seen.own_chunks_of(first_slots);
        }
    }

    /// Adds the rows of `batch` to the groups in `slots` (one per row; [`SKIP`] for none).
    pub(crate) fn update(&mut self, batch: &RecordBatch, slots: &[u32]) {
        let Some(column) = self.column else {
            for &slot in slots {
                if slot != SKIP {
                    *self.values.get_mut(slot as usize) += 1;
                }
            }
            return;
        };
        let array = batch.column(column).as_primitive::<Int64Type>();
        let combine: fn(i64, i64) -> i64 = match self.kind {
            AggregateKind::Sum => i64::wrapping_add,
            AggregateKind::Min => i64::min,
            AggregateKind::Max => i64::max,
            AggregateKind::Count => unreachable!("COUNT(*) has no input column"),
        };
        let values = array.values();
        let nulls = array.nulls().filter(|nulls| nulls.null_count() > 0);
        for (row, &slot) in slots.iter().enumerate() {
            if slot == SKIP || nulls.is_some_and(|nulls| nulls.is_null(row)) {
                continue;
            }
            let index = slot as usize;
            let value = values[row];
            let seen = self.seen.get_mut(index);
            let accumulated = self.values.get_mut(index);
            *accumulated = if *seen {
                combine(*accumulated, value)
            } else {
                value
            };
            *seen = true;
        }
    }

    /// The values of the groups in `slots`, in order, as an output column.
    pub(crate) fn array(&self, slots: &[u32]) -> ArrayRef {
        match self.kind {
            AggregateKind::Count => Arc::new(Int64Array::from_iter_values(
                slots.iter().map(|&slot| *self.values.get(slot as usize)),
            )),
            _ => Arc::new(
                slots
                    .iter()
                    .map(|&slot| self.get(slot))
                    .collect::<Int64Array>(),
            ),
        }
    }

    /// A group's value: `None` if it has seen no non-null value (a count is never `None`).
    pub(crate) fn get(&self, slot: u32) -> Option<i64> {
        let index = slot as usize;
        let value = *self.values.get(index);
        match self.kind {
            AggregateKind::Count => Some(value),
            _ => self.seen.get(index).then_some(value),
        }
    }

    /// Restores a group's value from a snapshot.
    pub(crate) fn set(&mut self, slot: u32, value: Option<i64>) {
        let index = slot as usize;
        *self.values.get_mut(index) = value.unwrap_or(0);
        if self.tracks_seen() {
            *self.seen.get_mut(index) = value.is_some();
        }
    }

    /// The column as it is now, for a checkpoint: O(chunks), whatever the number of slots.
    pub(crate) fn freeze(&mut self) -> FrozenColumn {
        FrozenColumn {
            kind: self.kind,
            values: self.values.freeze(),
            seen: self.seen.freeze(),
        }
    }
}
