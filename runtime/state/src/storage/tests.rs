//! File checkpoint storage on a real filesystem: the layout, a moved checkpoint, retention by
//! deletion, and every kind of damaged file.

use std::fs;
use std::path::Path;

use flinkrs_core::KeyGroupRange;

use super::{
    CheckpointLocation, CheckpointMetadata, CheckpointStorage, METADATA_FILE, OperatorStateParts,
    OperatorStateRequest, RestoredOperatorState, StoredCheckpoint, TaskStateFile,
};
use crate::{KeyedStateSnapshot, StateSnapshot};

const JOB: &str = "0000000000000000000000000000abcd";

/// The source's list state in task-0-0.
fn source_state() -> Vec<Vec<u8>> {
    vec![b"source offsets".to_vec()]
}

/// The keyed state in task-1-2: key groups 3 and 5 of "count", 5 of "seen".
fn keyed_state() -> KeyedStateSnapshot {
    KeyedStateSnapshot::new(
        128,
        vec![
            StateSnapshot {
                name: "count".into(),
                value_type: "u64".into(),
                key_groups: [(3, vec![1, 2, 3]), (5, vec![4])].into_iter().collect(),
            },
            StateSnapshot {
                name: "seen".into(),
                value_type: "alloc::vec::Vec<u64>".into(),
                key_groups: [(5, vec![9, 9])].into_iter().collect(),
            },
        ],
    )
}

/// Writes checkpoint 7 of two tasks under `root`: a source's list state, and keyed state;
/// returns the storage.
fn write_checkpoint(root: &Path) -> CheckpointStorage {
    let storage = CheckpointStorage::local(root);
    let source_items = source_state();
    let source = TaskStateFile::encode([OperatorStateParts {
        operator_id: "source",
        operator_state: &source_items,
        keyed: None,
    }])
    .unwrap();
    let keyed = keyed_state();
    let counts = TaskStateFile::encode([OperatorStateParts {
        operator_id: "counts",
        operator_state: &[],
        keyed: Some(&keyed),
    }])
    .unwrap();
    let first = storage.write_task_state(JOB, 7, 0, 0, &source).unwrap();
    let second = storage.write_task_state(JOB, 7, 1, 2, &counts).unwrap();
    storage
        .write_metadata(&CheckpointMetadata {
            job_id: JOB.to_owned(),
            checkpoint: 7,
            tasks: vec![first, second],
        })
        .unwrap();
    storage
}

fn error_of(path: &Path) -> String {
    StoredCheckpoint::open(path).unwrap_err().to_string()
}

#[test]
fn a_checkpoint_is_laid_out_as_flinks_and_reads_back_from_its_folder_or_metadata_file() {
    let root = tempfile::tempdir().unwrap();
    let storage = write_checkpoint(root.path());
    let dir = root.path().join(JOB).join("chk-7");
    assert_eq!(
        storage.checkpoint_location(JOB, 7),
        CheckpointLocation::local(&dir)
    );
    let mut files: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, ["_metadata", "task-0-0", "task-1-2"]);
    for path in [dir.clone(), dir.join(METADATA_FILE)] {
        let stored = StoredCheckpoint::open(&path).unwrap();
        assert_eq!(stored.metadata.checkpoint, 7);
        let states: Vec<Vec<(String, RestoredOperatorState)>> = stored
            .metadata
            .tasks
            .iter()
            .map(|handle| stored.read_task_state(handle).unwrap())
            .collect();
        let source = RestoredOperatorState {
            operator_state: source_state(),
            keyed: None,
        };
        let counts = RestoredOperatorState {
            operator_state: Vec::new(),
            keyed: Some(keyed_state()),
        };
        assert_eq!(
            states,
            [
                vec![("source".to_owned(), source)],
                vec![("counts".to_owned(), counts)]
            ]
        );
    }
}

#[test]
fn metadata_holds_each_key_groups_byte_range_and_the_state_descriptors() {
    let root = tempfile::tempdir().unwrap();
    write_checkpoint(root.path());
    let stored = StoredCheckpoint::open(&root.path().join(JOB).join("chk-7")).unwrap();
    let source = &stored.metadata.tasks[0].operators[0];
    // The header, then the list state: one item of 14 bytes, each with its length.
    assert_eq!(
        (source.operator_state.offset, source.operator_state.length),
        (10, 16)
    );
    let counts = stored.metadata.tasks[1].operators[0]
        .keyed
        .as_ref()
        .unwrap();
    let names: Vec<(&str, &str)> = counts
        .states
        .iter()
        .map(|state| (state.name.as_str(), state.value_type.as_str()))
        .collect();
    assert_eq!(names, [("count", "u64"), ("seen", "alloc::vec::Vec<u64>")]);
    assert_eq!(counts.offset, 10);
    // Key group 3: "count"'s 3 bytes and "seen"'s none, each after its 8-byte length; key
    // group 5: 1 byte and 2.
    let blocks: Vec<(usize, u64)> = counts
        .key_groups
        .iter()
        .map(|block| (block.key_group, block.length))
        .collect();
    assert_eq!(blocks, [(3, 19), (5, 19)]);
    assert_eq!(stored.metadata.tasks[1].length, 10 + 19 + 19);
}

#[test]
fn a_moved_checkpoint_folder_still_reads_its_task_state() {
    let root = tempfile::tempdir().unwrap();
    write_checkpoint(root.path());
    let moved = root.path().join("savepoint-somewhere-else");
    fs::rename(root.path().join(JOB).join("chk-7"), &moved).unwrap();
    let stored = StoredCheckpoint::open(&moved).unwrap();
    let read = stored.read_task_state(&stored.metadata.tasks[0]).unwrap();
    assert_eq!(read[0].1.operator_state, source_state());
}

