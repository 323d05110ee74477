//! The SQL join operator driven directly, batch by batch: the exact changelog of outer
//! joins (null-padded rows retracted when a partner arrives and back when it leaves), row
//! kinds passed through an inner join, null keys, batch mode, and a snapshot restored into
//! two subtasks that each take back only their key groups.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, BooleanArray, Int8Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion_common::arrow::compute::concat_batches;
use datafusion_common::arrow::row::{RowConverter, SortField};
use datafusion_physical_expr::PhysicalExpr;
use datafusion_physical_expr::expressions::{BinaryExpr, Column};
use flinkrs_core::config::RUNTIME_MODE;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::{CheckpointId, Configuration};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::chain::Collect;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};

use super::aggregate_state::key_group_of;
use super::join::{JoinKind, JoinSpec, LEFT, RIGHT, SqlJoinOperator};
use crate::render::RowKind;

fn info(mode: &str, subtask_index: usize, parallelism: usize) -> TaskInfo {
    let mut config = Configuration::new();
    config.set(RUNTIME_MODE, mode).unwrap();
    TaskInfo {
        job_name: "test".into(),
        task_name: "join".into(),
        operator_name: "Join".into(),
        operator_id: "join".into(),
        subtask_index,
        parallelism,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

fn side(name: &str) -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("k", DataType::Int64, true),
        Field::new(name, DataType::Utf8, true),
    ]))
}

fn spec(kind: JoinKind, updating: bool) -> Arc<JoinSpec> {
    spec_with(kind, updating, None)
}

/// The extra condition `v < w`, over the left's then the right's columns (k, v, k, w).
fn v_before_w() -> Option<Arc<dyn PhysicalExpr>> {
    Some(Arc::new(BinaryExpr::new(
        Arc::new(Column::new("v", 1)),
        datafusion_expr::Operator::Lt,
        Arc::new(Column::new("w", 3)),
    )))
}

fn spec_with(
    kind: JoinKind,
    updating: bool,
    filter: Option<Arc<dyn PhysicalExpr>>,
) -> Arc<JoinSpec> {
    let sides = [side("v"), side("w")];
    let mut fields: Vec<Field> = sides
        .iter()
        .flat_map(|side| side.fields().iter().map(|f| f.as_ref().clone()))
        .collect();
    if updating {
        fields.push(Field::new("$row_kind", DataType::Int8, false));
    }
    Arc::new(JoinSpec {
        kind,
        sides,
        filter,
        output: Arc::new(Schema::new(fields)),
        updating,
        interval: None,
    })
}

fn key(k: Option<i64>) -> Vec<u8> {
    let converter = RowConverter::new(vec![SortField::new(DataType::Int64)]).unwrap();
    let column: ArrayRef = Arc::new(Int64Array::from(vec![k]));
    let rows = converter.convert_columns(&[column]).unwrap();
    rows.row(0).data().to_vec()
}

/// One input row of `side`, tagged as the planner tags it.
fn tagged(spec: &JoinSpec, side: usize, kind: RowKind, k: Option<i64>, value: &str) -> RecordBatch {
    let mut columns: Vec<ArrayRef> = Vec::new();
    for index in [LEFT, RIGHT] {
        if index == side {
            columns.push(Arc::new(Int64Array::from(vec![k])));
            columns.push(Arc::new(StringArray::from(vec![value])));
        } else {
            columns.push(arrow_array::new_null_array(&DataType::Int64, 1));
            columns.push(arrow_array::new_null_array(&DataType::Utf8, 1));
        }
    }
    columns.push(Arc::new(Int8Array::from(vec![side as i8])));
    columns.push(Arc::new(Int8Array::from(vec![kind.code()])));
    columns.push(Arc::new(BooleanArray::from(vec![k.is_some()])));
    columns.push(Arc::new(BinaryArray::from_vec(vec![&key(k)[..]])));
    RecordBatch::try_new(JoinSpec::input_schema(&spec.sides), columns).unwrap()
}

struct Harness {
    spec: Arc<JoinSpec>,
    operator: SqlJoinOperator,
    output: Output<ArrowBatch>,
    sink: Collect<ArrowBatch>,
}

