//! Rescaling from S3, against real servers of the testbed (s3s-fs and moto): a job
//! checkpointed at parallelism 3 and restored from its `s3://…/chk-<n>` location at 1 and at 5
//! ends with exactly the state of a run that was never stopped. Each subtask reads only its
//! key groups, with ranged GetObjects: they give the same state as the same ranges of a copy
//! of the checkpoint in a folder, and a task object cut short is an error naming it.

use std::collections::BTreeMap;

use flinkrs_api::prelude::*;
use flinkrs_connectors::datagen::{DataGenSource, RowRng};
use flinkrs_core::KeyGroupRange;
use flinkrs_state::storage::{
    CheckpointLocation, OperatorStateRequest, S3Settings, StoredCheckpoint,
};
use flinkrs_testbed::S3Server;

mod common;

const ROWS: u64 = 150_000;
const KEYS: u64 = 12;

/// Per key: how many numbers, and their sum.
type Update = (u64, u64, u64);

fn settings(server: &S3Server) -> S3Settings {
    S3Settings {
        endpoint: Some(server.endpoint.clone()),
        path_style_access: true,
        ..S3Settings::default()
    }
    .with_credentials(&server.access_key, &server.secret_key)
}

/// numbers → (number % KEYS, 1, number) → per key a running count and sum, at
/// `parallelism`, checkpointing into `server` every 30 ms; every update is collected.
fn summing_job(
    server: &S3Server,
    parallelism: usize,
    restore_from: Option<&str>,
) -> (StreamExecutionEnvironment, CollectHandle<Update>) {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    for (key, value) in [
        ("execution.checkpointing.interval", "30 ms".to_owned()),
        (
            "execution.checkpointing.externalized-checkpoint-retention",
            "RETAIN_ON_CANCELLATION".to_owned(),
        ),
        ("restart-strategy.type", "none".to_owned()),
        (
            "execution.checkpointing.dir",
            format!("s3://{}/checkpoints", server.bucket),
        ),
        ("s3.endpoint", server.endpoint.clone()),
        ("s3.path.style.access", "true".to_owned()),
        ("s3.access-key", server.access_key.clone()),
        ("s3.secret-key", server.secret_key.clone()),
    ] {
        env.set(key, value).unwrap();
    }
    if let Some(location) = restore_from {
        env.set("execution.state-recovery.path", location).unwrap();
    }
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

/// Restores the job at 1 and at 5 from `location`: every key ends with exactly the count and
/// sum of a run never stopped, with each count after the checkpoint's exactly once.
fn restore_at_one_and_five_exactly(server: &S3Server, location: &str) {
    let expected: BTreeMap<u64, (u64, u64)> = (0..KEYS)
        .map(|key| {
            let numbers = (0..ROWS).filter(|n| n % KEYS == key);
            (key, (ROWS / KEYS, numbers.sum()))
        })
        .collect();
    for parallelism in [1, 5] {
        let (restored, collected) = summing_job(server, parallelism, Some(location));
        restored
            .execute(&format!("sums restored from S3 at {parallelism}"))
            .unwrap();
        let updates = collected.take();
        let last: BTreeMap<u64, (u64, u64)> = updates
            .iter()
            .map(|&(key, count, sum)| (key, (count, sum)))
            .collect();
        assert_eq!(last, expected, "state at parallelism {parallelism}");
        let mut counts: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
        for &(key, count, _) in &updates {
            counts.entry(key).or_default().push(count);
        }
        for (key, mut counts) in counts {
            counts.sort_unstable();
            let consecutive: Vec<u64> = (counts[0]..=ROWS / KEYS).collect();
            assert_eq!(counts, consecutive, "key {key} at {parallelism}");
        }
        assert!(
            (updates.len() as u64) < ROWS,
            "numbers before the checkpoint were not replayed at parallelism {parallelism}"
        );
    }
}

/// Copies the checkpoint at `location` (an S3 prefix) into a new local folder.
fn copy_to_folder(
    server: &S3Server,
    stored: &StoredCheckpoint,
    tokio: &tokio::runtime::Runtime,
) -> tempfile::TempDir {
    let CheckpointLocation::S3(prefix) = &stored.location else {
        panic!("not in S3: {}", stored.location);
    };
    let copy = tempfile::tempdir().unwrap();
    let files = stored
        .metadata
        .tasks
        .iter()
        .map(|handle| handle.file.clone())
        .chain([flinkrs_state::storage::METADATA_FILE.to_owned()]);
    for file in files {
        let key = format!("{}{file}", prefix.folder_prefix());
        let bytes = tokio.block_on(async {
            let object = server
                .client()
                .await
                .get_object()
                .bucket(&server.bucket)
                .key(key)
                .send()
                .await
                .unwrap();
            object.body.collect().await.unwrap().into_bytes().to_vec()
        });
        std::fs::write(copy.path().join(file), bytes).unwrap();
    }
    copy
}

/// Each subtask of 5 reads the same state of "sums" through ranged GetObjects as from a copy
/// of the checkpoint in a folder, and only of its own key groups; a task object cut short is
/// an error naming it and where it ends.
fn ranged_reads_match_a_local_copy(
    server: &S3Server,
    location: &CheckpointLocation,
    tokio: &tokio::runtime::Runtime,
) {
    let stored = StoredCheckpoint::open_at(location, &settings(server)).unwrap();
    let copy = copy_to_folder(server, &stored, tokio);
    let local = StoredCheckpoint::open(copy.path()).unwrap();
    let (handle, index) = stored
        .metadata
        .tasks
        .iter()
        .find_map(|handle| {
            let index = handle
                .operators
                .iter()
                .find(|index| index.keyed.is_some())?;
            Some((handle, index))
        })
        .expect("the keyed operator's state");
    let keyed = index.keyed.as_ref().unwrap();
    let max_parallelism = keyed.max_parallelism;
    let mut restored_key_groups = std::collections::BTreeSet::new();
    for subtask in 0..5 {
        let range = KeyGroupRange::for_operator(max_parallelism, 5, subtask);
        let request = OperatorStateRequest {
            operator_id: &index.operator_id,
            max_parallelism,
            key_groups: range,
            operator_state_of: None,
        };
        let from_s3 = stored.read_operator_state(&request).unwrap();
        assert_eq!(from_s3, local.read_operator_state(&request).unwrap());
        for state in &from_s3.keyed.unwrap().states {
            assert!(state.key_groups.keys().all(|&group| range.contains(group)));
            restored_key_groups.extend(state.key_groups.keys().copied());
        }
    }
    // Together the subtasks restored every key group of the checkpoint.
    let checkpointed: std::collections::BTreeSet<usize> = stored
        .metadata
        .tasks
        .iter()
        .flat_map(|handle| &handle.operators)
        .filter(|operator| operator.operator_id == index.operator_id)
        .flat_map(|operator| &operator.keyed.as_ref().unwrap().key_groups)
        .map(|block| block.key_group)
        .collect();
    assert_eq!(restored_key_groups, checkpointed);
    assert!(!checkpointed.is_empty());

    // Cut the object three bytes into its first key group's block.
    let object = stored.location.join(&handle.file);
    let CheckpointLocation::S3(object_location) = &object else {
        unreachable!()
    };
    let bytes = std::fs::read(copy.path().join(&handle.file)).unwrap();
    let cut = keyed.offset as usize + 3;
    tokio.block_on(async {
        server
            .client()
            .await
            .put_object()
            .bucket(&server.bucket)
            .key(&object_location.key)
            .body(bytes[..cut].to_vec().into())
            .send()
            .await
            .unwrap();
    });
    let read = |start: usize| {
        stored
            .read_operator_state(&OperatorStateRequest {
                operator_id: &index.operator_id,
                max_parallelism,
                key_groups: KeyGroupRange {
                    start,
                    end: max_parallelism - 1,
                },
                operator_state_of: None,
            })
            .unwrap_err()
            .to_string()
    };
    let first = keyed.key_groups[0].key_group;
    let message = read(first);
    assert!(message.contains(&format!("'{object}'")), "{message}");
    assert!(
        message.contains(&format!("but it ends at byte {cut};")),
        "{message}"
    );
    // A range that starts past the end of what is left: the store answers 416.
    if let Some(last) = keyed.key_groups.get(1) {
        let message = read(last.key_group);
        assert!(message.contains(&format!("'{object}'")), "{message}");
        assert!(message.contains("or before;"), "{message}");
    }
}

fn checkpoint_at_three_then_restore_rescaled(server: S3Server, tokio: &tokio::runtime::Runtime) {
    let (first, _) = summing_job(&server, 3, None);
    let checkpoint = common::checkpoint_then_cancel(first.execute_async("sums at 3").unwrap());
    let location = checkpoint.location.to_string();
    assert!(location.starts_with("s3://"), "{location}");
    restore_at_one_and_five_exactly(&server, &location);
    ranged_reads_match_a_local_copy(&server, &checkpoint.location, tokio);
}

#[test]
fn a_checkpoint_at_three_in_s3s_fs_restores_at_one_and_at_five_exactly_with_ranged_reads() {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let test = "a_checkpoint_at_three_in_s3s_fs_restores_at_one_and_at_five_exactly";
    if let Some(server) = tokio.block_on(S3Server::start_s3s_fs(test)) {
        checkpoint_at_three_then_restore_rescaled(server, &tokio);
    }
}

#[test]
fn a_checkpoint_at_three_in_moto_restores_at_one_and_at_five_exactly_with_ranged_reads() {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let test = "a_checkpoint_at_three_in_moto_restores_at_one_and_at_five_exactly";
    if let Some(server) = tokio.block_on(S3Server::start_moto(test)) {
        checkpoint_at_three_then_restore_rescaled(server, &tokio);
    }
}
