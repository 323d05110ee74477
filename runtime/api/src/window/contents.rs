//! The contents of the open windows of a non-merging assigner (tumbling, sliding), window
//! first: per window, a table from key to accumulator, as Flink's heap state tables are
//! namespaced by window.
//!
//! Every key of such a window fires and is purged at the same time, so the window, not the
//! key, carries the timers: firing walks one window's table, and purging drops the table whole
//! (its emptied storage is kept for a later window). A record costs one lookup of its key in
//! its window's table, and the table of a window with few keys stays in cache.
//!
//! A checkpoint freezes the contents ([`WindowContents::freeze`]) in O(open windows + chunks):
//! each window's keys and slots are chunked copy-on-write vectors ([`CowVec`]). The frozen
//! contents are grouped per key and key group and encoded off the task thread
//! ([`FrozenWindowContents`]), in the format of keyed state the operator restores from: per key,
//! its windows ([`WindowMap`](super::operator::WindowMap)).

use std::collections::BTreeMap;

use flinkrs_core::Result;
use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_state::{CowVec, KeyData, StateData, StateMap};

use super::frozen_contents::{FrozenPane, FrozenWindowContents};
use super::operator::WindowSlot;
use super::time_window::TimeWindow;

/// One open window: its keys and their slots, in the order the keys entered the window.
struct Pane<K, A> {
    window: TimeWindow,
    index: StateMap<K, u32>,
    keys: CowVec<K>,
    slots: CowVec<WindowSlot<A>>,
    /// The end-of-window firing has run over every key of the window. A key that enters the
    /// window after that is late, and fires when it enters.
    fired: bool,
}

impl<K, A> Pane<K, A> {
    fn new(window: TimeWindow) -> Self {
        Pane {
            window,
            index: StateMap::default(),
            keys: CowVec::default(),
            slots: CowVec::default(),
            fired: false,
        }
    }
}

/// A slot found by [`WindowContents::locate`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotPosition {
    pane: u32,
    index: u32,
}

/// Where a window fires relative to the others: by its end, then its start.
fn firing_order(window: &TimeWindow) -> (i64, i64) {
    (window.max_timestamp(), window.start)
}

/// The open windows of one operator subtask and their contents.
pub(crate) struct WindowContents<K, A> {
    /// Storage of the panes, open or spare; a pane is found through `open`.
    panes: Vec<Pane<K, A>>,
    /// Open windows in firing order, to their pane.
    open: BTreeMap<(i64, i64), u32>,
    /// Panes of purged windows, emptied, for the next windows.
    spare: Vec<u32>,
    /// The pane looked up last: consecutive records mostly fall into the same window.
    last: Option<(TimeWindow, u32)>,
    /// Purged windows of one firing, reused.
    purged: Vec<(i64, i64)>,
}

impl<K, A> Default for WindowContents<K, A> {
    fn default() -> Self {
        WindowContents {
            panes: Vec::new(),
            open: BTreeMap::new(),
            spare: Vec::new(),
            last: None,
            purged: Vec::new(),
        }
    }
}

impl<K: KeyData, A: StateData> WindowContents<K, A> {
    /// The pane of `window`, opened when the window has none yet.
    #[inline]
    fn pane(&mut self, window: TimeWindow) -> u32 {
        if let Some((last, pane)) = self.last
            && last == window
        {
            return pane;
        }
        self.find_or_open(window)
    }

    /// The pane of a window other than the last one looked up.
    #[cold]
    fn find_or_open(&mut self, window: TimeWindow) -> u32 {
        let pane = match self.open.get(&firing_order(&window)) {
            Some(&pane) => pane,
            None => {
                let pane = match self.spare.pop() {
                    Some(pane) => {
                        self.panes[pane as usize].window = window;
                        pane
                    }
                    None => {
                        self.panes.push(Pane::new(window));
                        (self.panes.len() - 1) as u32
                    }
                };
                self.open.insert(firing_order(&window), pane);
                pane
            }
        };
        self.last = Some((window, pane));
        pane
    }