impl Harness {
    fn new(spec: Arc<JoinSpec>, info: &TaskInfo) -> Self {
        let sink = Collect::default();
        Harness {
            operator: SqlJoinOperator::new(Arc::clone(&spec), info).unwrap(),
            spec,
            output: Output::new(Box::new(sink.clone()), Vec::new()),
            sink,
        }
    }

    /// Sends one row and returns the changes it made, as `+I[1, a, <NULL>, <NULL>]`.
    fn row(&mut self, side: usize, kind: RowKind, k: Option<i64>, value: &str) -> Vec<String> {
        let batch = tagged(&self.spec, side, kind, k, value);
        self.operator
            .process_batch(&mut ArrowBatch::new(batch), &mut self.output)
            .unwrap();
        self.changes()
    }

    fn changes(&mut self) -> Vec<String> {
        super::test_changes::emitted(&mut self.output, &self.sink, self.spec.updating, "<NULL>")
    }
}

use RowKind::{Delete, Insert, UpdateAfter, UpdateBefore};

#[test]
fn a_left_join_retracts_its_null_padded_row_when_a_partner_arrives_and_restores_it_after() {
    let mut join = Harness::new(spec(JoinKind::Left, true), &info("streaming", 0, 1));
    assert_eq!(
        join.row(LEFT, Insert, Some(1), "a"),
        ["+I[1, a, <NULL>, <NULL>]"]
    );
    assert_eq!(
        join.row(RIGHT, Insert, Some(1), "x"),
        ["-D[1, a, <NULL>, <NULL>]", "+I[1, a, 1, x]"]
    );
    assert_eq!(join.row(RIGHT, Insert, Some(1), "y"), ["+I[1, a, 1, y]"]);
    assert_eq!(join.row(RIGHT, Delete, Some(1), "x"), ["-D[1, a, 1, x]"]);
    assert_eq!(
        join.row(RIGHT, Delete, Some(1), "y"),
        ["-D[1, a, 1, y]", "+I[1, a, <NULL>, <NULL>]"]
    );
    // A right row alone emits nothing in a left join.
    assert!(join.row(RIGHT, Insert, Some(2), "z").is_empty());
    assert_eq!(
        join.row(LEFT, Delete, Some(1), "a"),
        ["-D[1, a, <NULL>, <NULL>]"]
    );
}

#[test]
fn a_full_join_pads_both_sides_and_a_null_key_never_matches() {
    let mut join = Harness::new(spec(JoinKind::Full, true), &info("streaming", 0, 1));
    assert_eq!(
        join.row(RIGHT, Insert, Some(2), "z"),
        ["+I[<NULL>, <NULL>, 2, z]"]
    );
    assert_eq!(
        join.row(LEFT, Insert, Some(2), "b"),
        ["-D[<NULL>, <NULL>, 2, z]", "+I[2, b, 2, z]"]
    );
    assert_eq!(join.row(LEFT, Insert, Some(2), "c"), ["+I[2, c, 2, z]"]);
    assert_eq!(
        join.row(RIGHT, Delete, Some(2), "z"),
        [
            "-D[2, b, 2, z]",
            "-D[2, c, 2, z]",
            "+I[2, b, <NULL>, <NULL>]",
            "+I[2, c, <NULL>, <NULL>]"
        ]
    );
    assert_eq!(
        join.row(LEFT, Insert, None, "n"),
        ["+I[<NULL>, n, <NULL>, <NULL>]"]
    );
    assert_eq!(
        join.row(RIGHT, Insert, None, "m"),
        ["+I[<NULL>, <NULL>, <NULL>, m]"]
    );
}

#[test]
fn an_inner_join_passes_the_row_kinds_of_an_updating_input_through() {
    let mut join = Harness::new(spec(JoinKind::Inner, true), &info("streaming", 0, 1));
    assert!(join.row(LEFT, Insert, Some(1), "a").is_empty());
    assert_eq!(join.row(RIGHT, Insert, Some(1), "x"), ["+I[1, a, 1, x]"]);
    assert_eq!(
        join.row(LEFT, UpdateBefore, Some(1), "a"),
        ["-U[1, a, 1, x]"]
    );
    assert_eq!(
        join.row(LEFT, UpdateAfter, Some(1), "b"),
        ["+U[1, b, 1, x]"]
    );
    // The retracted row left the state: a new right row joins only the new one.
    assert_eq!(join.row(RIGHT, Insert, Some(1), "y"), ["+I[1, b, 1, y]"]);
}

