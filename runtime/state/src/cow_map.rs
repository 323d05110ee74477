//! [`CowMap`]: the hash table of one keyed state, cut into shards that a checkpoint freezes
//! without copying.
//!
//! A checkpoint's synchronous phase must not cost O(state size) on the task thread
//! (architecture decision 6). [`CowMap::freeze`] moves each shard behind an `Arc` and hands
//! out a second `Arc` to it: O(number of shards), whatever the number of keys. The frozen
//! copy is encoded afterwards, off the task thread. The task goes on reading the shared
//! shards; the first write to a shard that the frozen copy still holds copies that shard
//! (copy-on-write), and a shard whose frozen copy is gone is taken back without a copy.
//!
//! The shard is chosen from the same hash the shard's table uses, computed once per access.
//! Shards are by hash, not by key group: the key group needs the key's canonical encoding
//! and murmur hash, which would cost every record an extra hash. Snapshots are still
//! written key-group-major, by [`FrozenTable`](crate::backend) when it is encoded.

use std::borrow::Borrow;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

/// Shards per table: the synchronous phase of a checkpoint touches each once.
pub const SHARDS: usize = 64;

/// Which bits of the hash pick the shard. hashbrown uses the low bits for the bucket and the
/// top seven as the tag, so these are neither.
const SHARD_SHIFT: u32 = 48;

/// One shard: owned while no checkpoint holds it, shared with a frozen copy after one.
#[derive(Clone, Debug)]
enum Shard<K, V> {
    Owned(HashTable<(K, V)>),
    Shared(Arc<HashTable<(K, V)>>),
}

impl<K, V> Default for Shard<K, V> {
    fn default() -> Self {
        Shard::Owned(HashTable::new())
    }
}

/// A hash map from keys to state values with an O(shards) [`freeze`](Self::freeze).
#[derive(Clone, Debug)]
pub struct CowMap<K, V> {
    shards: Box<[Shard<K, V>; SHARDS]>,
    len: usize,
    hasher: FixedState,
}

impl<K, V> Default for CowMap<K, V> {
    fn default() -> Self {
        CowMap {
            shards: Box::new(std::array::from_fn(|_| Shard::default())),
            len: 0,
            hasher: FixedState::default(),
        }
    }
}

/// The shards of a [`CowMap`] as they were at a checkpoint.
#[derive(Debug)]
pub struct Frozen<K, V> {
    shards: Vec<Arc<HashTable<(K, V)>>>,
}

impl<K, V> Frozen<K, V> {
    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards
            .iter()
            .flat_map(|shard| shard.iter().map(|(key, value)| (key, value)))
    }
}

#[inline]
fn shard_of(hash: u64) -> usize {
    (hash >> SHARD_SHIFT) as usize % SHARDS
}

