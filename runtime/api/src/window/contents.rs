//! The contents of the open windows of a non-merging assigner (tumbling, sliding), window
//! first: per window, a table from key to accumulator, as Flink's heap state tables are
//! namespaced by window.
//!
//! Every key of such a window fires and is purged at the same time, so the window, not the
//! key, carries the timers: firing walks one window's table, and purging drops the table whole
//! (its emptied storage is kept for a later window). A record costs one lookup of its key in
//! its window's table, and the table of a window with few keys stays in cache.

use std::collections::BTreeMap;

use flinkrs_core::Result;
use flinkrs_state::{KeyData, StateMap};

use super::operator::WindowSlot;
use super::time_window::TimeWindow;

/// One open window: its keys and their slots, in the order the keys entered the window.
struct Pane<K, A> {
    window: TimeWindow,
    index: StateMap<K, u32>,
    keys: Vec<K>,
    slots: Vec<WindowSlot<A>>,
    /// The end-of-window firing has run over every key of the window. A key that enters the
    /// window after that is late, and fires when it enters.
    fired: bool,
}

impl<K, A> Pane<K, A> {
    fn new(window: TimeWindow) -> Self {
        Pane {
            window,
            index: StateMap::default(),
            keys: Vec::new(),
            slots: Vec::new(),
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

impl<K: KeyData, A> WindowContents<K, A> {
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

    /// A located slot and its key.
    #[inline]
    pub(crate) fn slot(&mut self, position: SlotPosition) -> (&K, &mut WindowSlot<A>) {
        let pane = &mut self.panes[position.pane as usize];
        (
            &pane.keys[position.index as usize],
            &mut pane.slots[position.index as usize],
        )
    }

    /// Puts a restored slot back into its window. A key restored twice into one window (which
    /// a snapshot never holds) keeps its last slot.
    pub(crate) fn restore(&mut self, window: TimeWindow, key: K, slot: WindowSlot<A>) {
        let pane = self.pane(window);
        let pane = &mut self.panes[pane as usize];
        match pane.index.entry(key) {
            std::collections::hash_map::Entry::Occupied(existing) => {
                pane.slots[*existing.get() as usize] = slot;
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
                for (key, slot) in pane.keys.iter().zip(&mut pane.slots) {
                    if !slot.fired_on_time {
                        slot.fired_on_time = true;
                        emit(&pane.window, key, &slot.accumulator)?;
                    }
                }
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

    /// Every open window's slots, window by window.
    pub(crate) fn for_each(&self, mut visit: impl FnMut(&TimeWindow, &K, &WindowSlot<A>)) {
        for &pane in self.open.values() {
            let pane = &self.panes[pane as usize];
            for (key, slot) in pane.keys.iter().zip(&pane.slots) {
                visit(&pane.window, key, slot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fires at `time` with `lateness` and returns `(window start, key, count)` of each firing.
    fn fire(
        contents: &mut WindowContents<char, u32>,
        time: i64,
        lateness: i64,
    ) -> Vec<(i64, char, u32)> {
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
