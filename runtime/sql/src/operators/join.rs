//! [`SqlJoinOperator`]: SQL's regular equi-join (`INNER`, `LEFT`, `RIGHT` and `FULL OUTER`)
//! over Arrow batches, as Flink's `StreamingJoinOperator`.
//!
//! The runtime has one-input operators only, so the join reads a tagged union of its two
//! inputs ([`JoinInputs`]): every batch carries the left input's columns, then the right
//! input's, then which side the row is from, its row kind, whether its join key is free of
//! nulls, and the join key encoded as one binary column. The stream is keyed by that column,
//! so both sides' rows of a key meet in one subtask. A side's own columns are filled; the
//! other side's are nulls.
//!
//! Each side's rows are kept in keyed state, per join key, in Arrow's row format (a row is
//! one byte string; equal rows have equal bytes), each distinct row with how many times it
//! is held and, for an outer side, with how many rows of the other side it joins.
//!
//! - In streaming mode every input row emits its changes at once, with the row kinds Flink
//!   emits: an inner join passes the input's kind through (`+I`, `+U`, `-U`, `-D`); an outer
//!   side's row without a partner emits a null-padded `+I`, which a later partner retracts
//!   with `-D` (and which comes back, `+I`, when the last partner is retracted).
//! - An interval join (with time bounds, [`IntervalBounds`]) is insert-only, as Flink's: its
//!   rows are forgotten once the watermark passes their bound, and an outer side's row that
//!   joined nothing is emitted null-padded then.
//! - In batch mode the rows are only kept; the end of input emits each key's joined rows
//!   once, insert-only, as Flink's batch joins do.
//!
//! Rows whose join key has a null never match (`=` is not true for null), as in Flink; an
//! outer side's such rows are null-padded.
//!
//! A batch's rows are converted to the row format once per batch, and the output is
//! gathered in row format and converted back to columns once per batch.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int8Type;
use arrow_array::{Array, ArrayRef, Int8Array, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion_common::arrow::compute::filter_record_batch;
use datafusion_common::arrow::row::{Row, RowConverter, Rows, SortField};
use datafusion_physical_expr::PhysicalExpr;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::{CheckpointId, Error, Result, RuntimeMode, Watermark};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, StreamBatch, TaskInfo};

use super::join_rows::SideRows;
use super::join_state::{self, FrozenJoinRows, SavedJoinRow};
use crate::render::RowKind;

/// The columns the tagged union carries after both sides' columns.
pub(crate) const SIDE_COLUMN: &str = "$side";
pub(crate) const KIND_COLUMN: &str = "$join_row_kind";
pub(crate) const JOINABLE_COLUMN: &str = "$joinable";
pub(crate) const KEY_COLUMN: &str = "$key";

/// The left side is 0, the right side 1.
pub(crate) const LEFT: usize = 0;
pub(crate) const RIGHT: usize = 1;

/// Flink's join types, as this operator needs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JoinKind {
    Inner,
    Left,
    Right,
    Full,
}

impl JoinKind {
    /// Whether the side's rows are kept when they have no partner (null-padded).
    pub(crate) fn is_outer(self, side: usize) -> bool {
        match self {
            JoinKind::Inner => false,
            JoinKind::Left => side == LEFT,
            JoinKind::Right => side == RIGHT,
            JoinKind::Full => true,
        }
    }

    /// As Flink's plan prints it: `InnerJoin`, `LeftOuterJoin`, ….
    pub(crate) fn flink_name(self) -> &'static str {
        match self {
            JoinKind::Inner => "InnerJoin",
            JoinKind::Left => "LeftOuterJoin",
            JoinKind::Right => "RightOuterJoin",
            JoinKind::Full => "FullOuterJoin",
        }
    }
}

