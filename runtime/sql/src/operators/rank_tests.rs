//! The rank operator driven directly, row by row: the exact changelog of a Top-N with and
//! without the row number, of a deduplication, and batch mode's single emission.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SortOptions};
use datafusion_common::arrow::row::{RowConverter, SortField};
use flinkrs_core::config::RUNTIME_MODE;
use flinkrs_core::{CheckpointId, Configuration};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::chain::Collect;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};

use super::rank::{RankSpec, RankType, SqlRankOperator};
use crate::render::RowKind;

fn info(mode: &str) -> TaskInfo {
    let mut config = Configuration::new();
    config.set(RUNTIME_MODE, mode).unwrap();
    TaskInfo {
        job_name: "test".into(),
        task_name: "rank".into(),
        operator_name: "Rank".into(),
        operator_id: "rank".into(),
        subtask_index: 0,
        parallelism: 1,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

/// Rows of (partition, value), ranked by value descending.
fn spec(limit: usize, output_rank: bool, replace_as_update: bool, updating: bool) -> RankSpec {
    let columns = Arc::new(Schema::new(vec![
        Field::new("p", DataType::Utf8, true),
        Field::new("v", DataType::Int64, true),
    ]));
    let mut fields: Vec<Field> = columns
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("rn", DataType::Int64, false));
    if updating {
        fields.push(Field::new("$row_kind", DataType::Int8, false));
    }
    RankSpec {
        columns,
        limit,
        start: 0,
        output_rank,
        rank_column: true,
        replace_as_update,
        retract: false,
        output: Arc::new(Schema::new(fields)),
        updating,
        rank_type: RankType::RowNumber,
    }
}

struct Harness {
    operator: SqlRankOperator,
    output: Output<ArrowBatch>,
    sink: Collect<ArrowBatch>,
    updating: bool,
    retract: bool,
}

impl Harness {
    fn new(spec: RankSpec, mode: &str) -> Self {
        let sink = Collect::default();
        let updating = spec.updating;
        let retract = spec.retract;
        Harness {
            operator: SqlRankOperator::new(Arc::new(spec), &info(mode)).unwrap(),
            output: Output::new(Box::new(sink.clone()), Vec::new()),
            sink,
            updating,
            retract,
        }
    }

    /// Sends the row (partition, value) and returns the changes, as `+I[a, 5, 1]`.
    fn row(&mut self, partition: &str, value: i64) -> Vec<String> {
        self.change(RowKind::Insert, partition, value)
    }

    /// Sends a change of an updating input.
    fn change(&mut self, kind: RowKind, partition: &str, value: i64) -> Vec<String> {
        let sort = RowConverter::new(vec![SortField::new_with_options(
            DataType::Int64,
            SortOptions {
                descending: true,
                nulls_first: false,
            },
        )])
        .unwrap();
        let values: ArrayRef = Arc::new(Int64Array::from(vec![value]));
        let sorts = sort.convert_columns(&[Arc::clone(&values)]).unwrap();
        let mut fields = vec![
            Field::new("p", DataType::Utf8, true),
            Field::new("v", DataType::Int64, true),
            Field::new("$sort", DataType::Binary, false),
            Field::new("$key", DataType::Binary, false),
        ];
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![partition])),
            values,
            Arc::new(BinaryArray::from_vec(vec![sorts.row(0).data()])),
            Arc::new(BinaryArray::from_vec(vec![partition.as_bytes()])),
        ];
        if self.retract {
            fields.push(Field::new("$kind", DataType::Int8, false));
            columns.push(Arc::new(arrow_array::Int8Array::from(vec![kind.code()])));
        }
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        self.operator
            .process_batch(&mut ArrowBatch::new(batch), &mut self.output)
            .unwrap();
        self.changes()
    }

    fn changes(&mut self) -> Vec<String> {
        super::test_changes::emitted(&mut self.output, &self.sink, self.updating, "")
    }
}

