//! [`SqlRankOperator`]: Flink's Top-N and deduplication, `ROW_NUMBER() OVER (PARTITION BY …
//! ORDER BY …)` filtered by `rn <= N` (or `rn = 1`), over an insert-only input.
//!
//! Its input batches hold the input's columns, then the row's sort key (the `ORDER BY`
//! columns in Arrow's row format with their directions, so that byte order is rank order),
//! then the partition key (the stream is keyed by it). Each partition keeps its best `N`
//! rows, sorted, as Flink's `AppendOnlyTopNFunction` does: a row that ranks below `N` can
//! never come back on an insert-only input.
//!
//! In streaming mode a row that enters the top `N` emits its changes at once, as Flink does:
//! - when the row number is selected, each rank the row shifts is updated (`-U` of its old
//!   row, `+U` of its new one) and a new last rank is `+I`;
//! - otherwise the row it pushes out is `-D` and the row `+I`; a deduplication (`rn = 1`
//!   ordered by a time attribute) replaces its row with `-U` and `+U`.
//!
//! Over an updating input (a group aggregate's changelog) every row of a partition is kept,
//! and a retraction moves the rows after it up (`-D` of the retracted row and `+I` of the row
//! that enters the top `N`, or the shifted ranks updated), as Flink's
//! `RetractableTopNFunction` does.
//!
//! A global Top-N (`ORDER BY … LIMIT n OFFSET m`, one partition) keeps ranks 1 to `m + n`
//! and emits only ranks `m + 1` to `m + n`, without the row number column; with an offset
//! its changes are those of the shifted ranks, as Flink emits them.
//!
//! In batch mode each partition's top `N` is emitted once, at the end of input.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{ArrayRef, Int8Array, Int64Array, RecordBatch, RecordBatchOptions};
use arrow_schema::SchemaRef;
use datafusion_common::arrow::row::{Row, RowConverter, Rows, SortField};
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::{CheckpointId, Error, Result, RuntimeMode};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, StreamBatch, TaskInfo};

use super::keyed_state::{self, BinaryRowsState, FrozenBinaryRows, StateKind};
use crate::render::RowKind;

/// The state in a checkpoint: each partition's kept rows, by key group, a row per kept row
/// with the binary partition key (the bytes the stream is keyed by), the row's sort key and
/// the row, both in Arrow's row format; the layout names the column types and `N`.
const STATE: BinaryRowsState = BinaryRowsState {
    kind: StateKind {
        name: "ranked-rows",
        value_type: "flinkrs sql rank rows v1 (arrow ipc)",
        owner: "this Top-N's",
    },
    layout_key: "flinkrs.rank-layout",
    columns: &["$key", "sort", "row"],
};

/// Which rank a row gets, as Flink's `RankType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RankType {
    /// 1, 2, 3, … in order, ties broken by arrival.
    RowNumber,
    /// Ties share a rank, and the ranks after them skip: 1, 2, 2, 4.
    Rank,
    /// Ties share a rank, without gaps: 1, 2, 2, 3.
    DenseRank,
}

/// What the rank operator computes, fixed when the job is built.
#[derive(Debug)]
pub(crate) struct RankSpec {
    /// The input's columns (without the sort and partition keys the tag adds).
    pub columns: SchemaRef,
    /// `N`: how many rows a partition keeps, the last rank emitted.
    pub limit: usize,
    /// The ranks before it (0-based) are kept but not emitted: an `OFFSET`. As Flink does, a
    /// Top-N with an offset updates each rank a new row shifts, as if it output the number.
    pub start: usize,
    /// Whether the row number is part of the result: shifted ranks are updated.
    pub output_rank: bool,
    /// Whether the output has the row number column (after the input's columns); a global
    /// Top-N of `ORDER BY … LIMIT` has none.
    pub rank_column: bool,
    /// A deduplication: the kept row is replaced with `-U` and `+U`.
    pub replace_as_update: bool,
    /// The input is updating (a changelog, in streaming mode): every row of a partition is
    /// kept, since a retraction can bring a lower one back into the top `N`, as Flink's
    /// `RetractableTopNFunction` does. Its batches carry a row kind column last.
    pub retract: bool,
    /// The input's columns, the row number, then the row kind when `updating`.
    pub output: SchemaRef,
    pub updating: bool,
    /// `RANK()` and `DENSE_RANK()` run in batch mode only, as in Flink: every row of a
    /// partition is kept until the end of input, where ties share their rank.
    pub rank_type: RankType,
}

impl RankSpec {
    /// The column types, as the checkpoint records them.
    pub(crate) fn layout(&self) -> String {
        let types: Vec<String> = self
            .columns
            .fields()
            .iter()
            .map(|field| field.data_type().to_string())
            .collect();
        let offset = match self.start {
            0 => String::new(),
            start => format!(" after {start}"),
        };
        format!(
            "top {}{offset} of [{}]{}",
            self.limit,
            types.join(", "),
            match self.rank_type {
                RankType::RowNumber => "",
                RankType::Rank => " by RANK",
                RankType::DenseRank => " by DENSE_RANK",
            }
        )
    }
}