/// What the join computes, fixed when the job is built.
#[derive(Debug)]
pub(crate) struct JoinSpec {
    pub kind: JoinKind,
    /// Each side's columns, in order: the left's are the first of the tagged union and of
    /// the output, the right's follow.
    pub sides: [SchemaRef; 2],
    /// The condition beyond the equal keys, over the left's then the right's columns.
    pub filter: Option<Arc<dyn PhysicalExpr>>,
    /// The left's then the right's columns, then the row kind when `updating`.
    pub output: SchemaRef,
    /// Whether the output carries a row kind column.
    pub updating: bool,
    /// For an interval join: its time bounds, by which the watermark expires rows.
    pub interval: Option<IntervalBounds>,
}

/// An interval join's time bounds: a right row joins a left row when `right time - left
/// time` is within `lower..=upper` milliseconds (the condition itself is checked as the
/// rest of the join's condition; the bounds only tell when a row can join no future row).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IntervalBounds {
    /// Each side's time column, among its columns.
    pub times: [usize; 2],
    pub lower: i64,
    pub upper: i64,
}

impl IntervalBounds {
    /// Whether a row of `side` at `time` can join no row that comes after `watermark` (a
    /// row of the other side comes later than the watermark).
    /// How far the output's row times may trail the input watermark: Flink's
    /// `maxOutputDelay`, the larger of the interval's reaches plus one.
    pub(crate) fn output_delay(&self) -> i64 {
        self.upper
            .max(self.lower.saturating_neg())
            .max(0)
            .saturating_add(1)
    }

    fn expired(&self, side: usize, time: i64, watermark: i64) -> bool {
        expiry(*self, side, time) <= watermark
    }
}

impl JoinSpec {
    /// The schema of the tagged union of both inputs the operator reads.
    pub(crate) fn input_schema(sides: &[SchemaRef; 2]) -> SchemaRef {
        let mut fields: Vec<Field> = sides
            .iter()
            .flat_map(|side| side.fields().iter())
            .map(|field| field.as_ref().clone().with_nullable(true))
            .collect();
        fields.push(Field::new(SIDE_COLUMN, DataType::Int8, false));
        fields.push(Field::new(KIND_COLUMN, DataType::Int8, false));
        fields.push(Field::new(JOINABLE_COLUMN, DataType::Boolean, false));
        fields.push(Field::new(KEY_COLUMN, DataType::Binary, false));
        Arc::new(Schema::new(fields))
    }

    /// The row converter of a side's columns.
    pub(crate) fn converter(&self, side: usize) -> Result<RowConverter> {
        let fields = self.sides[side]
            .fields()
            .iter()
            .map(|field| SortField::new(field.data_type().clone()))
            .collect();
        RowConverter::new(fields).map_err(|e| Error::function(format!("Join: {e}")))
    }
}

/// A distinct row of one side of a join key.
#[derive(Clone, Debug)]
pub(crate) struct StoredRow {
    /// The row in Arrow's row format for its side.
    pub row: Box<[u8]>,
    /// How many times the row is held.
    pub count: u32,
    /// For an outer side: how many rows of the other side it joins.
    pub associations: u32,
    /// For an interval join: the row's time, in epoch milliseconds (`i64::MIN` when null).
    pub time: i64,
}

/// Both sides' rows of one join key.
#[derive(Debug, Default)]
pub(crate) struct KeyRows {
    pub sides: [SideRows; 2],
}

/// The rows of an output batch being gathered, in row format.
struct Gathered {
    sides: [Rows; 2],
    kinds: Vec<i8>,
}

pub(crate) struct SqlJoinOperator {
    spec: Arc<JoinSpec>,
    name: String,
    streaming: bool,
    converters: [RowConverter; 2],
    /// One all-null row per side, for padding.
    nulls: [Rows; 2],
    keys: HashMap<Box<[u8]>, KeyRows>,
    gathered: Gathered,
    /// Scratch: the other side's rows that join the current input row.
    matches: Vec<usize>,
    /// The left's then the right's columns, as the join condition reads them.
    pairs: SchemaRef,
    /// The tagged union's columns after both sides': side, kind, joinable, key.
    tags: usize,
    /// An inner join's extra condition is evaluated once per output batch, over every pair
    /// of rows with equal keys, instead of once per input row: which rows match changes no
    /// state of an inner join (only an outer side counts its partners).
    defer_condition: bool,
    /// For an interval join: the lowest watermark at which some stored row expires.
    earliest_expiry: i64,
    /// The highest watermark seen.
    watermark: i64,
    max_parallelism: usize,
    key_groups: KeyGroupRange,
}

