//! Timers of keyed operators, in event time and processing time, as Flink's
//! `InternalTimerService`: one timer per (key, timestamp), fired in timestamp order.

use std::collections::BTreeSet;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// Fast, unseeded hashing: timer keys never leave the process.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;

/// A key with at least one pending timer, under a small id so the ordered timer sets hold
/// `(time, id)` pairs instead of keys (keys need not be ordered).
#[derive(Debug)]
struct KeySlot<K> {
    key: Option<K>,
    pending_timers: u32,
}

/// The pending timers of one key: what a checkpoint stores of a timer service, as keyed
/// state, so timers move with their key's key group on a rescaled restore.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct KeyTimers {
    pub event_time: Vec<i64>,
    pub processing_time: Vec<i64>,
}

/// Registered timers of one keyed operator subtask. Only keys with pending timers are kept:
/// a key's id is released when its last timer fires or is deleted, so a job with ever-new
/// keys does not grow this table.
#[derive(Debug)]
pub struct TimerService<K> {
    event_time: BTreeSet<(i64, u64)>,
    processing_time: BTreeSet<(i64, u64)>,
    slots: Vec<KeySlot<K>>,
    free_ids: Vec<u64>,
    key_ids: FastMap<K, u64>,
    current_watermark: i64,
}

impl<K> Default for TimerService<K> {
    fn default() -> Self {
        TimerService {
            event_time: BTreeSet::new(),
            processing_time: BTreeSet::new(),
            slots: Vec::new(),
            free_ids: Vec::new(),
            key_ids: FastMap::default(),
            current_watermark: i64::MIN,
        }
    }
}