    /// Where the slot of `key` in `window` is, created with `create` when the key is new to
    /// the window. Valid until the next firing.
    #[inline]
    pub(crate) fn locate(
        &mut self,
        window: TimeWindow,
        key: &K,
        create: impl FnOnce() -> A,
    ) -> SlotPosition {
        let pane_index = self.pane(window);
        let pane = &mut self.panes[pane_index as usize];
        let index = match pane.index.get(key) {
            Some(&index) => index,
            None => {
                let index = pane.slots.len() as u32;
                pane.index.insert(key.clone(), index);
                pane.keys.push(key.clone());
                pane.slots.push(WindowSlot {
                    accumulator: create(),
                    fired_on_time: false,
                });
                index
            }
        };
        SlotPosition {
            pane: pane_index,
            index,
        }
    }

    /// A located slot, without its key: the record path reads only the slot.
    #[inline(always)]
    pub(crate) fn slot_mut(&mut self, position: SlotPosition) -> &mut WindowSlot<A> {
        self.panes[position.pane as usize]
            .slots
            .get_mut(position.index as usize)
    }

    /// A located slot and its key.
    #[inline]
    pub(crate) fn slot(&mut self, position: SlotPosition) -> (&K, &mut WindowSlot<A>) {
        let pane = &mut self.panes[position.pane as usize];
        (
            pane.keys.get(position.index as usize),
            pane.slots.get_mut(position.index as usize),
        )
    }

    /// Puts a restored slot back into its window. A key restored twice into one window (which
    /// a snapshot never holds) keeps its last slot.
    pub(crate) fn restore(&mut self, window: TimeWindow, key: K, slot: WindowSlot<A>) {
        let pane = self.pane(window);
        let pane = &mut self.panes[pane as usize];
        match pane.index.entry(key) {
            std::collections::hash_map::Entry::Occupied(existing) => {
                *pane.slots.get_mut(*existing.get() as usize) = slot;
            }
            std::collections::hash_map::Entry::Vacant(vacant) => {
                pane.keys.push(vacant.key().clone());
                vacant.insert(pane.slots.len() as u32);
                pane.slots.push(slot);
            }
        }
    }

    /// Fires, in firing order, each open window whose end is at or before `time`: `emit` gets
    /// every key of it whose slot has not fired on time, and the slot is marked as fired.
    /// Then each window whose cleanup time (`cleanup_time`, `i64::MAX` for never) is at or
    /// before `time` is purged.
    pub(crate) fn fire(
        &mut self,
        time: i64,
        cleanup_time: impl Fn(&TimeWindow) -> i64,
        mut emit: impl FnMut(&TimeWindow, &K, &A) -> Result<()>,
    ) -> Result<()> {
        self.purged.clear();
        for (order, &pane) in self.open.range(..=(time, i64::MAX)) {
            let pane = &mut self.panes[pane as usize];
            if !pane.fired {
                let (window, keys) = (&pane.window, &pane.keys);
                let mut result = Ok(());
                pane.slots.for_each_mut(|index, slot| {
                    if !slot.fired_on_time && result.is_ok() {
                        slot.fired_on_time = true;
                        result = emit(window, keys.get(index), &slot.accumulator);
                    }
                });
                result?;
                pane.fired = true;
            }
            let cleanup = cleanup_time(&pane.window);
            if cleanup <= time && cleanup != i64::MAX {
                self.purged.push(*order);
            }
        }
        for order in &self.purged {
            let Some(pane) = self.open.remove(order) else {
                continue;
            };
            let emptied = &mut self.panes[pane as usize];
            emptied.index.clear();
            emptied.keys.clear();
            emptied.slots.clear();
            emptied.fired = false;
            self.spare.push(pane);
            if self.last.is_some_and(|(_, last)| last == pane) {
                self.last = None;
            }
        }
        Ok(())
    }

    /// The synchronous phase of a checkpoint: every open window's keys and slots as they are
    /// now, in O(open windows + chunks) whatever the number of slots. The task goes on writing;
    /// the first write to a frozen chunk copies it.
    pub(crate) fn freeze(
        &mut self,
        name: &str,
        max_parallelism: usize,
        range: KeyGroupRange,
    ) -> FrozenWindowContents<K, A> {
        let panes = self
            .open
            .values()
            .map(|&pane| {
                let pane = &mut self.panes[pane as usize];
                FrozenPane {
                    window: pane.window,
                    keys: pane.keys.freeze(),
                    slots: pane.slots.freeze(),
                }
            })
            .collect();
        FrozenWindowContents {
            name: name.to_owned(),
            max_parallelism,
            range,
            panes,
        }
    }
}

