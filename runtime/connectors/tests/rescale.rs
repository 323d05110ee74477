//! Rescaling: a job checkpointed at parallelism 3 and restored at 1 and at 5 ends with exactly
//! the state and output of a run that was never stopped. Keyed state moves by key group, and
//! the source's splits are dealt out among the new subtasks.

use std::collections::BTreeMap;
use std::path::Path;

use flinkrs_api::prelude::*;
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_dataflow::CompletedCheckpoint;

mod common;

const ROWS: u64 = 150_000;
const KEYS: u64 = 12;

/// Per key: how many numbers, and their sum.
type Update = (u64, u64, u64);

/// numbers → (number % KEYS, 1, number) → per key a running count and sum, at `parallelism`;
/// every update is collected.
fn summing_job(
    parallelism: usize,
    checkpoints: &Path,
    restore_from: Option<&str>,
) -> (StreamExecutionEnvironment, CollectHandle<Update>) {
    let env = common::checkpointed(parallelism, checkpoints, restore_from);
    let source =
        DataGenSource::new(ROWS, |index: u64, _: &mut RowRng| index).with_rows_per_second(75_000);
    let updates = env
        .add_source("Numbers", move |_| Ok(source.clone()))
        .uid("numbers")
        .map(|n: u64| (n % KEYS, 1u64, n))
        .key_by(|(key, _, _): &Update| *key)
        .reduce(|(key, count, sum), (_, more, added)| (key, count + more, sum + added))
        .uid("sums")
        .collect();
    (env, updates)
}

/// The final count and sum of every key.
fn last_per_key(updates: &[Update]) -> BTreeMap<u64, (u64, u64)> {
    updates
        .iter()
        .map(|&(key, count, sum)| (key, (count, sum)))
        .collect()
}

fn checkpoint_at_three(checkpoints: &Path) -> CompletedCheckpoint {
    let (first, _) = summing_job(3, checkpoints, None);
    common::checkpoint_then_cancel(first.execute_async("sums at 3").unwrap())
}

#[test]
fn a_checkpoint_at_parallelism_three_restores_at_one_and_at_five_exactly() {
    // What a run that is never stopped ends with: every number once.
    let expected: BTreeMap<u64, (u64, u64)> = (0..KEYS)
        .map(|key| {
            let numbers = (0..ROWS).filter(|n| n % KEYS == key);
            (key, (ROWS / KEYS, numbers.sum()))
        })
        .collect();
    let checkpoints = tempfile::tempdir().unwrap();
    let checkpoint = checkpoint_at_three(checkpoints.path());
    let location = checkpoint.location.to_string();
    for parallelism in [1, 5] {
        let (restored, collected) = summing_job(parallelism, checkpoints.path(), Some(&location));
        restored
            .execute(&format!("sums restored at {parallelism}"))
            .unwrap();
        let updates = collected.take();
        assert_eq!(
            last_per_key(&updates),
            expected,
            "state at parallelism {parallelism}"
        );
        // The output after the restore: for every key, the counts from the checkpoint's on,
        // each exactly once, and at least one key resumed from checkpointed state.
        let mut counts: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for &(key, count, _) in &updates {
            counts.entry(key).or_default().push(count);
        }
        for (key, mut counts) in counts {
            counts.sort_unstable();
            let first = counts[0];
            let consecutive: Vec<u64> = (first..=ROWS / KEYS).collect();
            assert_eq!(
                counts, consecutive,
                "key {key} at parallelism {parallelism}"
            );
        }
        assert!(
            (updates.len() as u64) < ROWS,
            "numbers before the checkpoint were not replayed at parallelism {parallelism}"
        );
    }
}