/// The output rows one batch gathers at most before they are emitted.
const OUTPUT_BATCH_ROWS: usize = 8192;

impl SqlJoinOperator {
    pub(crate) fn new(spec: Arc<JoinSpec>, info: &TaskInfo) -> Result<Self> {
        let converters = [spec.converter(LEFT)?, spec.converter(RIGHT)?];
        let error = |e: arrow_schema::ArrowError| Error::function(format!("Join: {e}"));
        let null_row = |side: usize| -> Result<Rows> {
            let columns: Vec<ArrayRef> = spec.sides[side]
                .fields()
                .iter()
                .map(|field| arrow_array::new_null_array(field.data_type(), 1))
                .collect();
            converters[side].convert_columns(&columns).map_err(error)
        };
        let nulls = [null_row(LEFT)?, null_row(RIGHT)?];
        let gathered = Gathered {
            sides: [
                converters[LEFT].empty_rows(0, 0),
                converters[RIGHT].empty_rows(0, 0),
            ],
            kinds: Vec::new(),
        };
        let tags = spec.sides[LEFT].fields().len() + spec.sides[RIGHT].fields().len();
        let pairs = pair_schema(&spec);
        let defer_condition =
            spec.filter.is_some() && !spec.kind.is_outer(LEFT) && !spec.kind.is_outer(RIGHT);
        Ok(SqlJoinOperator {
            name: format!("{} ({})", info.operator_name, info.subtask_label()),
            streaming: info.config.runtime_mode() == RuntimeMode::Streaming,
            spec,
            converters,
            nulls,
            keys: HashMap::new(),
            gathered,
            matches: Vec::new(),
            pairs,
            tags,
            defer_condition,
            earliest_expiry: i64::MAX,
            watermark: i64::MIN,
            max_parallelism: info.max_parallelism,
            key_groups: KeyGroupRange::for_operator(
                info.max_parallelism,
                info.parallelism,
                info.subtask_index,
            ),
        })
    }

    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::function(format!("{}: {message}", self.name))
    }

    /// Finds which of `candidates` (rows of side `other`) join `input` (a row of the other
    /// side) under the extra condition, into `matches` (indices into `candidates`).
    fn join_condition(
        &mut self,
        input: Row<'_>,
        other: usize,
        candidates: &[StoredRow],
    ) -> Result<()> {
        self.matches.clear();
        let Some(filter) = self.spec.filter.as_ref().filter(|_| !self.defer_condition) else {
            self.matches.extend(0..candidates.len());
            return Ok(());
        };
        if candidates.is_empty() {
            return Ok(());
        }
        let side = 1 - other;
        let error = |e: &dyn std::fmt::Display| self.error(e);
        let parser = self.converters[other].parser();
        let others = self.converters[other]
            .convert_rows(candidates.iter().map(|row| parser.parse(&row.row)))
            .map_err(|e| error(&e))?;
        let inputs = self.converters[side]
            .convert_rows(std::iter::repeat_n(input, candidates.len()))
            .map_err(|e| error(&e))?;
        let (left, right) = if side == LEFT {
            (inputs, others)
        } else {
            (others, inputs)
        };
        let columns: Vec<ArrayRef> = left.into_iter().chain(right).collect();
        let pairs = RecordBatch::try_new_with_options(
            Arc::clone(&self.pairs),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(candidates.len())),
        )
        .map_err(|e| error(&e))?;
        let mask = filter
            .evaluate(&pairs)
            .and_then(|value| value.into_array(candidates.len()))
            .map_err(|e| error(&e))?;
        let mask = mask
            .as_boolean_opt()
            .ok_or_else(|| self.error("the join condition is not a BOOLEAN"))?;
        self.matches.extend(
            (0..candidates.len()).filter(|&index| mask.is_valid(index) && mask.value(index)),
        );
        Ok(())
    }

    /// One input row of side `side`, of kind `kind`, with key `key`: updates the state and
    /// gathers the changes it makes, as Flink's `StreamingJoinOperator.processElement`.
    fn process_row(
        &mut self,
        side: usize,
        kind: RowKind,
        key: &[u8],
        joinable: bool,
        input: Row<'_>,
        time: i64,
    ) -> Result<()> {
        let other = 1 - side;
        let input_outer = self.spec.kind.is_outer(side);
        let other_outer = self.spec.kind.is_outer(other);
        if !self.streaming {
            // Batch mode keeps the rows for the end of input; a row whose key has a null
            // joins nothing, so an outer side's is padded now and an inner side's dropped.
            if joinable {
                let rows = match self.keys.get_mut(key) {
                    Some(rows) => rows,
                    None => self.keys.entry(key.into()).or_default(),
                };
                rows.sides[side].add(input.as_ref(), 0, time);
            } else if input_outer {
                self.gather_padded(side, input, RowKind::Insert);
            }
            return Ok(());
        }
        // Taken out of the map (no allocation) while the condition is evaluated.
        let mut rows = self
            .keys
            .get_mut(key)
            .map(std::mem::take)
            .unwrap_or_default();
        if joinable {
            self.join_condition(input, other, &rows.sides[other])?;
        } else {
            self.matches.clear();
        }
        let matches = std::mem::take(&mut self.matches);
        let associated: u32 = matches
            .iter()
            .map(|&index| rows.sides[other][index].count)
            .sum();
        if let Some(bounds) = self.spec.interval {
            // An interval join is insert-only: an outer side's row is padded only when it
            // expires unjoined ([`Self::expire`]).
            for &index in &matches {
                rows.sides[other][index].associations += 1;
            }
            self.gather_pairs(side, input, &rows.sides[other], &matches, RowKind::Insert);
            if !bounds.expired(side, time, self.watermark) {
                rows.sides[side].add(input.as_ref(), associated, time);
            } else if input_outer && matches.is_empty() {
                // A row too late to join any row still to come is not kept, as in Flink:
                // padded at once when it joined nothing.
                self.gather_padded(side, input, RowKind::Insert);
            }
        } else if kind.is_addition() {
            if input_outer && matches.is_empty() {
                self.gather_padded(side, input, RowKind::Insert);
            } else {
                if other_outer {
                    for &index in &matches {
                        let stored = &mut rows.sides[other][index];
                        if stored.associations == 0 {
                            let parser = self.converters[other].parser();
                            for _ in 0..stored.count {
                                self.gather_padded(
                                    other,
                                    parser.parse(&stored.row),
                                    RowKind::Delete,
                                );
                            }
                        }
                        stored.associations += 1;
                    }
                }
                let output_kind = if input_outer || other_outer {
                    RowKind::Insert
                } else {
                    kind
                };
                self.gather_pairs(side, input, &rows.sides[other], &matches, output_kind);
            }
            rows.sides[side].add(input.as_ref(), associated, time);
        } else {
            rows.sides[side].retract(input.as_ref());
            if matches.is_empty() {
                if input_outer {
                    self.gather_padded(side, input, RowKind::Delete);
                }
            } else {
                let output_kind = if input_outer { RowKind::Delete } else { kind };
                self.gather_pairs(side, input, &rows.sides[other], &matches, output_kind);
                if other_outer {
                    for &index in &matches {
                        let stored = &mut rows.sides[other][index];
                        if stored.associations == 1 {
                            let parser = self.converters[other].parser();
                            for _ in 0..stored.count {
                                self.gather_padded(
                                    other,
                                    parser.parse(&stored.row),
                                    RowKind::Insert,
                                );
                            }
                        }
                        stored.associations = stored.associations.saturating_sub(1);
                    }
                }
            }
        }
        self.matches = matches;
        if let Some(bounds) = self.spec.interval {
            self.earliest_expiry = self.earliest_expiry.min(expiry(bounds, side, time));
        }
        if rows.sides.iter().all(|side| side.is_empty()) {
            self.keys.remove(key);
        } else if let Some(slot) = self.keys.get_mut(key) {
            *slot = rows;
        } else {
            self.keys.insert(key.into(), rows);
        }
        Ok(())
    }

    /// Gathers `row` of `side` joined with a null row of the other side.
    fn gather_padded(&mut self, side: usize, row: Row<'_>, kind: RowKind) {
        let other = 1 - side;
        self.gathered.sides[side].push(row);
        self.gathered.sides[other].push(self.nulls[other].row(0));
        self.gathered.kinds.push(kind.code());
    }

    /// Gathers `input` of `side` joined with each of `matches` of the other side's `stored`
    /// rows, each as many times as it is held.
    fn gather_pairs(
        &mut self,
        side: usize,
        input: Row<'_>,
        stored: &[StoredRow],
        matches: &[usize],
        kind: RowKind,
    ) {
        let other = 1 - side;
        let parser = self.converters[other].parser();
        for &index in matches {
            let partner = &stored[index];
            for _ in 0..partner.count {
                self.gathered.sides[side].push(input);
                self.gathered.sides[other].push(parser.parse(&partner.row));
                self.gathered.kinds.push(kind.code());
            }
        }
    }

    /// Emits the gathered rows as one batch.
    fn flush(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.gathered.kinds.is_empty() {
            return Ok(());
        }
        let name = &self.name;
        let error = |e: &dyn std::fmt::Display| Error::function(format!("{name}: {e}"));
        let mut columns = self.converters[LEFT]
            .convert_rows(&self.gathered.sides[LEFT])
            .map_err(|e| error(&e))?;
        columns.extend(
            self.converters[RIGHT]
                .convert_rows(&self.gathered.sides[RIGHT])
                .map_err(|e| error(&e))?,
        );
        let rows = self.gathered.kinds.len();
        if self.spec.updating {
            columns.push(Arc::new(Int8Array::from(std::mem::take(
                &mut self.gathered.kinds,
            ))));
        }
        self.gathered.kinds.clear();
        self.gathered.sides[LEFT].clear();
        self.gathered.sides[RIGHT].clear();
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.spec.output),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| error(&e))?;
        let batch = match self.spec.filter.as_ref().filter(|_| self.defer_condition) {
            Some(filter) => {
                let pairs = RecordBatch::try_new_with_options(
                    Arc::clone(&self.pairs),
                    batch.columns()[..self.tags].to_vec(),
                    &RecordBatchOptions::new().with_row_count(Some(rows)),
                )
                .map_err(|e| error(&e))?;
                let mask = filter
                    .evaluate(&pairs)
                    .and_then(|value| value.into_array(rows))
                    .map_err(|e| error(&e))?;
                let mask = mask
                    .as_boolean_opt()
                    .ok_or_else(|| self.error("the join condition is not a BOOLEAN"))?;
                // A null condition joins nothing, as a false one.
                filter_record_batch(&batch, mask).map_err(|e| error(&e))?
            }
            None => batch,
        };
        if batch.num_rows() == 0 {
            return Ok(());
        }
        out.push_batch(&mut ArrowBatch::new(batch))
    }

    /// An interval join forgets the rows that can join no row after `watermark`, as Flink's
    /// interval join cleans its state up by event time.
    fn expire(&mut self, bounds: IntervalBounds, watermark: i64) {
        if self.earliest_expiry > watermark {
            return;
        }
        let kind = self.spec.kind;
        let parsers = [
            self.converters[LEFT].parser(),
            self.converters[RIGHT].parser(),
        ];
        let gathered = &mut self.gathered;
        let nulls = &self.nulls;
        let mut earliest = i64::MAX;
        self.keys.retain(|_, rows| {
            for (side, stored) in rows.sides.iter_mut().enumerate() {
                stored.retain(|row| {
                    if !bounds.expired(side, row.time, watermark) {
                        earliest = earliest.min(expiry(bounds, side, row.time));
                        return true;
                    }
                    // An outer side's row that joined nothing is emitted null-padded now,
                    // as Flink's interval join does.
                    if kind.is_outer(side) && row.associations == 0 {
                        for _ in 0..row.count {
                            gathered.sides[side].push(parsers[side].parse(&row.row));
                            gathered.sides[1 - side].push(nulls[1 - side].row(0));
                            gathered.kinds.push(RowKind::Insert.code());
                        }
                    }
                    false
                });
            }
            rows.sides.iter().any(|side| !side.is_empty())
        });
        self.earliest_expiry = earliest;
    }

    /// Batch mode, at the end of input: each key's joined rows, once.
    fn join_all(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        let keys = std::mem::take(&mut self.keys);
        for (_, mut rows) in keys {
            let mut right_matched = vec![false; rows.sides[RIGHT].len()];
            let parser = self.converters[LEFT].parser();
            for left in 0..rows.sides[LEFT].len() {
                let stored = rows.sides[LEFT][left].clone();
                let row = parser.parse(&stored.row);
                self.join_condition(row, RIGHT, &rows.sides[RIGHT])?;
                let matches = std::mem::take(&mut self.matches);
                for _ in 0..stored.count {
                    if matches.is_empty() {
                        if self.spec.kind.is_outer(LEFT) {
                            self.gather_padded(LEFT, row, RowKind::Insert);
                        }
                    } else {
                        self.gather_pairs(LEFT, row, &rows.sides[RIGHT], &matches, RowKind::Insert);
                    }
                }
                for &index in &matches {
                    right_matched[index] = true;
                }
                self.matches = matches;
                if self.gathered.kinds.len() >= OUTPUT_BATCH_ROWS {
                    self.flush(out)?;
                }
            }
            if self.spec.kind.is_outer(RIGHT) {
                let parser = self.converters[RIGHT].parser();
                for (stored, matched) in std::mem::take(&mut rows.sides[RIGHT])
                    .iter()
                    .zip(right_matched)
                {
                    if !matched {
                        for _ in 0..stored.count {
                            self.gather_padded(RIGHT, parser.parse(&stored.row), RowKind::Insert);
                        }
                    }
                }
            }
            if self.gathered.kinds.len() >= OUTPUT_BATCH_ROWS {
                self.flush(out)?;
            }
        }
        self.flush(out)
    }
}

