//! [`SqlSessionAggregateOperator`]: the window aggregate of a `SESSION` window, over Arrow
//! batches with DataFusion's `Accumulator`s.
//!
//! Its input rows come with a window of their own, `[time, time + gap)`, and are keyed by the
//! session's partition columns. Per key, the operator keeps open sessions: a row whose window
//! overlaps or touches sessions joins them, merging them into one (their accumulators merge through
//! `state` and `merge_batch`), as Flink's merging window assigner does. A session is emitted,
//! insert-only, when the watermark passes its end; rows of sessions that would end at or
//! before the watermark are late and dropped, as Flink does without allowed lateness.
//!
//! Sessions are checkpointed as the group aggregate's groups are
//! ([`super::aggregate_state`]): one entry per session, under its partition key.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{ArrayRef, RecordBatch};
use datafusion_common::ScalarValue;
use datafusion_expr::Accumulator;
use flinkrs_core::{CheckpointId, Error, Result, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, StreamBatch, TaskInfo};

use super::aggregate::{AggregateSpec, output_batch, restore_accumulators};
use super::aggregate_state::{GroupsScope, SavedGroup};
use crate::render::RowKind;

/// Which group columns are the window's bounds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionColumns {
    pub window_start: usize,
    pub window_end: usize,
}

struct Session {
    start: i64,
    end: i64,
    /// The group columns of its first row (the window bounds are set when it is emitted).
    values: Vec<ScalarValue>,
    accumulators: Vec<Box<dyn Accumulator>>,
}

pub(crate) struct SqlSessionAggregateOperator {
    spec: Arc<AggregateSpec>,
    columns: SessionColumns,
    /// The subtask, as checkpoints and errors name it.
    scope: GroupsScope,
    /// Per partition key, its open sessions.
    sessions: HashMap<Box<[u8]>, Vec<Session>>,
    watermark: i64,
    late_rows_dropped: u64,
}

fn new_accumulators(spec: &AggregateSpec) -> Result<Vec<Box<dyn Accumulator>>> {
    spec.aggregates
        .iter()
        .map(|call| call.new_accumulator(&spec.input))
        .collect()
}

/// Merges `from`'s accumulators and bounds into `into`'s.
fn merge(spec: &AggregateSpec, into: &mut Session, mut from: Session) -> Result<()> {
    for ((call, target), source) in spec
        .aggregates
        .iter()
        .zip(&mut into.accumulators)
        .zip(&mut from.accumulators)
    {
        let failed = |e: datafusion_common::DataFusionError| {
            Error::function(format!("aggregate {} (merging sessions): {e}", call.name))
        };
        let states = source
            .state()
            .map_err(failed)?
            .into_iter()
            .map(|value| value.to_array())
            .collect::<datafusion_common::Result<Vec<ArrayRef>>>()
            .map_err(failed)?;
        target.merge_batch(&states).map_err(failed)?;
    }
    into.start = into.start.min(from.start);
    into.end = into.end.max(from.end);
    Ok(())
}

/// A session's group values with its bounds.
fn bounded_values(columns: SessionColumns, session: &Session) -> Vec<ScalarValue> {
    let mut values = session.values.clone();
    values[columns.window_start] = ScalarValue::TimestampMillisecond(Some(session.start), None);
    values[columns.window_end] = ScalarValue::TimestampMillisecond(Some(session.end), None);
    values
}

fn millis(value: &ScalarValue) -> Option<i64> {
    match value {
        ScalarValue::TimestampMillisecond(Some(millis), _) => Some(*millis),
        _ => None,
    }
}