#[test]
fn an_inner_joins_extra_condition_keeps_the_pairs_it_holds_for_in_arrival_order() {
    let spec = spec_with(JoinKind::Inner, true, v_before_w());
    let mut join = Harness::new(Arc::clone(&spec), &info("streaming", 0, 1));
    assert!(join.row(RIGHT, Insert, Some(1), "c").is_empty());
    assert!(join.row(RIGHT, Insert, Some(1), "f").is_empty());
    assert!(join.row(RIGHT, Insert, Some(2), "a").is_empty());
    // One batch of three rows: each pair's condition is checked once the batch is joined.
    let batch = concat_batches(
        &JoinSpec::input_schema(&spec.sides),
        &[
            tagged(&spec, LEFT, Insert, Some(1), "a"),
            tagged(&spec, LEFT, Insert, Some(2), "b"),
            tagged(&spec, LEFT, Insert, Some(1), "e"),
        ],
    )
    .unwrap();
    join.operator
        .process_batch(&mut ArrowBatch::new(batch), &mut join.output)
        .unwrap();
    assert_eq!(
        join.changes(),
        ["+I[1, a, 1, c]", "+I[1, a, 1, f]", "+I[1, e, 1, f]"]
    );
    // A row that joins no pair under the condition is kept all the same, and joins later.
    assert_eq!(join.row(LEFT, Insert, Some(2), "0"), ["+I[2, 0, 2, a]"]);
    assert_eq!(
        join.row(RIGHT, Insert, Some(2), "c"),
        ["+I[2, b, 2, c]", "+I[2, 0, 2, c]"]
    );
    assert_eq!(
        join.row(LEFT, UpdateBefore, Some(1), "e"),
        ["-U[1, e, 1, f]"]
    );
}

#[test]
fn an_outer_joins_extra_condition_decides_which_rows_are_padded() {
    let mut join = Harness::new(
        spec_with(JoinKind::Left, true, v_before_w()),
        &info("streaming", 0, 1),
    );
    assert!(join.row(RIGHT, Insert, Some(1), "c").is_empty());
    assert_eq!(
        join.row(LEFT, Insert, Some(1), "z"),
        ["+I[1, z, <NULL>, <NULL>]"]
    );
    assert_eq!(join.row(LEFT, Insert, Some(1), "a"), ["+I[1, a, 1, c]"]);
    assert_eq!(
        join.row(RIGHT, Insert, Some(1), "zz"),
        [
            "-D[1, z, <NULL>, <NULL>]",
            "+I[1, z, 1, zz]",
            "+I[1, a, 1, zz]"
        ]
    );
}

#[test]
fn batch_mode_emits_each_joined_row_once_at_the_end_of_input() {
    let mut join = Harness::new(spec(JoinKind::Full, false), &info("batch", 0, 1));
    assert!(join.row(LEFT, Insert, Some(1), "a").is_empty());
    assert!(join.row(RIGHT, Insert, Some(2), "z").is_empty());
    assert!(join.row(RIGHT, Insert, Some(1), "x").is_empty());
    assert!(join.row(LEFT, Insert, Some(1), "a").is_empty());
    assert_eq!(
        join.row(LEFT, Insert, None, "n"),
        ["+I[<NULL>, n, <NULL>, <NULL>]"]
    );
    join.operator.end_input(&mut join.output).unwrap();
    let mut changes = join.changes();
    changes.sort();
    assert_eq!(
        changes,
        [
            "+I[1, a, 1, x]",
            "+I[1, a, 1, x]",
            "+I[<NULL>, <NULL>, 2, z]"
        ]
    );
}

