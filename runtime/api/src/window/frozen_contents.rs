//! [`FrozenWindowContents`]: the window contents as a checkpoint froze them, and their encoding
//! in the asynchronous phase.
//!
//! The contents are kept window first; the snapshot is keyed state, per key its windows
//! ([`WindowMap`]), key group by key group. The encoding lists every (window, key) slot once
//! with its key group, sorts each key group's list by key hash and window (when there are
//! several windows), and writes each key's run of slots as its window map, straight from the
//! frozen chunks: no per-key map is built.

use std::hash::BuildHasher;
use std::sync::Arc;

use flinkrs_core::key_group::KeyGroupRange;
use flinkrs_core::key_hash::assign_to_key_group;
use flinkrs_state::{FrozenState, FrozenVec, KeyData, StateData, StateSnapshot};
use foldhash::fast::FixedState;
use serde::ser::{Error as _, SerializeMap, SerializeSeq, SerializeTuple};
use serde::{Serialize, Serializer};

use super::operator::{WindowMap, WindowSlot};
use super::time_window::TimeWindow;

/// One open window as a checkpoint froze it.
pub(crate) struct FrozenPane<K, A> {
    pub(crate) window: TimeWindow,
    pub(crate) keys: FrozenVec<K>,
    pub(crate) slots: FrozenVec<WindowSlot<A>>,
}

/// The window contents frozen by a checkpoint's synchronous phase. Encoded in its asynchronous
/// phase as the keyed state `name` of type [`WindowMap`]: per key group, each key with its
/// windows, as merging windows are kept and as the operator restores.
pub(crate) struct FrozenWindowContents<K, A> {
    pub(crate) name: String,
    pub(crate) max_parallelism: usize,
    pub(crate) range: KeyGroupRange,
    /// In firing order.
    pub(crate) panes: Vec<FrozenPane<K, A>>,
}

impl<K: KeyData, A: StateData> FrozenWindowContents<K, A> {
    /// The frozen contents, to hand to a snapshot.
    pub(crate) fn into_state(self) -> Arc<dyn FrozenState> {
        Arc::new(self)
    }
}

/// One slot listed for encoding: the hash of its key (0 when there is one window only), its
/// window's place in window order and its index in that window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Listed {
    hash: u64,
    window: u32,
    index: u32,
}

impl<K: KeyData, A: StateData> FrozenState for FrozenWindowContents<K, A> {
    fn encode(&self) -> flinkrs_state::Result<StateSnapshot> {
        let hasher = FixedState::default();
        self.encode_with(|key| hasher.hash_one(key))
    }
}

impl<K: KeyData, A: StateData> FrozenWindowContents<K, A> {
    /// The encoding, with `hash` sorting a key group's keys so that each key's slots are
    /// consecutive. Keys of equal hash are told apart by equality.
    pub(super) fn encode_with(
        &self,
        hash: impl Fn(&K) -> u64,
    ) -> flinkrs_state::Result<StateSnapshot> {
        let name = &self.name;
        // The windows in the order a window map holds them, which is not firing order.
        let mut windows: Vec<&FrozenPane<K, A>> = self.panes.iter().collect();
        windows.sort_by_key(|pane| pane.window);
        let several = windows.len() > 1;
        let key_groups = (self.range.end + 1).saturating_sub(self.range.start);
        let mut listed: Vec<Vec<Listed>> = vec![Vec::new(); key_groups];
        for (window, pane) in windows.iter().enumerate() {
            for (index, key) in pane.keys.iter().enumerate() {
                let key_group = assign_to_key_group(key, self.max_parallelism);
                // As for the backend's tables: a key of another subtask's key group would make
                // this snapshot overlap that subtask's, so the snapshot fails here, where the
                // cause is.
                if !self.range.contains(key_group) {
                    return Err(flinkrs_state::Error::KeyGroupOutOfRange {
                        name: name.to_owned(),
                        key_group,
                        range: self.range,
                    });
                }
                listed[key_group - self.range.start].push(Listed {
                    hash: if several { hash(key) } else { 0 },
                    window: window as u32,
                    index: index as u32,
                });
            }
        }
        let view = View { windows };
        let mut encoded = std::collections::BTreeMap::new();
        for (offset, slots) in listed.iter_mut().enumerate() {
            if slots.is_empty() {
                continue;
            }
            // A key's slots become consecutive, in window order; one window holds each key once.
            if several {
                slots.sort_unstable();
                view.separate_equal_hashes(slots);
            }
            let group = KeyGroup {
                view: &view,
                slots,
                several,
            };
            let bytes =
                postcard::to_allocvec(&group).map_err(|source| flinkrs_state::Error::Encode {
                    name: name.to_owned(),
                    source,
                })?;
            encoded.insert(self.range.start + offset, bytes);
        }
        Ok(StateSnapshot {
            name: name.to_owned(),
            value_type: std::any::type_name::<WindowMap<A>>().to_owned(),
            key_groups: encoded,
        })
    }
}