#[test]
fn a_top_n_without_the_row_number_inserts_and_deletes_the_row_it_pushes_out() {
    let mut rank = Harness::new(spec(2, false, false, true), "streaming");
    assert_eq!(rank.row("a", 5), ["+I[a, 5, 1]"]);
    assert_eq!(rank.row("a", 3), ["+I[a, 3, 2]"]);
    // Below the top 2: nothing.
    assert!(rank.row("a", 1).is_empty());
    assert_eq!(rank.row("a", 7), ["-D[a, 3, 2]", "+I[a, 7, 1]"]);
    // A tie ranks after the row already there: out of the top 2, or second.
    assert!(rank.row("a", 5).is_empty());
    assert_eq!(rank.row("a", 7), ["-D[a, 5, 2]", "+I[a, 7, 2]"]);
    assert_eq!(rank.row("b", 1), ["+I[b, 1, 1]"]);
}

#[test]
fn a_top_n_with_the_row_number_updates_every_rank_a_new_row_shifts() {
    let mut rank = Harness::new(spec(3, true, false, true), "streaming");
    assert_eq!(rank.row("a", 5), ["+I[a, 5, 1]"]);
    assert_eq!(rank.row("a", 3), ["+I[a, 3, 2]"]);
    assert_eq!(
        rank.row("a", 7),
        [
            "-U[a, 5, 1]",
            "+U[a, 7, 1]",
            "-U[a, 3, 2]",
            "+U[a, 5, 2]",
            "+I[a, 3, 3]"
        ]
    );
    assert_eq!(rank.row("a", 4), ["-U[a, 3, 3]", "+U[a, 4, 3]"]);
}

#[test]
fn a_deduplication_replaces_its_row_with_an_update() {
    let mut rank = Harness::new(spec(1, false, true, true), "streaming");
    assert_eq!(rank.row("a", 5), ["+I[a, 5, 1]"]);
    assert!(rank.row("a", 2).is_empty());
    assert_eq!(rank.row("a", 9), ["-U[a, 5, 1]", "+U[a, 9, 1]"]);
}

#[test]
fn batch_mode_emits_each_partitions_top_n_once_and_a_restore_keeps_them() {
    let mut rank = Harness::new(spec(2, true, false, false), "batch");
    for (partition, value) in [("a", 1), ("a", 4), ("b", 2), ("a", 3)] {
        assert!(rank.row(partition, value).is_empty());
    }
    let snapshot = rank.operator.snapshot_state(CheckpointId(1)).unwrap();
    rank.operator.end_input(&mut rank.output).unwrap();
    let mut changes = rank.changes();
    changes.sort();
    assert_eq!(changes, ["+I[a, 3, 2]", "+I[a, 4, 1]", "+I[b, 2, 1]"]);

    let mut keyed = snapshot.keyed.unwrap();
    keyed.materialize().unwrap();
    let mut restored = Harness::new(spec(2, true, false, false), "batch");
    restored
        .operator
        .initialize_state(
            &info("batch"),
            Some(OperatorSnapshot {
                keyed: Some(keyed),
                operator_state: Vec::new(),
            }),
        )
        .unwrap();
    assert!(restored.row("a", 9).is_empty());
    restored.operator.end_input(&mut restored.output).unwrap();
    let mut changes = restored.changes();
    changes.sort();
    assert_eq!(changes, ["+I[a, 4, 2]", "+I[a, 9, 1]", "+I[b, 2, 1]"]);
}

