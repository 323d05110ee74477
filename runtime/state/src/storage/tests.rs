//! File checkpoint storage on a real filesystem: the layout, a moved checkpoint, retention by
//! deletion, and every kind of damaged file.

use std::fs;
use std::path::Path;

use super::{
    CheckpointLocation, CheckpointMetadata, CheckpointStorage, METADATA_FILE, StoredCheckpoint,
};

const JOB: &str = "0000000000000000000000000000abcd";

/// Writes checkpoint 7 of two tasks under `root`; returns the storage.
fn write_checkpoint(root: &Path) -> CheckpointStorage {
    let storage = CheckpointStorage::local(root);
    let first = storage
        .write_task_state(JOB, 7, 0, 0, b"source offsets")
        .unwrap();
    let second = storage.write_task_state(JOB, 7, 1, 2, b"").unwrap();
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
        let states: Vec<Vec<u8>> = stored
            .metadata
            .tasks
            .iter()
            .map(|handle| stored.read_task_state(handle).unwrap())
            .collect();
        assert_eq!(states, [b"source offsets".to_vec(), Vec::new()]);
    }
}

#[test]
fn a_moved_checkpoint_folder_still_reads_its_task_state() {
    let root = tempfile::tempdir().unwrap();
    write_checkpoint(root.path());
    let moved = root.path().join("savepoint-somewhere-else");
    fs::rename(root.path().join(JOB).join("chk-7"), &moved).unwrap();
    let stored = StoredCheckpoint::open(&moved).unwrap();
    assert_eq!(
        stored.read_task_state(&stored.metadata.tasks[0]).unwrap(),
        b"source offsets"
    );
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
    storage.write_task_state(JOB, 3, 0, 0, b"x").unwrap();
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

    let mut future = bytes;
    future[8] = 9;
    fs::write(&metadata, &future).unwrap();
    let message = error_of(&metadata);
    assert!(
        message.contains("format version 9; this build reads version 2"),
        "{message}"
    );
}

#[test]
fn a_truncated_task_state_file_is_rejected_with_both_lengths() {
    let root = tempfile::tempdir().unwrap();
    write_checkpoint(root.path());
    let dir = root.path().join(JOB).join("chk-7");
    let state = dir.join("task-0-0");
    let bytes = fs::read(&state).unwrap();
    fs::write(&state, &bytes[..bytes.len() - 4]).unwrap();
    let stored = StoredCheckpoint::open(&dir).unwrap();
    let message = stored
        .read_task_state(&stored.metadata.tasks[0])
        .unwrap_err()
        .to_string();
    assert!(message.contains("task-0-0"), "{message}");
    assert!(
        message.contains(
            "_metadata says 14 payload bytes, the file header says 14, the file holds 10"
        ),
        "{message}"
    );
    let foreign = dir.join("task-1-2");
    fs::write(&foreign, b"FLRSMETA\x01\x00").unwrap();
    let message = stored
        .read_task_state(&stored.metadata.tasks[1])
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("not a flinkrs task state file"),
        "{message}"
    );
}