#[test]
fn a_discarded_checkpoint_is_gone_and_discarding_it_again_is_fine() {
    let root = tempfile::tempdir().unwrap();
    let storage = write_checkpoint(root.path());
    storage.discard(JOB, 7).unwrap();
    assert!(!root.path().join(JOB).join("chk-7").exists());
    storage.discard(JOB, 7).unwrap();
}

#[test]
fn a_folder_without_metadata_is_not_a_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let storage = CheckpointStorage::local(root.path());
    let state = TaskStateFile::encode([]).unwrap();
    storage.write_task_state(JOB, 3, 0, 0, &state).unwrap();
    let message = error_of(&root.path().join(JOB).join("chk-3"));
    assert!(
        message.contains("chk-3/_metadata': no such file"),
        "{message}"
    );
    assert!(
        message.contains("complete only once its _metadata is written"),
        "{message}"
    );
}

#[test]
fn truncated_or_foreign_metadata_is_rejected_naming_the_file() {
    let root = tempfile::tempdir().unwrap();
    write_checkpoint(root.path());
    let metadata = root.path().join(JOB).join("chk-7").join(METADATA_FILE);
    let bytes = fs::read(&metadata).unwrap();

    fs::write(&metadata, &bytes[..5]).unwrap();
    let message = error_of(&metadata);
    assert!(
        message.contains("_metadata': truncated: 5 bytes"),
        "{message}"
    );

    fs::write(&metadata, &bytes[..bytes.len() - 3]).unwrap();
    let message = error_of(&metadata);
    assert!(
        message.contains("cannot be decoded") && message.contains("truncated or corrupt"),
        "{message}"
    );

    let mut foreign = bytes.clone();
    foreign[..8].copy_from_slice(b"PK\x03\x04zip!");
    fs::write(&metadata, &foreign).unwrap();
    let message = error_of(&metadata);
    assert!(
        message.contains("not a flinkrs checkpoint metadata file"),
        "{message}"
    );

    // A checkpoint of the format before key-group offsets, and one of a later format.
    for (version, writer) in [(2, "an older"), (9, "a newer")] {
        let mut other = bytes.clone();
        other[8..10].copy_from_slice(&u16::to_le_bytes(version));
        fs::write(&metadata, &other).unwrap();
        let message = error_of(&metadata);
        assert!(message.contains("chk-7/_metadata'"), "{message}");
        assert!(
            message.contains(&format!(
                "format version {version}; this build reads version 3 only. The file was \
                 written by {writer} flinkrs"
            )),
            "{message}"
        );
    }
}

/// What the subtask owning `key_groups` of a job at max parallelism 128 reads of "counts".
fn read_counts(stored: &StoredCheckpoint, key_groups: KeyGroupRange) -> String {
    stored
        .read_operator_state(&OperatorStateRequest {
            operator_id: "counts",
            max_parallelism: 128,
            key_groups,
            operator_state_of: None,
        })
        .unwrap_err()
        .to_string()
}

const ALL: KeyGroupRange = KeyGroupRange { start: 0, end: 127 };

#[test]
fn a_truncated_task_state_file_is_rejected_naming_it_and_the_bytes_missing() {
    let root = tempfile::tempdir().unwrap();
    write_checkpoint(root.path());
    let dir = root.path().join(JOB).join("chk-7");
    let state = dir.join("task-1-2");
    let bytes = fs::read(&state).unwrap();
    fs::write(&state, &bytes[..bytes.len() - 4]).unwrap();
    let stored = StoredCheckpoint::open(&dir).unwrap();
    let message = read_counts(&stored, ALL);
    assert!(message.contains("chk-7/task-1-2'"), "{message}");
    assert!(
        message.contains(
            "truncated: _metadata says the file holds 48 bytes, and bytes 0..48 of it are to \
             be read, but it ends at byte 44"
        ),
        "{message}"
    );
    let message = stored
        .read_task_state(&stored.metadata.tasks[1])
        .unwrap_err()
        .to_string();
    assert!(message.contains("but it ends at byte 44"), "{message}");
    let foreign = dir.join("task-0-0");
    fs::write(&foreign, b"FLRSMETA\x03\x00").unwrap();
    let message = stored
        .read_task_state(&stored.metadata.tasks[0])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("task-0-0': not a flinkrs task state file"),
        "{message}"
    );
}

#[test]
fn a_key_group_range_past_the_end_of_the_file_is_rejected_naming_the_file() {
    let root = tempfile::tempdir().unwrap();
    write_checkpoint(root.path());
    let dir = root.path().join(JOB).join("chk-7");
    let state = dir.join("task-1-2");
    let bytes = fs::read(&state).unwrap();
    // Cut in the middle of key group 5's block, which a subtask owning key groups 4 to 127
    // reads alone, from byte 29 on.
    fs::write(&state, &bytes[..35]).unwrap();
    let stored = StoredCheckpoint::open(&dir).unwrap();
    let message = read_counts(&stored, KeyGroupRange { start: 4, end: 127 });
    assert!(
        message.contains(
            "task-1-2': truncated: _metadata says the file holds 48 bytes, and bytes 29..48 of \
             it are to be read, but it ends at byte 35"
        ),
        "{message}"
    );
    // Cut before the range even starts: the store returns nothing of it.
    fs::write(&state, &bytes[..20]).unwrap();
    let message = read_counts(&stored, KeyGroupRange { start: 4, end: 127 });
    assert!(
        message.contains("bytes 29..48 of it are to be read, but it ends at byte 29 or before"),
        "{message}"
    );
}
