//! The heap keyed state backend: one hash map per registered state, keyed by the record key.

use std::any::Any;
use std::collections::BTreeMap;
use std::hash::Hash;
use std::sync::Arc;

use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::key_hash::assign_to_key_group;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::cow_map::{CowMap, Frozen};
use crate::error::{Error, Result};
use crate::snapshot::{FrozenState, KeyedStateSnapshot, StateSnapshot};

/// A key of keyed state. `Hash + Eq` serve the in-memory tables; the key group comes from the
/// serialized form ([`key_hash`](fn@flinkrs_core::key_hash)), which snapshots store too.
/// `Sync`, because a checkpoint's frozen tables are encoded on another thread.
pub trait KeyData:
    Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned + 'static
{
}
impl<T: Hash + Eq + Clone + Send + Sync + Serialize + DeserializeOwned + 'static> KeyData for T {}

/// A value kept in state.
pub trait StateData: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> StateData for T {}

/// A table of one registered state, behind a trait so the backend can hold tables of
/// different value types and still snapshot them all.
pub(crate) trait StateTable<K>: Send {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    /// The table as it is now, to encode later: O(shards), not O(entries).
    fn freeze(
        &mut self,
        name: &str,
        max_parallelism: usize,
        range: KeyGroupRange,
    ) -> Arc<dyn FrozenState>;
    fn restore(&mut self, snapshot: &StateSnapshot, range: KeyGroupRange) -> Result<()>;
    fn len(&self) -> usize;
}

/// The per-key map of one state. `V` is the whole per-key value (a list for ListState, a map
/// for MapState).
pub(crate) struct Table<K, V> {
    pub(crate) entries: CowMap<K, V>,
}

/// One state's table frozen at a checkpoint, with what encoding it needs.
struct FrozenTable<K, V> {
    name: String,
    max_parallelism: usize,
    range: KeyGroupRange,
    entries: Frozen<K, V>,
}

impl<K: KeyData, V: StateData> FrozenState for FrozenTable<K, V> {
    /// Groups the entries by key group and encodes each group: the asynchronous phase.
    fn encode(&self) -> Result<StateSnapshot> {
        let name = &self.name;
        let mut groups: BTreeMap<usize, Vec<(&K, &V)>> = BTreeMap::new();
        for (key, value) in self.entries.iter() {
            let key_group = assign_to_key_group(key, self.max_parallelism);
            // A key of another subtask's key group got here past the partitioner. Writing it
            // would make this snapshot overlap that subtask's, and the checkpoint could not be
            // restored; fail the snapshot now, where the cause is.
            if !self.range.contains(key_group) {
                return Err(Error::KeyGroupOutOfRange {
                    name: name.to_owned(),
                    key_group,
                    range: self.range,
                });
            }
            groups.entry(key_group).or_default().push((key, value));
        }
        let mut key_groups = BTreeMap::new();
        for (group, entries) in groups {
            let bytes = postcard::to_allocvec(&entries).map_err(|source| Error::Encode {
                name: name.to_owned(),
                source,
            })?;
            key_groups.insert(group, bytes);
        }
        Ok(StateSnapshot {
            name: name.to_owned(),
            value_type: std::any::type_name::<V>().to_owned(),
            key_groups,
        })
    }
}

impl<K: KeyData, V: StateData> StateTable<K> for Table<K, V> {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn freeze(
        &mut self,
        name: &str,
        max_parallelism: usize,
        range: KeyGroupRange,
    ) -> Arc<dyn FrozenState> {
        Arc::new(FrozenTable {
            name: name.to_owned(),
            max_parallelism,
            range,
            entries: self.entries.freeze(),
        })
    }

