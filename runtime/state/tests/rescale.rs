//! Rescaling keyed state: a snapshot taken at one parallelism, restored at another, must
//! leave each subtask with exactly the key groups it owns, whether or not the operator has
//! registered the state again since the restore.

use std::collections::BTreeMap;

use flinkrs_core::KeyGroupRange;
use flinkrs_state::{
    KeyData, KeyedStateBackend, KeyedStateSnapshot, ListState, StateSnapshot, ValueState,
};

const MAX_PARALLELISM: usize = 128;

fn subtask(parallelism: usize, index: usize) -> KeyedStateBackend<String> {
    KeyedStateBackend::new(
        MAX_PARALLELISM,
        KeyGroupRange::for_operator(MAX_PARALLELISM, parallelism, index),
    )
}

/// A snapshot of `backend`, encoded.
fn materialized<K: KeyData>(backend: &mut KeyedStateBackend<K>) -> KeyedStateSnapshot {
    let mut snapshot = backend.snapshot().unwrap();
    snapshot.materialize().unwrap();
    snapshot
}

/// The snapshot of one subtask at parallelism 1 with two states over 1000 keys.
fn original_snapshot() -> KeyedStateSnapshot {
    let mut backend = subtask(1, 0);
    let count = ValueState::<u64>::register(&mut backend, "count").unwrap();
    let seen = ListState::<u64>::register(&mut backend, "seen").unwrap();
    for n in 0..1000u64 {
        backend.set_current_key(format!("key-{n}"));
        count.update(&mut backend, n).unwrap();
        seen.add(&mut backend, n * 10).unwrap();
        seen.add(&mut backend, n * 10 + 1).unwrap();
    }
    materialized(&mut backend)
}

fn state<'s>(snapshot: &'s KeyedStateSnapshot, name: &str) -> &'s StateSnapshot {
    snapshot
        .states
        .iter()
        .find(|state| state.name == name)
        .unwrap_or_else(|| panic!("snapshot has no state '{name}'"))
}

/// A state's entries per key group, decoded and sorted: the encoded order of entries within
/// a key group follows the hash map and may differ between two backends with the same data.
fn decoded<V>(state: &StateSnapshot) -> BTreeMap<usize, Vec<(String, V)>>
where
    V: serde::de::DeserializeOwned + Ord,
{
    state
        .key_groups
        .iter()
        .map(|(&key_group, bytes)| {
            let mut entries: Vec<(String, V)> = postcard::from_bytes(bytes).unwrap();
            entries.sort();
            (key_group, entries)
        })
        .collect()
}

fn key_groups(state: &StateSnapshot) -> Vec<usize> {
    state.key_groups.keys().copied().collect()
}

#[test]
fn rescaled_subtasks_snapshot_only_their_own_key_groups_registered_or_not() {
    let original = original_snapshot();
    let original_count = state(&original, "count");
    let original_seen = state(&original, "seen");
    // 1000 keys fill every one of the 128 key groups, so each subtask below owns some.
    assert_eq!(original_count.key_groups.len(), MAX_PARALLELISM);
    assert_eq!(original_seen.key_groups.len(), MAX_PARALLELISM);

    let expected_ranges = [
        KeyGroupRange { start: 0, end: 42 },
        KeyGroupRange { start: 43, end: 85 },
        KeyGroupRange {
            start: 86,
            end: 127,
        },
    ];
    let mut snapshots = Vec::new();
    for (index, expected_range) in expected_ranges.into_iter().enumerate() {
        let mut backend = subtask(3, index);
        assert_eq!(backend.key_group_range(), expected_range);
        backend.restore(original.clone()).unwrap();
        // "count" is registered again, as a running operator would; "seen" is not (the
        // operator has not touched it since the restore).
        ValueState::<u64>::register(&mut backend, "count").unwrap();
        let snapshot = materialized(&mut backend);

        let own: Vec<usize> = (expected_range.start..=expected_range.end).collect();
        assert_eq!(
            key_groups(state(&snapshot, "count")),
            own,
            "subtask {index}"
        );
        assert_eq!(key_groups(state(&snapshot, "seen")), own, "subtask {index}");
        snapshots.push(snapshot);
    }

    let merged = KeyedStateSnapshot::merge(snapshots).unwrap();
    assert_eq!(merged.max_parallelism, MAX_PARALLELISM);
    let names: Vec<&str> = merged.states.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["count", "seen"]);
    assert_eq!(
        decoded::<u64>(state(&merged, "count")),
        decoded::<u64>(original_count)
    );
    // The state nobody registered is carried as the bytes it was restored from.
    assert_eq!(state(&merged, "seen"), original_seen);
}

#[test]
fn snapshot_fails_on_a_key_of_another_subtasks_key_group() {
    // Key 42 is in key group 99 (pinned in flinkrs-core), which subtask 1 of 3 does not own.
    let mut backend = KeyedStateBackend::<u64>::new(
        MAX_PARALLELISM,
        KeyGroupRange::for_operator(MAX_PARALLELISM, 3, 1),
    );
    let count = ValueState::<u64>::register(&mut backend, "count").unwrap();
    count.insert_for_key(&mut backend, 42, 1);
    // The synchronous phase only freezes the table; encoding it finds the stray key.
    let mut snapshot = backend.snapshot().unwrap();
    let error = snapshot.materialize().unwrap_err();
    assert_eq!(
        error.to_string(),
        "state 'count' holds a key of key group 99, outside this subtask's key groups 43..=85; \
         records must reach keyed state through a partitioning by the same key"
    );
}
