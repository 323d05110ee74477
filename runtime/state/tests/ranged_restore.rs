//! A rescaled restore reads only the bytes of its own key groups: keyed state checkpointed by
//! three subtasks into local files, restored by five, by one and by three again, through a
//! store that counts the requests and bytes it serves per file.

use std::collections::BTreeMap;
use std::path::Path;

use flinkrs_core::{KeyGroupRange, assign_to_key_group};
use flinkrs_state::storage::{
    CheckpointLocation, CheckpointMetadata, CheckpointStorage, FileReads, LocalFileStore,
    OperatorStateParts, OperatorStateRequest, StoredCheckpoint, TaskStateFile,
};
use flinkrs_state::{KeyedStateBackend, ListState, ValueState};

const MAX_PARALLELISM: usize = 128;
const KEYS: u64 = 3000;
const JOB: &str = "00000000000000000000000000000123";
const OPERATOR: &str = "sums";

fn key(n: u64) -> String {
    format!("key-{n}")
}

fn backend(parallelism: usize, subtask: usize) -> KeyedStateBackend<String> {
    KeyedStateBackend::new(
        MAX_PARALLELISM,
        KeyGroupRange::for_operator(MAX_PARALLELISM, parallelism, subtask),
    )
}

/// Checkpoint 1 of three subtasks, each with a "count" and a "seen" of the keys it owns;
/// returns the checkpoint's folder.
fn checkpoint_at_three(root: &Path) -> CheckpointLocation {
    let storage = CheckpointStorage::local(root);
    let mut tasks = Vec::new();
    for subtask in 0..3 {
        let mut backend = backend(3, subtask);
        let count = ValueState::<u64>::register(&mut backend, "count").unwrap();
        let seen = ListState::<u64>::register(&mut backend, "seen").unwrap();
        let range = backend.key_group_range();
        for n in (0..KEYS).filter(|&n| range.contains(assign_to_key_group(&key(n), 128))) {
            backend.set_current_key(key(n));
            count.update(&mut backend, n).unwrap();
            seen.add(&mut backend, n).unwrap();
            seen.add(&mut backend, n + 1).unwrap();
        }
        let mut snapshot = backend.snapshot().unwrap();
        snapshot.materialize().unwrap();
        let file = TaskStateFile::encode([OperatorStateParts {
            operator_id: OPERATOR,
            operator_state: &[],
            keyed: Some(&snapshot),
        }])
        .unwrap();
        tasks.push(storage.write_task_state(JOB, 1, 0, subtask, &file).unwrap());
    }
    storage
        .write_metadata(&CheckpointMetadata {
            job_id: JOB.to_owned(),
            checkpoint: 1,
            tasks,
        })
        .unwrap()
}

/// Restores subtask `subtask` of `parallelism` from `stored`; checks that it holds exactly
/// the keys of its key groups with their values.
fn restore_and_check(stored: &StoredCheckpoint, parallelism: usize, subtask: usize) {
    let range = KeyGroupRange::for_operator(MAX_PARALLELISM, parallelism, subtask);
    let restored = stored
        .read_operator_state(&OperatorStateRequest {
            operator_id: OPERATOR,
            max_parallelism: MAX_PARALLELISM,
            key_groups: range,
            operator_state_of: Some(subtask).filter(|_| parallelism == 3),
        })
        .unwrap();
    let mut backend = backend(parallelism, subtask);
    backend.restore(restored.keyed.unwrap()).unwrap();
    let count = ValueState::<u64>::register(&mut backend, "count").unwrap();
    let seen = ListState::<u64>::register(&mut backend, "seen").unwrap();
    let mut owned = 0;
    for n in 0..KEYS {
        let mine = range.contains(assign_to_key_group(&key(n), 128));
        owned += usize::from(mine);
        backend.set_current_key(key(n));
        assert_eq!(count.value(&backend), mine.then_some(n), "{}", key(n));
        let expected: &[u64] = if mine { &[n, n + 1] } else { &[] };
        assert_eq!(seen.get(&backend), expected, "{}", key(n));
    }
    assert_eq!(backend.entry_count(), 2 * owned);
}

