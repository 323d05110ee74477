//! Vectorized keyed aggregation over Arrow batches: per key (a group aggregate, as SQL's
//! `GROUP BY k`) or per key and tumbling event-time window (as SQL's `GROUP BY k,
//! TUMBLE(...)`).
//!
//! A batch is processed in two passes. The first maps each row to the slot of its group
//! (key, window) in a [`GroupTable`](table::GroupTable): one hash probe per row, and none of
//! the per-record state lookups, timer registrations or virtual calls a typed window pays.
//! The second updates each aggregate's column of accumulators from the slots, one tight loop
//! per aggregate.

mod accumulators;
mod operator;
mod plan;
mod probe;
mod snapshot;
mod table;
#[cfg(test)]
mod tests;

use std::time::Duration;

use flinkrs_core::{Error, Result};

pub(crate) use operator::GroupAggregateOperator;
pub(crate) use plan::AggregatePlan;
#[doc(hidden)]
pub use probe::AggregateSnapshotProbe;

/// What an aggregate computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum AggregateKind {
    Count,
    Sum,
    Min,
    Max,
}

/// One aggregate of a keyed aggregation: `COUNT(*)`, or `SUM`, `MIN` or `MAX` of an `Int64`
/// column. Nulls are skipped, as in SQL; `SUM`, `MIN` and `MAX` of a group with no non-null
/// value are null. `SUM` wraps on overflow, as Flink's `BIGINT` sum does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Aggregate {
    pub(crate) kind: AggregateKind,
    pub(crate) column: Option<String>,
    alias: Option<String>,
}

impl Aggregate {
    /// The number of rows of the group; output column `count`.
    pub fn count() -> Self {
        Aggregate {
            kind: AggregateKind::Count,
            column: None,
            alias: None,
        }
    }

    /// The sum of `column`; output column `sum_<column>`.
    pub fn sum(column: &str) -> Self {
        Self::of(AggregateKind::Sum, column)
    }

    /// The smallest value of `column`; output column `min_<column>`.
    pub fn min(column: &str) -> Self {
        Self::of(AggregateKind::Min, column)
    }

    /// The largest value of `column`; output column `max_<column>`.
    pub fn max(column: &str) -> Self {
        Self::of(AggregateKind::Max, column)
    }

    /// Names the output column.
    pub fn alias(mut self, name: &str) -> Self {
        self.alias = Some(name.to_owned());
        self
    }

    fn of(kind: AggregateKind, column: &str) -> Self {
        Aggregate {
            kind,
            column: Some(column.to_owned()),
            alias: None,
        }
    }

    pub(crate) fn output_name(&self) -> String {
        if let Some(alias) = &self.alias {
            return alias.clone();
        }
        match (self.kind, &self.column) {
            (AggregateKind::Count, _) => "count".to_owned(),
            (kind, Some(column)) => format!("{}_{column}", kind.label()),
            (kind, None) => kind.label().to_owned(),
        }
    }
}

impl AggregateKind {
    fn label(self) -> &'static str {
        match self {
            AggregateKind::Count => "count",
            AggregateKind::Sum => "sum",
            AggregateKind::Min => "min",
            AggregateKind::Max => "max",
        }
    }
}

/// A window of event time for Arrow window aggregates: tumbling windows of a fixed size, as
/// Flink's `TumblingEventTimeWindows` and SQL's `TUMBLE`. A row with rowtime `t` belongs to
/// the window `[start, start + size)` with `start = t - (t - offset) mod size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArrowWindow {
    pub(crate) size: i64,
    pub(crate) offset: i64,
}

impl ArrowWindow {
    /// Tumbling windows of `size`, aligned to the epoch.
    pub fn tumbling(size: Duration) -> Self {
        ArrowWindow {
            size: millis(size),
            offset: 0,
        }
    }

    /// Shifts the windows' alignment by `offset` (for time zones, as in Flink).
    pub fn with_offset(mut self, offset: Duration) -> Self {
        self.offset = millis(offset);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.size <= 0 || self.offset >= self.size {
            return Err(Error::InvalidJob(format!(
                "tumbling window: size ({} ms) must be positive and offset ({} ms) smaller than \
                 it",
                self.size, self.offset
            )));
        }
        Ok(())
    }

    /// The start of the window `timestamp` belongs to.
    #[inline]
    pub(crate) fn start_of(&self, timestamp: i64) -> i64 {
        timestamp - (timestamp - self.offset).rem_euclid(self.size)
    }

    /// The largest timestamp of the window starting at `start`: the window fires when the
    /// watermark reaches it.
    #[inline]
    pub(crate) fn max_timestamp(&self, start: i64) -> i64 {
        start.saturating_add(self.size - 1)
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