#[cfg(test)]
mod tests {
    use flinkrs_state::{FrozenState, StateSnapshot};

    use super::super::operator::WindowMap;
    use super::*;

    /// Fires at `time` with `lateness` and returns `(window start, key, count)` of each firing.
    fn fire<K: KeyData + Copy>(
        contents: &mut WindowContents<K, u32>,
        time: i64,
        lateness: i64,
    ) -> Vec<(i64, K, u32)> {
        let mut fired = Vec::new();
        contents
            .fire(
                time,
                |window| window.max_timestamp() + lateness,
                |window, key, count| {
                    fired.push((window.start, *key, *count));
                    Ok(())
                },
            )
            .unwrap();
        fired
    }

    fn add(contents: &mut WindowContents<char, u32>, start: i64, key: char) {
        let position = contents.locate(TimeWindow::new(start, start + 10), &key, || 0);
        contents.slot(position).1.accumulator += 1;
    }

    #[test]
    fn windows_fire_in_end_order_with_keys_in_arrival_order_and_are_purged_after_the_lateness() {
        let mut contents = WindowContents::default();
        add(&mut contents, 10, 'b');
        add(&mut contents, 0, 'b');
        add(&mut contents, 0, 'a');
        add(&mut contents, 0, 'b');
        assert_eq!(fire(&mut contents, 8, 5), vec![]);
        assert_eq!(fire(&mut contents, 9, 5), vec![(0, 'b', 2), (0, 'a', 1)]);
        // Fired on time, kept for the lateness: a firing does not repeat.
        assert_eq!(fire(&mut contents, 13, 5), vec![]);
        assert_eq!(contents.open.len(), 2);
        assert_eq!(fire(&mut contents, 14, 5), vec![]);
        assert_eq!(contents.open.len(), 1);
        // The purged window's storage serves the next window.
        add(&mut contents, 20, 'c');
        assert_eq!(contents.panes.len(), 2);
        assert_eq!(
            fire(&mut contents, i64::MAX, 0),
            vec![(10, 'b', 1), (20, 'c', 1)]
        );
        assert!(contents.open.is_empty());
    }

    /// The encoded entries of a snapshot of the window contents, per key group, sorted by key
    /// and encoded again: the same entries give the same bytes, whatever their order in the
    /// table they were written from.
    fn entries_by_key_group(state: &StateSnapshot) -> BTreeMap<usize, Vec<u8>> {
        state
            .key_groups
            .iter()
            .map(|(&group, bytes)| {
                let mut entries: Vec<(u32, WindowMap<u32>)> = postcard::from_bytes(bytes).unwrap();
                entries.sort_by_key(|(key, _)| *key);
                (group, postcard::to_allocvec(&entries).unwrap())
            })
            .collect()
    }

    /// What the operator wrote before the contents were frozen: every slot copied, grouped per
    /// key into keyed state, and that state snapshotted.
    fn snapshot_through_keyed_state(
        contents: &WindowContents<u32, u32>,
        range: KeyGroupRange,
    ) -> StateSnapshot {
        let mut backend = flinkrs_state::KeyedStateBackend::new(128, range);
        let state =
            flinkrs_state::ValueState::<WindowMap<u32>>::register(&mut backend, "window-contents")
                .unwrap();
        let mut per_key: StateMap<u32, WindowMap<u32>> = StateMap::default();
        for &pane in contents.open.values() {
            let pane = &contents.panes[pane as usize];
            for index in 0..pane.keys.len() {
                per_key
                    .entry(*pane.keys.get(index))
                    .or_default()
                    .insert(pane.window, pane.slots.get(index).clone());
            }
        }
        for (key, windows) in per_key {
            state.insert_for_key(&mut backend, key, windows);
        }
        let mut snapshot = backend.snapshot().unwrap();
        snapshot.materialize().unwrap();
        snapshot.states.remove(0)
    }

    fn add_to(contents: &mut WindowContents<u32, u32>, start: i64, key: u32, count: u32) {
        let position = contents.locate(TimeWindow::new(start, start + 10), &key, || 0);
        contents.slot(position).1.accumulator += count;
    }