/// Restores every subtask of `parallelism`; returns what each read of each old file.
fn reads_of_restore(
    folder: &CheckpointLocation,
    parallelism: usize,
) -> Vec<BTreeMap<usize, FileReads>> {
    let (store, counter) = LocalFileStore::counting_reads();
    let stored = StoredCheckpoint::open_local_with(folder.as_local().unwrap(), store).unwrap();
    counter.take();
    let file_subtask: BTreeMap<CheckpointLocation, usize> = stored
        .metadata
        .tasks
        .iter()
        .map(|handle| (folder.join(&handle.file), handle.subtask))
        .collect();
    (0..parallelism)
        .map(|subtask| {
            restore_and_check(&stored, parallelism, subtask);
            counter
                .take()
                .into_iter()
                .map(|(file, reads)| (file_subtask[&file], reads))
                .collect()
        })
        .collect()
}

/// The key groups old subtask `old` of 3 and new subtask `new` of `parallelism` share.
fn shared_key_groups(old: usize, new: usize, parallelism: usize) -> usize {
    let old = KeyGroupRange::for_operator(MAX_PARALLELISM, 3, old);
    let new = KeyGroupRange::for_operator(MAX_PARALLELISM, parallelism, new);
    (old.start.max(new.start)..=old.end.min(new.end)).count()
}

#[test]
fn a_rescaled_restore_reads_each_byte_of_the_old_files_once_in_one_request_per_file() {
    let root = tempfile::tempdir().unwrap();
    let folder = checkpoint_at_three(root.path());
    let stored = StoredCheckpoint::open(folder.as_local().unwrap()).unwrap();
    let file_lengths: Vec<u64> = {
        let mut handles = stored.metadata.tasks.clone();
        handles.sort_by_key(|handle| handle.subtask);
        handles.iter().map(|handle| handle.length).collect()
    };

    for parallelism in [5, 1, 3] {
        let reads = reads_of_restore(&folder, parallelism);
        let mut read_per_file = [0u64; 3];
        for (new, by_file) in reads.iter().enumerate() {
            for old in 0..3 {
                let shared = shared_key_groups(old, new, parallelism);
                let file = by_file.get(&old).copied().unwrap_or_default();
                // A file with none of the subtask's key groups is not read at all; one with
                // some is read in one request, and not whole unless all of it is the
                // subtask's.
                assert_eq!(
                    file.requests,
                    u64::from(shared > 0),
                    "subtask {new} of {parallelism}, old file {old}"
                );
                let owns_the_whole_file = shared == KeyGroupRange::for_operator(128, 3, old).len();
                assert_eq!(
                    file.bytes == file_lengths[old],
                    owns_the_whole_file,
                    "subtask {new} of {parallelism} read {} of the {} bytes of file {old}",
                    file.bytes,
                    file_lengths[old]
                );
                read_per_file[old] += file.bytes;
            }
        }
        // Together the new subtasks read every byte of every file exactly once: no subtask
        // read a byte of another's key groups.
        assert_eq!(
            read_per_file.to_vec(),
            file_lengths,
            "bytes read per file at {parallelism}"
        );
    }
}

#[test]
fn a_subtask_reads_exactly_the_blocks_of_its_key_groups_as_metadata_places_them() {
    let root = tempfile::tempdir().unwrap();
    let folder = checkpoint_at_three(root.path());
    let stored = StoredCheckpoint::open(folder.as_local().unwrap()).unwrap();
    let reads = reads_of_restore(&folder, 5);
    for (new, by_file) in reads.iter().enumerate() {
        let range = KeyGroupRange::for_operator(MAX_PARALLELISM, 5, new);
        for handle in &stored.metadata.tasks {
            let keyed = handle.operators[0].keyed.as_ref().unwrap();
            let (bytes, blocks) = keyed.blocks_in(range);
            // The subtask that reads a file's first block reads its header along.
            let header = match blocks.first() {
                Some(first) if first.key_group == keyed.key_groups[0].key_group => 10,
                _ => 0,
            };
            let read = by_file.get(&handle.subtask).copied().unwrap_or_default();
            assert_eq!(read.bytes, bytes.length + header, "subtask {new}");
            assert!(blocks.iter().all(|block| range.contains(block.key_group)));
        }
    }
}
