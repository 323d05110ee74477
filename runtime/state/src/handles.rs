//! State handles, as in Flink's `ValueState`, `ListState`, `MapState` and `ReducingState`.
//!
//! A handle is a small typed index into the backend. It reads and writes the entry of the
//! backend's current key, which the keyed operator sets before calling user code.

use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::StateMap;
use crate::backend::{KeyData, KeyedStateBackend, StateData};
use crate::cow_map::CowMap;
use crate::error::{Error, Result};

fn no_key<K: KeyData>(backend: &KeyedStateBackend<K>, index: usize) -> Error {
    Error::NoCurrentKey {
        name: backend.state_name(index).to_owned(),
    }
}

/// One value per key.
#[derive(Debug)]
pub struct ValueState<T> {
    index: usize,
    _value: PhantomData<fn() -> T>,
}

impl<T> Clone for ValueState<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ValueState<T> {}

impl<T: StateData> ValueState<T> {
    pub fn register<K: KeyData>(backend: &mut KeyedStateBackend<K>, name: &str) -> Result<Self> {
        Ok(ValueState {
            index: backend.register::<T>(name)?,
            _value: PhantomData,
        })
    }

    /// The current key's value, if any.
    pub fn value<K: KeyData>(&self, backend: &KeyedStateBackend<K>) -> Option<T> {
        let key = backend.current_key()?;
        backend.table::<T>(self.index).entries.get(key).cloned()
    }

    /// A mutable reference to the current key's value, if any: updates in place without a copy.
    pub fn get_mut<'b, K: KeyData>(
        &self,
        backend: &'b mut KeyedStateBackend<K>,
    ) -> Option<&'b mut T> {
        let (key, table) = backend.key_and_table::<T>(self.index)?;
        table.entries.get_mut(key)
    }

    pub fn update<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>, value: T) -> Result<()> {
        let index = self.index;
        let Some((key, table)) = backend.key_and_table::<T>(index) else {
            return Err(no_key(backend, index));
        };
        match table.entries.get_mut(key) {
            Some(slot) => *slot = value,
            None => {
                let key = key.clone();
                table.entries.insert(key, value);
            }
        }
        Ok(())
    }

    pub fn clear<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>) {
        if let Some((key, table)) = backend.key_and_table::<T>(self.index) {
            let key = key.clone();
            table.entries.remove(&key);
        }
    }

    /// Removes and returns the entry of `key` (not the current key): for operators that
    /// extract the key themselves and must not copy it per record.
    pub fn remove_entry_for_key<K: KeyData>(
        &self,
        backend: &mut KeyedStateBackend<K>,
        key: &K,
    ) -> Option<(K, T)> {
        backend.table_mut::<T>(self.index).entries.remove_entry(key)
    }

    /// Sets the value of `key` (not the current key).
    pub fn insert_for_key<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>, key: K, value: T) {
        backend
            .table_mut::<T>(self.index)
            .entries
            .insert(key, value);
    }

    /// The value of `key` (not the current key), mutable.
    pub fn get_mut_for_key<'b, K: KeyData>(
        &self,
        backend: &'b mut KeyedStateBackend<K>,
        key: &K,
    ) -> Option<&'b mut T> {
        backend.table_mut::<T>(self.index).entries.get_mut(key)
    }

    /// The table of every key's value: an operator that looks up the keys of a whole batch
    /// borrows it once, instead of finding the table again for each record.
    pub fn entries_mut<'b, K: KeyData>(
        &self,
        backend: &'b mut KeyedStateBackend<K>,
    ) -> &'b mut CowMap<K, T> {
        &mut backend.table_mut::<T>(self.index).entries
    }

    /// Every key's value, for operators that emit all state at the end of bounded input.
    /// Empties the table, for every key. A checkpoint may still hold the old entries frozen:
    /// they are left to it, not copied.
    pub fn clear_all<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>) {
        backend.table_mut::<T>(self.index).entries = CowMap::new();
    }

    pub fn drain_all<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>) -> Vec<(K, T)> {
        backend.table_mut::<T>(self.index).entries.drain()
    }
}

/// A list of values per key.
#[derive(Debug)]
pub struct ListState<T> {
    index: usize,
    _value: PhantomData<fn() -> T>,
}

impl<T> Clone for ListState<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ListState<T> {}

impl<T: StateData> ListState<T> {
    pub fn register<K: KeyData>(backend: &mut KeyedStateBackend<K>, name: &str) -> Result<Self> {
        Ok(ListState {
            index: backend.register::<Vec<T>>(name)?,
            _value: PhantomData,
        })
    }