    fn restore(&mut self, snapshot: &StateSnapshot, range: KeyGroupRange) -> Result<()> {
        // A filter rather than `BTreeMap::range`, which panics on an empty range.
        let owned = snapshot
            .key_groups
            .iter()
            .filter(|(key_group, _)| range.contains(**key_group));
        for (&key_group, bytes) in owned {
            let entries: Vec<(K, V)> =
                postcard::from_bytes(bytes).map_err(|source| Error::Decode {
                    name: snapshot.name.clone(),
                    key_group,
                    source,
                })?;
            self.entries.extend(entries);
        }
        Ok(())
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Holds the keyed state of one operator subtask, for the key groups it owns.
pub struct KeyedStateBackend<K> {
    max_parallelism: usize,
    key_group_range: KeyGroupRange,
    current_key: Option<K>,
    names: Vec<String>,
    tables: Vec<Box<dyn StateTable<K>>>,
    /// Restored snapshots of states not registered yet: registration reads them.
    pending_restore: Vec<StateSnapshot>,
}

impl<K: KeyData> KeyedStateBackend<K> {
    pub fn new(max_parallelism: usize, key_group_range: KeyGroupRange) -> Self {
        KeyedStateBackend {
            max_parallelism,
            key_group_range,
            current_key: None,
            names: Vec::new(),
            tables: Vec::new(),
            pending_restore: Vec::new(),
        }
    }

    pub fn key_group_range(&self) -> KeyGroupRange {
        self.key_group_range
    }

    pub fn max_parallelism(&self) -> usize {
        self.max_parallelism
    }

    /// Sets the key that state handles read and write.
    pub fn set_current_key(&mut self, key: K) {
        self.current_key = Some(key);
    }

    pub fn current_key(&self) -> Option<&K> {
        self.current_key.as_ref()
    }

    /// Registers a state by name and returns its table index. Registering the same name with
    /// the same type again returns the same index.
    pub(crate) fn register<V: StateData>(&mut self, name: &str) -> Result<usize> {
        if let Some(index) = self.names.iter().position(|n| n == name) {
            return if self.tables[index].as_any().is::<Table<K, V>>() {
                Ok(index)
            } else {
                Err(Error::TypeMismatch {
                    name: name.to_owned(),
                })
            };
        }
        let mut table = Table::<K, V> {
            entries: CowMap::new(),
        };
        if let Some(position) = self.pending_restore.iter().position(|s| s.name == name) {
            let registered = std::any::type_name::<V>();
            let checkpointed = &self.pending_restore[position].value_type;
            if !checkpointed.is_empty() && checkpointed != registered {
                return Err(Error::RestoredTypeMismatch {
                    name: name.to_owned(),
                    checkpointed: checkpointed.clone(),
                    registered: registered.to_owned(),
                });
            }
            let snapshot = self.pending_restore.swap_remove(position);
            table.restore(&snapshot, self.key_group_range)?;
        }
        self.names.push(name.to_owned());
        self.tables.push(Box::new(table));
        Ok(self.tables.len() - 1)
    }

    pub(crate) fn table<V: StateData>(&self, index: usize) -> &Table<K, V> {
        self.tables[index]
            .as_any()
            .downcast_ref()
            .expect("a state handle is only created by registering its table with its type")
    }

    pub(crate) fn table_mut<V: StateData>(&mut self, index: usize) -> &mut Table<K, V> {
        self.tables[index]
            .as_any_mut()
            .downcast_mut()
            .expect("a state handle is only created by registering its table with its type")
    }

    /// The current key and one table, borrowed together.
    pub(crate) fn key_and_table<V: StateData>(
        &mut self,
        index: usize,
    ) -> Option<(&K, &mut Table<K, V>)> {
        let key = self.current_key.as_ref()?;
        let table = self.tables[index]
            .as_any_mut()
            .downcast_mut()
            .expect("a state handle is only created by registering its table with its type");
        Some((key, table))
    }

    pub(crate) fn state_name(&self, index: usize) -> &str {
        &self.names[index]
    }

    /// Number of keys with a value, over all states (for tests and metrics).
    pub fn entry_count(&self) -> usize {
        self.tables.iter().map(|t| t.len()).sum()
    }

    /// The synchronous phase of a checkpoint: freezes every registered state, in O(states ×
    /// shards) whatever their size. The snapshot encodes them, grouped by key group, when it
    /// is [materialized](KeyedStateSnapshot::materialize), off the task thread.
    pub fn snapshot(&mut self) -> Result<KeyedStateSnapshot> {
        self.snapshot_with(None)
    }

    /// As [`snapshot`](Self::snapshot), with the registered state `name` taken from `frozen`
    /// instead of from its table: for an operator that keeps that state's entries in its own
    /// copy-on-write structures between checkpoints and writes them in the state's format
    /// (the window contents). The state keeps its place among the others.
    pub fn snapshot_replacing(
        &mut self,
        name: &str,
        frozen: Arc<dyn FrozenState>,
    ) -> Result<KeyedStateSnapshot> {
        self.snapshot_with(Some((name, frozen)))
    }

    fn snapshot_with(
        &mut self,
        mut replacement: Option<(&str, Arc<dyn FrozenState>)>,
    ) -> Result<KeyedStateSnapshot> {
        let (max_parallelism, range) = (self.max_parallelism, self.key_group_range);
        let mut frozen: Vec<Arc<dyn FrozenState>> = self
            .names
            .iter()
            .zip(&mut self.tables)
            .map(
                |(name, table)| match replacement.take_if(|(own, _)| own == name) {
                    Some((_, frozen)) => frozen,
                    None => table.freeze(name, max_parallelism, range),
                },
            )
            .collect();
        // A state never registered is written after the registered ones.
        frozen.extend(replacement.map(|(_, frozen)| frozen));
        // States restored but never registered again are carried over unchanged; `restore`
        // has already cut them down to this subtask's key groups.
        Ok(KeyedStateSnapshot::with_frozen(
            max_parallelism,
            self.pending_restore.clone(),
            frozen,
        ))
    }

    /// Restores from a snapshot, keeping only this subtask's key groups. Must be called before
    /// any state is registered.
    ///
    /// On a rescaled restore every subtask is handed the merged snapshot of all the old
    /// subtasks. The key groups of other subtasks are dropped here, for states registered
    /// later as much as for states never registered again: otherwise each subtask would carry
    /// them and write them into every later snapshot, where they would overlap.
    pub fn restore(&mut self, mut snapshot: KeyedStateSnapshot) -> Result<()> {
        // A snapshot taken in this process may still hold frozen tables.
        snapshot.materialize()?;
        if snapshot.max_parallelism != self.max_parallelism {
            return Err(Error::MaxParallelismMismatch {
                snapshot: snapshot.max_parallelism,
                job: self.max_parallelism,
            });
        }
        let range = self.key_group_range;
        let mut states = snapshot.states;
        for state in &mut states {
            state
                .key_groups
                .retain(|key_group, _| range.contains(*key_group));
        }
        self.pending_restore = states;
        Ok(())
    }
}