/// The frozen windows in window order, to look listed slots up in.
struct View<'a, K, A> {
    windows: Vec<&'a FrozenPane<K, A>>,
}

impl<'a, K: KeyData, A: StateData> View<'a, K, A> {
    fn key(&self, slot: Listed) -> Option<&'a K> {
        self.windows
            .get(slot.window as usize)?
            .keys
            .get(slot.index as usize)
    }

    fn entry(&self, slot: Listed) -> Option<(TimeWindow, &'a WindowSlot<A>)> {
        let pane = self.windows.get(slot.window as usize)?;
        Some((pane.window, pane.slots.get(slot.index as usize)?))
    }

    /// Where the key of `slots[0]` stops: its slots are consecutive.
    fn run_of_first_key(&self, slots: &[Listed]) -> usize {
        let first = self.key(slots[0]);
        slots
            .iter()
            .skip(1)
            .position(|slot| slot.hash != slots[0].hash || self.key(*slot) != first)
            .map_or(slots.len(), |offset| offset + 1)
    }

    /// Within each run of slots of one hash (sorted), makes the slots of each key consecutive,
    /// still in window order: a run holds several keys only when their hashes collide.
    fn separate_equal_hashes(&self, slots: &mut [Listed]) {
        let mut start = 0;
        while start < slots.len() {
            let hash = slots[start].hash;
            let end = slots[start..]
                .iter()
                .position(|slot| slot.hash != hash)
                .map_or(slots.len(), |offset| start + offset);
            let run = &mut slots[start..end];
            let first = self.key(run[0]);
            if run.iter().any(|slot| self.key(*slot) != first) {
                // Number the distinct keys in order of appearance; sort by that number.
                let mut keys: Vec<Option<&K>> = Vec::new();
                let mut numbered: Vec<(usize, Listed)> = run
                    .iter()
                    .map(|&slot| {
                        let key = self.key(slot);
                        let number = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                            keys.push(key);
                            keys.len() - 1
                        });
                        (number, slot)
                    })
                    .collect();
                numbered.sort_unstable();
                for (target, (_, slot)) in run.iter_mut().zip(numbered) {
                    *target = slot;
                }
            }
            start = end;
        }
    }
}

/// The listed slots of one key group: serialized, the same bytes as a `Vec<(K, WindowMap<A>)>`.
struct KeyGroup<'v, 'a, K, A> {
    view: &'v View<'a, K, A>,
    slots: &'v [Listed],
    /// Whether there are several windows; with one, every slot is a key of its own.
    several: bool,
}

/// One key and its run of slots: serialized, the same bytes as a `(K, WindowMap<A>)`.
struct KeyWindows<'v, 'a, K, A> {
    view: &'v View<'a, K, A>,
    key: &'a K,
    slots: &'v [Listed],
}

/// Listing checked every key; a slot that is missing at encoding is a bug, an error all the
/// same rather than a panic.
const UNLISTED: &str = "a frozen window slot is missing";

impl<K: KeyData, A: StateData> KeyGroup<'_, '_, K, A> {
    /// Each key's run of slots.
    fn runs(&self) -> impl Iterator<Item = &[Listed]> {
        let mut rest = self.slots;
        std::iter::from_fn(move || {
            if rest.is_empty() {
                return None;
            }
            let length = if self.several {
                self.view.run_of_first_key(rest)
            } else {
                1
            };
            let (run, after) = rest.split_at(length);
            rest = after;
            Some(run)
        })
    }
}

impl<K: KeyData, A: StateData> Serialize for KeyGroup<'_, '_, K, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let keys = if self.several {
            self.runs().count()
        } else {
            self.slots.len()
        };
        let mut sequence = serializer.serialize_seq(Some(keys))?;
        for run in self.runs() {
            let key = self
                .view
                .key(run[0])
                .ok_or_else(|| S::Error::custom(UNLISTED))?;
            sequence.serialize_element(&KeyWindows {
                view: self.view,
                key,
                slots: run,
            })?;
        }
        sequence.end()
    }
}

impl<K: KeyData, A: StateData> Serialize for KeyWindows<'_, '_, K, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut pair = serializer.serialize_tuple(2)?;
        pair.serialize_element(self.key)?;
        pair.serialize_element(&Windows {
            view: self.view,
            slots: self.slots,
        })?;
        pair.end()
    }
}

/// A key's windows: serialized, the same bytes as a [`WindowMap`].
struct Windows<'v, 'a, K, A> {
    view: &'v View<'a, K, A>,
    slots: &'v [Listed],
}

impl<K: KeyData, A: StateData> Serialize for Windows<'_, '_, K, A> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.slots.len()))?;
        for &slot in self.slots {
            let (window, entry) = self
                .view
                .entry(slot)
                .ok_or_else(|| S::Error::custom(UNLISTED))?;
            map.serialize_entry(&window, entry)?;
        }
        map.end()
    }
}