/// A kept row: its sort key and the row, both in Arrow's row format.
#[derive(Clone, Debug)]
pub(crate) struct Ranked {
    pub sort: Box<[u8]>,
    pub row: Box<[u8]>,
}

pub(crate) struct SqlRankOperator {
    spec: Arc<RankSpec>,
    name: String,
    streaming: bool,
    converter: RowConverter,
    partitions: HashMap<Box<[u8]>, Vec<Ranked>>,
    /// The output being gathered: rows, their row numbers and kinds.
    gathered: Rows,
    ranks: Vec<i64>,
    kinds: Vec<i8>,
    max_parallelism: usize,
    key_groups: KeyGroupRange,
}

impl SqlRankOperator {
    pub(crate) fn new(spec: Arc<RankSpec>, info: &TaskInfo) -> Result<Self> {
        let fields = spec
            .columns
            .fields()
            .iter()
            .map(|field| SortField::new(field.data_type().clone()))
            .collect();
        let converter =
            RowConverter::new(fields).map_err(|e| Error::function(format!("Rank: {e}")))?;
        Ok(SqlRankOperator {
            name: format!("{} ({})", info.operator_name, info.subtask_label()),
            streaming: info.config.runtime_mode() == RuntimeMode::Streaming,
            gathered: converter.empty_rows(0, 0),
            converter,
            spec,
            partitions: HashMap::new(),
            ranks: Vec::new(),
            kinds: Vec::new(),
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

    /// Gathers a change of rank `rank` (0-based), if the rank is emitted.
    fn gather(&mut self, row: Row<'_>, rank: usize, kind: RowKind) {
        if rank < self.spec.start {
            return;
        }
        self.gathered.push(row);
        self.ranks.push(rank as i64 + 1);
        self.kinds.push(kind.code());
    }

    /// One input row of `partition`: takes it into the partition's top `N` if it ranks
    /// there, and gathers the changes.
    fn process_row(&mut self, partition: &[u8], sort: &[u8], input: Row<'_>, kind: RowKind) {
        let limit = self.spec.limit;
        let mut list = match self.partitions.get_mut(partition) {
            Some(list) => std::mem::take(list),
            None => Vec::with_capacity(limit.min(16)),
        };
        if !kind.is_addition() {
            self.retract_row(&mut list, sort, input);
            self.put_back(partition, list);
            return;
        }
        // After the rows that rank equal: the earlier row keeps the better rank.
        let position = list.partition_point(|ranked| &*ranked.sort <= sort);
        if self.spec.rank_type != RankType::RowNumber {
            // Batch mode: ties may take the rows past `N`; the ranks are given at the end.
            list.insert(
                position,
                Ranked {
                    sort: sort.into(),
                    row: input.as_ref().into(),
                },
            );
            self.put_back(partition, list);
            return;
        }
        if position >= limit && !self.spec.retract {
            self.put_back(partition, list);
            return;
        }
        if self.streaming && position < limit {
            let parser = self.converter.parser();
            if self.spec.output_rank || self.spec.start > 0 {
                let old_len = list.len();
                for rank in position..(old_len + 1).min(limit) {
                    let new = if rank == position {
                        input
                    } else {
                        parser.parse(&list[rank - 1].row)
                    };
                    if rank < old_len {
                        self.gather(parser.parse(&list[rank].row), rank, RowKind::UpdateBefore);
                        self.gather(new, rank, RowKind::UpdateAfter);
                    } else {
                        self.gather(new, rank, RowKind::Insert);
                    }
                }
            } else if self.spec.replace_as_update && list.len() == limit && limit == 1 {
                self.gather(parser.parse(&list[0].row), 0, RowKind::UpdateBefore);
                self.gather(input, 0, RowKind::UpdateAfter);
            } else {
                // The row pushed out of the top N, then the new one, as Flink emits them.
                if list.len() >= limit {
                    self.gather(
                        parser.parse(&list[limit - 1].row),
                        limit - 1,
                        RowKind::Delete,
                    );
                }
                self.gather(input, position, RowKind::Insert);
            }
        }
        list.insert(
            position,
            Ranked {
                sort: sort.into(),
                row: input.as_ref().into(),
            },
        );
        if !self.spec.retract {
            list.truncate(limit);
        }
        self.put_back(partition, list);
    }

    /// A retraction (`-U`, `-D`) of an updating input: the row leaves its partition, and
    /// the rows after it move up a rank. A retraction of a row not kept changes nothing.
    fn retract_row(&mut self, list: &mut Vec<Ranked>, sort: &[u8], input: Row<'_>) {
        let limit = self.spec.limit;
        let Some(index) = list
            .iter()
            .position(|ranked| &*ranked.sort == sort && &*ranked.row == input.as_ref())
        else {
            return;
        };
        if self.streaming && index < limit {
            let parser = self.converter.parser();
            if self.spec.output_rank || self.spec.start > 0 {
                for rank in index..limit.min(list.len()) {
                    let old = parser.parse(&list[rank].row);
                    match list.get(rank + 1) {
                        Some(next) => {
                            self.gather(old, rank, RowKind::UpdateBefore);
                            self.gather(parser.parse(&next.row), rank, RowKind::UpdateAfter);
                        }
                        None => self.gather(old, rank, RowKind::Delete),
                    }
                }
            } else {
                self.gather(parser.parse(&list[index].row), index, RowKind::Delete);
                if let Some(next) = list.get(limit) {
                    self.gather(parser.parse(&next.row), limit - 1, RowKind::Insert);
                }
            }
        }
        list.remove(index);
    }

    fn put_back(&mut self, partition: &[u8], list: Vec<Ranked>) {
        match self.partitions.get_mut(partition) {
            Some(slot) => *slot = list,
            None => {
                self.partitions.insert(partition.into(), list);
            }
        }
    }

    /// Emits the gathered rows as one batch.
    fn flush(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.kinds.is_empty() {
            return Ok(());
        }
        let name = &self.name;
        let error = |e: &dyn std::fmt::Display| Error::function(format!("{name}: {e}"));
        let mut columns: Vec<ArrayRef> = self
            .converter
            .convert_rows(&self.gathered)
            .map_err(|e| error(&e))?;
        let rows = self.kinds.len();
        if self.spec.rank_column {
            columns.push(Arc::new(Int64Array::from(std::mem::take(&mut self.ranks))));
        } else {
            self.ranks.clear();
        }
        if self.spec.updating {
            columns.push(Arc::new(Int8Array::from(std::mem::take(&mut self.kinds))));
        }
        self.kinds.clear();
        self.gathered.clear();
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&self.spec.output),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| error(&e))?;
        out.push_batch(&mut ArrowBatch::new(batch))
    }
}

impl Operator<ArrowBatch, ArrowBatch> for SqlRankOperator {
    fn initialize_state(
        &mut self,
        _info: &TaskInfo,
        state: Option<OperatorSnapshot>,
    ) -> Result<()> {
        let Some(keyed) = state.and_then(|state| state.keyed) else {
            return Ok(());
        };
        let layout = self.spec.layout();
        keyed_state::restore_binary_rows(
            &keyed,
            self.key_groups,
            self.max_parallelism,
            &self.name,
            STATE,
            &layout,
            |values| {
                self.partitions
                    .entry(values[0].into())
                    .or_default()
                    .push(Ranked {
                        sort: values[1].into(),
                        row: values[2].into(),
                    });
            },
        )?;
        for list in self.partitions.values_mut() {
            list.sort_by(|a, b| a.sort.cmp(&b.sort));
        }
        Ok(())
    }

