//! Savepoints: taken on demand into a folder of their own, self-contained, so a savepoint
//! moved elsewhere restores a job exactly once; and refused with a reason when they cannot be
//! taken.

use flinkrs_api::prelude::*;
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_state::storage::{CheckpointLocation, METADATA_FILE};

mod common;

use common::PATIENCE;

const ROWS: u64 = 200_000;
const KEYS: u64 = 10;

/// numbers → (number % 10, 1) → running count per key, at parallelism 2; the updates are
/// collected. Checkpoints every 30 ms into `checkpoints` unless `checkpoints` is `None`.
fn counting_job(
    checkpoints: Option<&std::path::Path>,
    restore_from: Option<&std::path::Path>,
) -> (StreamExecutionEnvironment, CollectHandle<(u64, u64)>) {
    let restore_from = restore_from.map(|path| path.display().to_string());
    let env = match checkpoints {
        Some(checkpoints) => common::checkpointed(2, checkpoints, restore_from.as_deref()),
        None => {
            let env = StreamExecutionEnvironment::new();
            env.set_parallelism(2).unwrap();
            env
        }
    };
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
    let first_after_restore = common::assert_resumed_exactly_once(&collected.take(), KEYS, ROWS);
    assert!(
        first_after_restore.values().all(|&count| count > 1),
        "every key's count resumed from the savepoint's state: {first_after_restore:?}"
    );
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