impl<K: Hash + Eq + Clone> TimerService<K> {
    fn key_id(&mut self, key: &K) -> u64 {
        if let Some(id) = self.key_ids.get(key) {
            return *id;
        }
        let slot = KeySlot {
            key: Some(key.clone()),
            pending_timers: 0,
        };
        let id = match self.free_ids.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                id
            }
            None => {
                self.slots.push(slot);
                self.slots.len() as u64 - 1
            }
        };
        self.key_ids.insert(key.clone(), id);
        id
    }

    /// Counts a new timer of `id`.
    fn added(&mut self, id: u64) {
        self.slots[id as usize].pending_timers += 1;
    }

    /// Counts a removed timer of `id`; the last one releases the key. Returns the key.
    fn removed(&mut self, id: u64) -> Option<K> {
        let slot = &mut self.slots[id as usize];
        slot.pending_timers = slot.pending_timers.saturating_sub(1);
        if slot.pending_timers > 0 {
            return slot.key.clone();
        }
        let key = slot.key.take()?;
        self.key_ids.remove(&key);
        self.free_ids.push(id);
        Some(key)
    }

    /// Releases an id that got no timer (a duplicate registration of a new key cannot
    /// happen, but a key looked up for nothing must not stay).
    fn release_if_unused(&mut self, id: u64) {
        if self.slots[id as usize].pending_timers == 0
            && let Some(key) = self.slots[id as usize].key.take()
        {
            self.key_ids.remove(&key);
            self.free_ids.push(id);
        }
    }

    pub fn current_watermark(&self) -> i64 {
        self.current_watermark
    }

    /// Registers an event-time timer; registering the same (key, time) twice keeps one.
    pub fn register_event_time_timer(&mut self, key: &K, timestamp: i64) {
        let id = self.key_id(key);
        if self.event_time.insert((timestamp, id)) {
            self.added(id);
        }
    }

    pub fn delete_event_time_timer(&mut self, key: &K, timestamp: i64) {
        if let Some(&id) = self.key_ids.get(key) {
            if self.event_time.remove(&(timestamp, id)) {
                self.removed(id);
            } else {
                self.release_if_unused(id);
            }
        }
    }

    pub fn register_processing_time_timer(&mut self, key: &K, timestamp: i64) {
        let id = self.key_id(key);
        if self.processing_time.insert((timestamp, id)) {
            self.added(id);
        }
    }

    pub fn delete_processing_time_timer(&mut self, key: &K, timestamp: i64) {
        if let Some(&id) = self.key_ids.get(key) {
            if self.processing_time.remove(&(timestamp, id)) {
                self.removed(id);
            } else {
                self.release_if_unused(id);
            }
        }
    }

    /// Removes and returns the earliest event-time timer at or before `watermark`.
    pub fn pop_event_time_timer(&mut self, watermark: i64) -> Option<(K, i64)> {
        self.current_watermark = self.current_watermark.max(watermark);
        let &(timestamp, id) = self.event_time.first()?;
        if timestamp > watermark {
            return None;
        }
        self.event_time.pop_first();
        self.removed(id).map(|key| (key, timestamp))
    }

    /// Removes and returns the earliest processing-time timer at or before `now`.
    pub fn pop_processing_time_timer(&mut self, now: i64) -> Option<(K, i64)> {
        let &(timestamp, id) = self.processing_time.first()?;
        if timestamp > now {
            return None;
        }
        self.processing_time.pop_first();
        self.removed(id).map(|key| (key, timestamp))
    }

    pub fn event_time_timer_count(&self) -> usize {
        self.event_time.len()
    }

    /// Keys that currently have a pending timer.
    pub fn tracked_keys(&self) -> usize {
        self.key_ids.len()
    }

    /// Every pending timer, per key, in time order: for a checkpoint.
    pub fn timers_by_key(&self) -> Vec<(K, KeyTimers)> {
        let mut by_id: FastMap<u64, KeyTimers> = FastMap::default();
        for &(timestamp, id) in &self.event_time {
            by_id.entry(id).or_default().event_time.push(timestamp);
        }
        for &(timestamp, id) in &self.processing_time {
            by_id.entry(id).or_default().processing_time.push(timestamp);
        }
        by_id
            .into_iter()
            .filter_map(|(id, timers)| {
                let key = self.slots[id as usize].key.clone()?;
                Some((key, timers))
            })
            .collect()
    }

    /// Registers a key's timers from a checkpoint.
    pub fn restore_key(&mut self, key: &K, timers: &KeyTimers) {
        for &timestamp in &timers.event_time {
            self.register_event_time_timer(key, timestamp);
        }
        for &timestamp in &timers.processing_time {
            self.register_processing_time_timer(key, timestamp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timers_fire_in_order_once_per_key_and_time() {
        let mut timers = TimerService::default();
        timers.register_event_time_timer(&"b", 20);
        timers.register_event_time_timer(&"a", 10);
        timers.register_event_time_timer(&"a", 10);
        timers.register_event_time_timer(&"a", 30);
        timers.delete_event_time_timer(&"a", 30);
        assert_eq!(timers.pop_event_time_timer(25), Some(("a", 10)));
        assert_eq!(timers.pop_event_time_timer(25), Some(("b", 20)));
        assert_eq!(timers.pop_event_time_timer(25), None);
        assert_eq!(timers.event_time_timer_count(), 0);
        timers.register_processing_time_timer(&"a", 5);
        assert_eq!(timers.pop_processing_time_timer(4), None);
        assert_eq!(timers.pop_processing_time_timer(5), Some(("a", 5)));
    }

    #[test]
    fn timers_by_key_restore_into_another_service_unchanged() {
        let mut timers = TimerService::default();
        timers.register_event_time_timer(&"a", 30);
        timers.register_event_time_timer(&"a", 10);
        timers.register_processing_time_timer(&"a", 5);
        timers.register_event_time_timer(&"b", 20);
        let mut saved = timers.timers_by_key();
        saved.sort();
        assert_eq!(
            saved,
            vec![
                (
                    "a",
                    KeyTimers {
                        event_time: vec![10, 30],
                        processing_time: vec![5]
                    }
                ),
                (
                    "b",
                    KeyTimers {
                        event_time: vec![20],
                        processing_time: vec![]
                    }
                ),
            ]
        );
        let mut restored = TimerService::default();
        for (key, key_timers) in &saved {
            restored.restore_key(key, key_timers);
        }
        assert_eq!(restored.pop_event_time_timer(25), Some(("a", 10)));
        assert_eq!(restored.pop_event_time_timer(25), Some(("b", 20)));
        assert_eq!(restored.pop_processing_time_timer(5), Some(("a", 5)));
        assert_eq!(restored.pop_event_time_timer(30), Some(("a", 30)));
    }

    #[test]
    fn keys_are_forgotten_once_their_timers_are_gone() {
        let mut timers = TimerService::default();
        for key in 0..1_000u32 {
            timers.register_event_time_timer(&key, i64::from(key));
            timers.register_processing_time_timer(&key, 7);
        }
        assert_eq!(timers.tracked_keys(), 1_000);
        let mut fired = 0;
        while timers.pop_event_time_timer(10_000).is_some() {
            fired += 1;
        }
        assert_eq!(fired, 1_000);
        // Each key still has its processing-time timer.
        assert_eq!(timers.tracked_keys(), 1_000);
        for key in 0..500u32 {
            timers.delete_processing_time_timer(&key, 7);
        }
        while timers.pop_processing_time_timer(7).is_some() {}
        assert_eq!(timers.tracked_keys(), 0);
        // Released ids are reused rather than growing the table.
        timers.register_event_time_timer(&5, 1);
        assert_eq!(timers.pop_event_time_timer(1), Some((5, 1)));
        assert_eq!(timers.tracked_keys(), 0);
    }
}
