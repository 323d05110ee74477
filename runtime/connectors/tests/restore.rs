//! A job cancelled after a checkpoint and restored from it counts every record exactly once:
//! the sources resume from their checkpointed positions and the keyed counts from their
//! checkpointed state.

use std::path::Path;

use flinkrs_api::prelude::*;
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_dataflow::CompletedCheckpoint;
use flinkrs_state::storage::CheckpointLocation;

mod common;

const ROWS: u64 = 200_000;
const KEYS: u64 = 10;

/// numbers → (number % 10, 1) → running count per key, at parallelism 2, throttled so a run
/// lasts about two seconds; the count updates are collected.
fn counting_job(
    checkpoints: &Path,
    restore_from: Option<&CheckpointLocation>,
) -> (StreamExecutionEnvironment, CollectHandle<(u64, u64)>) {
    let location = restore_from.map(CheckpointLocation::to_string);
    let env = common::checkpointed(2, checkpoints, location.as_deref());
    let source =
        DataGenSource::new(ROWS, |index: u64, _: &mut RowRng| index).with_rows_per_second(100_000);
    let updates = env
        .add_source("Numbers", move |_| Ok(source.clone()))
        .map(|n: u64| (n % KEYS, 1u64))
        .key_by(|(key, _): &(u64, u64)| *key)
        .sum(|(_, count)| count)
        .uid("counts")
        .collect();
    (env, updates)
}

/// Runs the counting job until its first checkpoint completes, then cancels it; returns the
/// checkpoint the cancelled job retained (the first, or a later one that completed before the
/// cancel took effect).
fn checkpoint_then_cancel(checkpoints: &Path) -> CompletedCheckpoint {
    let (first, _) = counting_job(checkpoints, None);
    common::checkpoint_then_cancel(first.execute_async("counts, first run").unwrap())
}

#[test]
fn a_job_restored_from_a_checkpoint_counts_every_record_exactly_once() {
    let checkpoints = tempfile::tempdir().unwrap();
    let checkpoint = checkpoint_then_cancel(checkpoints.path());

    let (restored, collected) = counting_job(checkpoints.path(), Some(&checkpoint.location));
    restored.execute("counts, restored").unwrap();
    common::assert_resumed_exactly_once(&collected.take(), KEYS, ROWS);
}

#[test]
fn state_the_job_does_not_claim_is_refused_unless_it_may_be_ignored() {
    let checkpoints = tempfile::tempdir().unwrap();
    let checkpoint = checkpoint_then_cancel(checkpoints.path());

    // The same numbers, but the counts are another operator now: a reduce with a new uid.
    let renamed = |ignore_unclaimed: bool| {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2).unwrap();
        env.set(
            "execution.state-recovery.path",
            checkpoint.location.to_string(),
        )
        .unwrap();
        // Flink's older name of the key.
        env.set(
            "execution.savepoint.ignore-unclaimed-state",
            ignore_unclaimed.to_string(),
        )
        .unwrap();
        let source = DataGenSource::new(ROWS, |index: u64, _: &mut RowRng| index);
        env.add_source("Numbers", move |_| Ok(source.clone()))
            .key_by(|n: &u64| n % KEYS)
            .reduce(|a, b| a + b)
            .uid("sums")
            .discard();
        env.execute("renamed")
    };
    let error = renamed(false).unwrap_err().to_string();
    assert!(error.contains("holds state of operator(s)"), "{error}");
    assert!(
        error.contains("execution.state-recovery.ignore-unclaimed-state=true"),
        "{error}"
    );
    renamed(true).unwrap();
}

#[test]
fn state_of_another_type_is_refused_naming_both_types_even_when_unclaimed_state_may_go() {
    let checkpoints = tempfile::tempdir().unwrap();
    let checkpoint = checkpoint_then_cancel(checkpoints.path());

    // The operator with uid "counts" now reduces text, not numbers.
    let retyped = |uid: &str, ignore_unclaimed: bool| {
        let env = StreamExecutionEnvironment::new();
        env.set_parallelism(2).unwrap();
        env.set(
            "execution.state-recovery.path",
            checkpoint.location.to_string(),
        )
        .unwrap();
        env.set(
            "execution.state-recovery.ignore-unclaimed-state",
            ignore_unclaimed.to_string(),
        )
        .unwrap();
        let source = DataGenSource::new(1_000, |index: u64, _: &mut RowRng| index);
        env.add_source("Numbers", move |_| Ok(source.clone()))
            .map(|n: u64| (n % KEYS, n.to_string()))
            .key_by(|(key, _): &(u64, String)| *key)
            .reduce(|(key, a), (_, b)| (key, a + &b))
            .uid(uid)
            .discard();
        env.execute("retyped")
    };
    for ignore_unclaimed in [false, true] {
        let error = retyped("counts", ignore_unclaimed).unwrap_err().to_string();
        assert!(
            error.contains(
                "state 'reduce' was checkpointed with values of type \
                 core::option::Option<(u64, u64)> but the job registers it with type \
                 core::option::Option<(u64, alloc::string::String)>"
            ),
            "{error}"
        );
        assert!(error.contains("give the operator a new uid"), "{error}");
    }
    // Under a new uid, the old state is unclaimed and may be dropped.
    retyped("text", true).unwrap();
}

#[test]
fn a_restore_from_a_truncated_task_state_file_fails_naming_the_file_at_any_parallelism() {
    let checkpoints = tempfile::tempdir().unwrap();
    let checkpoint = checkpoint_then_cancel(checkpoints.path());
    let folder = checkpoint.location.as_local().unwrap().to_path_buf();
    // The keyed counts' state file of subtask 1, cut short by 5 bytes.
    let stored = flinkrs_state::storage::StoredCheckpoint::open(&folder).unwrap();
    let handle = stored
        .metadata
        .tasks
        .iter()
        .find(|handle| {
            handle.subtask == 1 && handle.operators.iter().any(|index| index.keyed.is_some())
        })
        .unwrap();
    let file = folder.join(&handle.file);
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() - 5]).unwrap();
    for parallelism in [2, 1] {
        let env = common::checkpointed(
            parallelism,
            checkpoints.path(),
            Some(&checkpoint.location.to_string()),
        );
        let source = DataGenSource::new(ROWS, |index: u64, _: &mut RowRng| index);
        env.add_source("Numbers", move |_| Ok(source.clone()))
            .map(|n: u64| (n % KEYS, 1u64))
            .key_by(|(key, _): &(u64, u64)| *key)
            .sum(|(_, count)| count)
            .uid("counts")
            .discard();
        let error = env.execute("counts, restored").unwrap_err().to_string();
        let expected = format!(
            "checkpoint file '{}': truncated: _metadata says the file holds {} bytes",
            file.display(),
            bytes.len()
        );
        assert!(error.contains(&expected), "{expected:?} in: {error}");
        assert!(
            error.contains(&format!("but it ends at byte {}", bytes.len() - 5)),
            "{error}"
        );
    }
}