    pub fn add<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>, value: T) -> Result<()> {
        let index = self.index;
        let Some((key, table)) = backend.key_and_table::<Vec<T>>(index) else {
            return Err(no_key(backend, index));
        };
        match table.entries.get_mut(key) {
            Some(list) => list.push(value),
            None => {
                let key = key.clone();
                table.entries.insert(key, vec![value]);
            }
        }
        Ok(())
    }

    /// The current key's values in insertion order (empty when none).
    pub fn get<'b, K: KeyData>(&self, backend: &'b KeyedStateBackend<K>) -> &'b [T] {
        backend
            .current_key()
            .and_then(|key| backend.table::<Vec<T>>(self.index).entries.get(key))
            .map_or(&[], Vec::as_slice)
    }

    pub fn update<K: KeyData>(
        &self,
        backend: &mut KeyedStateBackend<K>,
        values: Vec<T>,
    ) -> Result<()> {
        let index = self.index;
        let Some((key, table)) = backend.key_and_table::<Vec<T>>(index) else {
            return Err(no_key(backend, index));
        };
        let key = key.clone();
        if values.is_empty() {
            table.entries.remove(&key);
        } else {
            table.entries.insert(key, values);
        }
        Ok(())
    }

    pub fn clear<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>) {
        if let Some((key, table)) = backend.key_and_table::<Vec<T>>(self.index) {
            let key = key.clone();
            table.entries.remove(&key);
        }
    }
}

/// A map per key.
#[derive(Debug)]
pub struct MapState<UK, UV> {
    index: usize,
    _value: PhantomData<fn() -> (UK, UV)>,
}

impl<UK, UV> Clone for MapState<UK, UV> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<UK, UV> Copy for MapState<UK, UV> {}