#[test]
fn a_snapshot_restored_into_two_subtasks_gives_each_its_own_key_groups() {
    let spec = spec(JoinKind::Left, true);
    let mut join = Harness::new(Arc::clone(&spec), &info("streaming", 0, 1));
    for k in 0..40 {
        join.row(LEFT, Insert, Some(k), "a");
    }
    join.row(RIGHT, Insert, Some(7), "x");
    let mut snapshot = join.operator.snapshot_state(CheckpointId(1)).unwrap();
    if let Some(keyed) = &mut snapshot.keyed {
        keyed.materialize().unwrap();
    }
    let mut restored_keys = 0;
    for subtask in 0..2 {
        let info = info("streaming", subtask, 2);
        let range = KeyGroupRange::for_operator(128, 2, subtask);
        let mut restored = Harness::new(Arc::clone(&spec), &info);
        restored
            .operator
            .initialize_state(
                &info,
                Some(OperatorSnapshot {
                    keyed: snapshot.keyed.clone(),
                    operator_state: Vec::new(),
                }),
            )
            .unwrap();
        for k in 0..40 {
            if !range.contains(key_group_of(&key(Some(k)), 128)) {
                continue;
            }
            restored_keys += 1;
            // The restored left row is there, padded: a partner retracts its padding, except
            // for key 7, whose left row was joined before the checkpoint.
            let expected: Vec<String> = if k == 7 {
                vec!["+I[7, a, 7, y]".into()]
            } else {
                vec![
                    format!("-D[{k}, a, <NULL>, <NULL>]"),
                    format!("+I[{k}, a, {k}, y]"),
                ]
            };
            assert_eq!(
                restored.row(RIGHT, Insert, Some(k), "y"),
                expected,
                "key {k}"
            );
        }
    }
    assert_eq!(restored_keys, 40);
}

#[test]
fn a_snapshot_of_another_query_is_a_clear_error() {
    let mut join = Harness::new(spec(JoinKind::Inner, true), &info("streaming", 0, 1));
    join.row(LEFT, Insert, Some(1), "a");
    let mut snapshot = join.operator.snapshot_state(CheckpointId(1)).unwrap();
    if let Some(keyed) = &mut snapshot.keyed {
        keyed.materialize().unwrap();
    }
    let other = Arc::new(JoinSpec {
        kind: JoinKind::Inner,
        sides: [
            side("v"),
            Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)])),
        ],
        filter: None,
        output: Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)])),
        updating: false,
        interval: None,
    });
    let info = info("streaming", 0, 1);
    let mut restored = SqlJoinOperator::new(other, &info).unwrap();
    let error = restored
        .initialize_state(&info, Some(snapshot))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "state: Join (1/1): key group {} of its state cannot be restored: it holds rows of \
             left: [Int64, Utf8]; right: [Int64, Utf8], this query joins left: [Int64, Utf8]; \
             right: [Int64]; the checkpoint is of another query",
            key_group_of(&key(Some(1)), 128)
        )
    );
}

/// The number of rows a snapshot of `operator` holds.
fn rows_held(operator: &mut SqlJoinOperator) -> usize {
    let mut snapshot = operator.snapshot_state(CheckpointId(1)).unwrap();
    let keyed = snapshot.keyed.as_mut().unwrap();
    keyed.materialize().unwrap();
    keyed
        .states
        .iter()
        .flat_map(|state| state.key_groups.values())
        .map(|bytes| {
            arrow_ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
                .unwrap()
                .map(|batch| batch.unwrap().num_rows())
                .sum::<usize>()
        })
        .sum()
}

