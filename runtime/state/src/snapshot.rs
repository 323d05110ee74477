//! The snapshot format of keyed state: per state, per key group, the encoded entries.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One state's entries, grouped by key group. Each value is a postcard-encoded `Vec<(K, V)>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSnapshot {
    pub name: String,
    pub key_groups: BTreeMap<usize, Vec<u8>>,
}

/// Everything a keyed operator's backend holds at a checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyedStateSnapshot {
    pub max_parallelism: usize,
    pub states: Vec<StateSnapshot>,
}

impl KeyedStateSnapshot {
    /// Merges snapshots of several subtasks (for rescaling): their key groups never overlap.
    pub fn merge(snapshots: impl IntoIterator<Item = KeyedStateSnapshot>) -> KeyedStateSnapshot {
        let mut merged = KeyedStateSnapshot::default();
        let mut by_name: BTreeMap<String, BTreeMap<usize, Vec<u8>>> = BTreeMap::new();
        for snapshot in snapshots {
            merged.max_parallelism = snapshot.max_parallelism;
            for state in snapshot.states {
                by_name
                    .entry(state.name)
                    .or_default()
                    .extend(state.key_groups);
            }
        }
        merged.states = by_name
            .into_iter()
            .map(|(name, key_groups)| StateSnapshot { name, key_groups })
            .collect();
        merged
    }
}