impl SqlSessionAggregateOperator {
    pub(crate) fn new(spec: Arc<AggregateSpec>, columns: SessionColumns, info: &TaskInfo) -> Self {
        SqlSessionAggregateOperator {
            scope: GroupsScope::of(info),
            spec,
            columns,
            sessions: HashMap::new(),
            watermark: i64::MIN,
            late_rows_dropped: 0,
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::function(format!("{}: {message}", self.scope.name))
    }

    fn accumulators(&self) -> Result<Vec<Box<dyn Accumulator>>> {
        new_accumulators(&self.spec)
    }

    /// Adds row `row` of `batch`, whose window is `[start, end)`, to its key's sessions.
    fn add_row(
        &mut self,
        key: &[u8],
        batch: &RecordBatch,
        row: usize,
        start: i64,
        end: i64,
    ) -> Result<()> {
        let spec = &self.spec;
        let sessions = match self.sessions.get_mut(key) {
            Some(sessions) => sessions,
            None => self.sessions.entry(key.into()).or_default(),
        };
        let mut joined: Option<usize> = None;
        let mut index = 0;
        while index < sessions.len() {
            // Windows that touch merge too, as Flink's `TimeWindow.intersects` has it.
            if !(sessions[index].start <= end && start <= sessions[index].end) {
                index += 1;
                continue;
            }
            match joined {
                None => {
                    joined = Some(index);
                    index += 1;
                }
                Some(first) => {
                    // The row bridges two sessions: they become one.
                    let other = sessions.swap_remove(index);
                    merge(spec, &mut sessions[first], other)?;
                }
            }
        }
        let slot = match joined {
            Some(slot) => slot,
            None => {
                let values = (0..spec.group_count)
                    .map(|column| ScalarValue::try_from_array(batch.column(column), row))
                    .collect::<datafusion_common::Result<Vec<_>>>()
                    .map_err(|e| Error::function(format!("{}: {e}", self.scope.name)))?;
                sessions.push(Session {
                    start,
                    end,
                    values,
                    accumulators: new_accumulators(spec)?,
                });
                sessions.len() - 1
            }
        };
        let session = &mut sessions[slot];
        session.start = session.start.min(start);
        session.end = session.end.max(end);
        for (call, accumulator) in spec.aggregates.iter().zip(&mut session.accumulators) {
            if !call.takes_row(batch, row) {
                continue;
            }
            let arguments: Vec<ArrayRef> = call
                .arguments
                .iter()
                .map(|&column| batch.column(column).slice(row, 1))
                .collect();
            accumulator
                .update_batch(&arguments)
                .map_err(|e| Error::function(format!("aggregate {}: {e}", call.name)))?;
        }
        Ok(())
    }

    /// Emits the sessions that end at or before `watermark + 1`, and forgets them.
    fn fire(&mut self, watermark: i64, out: &mut Output<ArrowBatch>) -> Result<()> {
        let mut fired = Vec::new();
        self.sessions.retain(|_, sessions| {
            let mut index = 0;
            while index < sessions.len() {
                if sessions[index].end.saturating_sub(1) <= watermark {
                    fired.push(sessions.swap_remove(index));
                } else {
                    index += 1;
                }
            }
            !sessions.is_empty()
        });
        if fired.is_empty() {
            return Ok(());
        }
        fired.sort_by_key(|session| (session.end, session.start));
        let mut rows = Vec::with_capacity(fired.len());
        for mut session in fired {
            let mut values = bounded_values(self.columns, &session);
            for accumulator in &mut session.accumulators {
                values.push(accumulator.evaluate().map_err(|e| self.error(e))?);
            }
            rows.push((RowKind::Insert, values));
        }
        let mut batch = output_batch(&self.spec, false, &self.scope.name, rows)?;
        out.push_batch(&mut batch)
    }
}

impl Operator<ArrowBatch, ArrowBatch> for SqlSessionAggregateOperator {
    fn initialize_state(
        &mut self,
        _info: &TaskInfo,
        state: Option<OperatorSnapshot>,
    ) -> Result<()> {
        let restored =
            self.scope
                .restore(state, self.spec.group_count, self.spec.aggregates.len())?;
        let Some(restored) = restored else {
            return Ok(());
        };
        if let Some(watermark) = restored.watermark {
            self.watermark = watermark;
        }
        for groups in &restored.groups {
            let batch = &groups.batch;
            let keys = batch.column(0).as_binary_opt::<i32>().ok_or_else(|| {
                self.error("the restored state's first column is not the binary group key")
            })?;
            for row in 0..batch.num_rows() {
                let values = (1..=self.spec.group_count)
                    .map(|column| ScalarValue::try_from_array(batch.column(column), row))
                    .collect::<datafusion_common::Result<Vec<_>>>()
                    .map_err(|e| self.error(e))?;
                let (Some(start), Some(end)) = (
                    millis(&values[self.columns.window_start]),
                    millis(&values[self.columns.window_end]),
                ) else {
                    return Err(
                        self.error("a restored session has no bounds; the state is damaged")
                    );
                };
                let mut accumulators = self.accumulators()?;
                restore_accumulators(&self.spec, &mut accumulators, groups, row)?;
                self.sessions
                    .entry(keys.value(row).into())
                    .or_default()
                    .push(Session {
                        start,
                        end,
                        values,
                        accumulators,
                    });
            }
        }
        Ok(())
    }

    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        _out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch = batch.record_batch().clone();
        let keys = batch
            .column(self.spec.key_column)
            .as_binary::<i32>()
            .clone();
        let starts = batch
            .column(self.columns.window_start)
            .as_primitive::<TimestampMillisecondType>()
            .clone();
        let ends = batch
            .column(self.columns.window_end)
            .as_primitive::<TimestampMillisecondType>()
            .clone();
        for row in 0..batch.num_rows() {
            let (start, end) = (starts.value(row), ends.value(row));
            if end.saturating_sub(1) <= self.watermark {
                self.late_rows_dropped += 1;
                continue;
            }
            self.add_row(keys.value(row), &batch, row, start, end)?;
        }
        Ok(())
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        self.watermark = self.watermark.max(watermark.0);
        self.fire(self.watermark, out)?;
        out.emit_watermark(watermark)
    }

    fn end_input(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        self.fire(i64::MAX, out)
    }

    /// Every open session, with its accumulators' state: O(sessions), as for the group
    /// aggregate.
    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        let mut groups = Vec::new();
        let columns = self.columns;
        for (key, sessions) in &mut self.sessions {
            for session in sessions {
                let states = session
                    .accumulators
                    .iter_mut()
                    .map(|accumulator| accumulator.state())
                    .collect::<datafusion_common::Result<Vec<_>>>()
                    .map_err(|e| Error::function(format!("aggregate state: {e}")))?;
                groups.push(SavedGroup {
                    key: key.clone(),
                    values: bounded_values(columns, session),
                    emitted: None,
                    states,
                });
            }
        }
        Ok(self.scope.snapshot(groups, self.watermark))
    }

    fn close(&mut self) -> Result<()> {
        if self.late_rows_dropped > 0 {
            tracing::debug!(
                operator = %self.scope.name,
                rows = self.late_rows_dropped,
                "dropped late rows of sessions that had fired"
            );
        }
        Ok(())
    }
}