impl<K: Hash + Eq + Clone, V: Clone> CowMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    #[inline]
    fn table(&self, shard: usize) -> &HashTable<(K, V)> {
        match &self.shards[shard] {
            Shard::Owned(table) => table,
            Shard::Shared(table) => table,
        }
    }

    /// The shard's table, to write: a shard a frozen copy still holds is copied first. The
    /// common case, an owned shard, stays small enough to inline into every lookup.
    #[inline]
    fn table_mut(&mut self, shard: usize) -> &mut HashTable<(K, V)> {
        if let Shard::Shared(_) = self.shards[shard] {
            self.take_back(shard);
        }
        match &mut self.shards[shard] {
            Shard::Owned(table) => table,
            Shard::Shared(_) => unreachable!("the shard was made owned above"),
        }
    }

    /// Makes a shared shard owned: taken back whole when no frozen copy holds it any more,
    /// else copied. Once per shard after a checkpoint.
    #[cold]
    #[inline(never)]
    fn take_back(&mut self, shard: usize) {
        let slot = &mut self.shards[shard];
        if let Shard::Shared(shared) = slot {
            let table = std::mem::take(shared);
            *slot = Shard::Owned(Arc::try_unwrap(table).unwrap_or_else(|arc| (*arc).clone()));
        }
    }

    #[inline]
    pub fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.table(shard_of(hash))
            .find(hash, |(k, _)| k.borrow() == key)
            .map(|(_, value)| value)
    }

    #[inline]
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        self.table_mut(shard_of(hash))
            .find_mut(hash, |(k, _)| k.borrow() == key)
            .map(|(_, value)| value)
    }

    /// Inserts or replaces; returns the value replaced.
    #[inline]
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let hash = self.hash(&key);
        let hasher = self.hasher.clone();
        let table = self.table_mut(shard_of(hash));
        match table.find_mut(hash, |(k, _)| *k == key) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                table.insert_unique(hash, (key, value), |(k, _)| hasher.hash_one(k));
                self.len += 1;
                None
            }
        }
    }

    #[inline]
    pub fn remove_entry<Q>(&mut self, key: &Q) -> Option<(K, V)>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let hash = self.hash(key);
        let table = self.table_mut(shard_of(hash));
        let entry = table.find_entry(hash, |(k, _)| k.borrow() == key).ok()?;
        let (removed, _) = entry.remove();
        self.len -= 1;
        Some(removed)
    }

    #[inline]
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.remove_entry(key).map(|(_, value)| value)
    }

    /// Takes every entry out, in no particular order.
    pub fn drain(&mut self) -> Vec<(K, V)> {
        let mut entries = Vec::with_capacity(self.len);
        for shard in self.shards.iter_mut() {
            match std::mem::take(shard) {
                Shard::Owned(table) => entries.extend(table),
                Shard::Shared(table) => match Arc::try_unwrap(table) {
                    Ok(table) => entries.extend(table),
                    Err(shared) => entries.extend(shared.iter().cloned()),
                },
            }
        }
        self.len = 0;
        entries
    }

    /// The table as it is now, for a checkpoint: O(shards), whatever the number of entries.
    pub fn freeze(&mut self) -> Frozen<K, V> {
        let shards = self
            .shards
            .iter_mut()
            .map(|slot| {
                if let Shard::Owned(table) = slot {
                    *slot = Shard::Shared(Arc::new(std::mem::take(table)));
                }
                match slot {
                    Shard::Shared(table) => Arc::clone(table),
                    Shard::Owned(_) => unreachable!("the shard was made shared above"),
                }
            })
            .collect();
        Frozen { shards }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Extend<(K, V)> for CowMap<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted<K: Ord + Clone, V: Clone>(entries: impl Iterator<Item = (K, V)>) -> Vec<(K, V)> {
        let mut entries: Vec<(K, V)> = entries.collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    #[test]
    fn a_frozen_copy_keeps_the_entries_of_its_checkpoint_while_the_map_changes() {
        let mut map: CowMap<String, u64> = CowMap::new();
        for i in 0..1_000u64 {
            map.insert(format!("k{i}"), i);
        }
        let frozen = map.freeze();
        *map.get_mut("k1").unwrap() += 100;
        map.insert("new".into(), 7);
        map.remove("k2");
        assert_eq!(map.len(), 1_000);
        assert_eq!(map.get("k1"), Some(&101));
        assert_eq!(map.get("k3"), Some(&3));
        let at_checkpoint = sorted(frozen.iter().map(|(k, v)| (k.clone(), *v)));
        let expected = sorted((0..1_000u64).map(|i| (format!("k{i}"), i)));
        assert_eq!(at_checkpoint, expected);
        drop(frozen);
        // Shards the frozen copy no longer holds are taken back and written in place.
        map.insert("k3".into(), 33);
        assert_eq!(map.get("k3"), Some(&33));
        let drained = sorted(map.drain().into_iter());
        assert_eq!(drained.len(), 1_000);
        assert!(map.is_empty());
    }

    #[test]
    fn insert_replaces_and_remove_entry_returns_the_pair() {
        let mut map: CowMap<u64, &str> = CowMap::new();
        assert_eq!(map.insert(1, "a"), None);
        assert_eq!(map.insert(1, "b"), Some("a"));
        assert_eq!(map.len(), 1);
        assert_eq!(map.remove_entry(&1), Some((1, "b")));
        assert_eq!(map.remove(&1), None);
        assert!(map.is_empty());
    }
}
