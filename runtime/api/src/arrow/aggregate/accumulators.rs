//! Accumulator columns: one value per group slot for each aggregate, updated a batch at a
//! time from the rows' slots.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, RecordBatch};

use super::AggregateKind;
use super::plan::BoundAggregate;

/// The slot of a row that takes no part (a late row).
pub(crate) const SKIP: u32 = u32::MAX;

/// One aggregate's values, indexed by slot. `seen` says whether a group has had a non-null
/// value (a `SUM`, `MIN` or `MAX` of none is null).
pub(crate) struct AccumulatorColumn {
    kind: AggregateKind,
    column: Option<usize>,
    values: Vec<i64>,
    seen: Vec<bool>,
}

impl AccumulatorColumn {
    pub(crate) fn new(aggregate: BoundAggregate) -> Self {
        AccumulatorColumn {
            kind: aggregate.kind,
            column: aggregate.column,
            values: Vec::new(),
            seen: Vec::new(),
        }
    }

    /// Makes room for `capacity` slots.
    pub(crate) fn grow(&mut self, capacity: usize) {
        if self.values.len() < capacity {
            self.values.resize(capacity, 0);
            self.seen.resize(capacity, false);
        }
    }

    /// Starts slot `slot` afresh for a new group.
    #[inline]
    pub(crate) fn reset(&mut self, slot: u32) {
        self.values[slot as usize] = 0;
        self.seen[slot as usize] = false;
    }

    /// Adds the rows of `batch` to the groups in `slots` (one per row; [`SKIP`] for none).
    pub(crate) fn update(&mut self, batch: &RecordBatch, slots: &[u32]) {
        let Some(column) = self.column else {
            for &slot in slots {
                if slot != SKIP {
                    self.values[slot as usize] += 1;
                    self.seen[slot as usize] = true;
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
            self.values[index] = if self.seen[index] {
                combine(self.values[index], value)
            } else {
                value
            };
            self.seen[index] = true;
        }
    }

    /// The values of the groups in `slots`, in order, as an output column.
    pub(crate) fn array(&self, slots: &[u32]) -> ArrayRef {
        match self.kind {
            AggregateKind::Count => Arc::new(Int64Array::from_iter_values(
                slots.iter().map(|&slot| self.values[slot as usize]),
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
        match self.kind {
            AggregateKind::Count => Some(self.values[index]),
            _ => self.seen[index].then_some(self.values[index]),
        }
    }

    /// Restores a group's value from a snapshot.
    pub(crate) fn set(&mut self, slot: u32, value: Option<i64>) {
        let index = slot as usize;
        self.values[index] = value.unwrap_or(0);
        self.seen[index] = value.is_some() || self.kind == AggregateKind::Count;
    }
}
