//! The snapshot format of keyed state: per state, per key group, the encoded entries.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
    /// Merges the snapshots of an operator's subtasks into one, for a rescaled restore. States
    /// come out sorted by name.
    ///
    /// Each key group belongs to exactly one subtask, so the inputs never hold the same key
    /// group of the same state. If they do, one subtask held keys it did not own and neither
    /// copy can be trusted to be complete: the merge fails, naming the state and key group,
    /// rather than keeping one copy. Inputs with different max parallelism fail too, since
    /// their key groups do not number the same keys.
    pub fn merge(
        snapshots: impl IntoIterator<Item = KeyedStateSnapshot>,
    ) -> Result<KeyedStateSnapshot> {
        let mut max_parallelism = None;
        let mut by_name: BTreeMap<String, BTreeMap<usize, Vec<u8>>> = BTreeMap::new();
        for snapshot in snapshots {
            match max_parallelism {
                None => max_parallelism = Some(snapshot.max_parallelism),
                Some(first) if first != snapshot.max_parallelism => {
                    return Err(Error::MergeMaxParallelismMismatch {
                        first,
                        other: snapshot.max_parallelism,
                    });
                }
                Some(_) => {}
            }
            for state in snapshot.states {
                let merged = by_name.entry(state.name.clone()).or_default();
                for (key_group, bytes) in state.key_groups {
                    match merged.entry(key_group) {
                        Entry::Vacant(slot) => {
                            slot.insert(bytes);
                        }
                        Entry::Occupied(_) => {
                            return Err(Error::OverlappingKeyGroup {
                                name: state.name,
                                key_group,
                            });
                        }
                    }
                }
            }
        }
        Ok(KeyedStateSnapshot {
            max_parallelism: max_parallelism.unwrap_or_default(),
            states: by_name
                .into_iter()
                .map(|(name, key_groups)| StateSnapshot { name, key_groups })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(max_parallelism: usize, states: &[(&str, &[usize])]) -> KeyedStateSnapshot {
        KeyedStateSnapshot {
            max_parallelism,
            states: states
                .iter()
                .map(|(name, key_groups)| StateSnapshot {
                    name: (*name).to_owned(),
                    key_groups: key_groups
                        .iter()
                        .map(|&key_group| (key_group, vec![key_group as u8]))
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn merge_joins_disjoint_key_groups_per_state_sorted_by_name() {
        let merged = KeyedStateSnapshot::merge([
            snapshot(128, &[("sum", &[0, 1]), ("count", &[1])]),
            snapshot(128, &[("count", &[64]), ("sum", &[65])]),
        ])
        .unwrap();
        assert_eq!(
            merged,
            snapshot(128, &[("count", &[1, 64]), ("sum", &[0, 1, 65])])
        );
    }

    #[test]
    fn merge_rejects_the_same_key_group_of_a_state_in_two_snapshots() {
        let error = KeyedStateSnapshot::merge([
            snapshot(128, &[("count", &[5, 7])]),
            snapshot(128, &[("sum", &[7]), ("count", &[7, 9])]),
        ])
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot merge snapshots: state 'count' has key group 7 in more than one snapshot; \
             the snapshots of an operator's subtasks must cover disjoint key groups"
        );
    }

    #[test]
    fn merge_rejects_snapshots_of_different_max_parallelism() {
        let error = KeyedStateSnapshot::merge([
            snapshot(128, &[("count", &[5])]),
            snapshot(64, &[("count", &[6])]),
        ])
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot merge snapshots with max parallelism 128 and 64; every subtask of an \
             operator has the same max parallelism"
        );
    }

    #[test]
    fn merge_of_no_snapshots_is_empty() {
        assert_eq!(
            KeyedStateSnapshot::merge([]).unwrap(),
            KeyedStateSnapshot::default()
        );
    }
}