    fn snapshot_state(&mut self, _checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        let frozen = FrozenBinaryRows {
            state: STATE,
            max_parallelism: self.max_parallelism,
            range: self.key_groups,
            operator: self.name.clone(),
            layout: self.spec.layout(),
            rows: self
                .partitions
                .iter()
                .flat_map(|(key, list)| {
                    list.iter()
                        .map(|ranked| vec![key.clone(), ranked.sort.clone(), ranked.row.clone()])
                })
                .collect(),
        };
        Ok(frozen.into_operator_snapshot())
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
        let width = self.spec.columns.fields().len();
        let columns = batch.columns();
        let (Some(sorts), Some(partitions)) = (
            columns.get(width).and_then(|c| c.as_binary_opt::<i32>()),
            columns
                .get(width + 1)
                .and_then(|c| c.as_binary_opt::<i32>()),
        ) else {
            return Err(self.error("its input lacks the sort and partition keys"));
        };
        let kinds = if self.spec.retract {
            let kinds = columns
                .get(width + 2)
                .and_then(|c| c.as_primitive_opt::<arrow_array::types::Int8Type>())
                .ok_or_else(|| self.error("its updating input lacks the row kind column"))?;
            Some(kinds)
        } else {
            None
        };
        let rows = self
            .converter
            .convert_columns(&columns[..width])
            .map_err(|e| self.error(e))?;
        for row in 0..batch.num_rows() {
            let kind = kinds.map_or(RowKind::Insert, |kinds| {
                RowKind::from_code(kinds.value(row))
            });
            self.process_row(partitions.value(row), sorts.value(row), rows.row(row), kind);
        }
        self.flush(out)
    }

    fn end_input(&mut self, out: &mut Output<ArrowBatch>) -> Result<()> {
        if self.streaming {
            return Ok(());
        }
        let partitions = std::mem::take(&mut self.partitions);
        let parser = self.converter.parser();
        for list in partitions.values() {
            let mut rank = 0;
            let mut distinct = 0;
            for (index, ranked) in list.iter().enumerate() {
                let peer = index > 0 && list[index - 1].sort == ranked.sort;
                if !peer {
                    rank = index;
                    distinct += 1;
                }
                let rank = match self.spec.rank_type {
                    RankType::RowNumber => index,
                    RankType::Rank => rank,
                    RankType::DenseRank => distinct - 1,
                };
                if rank >= self.spec.limit {
                    break;
                }
                self.gather(parser.parse(&ranked.row), rank, RowKind::Insert);
            }
            if self.kinds.len() >= 8192 {
                self.flush(out)?;
            }
        }
        self.flush(out)
    }
}
