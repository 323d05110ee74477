//! The snapshot format of keyed state: per state, per key group, the encoded entries.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;
use std::sync::Arc;

use serde::ser::{Error as _, SerializeStruct};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};

/// One state's entries, grouped by key group. Each value is a postcard-encoded `Vec<(K, V)>`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateSnapshot {
    pub name: String,
    /// The state's descriptor: the Rust type of its per-key value (`std::any::type_name`), or
    /// an operator's own name for its layout. A restore into a state of another type fails
    /// with both named, rather than decoding bytes of one type as another. Empty: unchecked.
    pub value_type: String,
    pub key_groups: BTreeMap<usize, Vec<u8>>,
}

/// A state frozen by a checkpoint's synchronous phase, encoded in its asynchronous phase.
pub trait FrozenState: Send + Sync {
    fn encode(&self) -> Result<StateSnapshot>;
}

/// Everything a keyed operator's backend holds at a checkpoint.
///
/// Taken on the task thread, it holds the backend's tables frozen, not encoded
/// ([`KeyedStateBackend::snapshot`](crate::KeyedStateBackend::snapshot));
/// [`materialize`](Self::materialize) encodes them, on whichever thread writes the
/// checkpoint. Only `states` is serialized: materialize first.
#[derive(Clone, Default, Deserialize)]
pub struct KeyedStateSnapshot {
    pub max_parallelism: usize,
    pub states: Vec<StateSnapshot>,
    #[serde(skip)]
    frozen: Vec<Arc<dyn FrozenState>>,
}

/// The encoded states only. Serializing a snapshot whose states are still frozen fails
/// rather than leaving them out.
impl Serialize for KeyedStateSnapshot {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        if !self.frozen.is_empty() {
            return Err(S::Error::custom(
                "a keyed state snapshot still holds frozen states; materialize it first",
            ));
        }
        let mut fields = serializer.serialize_struct("KeyedStateSnapshot", 2)?;
        fields.serialize_field("max_parallelism", &self.max_parallelism)?;
        fields.serialize_field("states", &self.states)?;
        fields.end()
    }
}

impl fmt::Debug for KeyedStateSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyedStateSnapshot")
            .field("max_parallelism", &self.max_parallelism)
            .field("states", &self.states)
            .field("frozen", &self.frozen.len())
            .finish()
    }
}

/// Equal when the encoded states are, and the frozen ones are the same tables.
impl PartialEq for KeyedStateSnapshot {
    fn eq(&self, other: &Self) -> bool {
        self.max_parallelism == other.max_parallelism
            && self.states == other.states
            && self.frozen.len() == other.frozen.len()
            && self
                .frozen
                .iter()
                .zip(&other.frozen)
                .all(|(a, b)| Arc::ptr_eq(a, b))
    }
}

impl Eq for KeyedStateSnapshot {}

impl KeyedStateSnapshot {
    /// A snapshot of encoded states.
    pub fn new(max_parallelism: usize, states: Vec<StateSnapshot>) -> Self {
        KeyedStateSnapshot {
            max_parallelism,
            states,
            frozen: Vec::new(),
        }
    }

    /// A snapshot of encoded `states` and of `frozen` ones, which
    /// [`materialize`](Self::materialize) encodes later, off the task thread: for an operator
    /// that keeps its keyed state in its own copy-on-write structures rather than in a
    /// [`KeyedStateBackend`](crate::KeyedStateBackend) (the Arrow aggregate's group table).
    pub fn with_frozen(
        max_parallelism: usize,
        states: Vec<StateSnapshot>,
        frozen: Vec<Arc<dyn FrozenState>>,
    ) -> Self {
        KeyedStateSnapshot {
            max_parallelism,
            states,
            frozen,
        }
    }

    /// Whether states are still frozen, waiting for [`materialize`](Self::materialize).
    pub fn is_materialized(&self) -> bool {
        self.frozen.is_empty()
    }

    /// The asynchronous phase: encodes the frozen states by key group, before the states
    /// restored but not registered again.
    pub fn materialize(&mut self) -> Result<()> {
        if self.frozen.is_empty() {
            return Ok(());
        }
        let mut states = Vec::with_capacity(self.frozen.len() + self.states.len());
        for frozen in &self.frozen {
            states.push(frozen.encode()?);
        }
        states.append(&mut self.states);
        self.states = states;
        self.frozen.clear();
        Ok(())
    }

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
        let mut by_name: BTreeMap<String, (String, BTreeMap<usize, Vec<u8>>)> = BTreeMap::new();
        for mut snapshot in snapshots {
            snapshot.materialize()?;
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
                let (value_type, merged) = by_name
                    .entry(state.name.clone())
                    .or_insert_with(|| (state.value_type.clone(), BTreeMap::new()));
                if *value_type != state.value_type {
                    return Err(Error::MergeTypeMismatch {
                        name: state.name,
                        first: value_type.clone(),
                        other: state.value_type,
                    });
                }
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
        Ok(KeyedStateSnapshot::new(
            max_parallelism.unwrap_or_default(),
            by_name
                .into_iter()
                .map(|(name, (value_type, key_groups))| StateSnapshot {
                    name,
                    value_type,
                    key_groups,
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Encoded(StateSnapshot);

    impl FrozenState for Encoded {
        fn encode(&self) -> Result<StateSnapshot> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn frozen_states_are_encoded_by_materialize_and_never_silently_dropped() {
        let frozen = StateSnapshot {
            name: "count".into(),
            value_type: "u64".into(),
            key_groups: [(1, vec![7])].into_iter().collect(),
        };
        let mut snapshot = KeyedStateSnapshot::with_frozen(
            128,
            vec![StateSnapshot {
                name: "restored".into(),
                value_type: String::new(),
                key_groups: BTreeMap::new(),
            }],
            vec![Arc::new(Encoded(frozen.clone()))],
        );
        let error = postcard::to_allocvec(&snapshot).unwrap_err();
        assert!(
            error.to_string().contains("Serde Serialization Error"),
            "{error}"
        );
        snapshot.materialize().unwrap();
        assert!(snapshot.is_materialized());
        let names: Vec<&str> = snapshot.states.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["count", "restored"]);
        let bytes = postcard::to_allocvec(&snapshot).unwrap();
        let decoded: KeyedStateSnapshot = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(decoded, snapshot);
    }

    fn snapshot(max_parallelism: usize, states: &[(&str, &[usize])]) -> KeyedStateSnapshot {
        KeyedStateSnapshot::new(
            max_parallelism,
            states
                .iter()
                .map(|(name, key_groups)| StateSnapshot {
                    name: (*name).to_owned(),
                    value_type: "u64".to_owned(),
                    key_groups: key_groups
                        .iter()
                        .map(|&key_group| (key_group, vec![key_group as u8]))
                        .collect(),
                })
                .collect(),
        )
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