/// An interval join's row times, in epoch milliseconds.
fn row_times(
    column: &ArrayRef,
) -> std::result::Result<arrow_array::TimestampMillisecondArray, arrow_schema::ArrowError> {
    let millis = datafusion_common::arrow::compute::cast(
        column,
        &DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, None),
    )?;
    Ok(millis
        .as_primitive::<arrow_array::types::TimestampMillisecondType>()
        .clone())
}

/// The left's then the right's columns, as the join condition reads them.
fn pair_schema(spec: &JoinSpec) -> SchemaRef {
    let fields: Vec<Field> = spec
        .sides
        .iter()
        .flat_map(|side| side.fields().iter())
        .map(|field| field.as_ref().clone().with_nullable(true))
        .collect();
    Arc::new(Schema::new(fields))
}

/// The lowest watermark at which a row of `side` at `time` expires.
fn expiry(bounds: IntervalBounds, side: usize, time: i64) -> i64 {
    if side == LEFT {
        time.saturating_add(bounds.upper)
    } else {
        time.saturating_sub(bounds.lower)
    }
}

/// Checkpoints.
impl SqlJoinOperator {
    fn save_rows(&self) -> Vec<SavedJoinRow> {
        let mut saved = Vec::new();
        for (key, rows) in &self.keys {
            for (side, stored) in rows.sides.iter().enumerate() {
                for row in stored.iter() {
                    saved.push(SavedJoinRow {
                        key: key.clone(),
                        side: side as i8,
                        row: row.clone(),
                    });
                }
            }
        }
        saved
    }
}