    #[test]
    fn frozen_contents_keep_the_checkpoint_while_the_task_writes_and_encode_as_keyed_state() {
        let range = KeyGroupRange::for_operator(128, 1, 0);
        let mut contents = WindowContents::default();
        // Three windows, the first two spanning several chunks, the keys overlapping.
        let keys = 2 * CowVec::<u32>::CHUNK as u32 + 100;
        for key in 0..keys {
            add_to(&mut contents, 0, key, key);
            add_to(&mut contents, 10, key * 2, 1);
        }
        add_to(&mut contents, 20, 7, 70);
        fire(&mut contents, 9, 100);
        let expected = snapshot_through_keyed_state(&contents, range);
        let frozen = contents.freeze("window-contents", 128, range);

        // The task goes on: slots change, keys enter, a window fires and is purged, another
        // opens in its storage.
        for key in 0..keys {
            add_to(&mut contents, 0, key, 1_000);
        }
        add_to(&mut contents, 10, 1, 5);
        add_to(&mut contents, 30, 3, 3);
        let position = contents.locate(TimeWindow::new(0, 10), &5, || 0);
        assert_eq!(contents.slot(position).1.accumulator, 1_005);
        assert_eq!(fire(&mut contents, 19, 0).len(), keys as usize + 1);
        assert_eq!(fire(&mut contents, 109, 0), vec![(20, 7, 70), (30, 3, 3)]);
        add_to(&mut contents, 40, 4, 4);

        let encoded = frozen.encode().unwrap();
        assert_eq!(encoded.name, expected.name);
        assert_eq!(encoded.value_type, expected.value_type);
        assert_eq!(
            encoded.key_groups.keys().collect::<Vec<_>>(),
            expected.key_groups.keys().collect::<Vec<_>>()
        );
        assert_eq!(
            entries_by_key_group(&encoded),
            entries_by_key_group(&expected)
        );
    }

    #[test]
    fn keys_whose_hashes_collide_keep_their_own_windows_in_the_encoding() {
        let range = KeyGroupRange::for_operator(128, 1, 0);
        let mut contents = WindowContents::default();
        // Four windows of overlapping keys, each window over several chunks.
        for start in [30, 0, 20, 10] {
            for key in 0..(CowVec::<u32>::CHUNK as u32 + 50) {
                if !(key + start as u32).is_multiple_of(3) {
                    add_to(&mut contents, start, key, key + start as u32);
                }
            }
        }
        let expected = snapshot_through_keyed_state(&contents, range);
        let frozen = contents.freeze("window-contents", 128, range);
        // Every key of the same hash, three hashes, and the real hash: the same entries.
        let encodings = [
            frozen.encode_with(|_| 0).unwrap(),
            frozen.encode_with(|key| u64::from(*key % 3)).unwrap(),
            frozen.encode().unwrap(),
        ];
        for encoded in &encodings {
            assert_eq!(encoded.value_type, expected.value_type);
            assert_eq!(
                entries_by_key_group(encoded),
                entries_by_key_group(&expected)
            );
        }
    }

    #[test]
    fn frozen_contents_with_a_key_of_another_subtask_fail_to_encode_naming_the_state() {
        let mut contents = WindowContents::default();
        for key in 0..100 {
            add_to(&mut contents, 0, key, 1);
        }
        let range = KeyGroupRange::for_operator(128, 2, 0);
        let error = contents
            .freeze("window-contents", 128, range)
            .encode()
            .unwrap_err();
        assert!(
            matches!(
                &error,
                flinkrs_state::Error::KeyGroupOutOfRange { name, key_group, .. }
                    if name == "window-contents" && !range.contains(*key_group)
            ),
            "{error}"
        );
    }

    #[test]
    fn restored_slots_keep_whether_they_fired() {
        let mut contents = WindowContents::default();
        let window = TimeWindow::new(0, 10);
        let slot = |accumulator, fired_on_time| WindowSlot {
            accumulator,
            fired_on_time,
        };
        contents.restore(window, 'a', slot(1, true));
        contents.restore(window, 'b', slot(2, false));
        contents.restore(window, 'b', slot(3, false));
        assert_eq!(fire(&mut contents, 9, 0), vec![(0, 'b', 3)]);
    }
}
