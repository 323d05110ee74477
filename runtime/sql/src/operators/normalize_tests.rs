//! The changelog normalizer driven directly: Flink's changelog of an upsert stream, a
//! checkpoint's rows restored, and batch mode's last rows.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Int8Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use flinkrs_core::config::RUNTIME_MODE;
use flinkrs_core::{CheckpointId, Configuration};
use flinkrs_dataflow::batch::ArrowBatch;
use flinkrs_dataflow::chain::Collect;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output, TaskInfo};

use super::normalize::{NormalizeSpec, SqlChangelogNormalizeOperator};
use crate::render::RowKind;

fn info(mode: &str) -> TaskInfo {
    let mut config = Configuration::new();
    config.set(RUNTIME_MODE, mode).unwrap();
    TaskInfo {
        job_name: "test".into(),
        task_name: "normalize".into(),
        operator_name: "ChangelogNormalize".into(),
        operator_id: "normalize".into(),
        subtask_index: 0,
        parallelism: 1,
        max_parallelism: 128,
        config: Arc::new(config),
        job_id: flinkrs_core::JobId(0),
        attempt_number: 0,
    }
}

/// Rows of (name, count) keyed by name.
struct Harness {
    operator: SqlChangelogNormalizeOperator,
    output: Output<ArrowBatch>,
    sink: Collect<ArrowBatch>,
    streaming: bool,
}

impl Harness {
    fn new(mode: &str) -> Self {
        let columns = vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("cnt", DataType::Int64, true),
        ];
        let streaming = mode == "streaming";
        let mut output = columns.clone();
        if streaming {
            output.push(Field::new("$row_kind", DataType::Int8, false));
        }
        let spec = NormalizeSpec {
            columns: Arc::new(Schema::new(columns)),
            output: Arc::new(Schema::new(output)),
        };
        let sink = Collect::default();
        Harness {
            operator: SqlChangelogNormalizeOperator::new(Arc::new(spec), &info(mode)).unwrap(),
            output: Output::new(Box::new(sink.clone()), Vec::new()),
            sink,
            streaming,
        }
    }

    /// Sends an upsert (`+U`) of (name, count), or a tombstone (`-D`) of name when `count` is
    /// `None`, and returns the changes, as `+I[Bob, 1]`.
    fn send(&mut self, name: &str, count: Option<i64>) -> Vec<String> {
        let kind = match count {
            Some(_) => RowKind::UpdateAfter,
            None => RowKind::Delete,
        };
        let fields = vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("cnt", DataType::Int64, true),
            Field::new("$key", DataType::Binary, false),
            Field::new("$row_kind", DataType::Int8, false),
        ];
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec![name])),
            Arc::new(Int64Array::from(vec![count])),
            Arc::new(BinaryArray::from_vec(vec![name.as_bytes()])),
            Arc::new(Int8Array::from(vec![kind.code()])),
        ];
        let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap();
        self.operator
            .process_batch(&mut ArrowBatch::new(batch), &mut self.output)
            .unwrap();
        self.changes()
    }

    fn changes(&mut self) -> Vec<String> {
        super::test_changes::emitted(&mut self.output, &self.sink, self.streaming, "")
    }
}

#[test]
fn upserts_become_flinks_changelog_by_key() {
    let mut normalize = Harness::new("streaming");
    assert_eq!(normalize.send("Bob", Some(1)), ["+I[Bob, 1]"]);
    assert_eq!(normalize.send("Bob", Some(2)), ["-U[Bob, 1]", "+U[Bob, 2]"]);
    assert!(
        normalize.send("Bob", Some(2)).is_empty(),
        "an unchanged row"
    );
    assert_eq!(normalize.send("Bob", None), ["-D[Bob, 2]"]);
    assert!(
        normalize.send("Bob", None).is_empty(),
        "a key without a row"
    );
    assert_eq!(normalize.send("Bob", Some(3)), ["+I[Bob, 3]"]);
}

#[test]
fn a_restore_takes_back_each_keys_last_row() {
    let mut normalize = Harness::new("streaming");
    normalize.send("Ann", Some(1));
    normalize.send("Bob", Some(5));
    normalize.send("Ann", Some(2));
    let snapshot = normalize.operator.snapshot_state(CheckpointId(1)).unwrap();
    let mut keyed = snapshot.keyed.unwrap();
    keyed.materialize().unwrap();

    let mut restored = Harness::new("streaming");
    restored
        .operator
        .initialize_state(
            &info("streaming"),
            Some(OperatorSnapshot {
                keyed: Some(keyed),
                operator_state: Vec::new(),
            }),
        )
        .unwrap();
    assert_eq!(restored.send("Ann", Some(3)), ["-U[Ann, 2]", "+U[Ann, 3]"]);
    assert_eq!(restored.send("Bob", None), ["-D[Bob, 5]"]);
    assert!(restored.send("Ann", Some(3)).is_empty());
}

#[test]
fn batch_mode_emits_each_keys_last_row_at_the_end_of_input() {
    let mut normalize = Harness::new("batch");
    for (name, count) in [
        ("Ann", Some(1)),
        ("Bob", Some(5)),
        ("Ann", Some(2)),
        ("Bob", None),
    ] {
        assert!(normalize.send(name, count).is_empty());
    }
    normalize.operator.end_input(&mut normalize.output).unwrap();
    assert_eq!(normalize.changes(), ["+I[Ann, 2]"]);
}
