//! Timers of keyed operators, in event time and processing time, as Flink's
//! `InternalTimerService`: one timer per (key, timestamp), fired in timestamp order.

use std::collections::BTreeSet;
use std::hash::Hash;

/// Fast, unseeded hashing: timer keys never leave the process.
type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
type FastSet<K> = std::collections::HashSet<K, foldhash::fast::FixedState>;

/// Registered timers of one keyed operator subtask.
#[derive(Debug)]
pub struct TimerService<K> {
    event_time: BTreeSet<(i64, u64)>,
    processing_time: BTreeSet<(i64, u64)>,
    registered: FastSet<(bool, i64, u64)>,
    keys: Vec<Option<K>>,
    key_ids: FastMap<K, u64>,
    current_watermark: i64,
}

impl<K> Default for TimerService<K> {
    fn default() -> Self {
        TimerService {
            event_time: BTreeSet::new(),
            processing_time: BTreeSet::new(),
            registered: FastSet::default(),
            keys: Vec::new(),
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
        let id = self.keys.len() as u64;
        self.keys.push(Some(key.clone()));
        self.key_ids.insert(key.clone(), id);
        id
    }

    pub fn current_watermark(&self) -> i64 {
        self.current_watermark
    }

    /// Registers an event-time timer; registering the same (key, time) twice keeps one.
    pub fn register_event_time_timer(&mut self, key: &K, timestamp: i64) {
        let id = self.key_id(key);
        if self.registered.insert((true, timestamp, id)) {
            self.event_time.insert((timestamp, id));
        }
    }

    pub fn delete_event_time_timer(&mut self, key: &K, timestamp: i64) {
        if let Some(&id) = self.key_ids.get(key)
            && self.registered.remove(&(true, timestamp, id))
        {
            self.event_time.remove(&(timestamp, id));
        }
    }

    pub fn register_processing_time_timer(&mut self, key: &K, timestamp: i64) {
        let id = self.key_id(key);
        if self.registered.insert((false, timestamp, id)) {
            self.processing_time.insert((timestamp, id));
        }
    }

    pub fn delete_processing_time_timer(&mut self, key: &K, timestamp: i64) {
        if let Some(&id) = self.key_ids.get(key)
            && self.registered.remove(&(false, timestamp, id))
        {
            self.processing_time.remove(&(timestamp, id));
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
        self.registered.remove(&(true, timestamp, id));
        self.keys[id as usize].clone().map(|key| (key, timestamp))
    }

    /// Removes and returns the earliest processing-time timer at or before `now`.
    pub fn pop_processing_time_timer(&mut self, now: i64) -> Option<(K, i64)> {
        let &(timestamp, id) = self.processing_time.first()?;
        if timestamp > now {
            return None;
        }
        self.processing_time.pop_first();
        self.registered.remove(&(false, timestamp, id));
        self.keys[id as usize].clone().map(|key| (key, timestamp))
    }

    pub fn event_time_timer_count(&self) -> usize {
        self.event_time.len()
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
}
