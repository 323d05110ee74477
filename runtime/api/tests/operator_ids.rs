//! Operator ids, the keys of state in savepoints, as programs change: derived from the
//! topology, kept by renames and by unrelated insertions, overridden by `uid`.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use flinkrs_api::prelude::*;
use flinkrs_dataflow::{Operator, Output};

/// Each operator's display name and id, in declaration order.
fn operator_ids(env: &StreamExecutionEnvironment) -> Vec<(String, String)> {
    let graph = env.stream_graph("ids");
    let ids = graph.operator_ids().unwrap();
    graph
        .nodes
        .iter()
        .zip(ids)
        .map(|(node, id)| (node.name.clone(), id.to_string()))
        .collect()
}

fn id_of(ids: &[(String, String)], name: &str) -> String {
    let matching: Vec<&String> = ids
        .iter()
        .filter(|(node, _)| node == name)
        .map(|(_, id)| id)
        .collect();
    assert_eq!(matching.len(), 1, "exactly one operator is named {name:?}");
    matching[0].clone()
}

/// Two independent pipelines; the first may have an extra map right after its source.
fn two_pipelines(insert_map: bool) -> Vec<(String, String)> {
    let env = StreamExecutionEnvironment::new();
    let mut first = env.from_collection(vec![1_u64, 2, 3]).name("first source");
    if insert_map {
        first = first.map(|n| n * 2).name("inserted map");
    }
    first
        .filter(|n| n % 2 == 0)
        .name("first filter")
        .discard()
        .name("first sink");
    env.from_collection(vec![4_u64, 5])
        .name("second source")
        .map(|n| n + 1)
        .name("second map")
        .key_by(|n: &u64| n % 2)
        .reduce(|a, b| a + b)
        .name("second reduce")
        .discard()
        .name("second sink");
    operator_ids(&env)
}

#[test]
fn inserting_an_operator_keeps_the_ids_of_an_unrelated_pipeline() {
    let before = two_pipelines(false);
    let after = two_pipelines(true);
    for name in [
        "second source",
        "second map",
        "second reduce",
        "second sink",
    ] {
        assert_eq!(id_of(&before, name), id_of(&after, name), "{name}");
    }
    assert_eq!(
        id_of(&before, "first source"),
        id_of(&after, "first source")
    );
    // Downstream of the insertion the ids change, as in Flink: only a uid keeps them.
    for name in ["first filter", "first sink"] {
        assert_ne!(id_of(&before, name), id_of(&after, name), "{name}");
    }
}

fn with_optional_name(rename: bool) -> Vec<String> {
    let env = StreamExecutionEnvironment::new();
    let mut mapped = env.from_collection(vec![1_u64]).map(|n| n + 1);
    if rename {
        mapped = mapped.name("Enrich orders");
    }
    mapped.discard();
    operator_ids(&env).into_iter().map(|(_, id)| id).collect()
}

#[test]
fn renaming_an_operator_keeps_every_id() {
    assert_eq!(with_optional_name(false), with_optional_name(true));
}

/// source -> [filter] -> map (uid "enrich-orders") -> filter -> sink
fn uid_after_optional_filter(insert_filter: bool) -> Vec<(String, String)> {
    let env = StreamExecutionEnvironment::new();
    let mut stream = env.from_collection(vec![1_u64, 2]);
    if insert_filter {
        stream = stream.filter(|n| *n > 0).name("inserted filter");
    }
    stream
        .map(|n| n * 10)
        .name("enrich")
        .uid("enrich-orders")
        .filter(|n| *n > 10)
        .name("after enrich")
        .discard()
        .name("sink");
    operator_ids(&env)
}

#[test]
fn a_uid_fixes_the_id_of_its_operator_and_of_everything_after_it() {
    let before = uid_after_optional_filter(false);
    let after = uid_after_optional_filter(true);
    // The hash of the uid, the same OperatorID Flink derives from it.
    assert_eq!(id_of(&before, "enrich"), "7f6d5ac814a3d4568cece298d26b739b");
    for name in ["enrich", "after enrich", "sink"] {
        assert_eq!(id_of(&before, name), id_of(&after, name), "{name}");
    }
}

#[test]
fn identical_sibling_branches_get_distinct_ids() {
    let env = StreamExecutionEnvironment::new();
    let source = env.from_collection(vec![1_u64, 2]);
    for _ in 0..2 {
        source.map(|n| n + 1).discard();
    }
    let ids = operator_ids(&env);
    let distinct: BTreeSet<&String> = ids.iter().map(|(_, id)| id).collect();
    assert_eq!(ids.len(), 5);
    assert_eq!(distinct.len(), 5, "{ids:?}");
}

/// A program with most kinds of operators: union, side output, keyed state and a window.
fn varied_program() -> Vec<(String, String)> {
    let env = StreamExecutionEnvironment::new();
    let late = OutputTag::<(u64, u64)>::new("late");
    let numbers = env.from_collection((0..20_u64).collect());
    let others = env.from_collection((20..40_u64).collect());
    let windowed = numbers
        .union(&[others])
        .map(|n| (n % 3, n))
        .assign_timestamps_and_watermarks(
            WatermarkStrategy::for_monotonous_timestamps()
                .with_timestamp_assigner(|(_, n): &(u64, u64), _| *n as i64),
        )
        .key_by(|(key, _): &(u64, u64)| *key)
        .window(TumblingEventTimeWindows::of(Duration::from_millis(5)))
        .side_output_late_data(&late)
        .reduce(|a, b| (a.0, a.1 + b.1));
    windowed.get_side_output(&late).discard();
    windowed.discard();
    operator_ids(&env)
}

#[test]
fn ids_are_the_same_in_every_build_of_a_program() {
    let first = varied_program();
    let second = varied_program();
    // Two sources, map, timestamps, window, two sinks: the union is edges, not an operator.
    assert_eq!(first.len(), 7);
    let distinct: BTreeSet<&String> = first.iter().map(|(_, id)| id).collect();
    assert_eq!(distinct.len(), 7, "{first:?}");
    assert_eq!(first, second);
}

/// Records the operator id its task was given.
struct RecordOperatorId;

impl Operator<Vec<Record<u64>>, Vec<Record<u64>>> for RecordOperatorId {
    fn process_batch(
        &mut self,
        batch: &mut Vec<Record<u64>>,
        out: &mut Output<Vec<Record<u64>>>,
    ) -> Result<()> {
        out.push_batch(batch)
    }
}

#[test]
fn each_task_is_given_its_operators_derived_id() {
    let env = StreamExecutionEnvironment::new();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&seen);
    env.from_collection(vec![1_u64, 2])
        .transform("Recorder", move |info: &TaskInfo| {
            recorder.lock().unwrap().push(info.operator_id.clone());
            RecordOperatorId
        })
        .discard();
    let expected = id_of(&operator_ids(&env), "Recorder");
    env.execute("operator ids").unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![expected]);
}

#[test]
fn a_repeated_uid_fails_the_job_before_it_runs() {
    let env = StreamExecutionEnvironment::new();
    env.from_collection(vec![1_u64])
        .map(|n| n + 1)
        .uid("twice")
        .map(|n| n * 2)
        .uid("twice")
        .discard();
    let error = env.execute("repeated uid").unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid job: operators 'Map' and 'Map' have the same uid 'twice': a uid must be \
         unique within a job"
    );
}