#[test]
fn a_top_n_over_an_updating_input_brings_a_lower_row_back_when_a_kept_one_is_retracted() {
    let mut retracting = spec(2, false, false, true);
    retracting.retract = true;
    let mut rank = Harness::new(retracting, "streaming");
    assert_eq!(rank.row("a", 5), ["+I[a, 5, 1]"]);
    assert_eq!(rank.row("a", 4), ["+I[a, 4, 2]"]);
    // Below the top 2, but kept: a retraction may bring it back.
    assert!(rank.row("a", 3).is_empty());
    assert_eq!(
        rank.change(RowKind::UpdateBefore, "a", 5),
        ["-D[a, 5, 1]", "+I[a, 3, 2]"]
    );
    assert_eq!(
        rank.change(RowKind::UpdateAfter, "a", 6),
        ["-D[a, 3, 2]", "+I[a, 6, 1]"]
    );
    // A retraction of a row below the top 2 changes nothing visible.
    assert!(rank.change(RowKind::Delete, "a", 3).is_empty());
    assert!(rank.change(RowKind::Delete, "a", 42).is_empty());

    let mut numbered = spec(2, true, false, true);
    numbered.retract = true;
    let mut rank = Harness::new(numbered, "streaming");
    rank.row("a", 5);
    rank.row("a", 4);
    rank.row("a", 3);
    assert_eq!(
        rank.change(RowKind::Delete, "a", 5),
        ["-U[a, 5, 1]", "+U[a, 4, 1]", "-U[a, 4, 2]", "+U[a, 3, 2]"]
    );
    assert_eq!(
        rank.change(RowKind::Delete, "a", 4),
        ["-U[a, 4, 1]", "+U[a, 3, 1]", "-D[a, 3, 2]"]
    );
}

/// A global Top-N of `ORDER BY v DESC LIMIT 2 OFFSET 1`: ranks 2 and 3, no row number.
fn offset_spec(retract: bool) -> RankSpec {
    let mut spec = spec(3, false, false, true);
    spec.start = 1;
    spec.rank_column = false;
    spec.retract = retract;
    let mut fields: Vec<Field> = spec
        .columns
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    fields.push(Field::new("$row_kind", DataType::Int8, false));
    spec.output = Arc::new(Schema::new(fields));
    spec
}

#[test]
fn a_top_n_with_an_offset_updates_the_shifted_ranks_it_emits_and_ties_rank_by_arrival() {
    let mut rank = Harness::new(offset_spec(false), "streaming");
    // Rank 1 is skipped.
    assert!(rank.row("", 5).is_empty());
    assert_eq!(rank.row("", 3), ["+I[, 3]"]);
    // 7 takes rank 1: 5 moves to rank 2 and 3 to rank 3; rank 1's change is not emitted.
    assert_eq!(rank.row("", 7), ["-U[, 3]", "+U[, 5]", "+I[, 3]"]);
    // A tie of 5 ranks after the 5 already there: third, pushing 3 out.
    assert_eq!(rank.row("", 5), ["-U[, 3]", "+U[, 5]"]);
    // A tie of the last rank, or lower: nothing.
    assert!(rank.row("", 5).is_empty());
    assert!(rank.row("", 1).is_empty());
    // A new first row shifts both emitted ranks.
    assert_eq!(
        rank.row("", 9),
        ["-U[, 5]", "+U[, 7]", "-U[, 5]", "+U[, 5]"]
    );
}

#[test]
fn a_top_n_with_an_offset_over_an_updating_input_shifts_ranks_up_on_a_retraction() {
    let mut rank = Harness::new(offset_spec(true), "streaming");
    rank.row("", 5);
    rank.row("", 4);
    rank.row("", 3);
    // Kept below rank 3: a retraction brings it back.
    assert!(rank.row("", 2).is_empty());
    // The first row leaves: every emitted rank moves up.
    assert_eq!(
        rank.change(RowKind::Delete, "", 5),
        ["-U[, 4]", "+U[, 3]", "-U[, 3]", "+U[, 2]"]
    );
    // The last emitted row leaves, and no row is left to take its rank: it is deleted.
    assert_eq!(rank.change(RowKind::Delete, "", 2), ["-D[, 2]"]);
    assert_eq!(rank.change(RowKind::Delete, "", 3), ["-D[, 3]"]);
    // The skipped rank 1 leaves: nothing is emitted.
    assert!(rank.change(RowKind::Delete, "", 4).is_empty());
}
