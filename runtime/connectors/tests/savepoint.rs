//! Savepoints: taken on demand into a folder of their own, self-contained, so a savepoint
//! moved elsewhere restores a job exactly once; and refused with a reason when they cannot be
//! taken.

use std::collections::BTreeMap;
use std::time::Duration;

use flinkrs_api::prelude::*;
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_state::storage::{CheckpointLocation, METADATA_FILE};

const ROWS: u64 = 200_000;
const KEYS: u64 = 10;
/// A guard against a hang, not a synchronization.
const PATIENCE: Duration = Duration::from_secs(60);

/// numbers → (number % 10, 1) → running count per key, at parallelism 2; the updates are
/// collected. Checkpoints every 30 ms into `checkpoints` unless `checkpoints` is `None`.
fn counting_job(
    checkpoints: Option<&std::path::Path>,
    restore_from: Option<&std::path::Path>,
) -> (StreamExecutionEnvironment, CollectHandle<(u64, u64)>) {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    if let Some(checkpoints) = checkpoints {
        env.set("execution.checkpointing.interval", "30 ms")
            .unwrap();
        env.set(
            "execution.checkpointing.dir",
            checkpoints.display().to_string(),
        )
        .unwrap();
    }
    if let Some(path) = restore_from {
        env.set("execution.state-recovery.path", path.display().to_string())
            .unwrap();
    }
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

#[test]
fn a_savepoint_moved_to_another_folder_restores_the_job_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let checkpoints = dir.path().join("checkpoints");
    let savepoints = dir.path().join("savepoints");
    let (first, _) = counting_job(Some(&checkpoints), None);
    let job = first.execute_async("counts, savepointed").unwrap();
    job.completed_checkpoints()
        .recv_timeout(PATIENCE)
        .expect("the job checkpoints");
    let savepoint = job
        .client()
        .trigger_savepoint(Some(&savepoints.display().to_string()))
        .recv_timeout(PATIENCE)
        .expect("the savepoint answers")
        .expect("the savepoint completes");
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));

    // savepoint-<first six of the job id>-<random>, under the folder asked for.
    let CheckpointLocation::Local(folder) = &savepoint else {
        panic!("a local savepoint: {savepoint}");
    };
    assert_eq!(folder.parent(), Some(savepoints.as_path()));
    let name = folder.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("savepoint-"), "{name}");
    assert!(folder.join(METADATA_FILE).is_file());
    // Retention never deleted it, though the job's checkpoints went on and were cancelled.
    let moved = dir.path().join("elsewhere").join(&name);
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(folder, &moved).unwrap();

    let (restored, collected) = counting_job(Some(&checkpoints), Some(&moved));
    restored
        .execute("counts, from the moved savepoint")
        .unwrap();
    let updates = collected.take();
    let mut last: BTreeMap<u64, u64> = BTreeMap::new();
    let mut first_after_restore: BTreeMap<u64, u64> = BTreeMap::new();
    for &(key, count) in &updates {
        first_after_restore.entry(key).or_insert(count);
        last.insert(key, count);
    }
    let expected: BTreeMap<u64, u64> = (0..KEYS).map(|key| (key, ROWS / KEYS)).collect();
    assert_eq!(last, expected, "every record counted exactly once");
    assert!(
        first_after_restore.values().all(|&count| count > 1),
        "the counts resumed from the savepoint's state: {first_after_restore:?}"
    );
    assert!((updates.len() as u64) < ROWS);
}

#[test]
fn a_savepoint_without_a_folder_or_without_checkpointing_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (env, _) = counting_job(Some(&dir.path().join("checkpoints")), None);
    let job = env.execute_async("counts").unwrap();
    let error = job
        .client()
        .trigger_savepoint(None)
        .recv_timeout(PATIENCE)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "no folder for the savepoint: name one, or set execution.checkpointing.savepoint-dir"
        ),
        "{error}"
    );
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));

    let (env, _) = counting_job(None, None);
    let job = env.execute_async("counts, no checkpoints").unwrap();
    let error = job
        .client()
        .trigger_savepoint(Some("/tmp"))
        .recv_timeout(PATIENCE)
        .unwrap()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("savepoints need checkpointing on in streaming mode"),
        "{error}"
    );
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
}