#[test]
fn an_interval_join_forgets_rows_once_the_watermark_passes_their_bound() {
    // The key column doubles as the row time: right time - left time within 0..=10 s.
    let mut spec = Arc::into_inner(spec(JoinKind::Inner, false)).unwrap();
    spec.interval = Some(super::join::IntervalBounds {
        times: [0, 0],
        lower: 0,
        upper: 10_000,
    });
    let mut join = Harness::new(Arc::new(spec), &info("streaming", 0, 1));
    assert!(join.row(LEFT, Insert, Some(1_000), "a").is_empty());
    assert!(join.row(RIGHT, Insert, Some(30_000), "x").is_empty());
    assert_eq!(rows_held(&mut join.operator), 2);
    // The left row at 1 s can join right rows up to 11 s; the right row at 30 s left rows
    // from 20 s on.
    join.operator
        .process_watermark(flinkrs_core::Watermark(10_999), &mut join.output)
        .unwrap();
    assert_eq!(rows_held(&mut join.operator), 2);
    join.operator
        .process_watermark(flinkrs_core::Watermark(11_000), &mut join.output)
        .unwrap();
    assert_eq!(rows_held(&mut join.operator), 1);
    join.operator
        .process_watermark(flinkrs_core::Watermark(30_000), &mut join.output)
        .unwrap();
    assert_eq!(rows_held(&mut join.operator), 0);
    assert!(join.changes().is_empty());
    // The watermark is held back by the interval's reach (10 s) plus 1 ms.
    assert_eq!(
        join.sink.take_watermarks(),
        [
            flinkrs_core::Watermark(998),
            flinkrs_core::Watermark(999),
            flinkrs_core::Watermark(19_999)
        ]
    );
}

#[test]
fn a_left_interval_join_only_inserts_and_pads_a_row_when_it_expires_unjoined() {
    // The key column doubles as the row time: right time - left time within 0..=10 s.
    let mut spec = Arc::into_inner(spec(JoinKind::Left, false)).unwrap();
    spec.interval = Some(super::join::IntervalBounds {
        times: [0, 0],
        lower: 0,
        upper: 10_000,
    });
    let mut join = Harness::new(Arc::new(spec), &info("streaming", 0, 1));
    assert!(join.row(LEFT, Insert, Some(1_000), "a").is_empty());
    assert!(join.row(LEFT, Insert, Some(2_000), "b").is_empty());
    assert_eq!(
        join.row(RIGHT, Insert, Some(2_000), "x"),
        ["+I[2000, b, 2000, x]"]
    );
    join.operator
        .process_watermark(flinkrs_core::Watermark(11_000), &mut join.output)
        .unwrap();
    assert_eq!(join.changes(), ["+I[1000, a, <NULL>, <NULL>]"]);
    // The joined row expires without padding; so do the rest at the end of input.
    assert!(join.row(LEFT, Insert, Some(50_000), "c").is_empty());
    join.operator
        .process_watermark(flinkrs_core::Watermark(12_000), &mut join.output)
        .unwrap();
    assert!(join.changes().is_empty());
    // A row too late for any row to come still joins the rows kept, but is not kept: padded
    // at once if it joins nothing.
    assert!(join.row(RIGHT, Insert, Some(45_000), "y").is_empty());
    assert_eq!(
        join.row(LEFT, Insert, Some(1_500), "late"),
        ["+I[1500, late, <NULL>, <NULL>]"]
    );
    join.operator.end_input(&mut join.output).unwrap();
    assert_eq!(join.changes(), ["+I[50000, c, <NULL>, <NULL>]"]);
}

#[test]
fn a_restored_interval_join_still_expires_and_pads_its_rows_by_their_time() {
    let interval_spec = || {
        let mut spec = Arc::into_inner(spec(JoinKind::Left, false)).unwrap();
        spec.interval = Some(super::join::IntervalBounds {
            times: [0, 0],
            lower: 0,
            upper: 10_000,
        });
        Arc::new(spec)
    };
    let info = info("streaming", 0, 1);
    let mut join = Harness::new(interval_spec(), &info);
    assert!(join.row(LEFT, Insert, Some(1_000), "a").is_empty());
    let mut snapshot = join.operator.snapshot_state(CheckpointId(1)).unwrap();
    if let Some(keyed) = &mut snapshot.keyed {
        keyed.materialize().unwrap();
    }
    let mut restored = Harness::new(interval_spec(), &info);
    restored
        .operator
        .initialize_state(&info, Some(snapshot))
        .unwrap();
    restored
        .operator
        .process_watermark(flinkrs_core::Watermark(10_999), &mut restored.output)
        .unwrap();
    assert!(restored.changes().is_empty());
    restored
        .operator
        .process_watermark(flinkrs_core::Watermark(11_000), &mut restored.output)
        .unwrap();
    assert_eq!(restored.changes(), ["+I[1000, a, <NULL>, <NULL>]"]);
    assert_eq!(rows_held(&mut restored.operator), 0);
}