impl<UK, UV> MapState<UK, UV>
where
    UK: StateData + Hash + Eq,
    UV: StateData,
{
    pub fn register<K: KeyData>(backend: &mut KeyedStateBackend<K>, name: &str) -> Result<Self> {
        Ok(MapState {
            index: backend.register::<StateMap<UK, UV>>(name)?,
            _value: PhantomData,
        })
    }

    pub fn get<K: KeyData>(&self, backend: &KeyedStateBackend<K>, user_key: &UK) -> Option<UV> {
        let key = backend.current_key()?;
        backend
            .table::<StateMap<UK, UV>>(self.index)
            .entries
            .get(key)?
            .get(user_key)
            .cloned()
    }

    pub fn put<K: KeyData>(
        &self,
        backend: &mut KeyedStateBackend<K>,
        user_key: UK,
        value: UV,
    ) -> Result<()> {
        let index = self.index;
        let Some((key, table)) = backend.key_and_table::<StateMap<UK, UV>>(index) else {
            return Err(no_key(backend, index));
        };
        match table.entries.get_mut(key) {
            Some(map) => {
                map.insert(user_key, value);
            }
            None => {
                let mut map = StateMap::default();
                map.insert(user_key, value);
                table.entries.insert(key.clone(), map);
            }
        }
        Ok(())
    }

    pub fn remove<K: KeyData>(
        &self,
        backend: &mut KeyedStateBackend<K>,
        user_key: &UK,
    ) -> Option<UV> {
        let (key, table) = backend.key_and_table::<StateMap<UK, UV>>(self.index)?;
        let map = table.entries.get_mut(key)?;
        let removed = map.remove(user_key);
        if map.is_empty() {
            let key = key.clone();
            table.entries.remove(&key);
        }
        removed
    }

    /// The current key's entries, in no particular order.
    pub fn entries<K: KeyData>(&self, backend: &KeyedStateBackend<K>) -> Vec<(UK, UV)> {
        backend
            .current_key()
            .and_then(|key| {
                backend
                    .table::<StateMap<UK, UV>>(self.index)
                    .entries
                    .get(key)
            })
            .map(|map| map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    pub fn clear<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>) {
        if let Some((key, table)) = backend.key_and_table::<StateMap<UK, UV>>(self.index) {
            let key = key.clone();
            table.entries.remove(&key);
        }
    }
}

/// The reduce function of a [`ReducingState`].
pub type ReduceFn<T> = Arc<dyn Fn(T, T) -> T + Send + Sync>;

/// One value per key, combined with each added value by a reduce function.
pub struct ReducingState<T> {
    index: usize,
    reduce: ReduceFn<T>,
}

impl<T> Clone for ReducingState<T> {
    fn clone(&self) -> Self {
        ReducingState {
            index: self.index,
            reduce: Arc::clone(&self.reduce),
        }
    }
}

impl<T> std::fmt::Debug for ReducingState<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReducingState")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl<T: StateData> ReducingState<T> {
    pub fn register<K: KeyData>(
        backend: &mut KeyedStateBackend<K>,
        name: &str,
        reduce: impl Fn(T, T) -> T + Send + Sync + 'static,
    ) -> Result<Self> {
        Ok(ReducingState {
            index: backend.register::<T>(name)?,
            reduce: Arc::new(reduce),
        })
    }

    pub fn get<K: KeyData>(&self, backend: &KeyedStateBackend<K>) -> Option<T> {
        let key = backend.current_key()?;
        backend.table::<T>(self.index).entries.get(key).cloned()
    }

    pub fn add<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>, value: T) -> Result<()> {
        let index = self.index;
        let Some((key, table)) = backend.key_and_table::<T>(index) else {
            return Err(no_key(backend, index));
        };
        match table.entries.remove_entry(key) {
            Some((key, old)) => {
                table.entries.insert(key, (self.reduce)(old, value));
            }
            None => {
                let key = key.clone();
                table.entries.insert(key, value);
            }
        }
        Ok(())
    }

    pub fn clear<K: KeyData>(&self, backend: &mut KeyedStateBackend<K>) {
        if let Some((key, table)) = backend.key_and_table::<T>(self.index) {
            let key = key.clone();
            table.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use flinkrs_core::KeyGroupRange;

    use super::*;

    fn backend(parallelism: usize, index: usize) -> KeyedStateBackend<String> {
        KeyedStateBackend::new(128, KeyGroupRange::for_operator(128, parallelism, index))
    }

    #[test]
    fn each_key_sees_only_its_own_values() {
        let mut backend = backend(1, 0);
        let count = ValueState::<u64>::register(&mut backend, "count").unwrap();
        let seen = ListState::<i32>::register(&mut backend, "seen").unwrap();
        let sum = ReducingState::register(&mut backend, "sum", |a: i64, b| a + b).unwrap();
        let tags = MapState::<String, u8>::register(&mut backend, "tags").unwrap();
        for (key, value) in [("a", 1), ("b", 10), ("a", 2)] {
            backend.set_current_key(key.to_owned());
            let next = count.value(&backend).unwrap_or(0) + 1;
            count.update(&mut backend, next).unwrap();
            seen.add(&mut backend, value).unwrap();
            sum.add(&mut backend, i64::from(value)).unwrap();
            tags.put(&mut backend, format!("t{value}"), 1).unwrap();
        }
        backend.set_current_key("a".to_owned());
        assert_eq!(count.value(&backend), Some(2));
        assert_eq!(seen.get(&backend), &[1, 2]);
        assert_eq!(sum.get(&backend), Some(3));
        let mut entries = tags.entries(&backend);
        entries.sort();
        assert_eq!(entries, vec![("t1".to_owned(), 1), ("t2".to_owned(), 1)]);
        backend.set_current_key("b".to_owned());
        assert_eq!(count.value(&backend), Some(1));
        assert_eq!(seen.get(&backend), &[10]);
        count.clear(&mut backend);
        assert_eq!(count.value(&backend), None);
    }

    #[test]
    fn same_name_with_other_type_is_rejected() {
        let mut backend = backend(1, 0);
        ValueState::<u64>::register(&mut backend, "count").unwrap();
        let error = ValueState::<String>::register(&mut backend, "count").unwrap_err();
        assert_eq!(
            error.to_string(),
            "state 'count' is already registered with another type"
        );
    }

    #[test]
    fn snapshot_restores_at_a_different_parallelism_by_key_group() {
        let mut original = backend(1, 0);
        let count = ValueState::<u64>::register(&mut original, "count").unwrap();
        for n in 0..200u64 {
            original.set_current_key(format!("key-{n}"));
            count.update(&mut original, n).unwrap();
        }
        let snapshot = original.snapshot().unwrap();

        // Restore into three subtasks: together they hold every key exactly once, and each
        // holds only keys of its own key groups.
        let mut total = 0;
        for index in 0..3 {
            let mut restored = backend(3, index);
            restored.restore(snapshot.clone()).unwrap();
            let count = ValueState::<u64>::register(&mut restored, "count").unwrap();
            let range = restored.key_group_range();
            for n in 0..200u64 {
                let key = format!("key-{n}");
                let owned = range.contains(flinkrs_core::assign_to_key_group(&key, 128));
                restored.set_current_key(key);
                assert_eq!(count.value(&restored), owned.then_some(n));
            }
            total += restored.entry_count();
        }
        assert_eq!(total, 200);
    }

    #[test]
    fn restore_rejects_another_max_parallelism() {
        let snapshot = KeyedStateBackend::<String>::new(64, KeyGroupRange::for_operator(64, 1, 0))
            .snapshot()
            .unwrap();
        let error = backend(1, 0).restore(snapshot).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("snapshot has max parallelism 64, the job has 128")
        );
    }
}