impl Operator<ArrowBatch, ArrowBatch> for SqlJoinOperator {
    fn initialize_state(
        &mut self,
        _info: &TaskInfo,
        state: Option<OperatorSnapshot>,
    ) -> Result<()> {
        let Some(keyed) = state.and_then(|state| state.keyed) else {
            return Ok(());
        };
        let layout = join_state::layout(&self.spec);
        join_state::restore(
            &keyed,
            self.key_groups,
            self.max_parallelism,
            &self.name,
            &layout,
            |key, side, row| {
                if let Some(bounds) = self.spec.interval {
                    self.earliest_expiry = self.earliest_expiry.min(expiry(bounds, side, row.time));
                }
                let rows = self.keys.entry(key.into()).or_default();
                rows.sides[side].push(row);
            },
        )
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        let frozen = FrozenJoinRows {
            max_parallelism: self.max_parallelism,
            range: self.key_groups,
            operator: self.name.clone(),
            layout: join_state::layout(&self.spec),
            rows: self.save_rows(),
        };
        Ok(OperatorSnapshot {
            keyed: Some(frozen.into_snapshot()),
            operator_state: Vec::new(),
        })
    }

    fn process_batch(
        &mut self,
        batch: &mut ArrowBatch,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch = batch.record_batch().clone();
        let tags = self.tags;
        let columns = batch.columns();
        let (Some(sides), Some(kinds), Some(joinable), Some(keys)) = (
            columns[tags].as_primitive_opt::<Int8Type>(),
            columns[tags + 1].as_primitive_opt::<Int8Type>(),
            columns[tags + 2].as_boolean_opt(),
            columns[tags + 3].as_binary_opt::<i32>(),
        ) else {
            return Err(self.error("its input is not the tagged union of the join's inputs"));
        };
        let width = self.spec.sides[LEFT].fields().len();
        let has = |side: i8| sides.values().contains(&side);
        let error = |e: &dyn std::fmt::Display| self.error(e);
        let rows = [
            if has(LEFT as i8) {
                Some(
                    self.converters[LEFT]
                        .convert_columns(&columns[..width])
                        .map_err(|e| error(&e))?,
                )
            } else {
                None
            },
            if has(RIGHT as i8) {
                Some(
                    self.converters[RIGHT]
                        .convert_columns(&columns[width..tags])
                        .map_err(|e| error(&e))?,
                )
            } else {
                None
            },
        ];
        let times = match &self.spec.interval {
            Some(bounds) => [
                Some(row_times(&columns[bounds.times[LEFT]]).map_err(|e| error(&e))?),
                Some(row_times(&columns[width + bounds.times[RIGHT]]).map_err(|e| error(&e))?),
            ],
            None => [None, None],
        };
        for row in 0..batch.num_rows() {
            let side = usize::from(sides.value(row) != 0);
            let time = times[side]
                .as_ref()
                .filter(|times| times.is_valid(row))
                .map_or(i64::MIN, |times| times.value(row));
            let Some(side_rows) = &rows[side] else {
                continue;
            };
            self.process_row(
                side,
                RowKind::from_code(kinds.value(row)),
                keys.value(row),
                joinable.value(row),
                side_rows.row(row),
                time,
            )?;
            if self.gathered.kinds.len() >= OUTPUT_BATCH_ROWS {
                self.flush(out)?;
            }
        }
        self.flush(out)
    }

    fn process_watermark(
        &mut self,
        watermark: Watermark,
        out: &mut Output<ArrowBatch>,
    ) -> Result<()> {
        self.watermark = self.watermark.max(watermark.0);
        if let Some(bounds) = self.spec.interval
            && self.streaming
        {
            self.expire(bounds, watermark.0);
            self.flush(out)?;
            // A joined row's times trail the watermark by up to the interval's size: the
            // watermark is held back by it, as Flink's interval join holds it back, so
            // that event-time operators after the join find its rows on time.
            return out
                .emit_watermark(Watermark(watermark.0.saturating_sub(bounds.output_delay())));
        }
        out.emit_watermark(watermark)
    }

    fn end_input(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if !self.streaming {
            return self.join_all(out);
        }
        // The end of input expires every row of an interval join: the outer sides' unjoined
        // rows are emitted padded.
        if let Some(bounds) = self.spec.interval {
            self.expire(bounds, i64::MAX);
            self.flush(out)?;
        }
        Ok(())
    }
}
