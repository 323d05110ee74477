//! [`GroupTable`]: maps each group (window, key) to a slot, the index of its accumulators.
//!
//! Integer keys are stored as they are. String keys are interned: each distinct string gets
//! an id, counted by the groups that use it and freed with the last of them, so the hash
//! probe per row is over fixed-size data either way. Slots of fired windows are reused.

use std::collections::{BTreeMap, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, StringArray};
use foldhash::fast::FixedState;

use super::plan::KeyType;

/// A group: its window's start (0 for a group aggregate without windows) and its key: the
/// integer value or the interned string's id. Nulls form a group of their own.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub(crate) struct GroupKey {
    pub window: i64,
    pub key: i64,
    pub null: bool,
}

/// Interned strings with reference counts.
#[derive(Default)]
struct Interner {
    ids: HashMap<Box<str>, u32, FixedState>,
    strings: Vec<Box<str>>,
    references: Vec<u32>,
    free: Vec<u32>,
}

impl Interner {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let boxed: Box<str> = value.into();
        let id = match self.free.pop() {
            Some(id) => {
                self.strings[id as usize] = boxed.clone();
                id
            }
            None => {
                self.strings.push(boxed.clone());
                self.references.push(0);
                (self.strings.len() - 1) as u32
            }
        };
        self.ids.insert(boxed, id);
        id
    }

    fn retain(&mut self, id: u32) {
        self.references[id as usize] += 1;
    }

    fn release(&mut self, id: u32) {
        let references = &mut self.references[id as usize];
        *references -= 1;
        if *references == 0 {
            let string = std::mem::take(&mut self.strings[id as usize]);
            self.ids.remove(&string);
            self.free.push(id);
        }
    }
}

/// What happened to a probe: the slot, and whether the group is new.
pub(crate) struct Probe {
    pub slot: u32,
    pub created: bool,
}

pub(crate) struct GroupTable {
    key_type: KeyType,
    slots: HashMap<GroupKey, u32, FixedState>,
    /// The group of each slot in use.
    keys: Vec<GroupKey>,
    in_use: Vec<bool>,
    free: Vec<u32>,
    /// The slots of each window, by window start, in the order the groups were created.
    by_window: BTreeMap<i64, Vec<u32>>,
    windowed: bool,
    strings: Interner,
}

impl GroupTable {
    pub(crate) fn new(key_type: KeyType, windowed: bool) -> Self {
        GroupTable {
            key_type,
            slots: HashMap::default(),
            keys: Vec::new(),
            in_use: Vec::new(),
            free: Vec::new(),
            by_window: BTreeMap::new(),
            windowed,
            strings: Interner::default(),
        }
    }

    /// Slots ever allocated: the length every accumulator column must have.
    pub(crate) fn capacity(&self) -> usize {
        self.keys.len()
    }

    /// The group key of row `row` of `keys` in window `window`. Interns a new string, which
    /// the caller must pass to [`probe`](Self::probe) next.
    #[inline]
    pub(crate) fn key_of(&mut self, keys: &KeyColumn<'_>, row: usize, window: i64) -> GroupKey {
        match keys {
            KeyColumn::Int64 { values, nulls } => GroupKey {
                window,
                key: values[row],
                null: nulls.is_some_and(|nulls| nulls.is_null(row)),
            },
            KeyColumn::Utf8(strings) => {
                if strings.is_null(row) {
                    GroupKey {
                        window,
                        key: 0,
                        null: true,
                    }
                } else {
                    GroupKey {
                        window,
                        key: i64::from(self.strings.id(strings.value(row))),
                        null: false,
                    }
                }
            }
        }
    }

    /// The slot of `key`, created if the group is new.
    #[inline]
    pub(crate) fn probe(&mut self, key: GroupKey) -> Probe {
        if let Some(&slot) = self.slots.get(&key) {
            return Probe {
                slot,
                created: false,
            };
        }
        let slot = match self.free.pop() {
            Some(slot) => {
                self.keys[slot as usize] = key;
                self.in_use[slot as usize] = true;
                slot
            }
            None => {
                self.keys.push(key);
                self.in_use.push(true);
                (self.keys.len() - 1) as u32
            }
        };
        self.slots.insert(key, slot);
        if self.key_type == KeyType::Utf8 && !key.null {
            self.strings.retain(key.key as u32);
        }
        if self.windowed {
            self.by_window.entry(key.window).or_default().push(slot);
        }
        Probe {
            slot,
            created: true,
        }
    }

    /// The id of a string key, interned if new; [`probe`](Self::probe) must follow.
    pub(crate) fn intern(&mut self, value: &str) -> u32 {
        self.strings.id(value)
    }

    pub(crate) fn key(&self, slot: u32) -> GroupKey {
        self.keys[slot as usize]
    }

    /// The earliest window that still has groups, with its slots.
    pub(crate) fn first_window(&self) -> Option<(i64, &[u32])> {
        self.by_window
            .first_key_value()
            .map(|(&start, slots)| (start, slots.as_slice()))
    }

    /// Removes every group of the window starting at `start`.
    pub(crate) fn remove_window(&mut self, start: i64) {
        let Some(slots) = self.by_window.remove(&start) else {
            return;
        };
        for slot in slots {
            self.remove_slot(slot);
        }
    }

    fn remove_slot(&mut self, slot: u32) {
        let key = self.keys[slot as usize];
        self.slots.remove(&key);
        self.in_use[slot as usize] = false;
        self.free.push(slot);
        if self.key_type == KeyType::Utf8 && !key.null {
            self.strings.release(key.key as u32);
        }
    }

    /// Every slot in use, in slot order.
    pub(crate) fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.in_use
            .iter()
            .enumerate()
            .filter(|(_, used)| **used)
            .map(|(slot, _)| slot as u32)
    }

    /// The key column of the groups in `slots`, in order.
    pub(crate) fn key_array(&self, slots: &[u32]) -> ArrayRef {
        match self.key_type {
            KeyType::Int64 => std::sync::Arc::new(
                slots
                    .iter()
                    .map(|&slot| {
                        let key = self.key(slot);
                        (!key.null).then_some(key.key)
                    })
                    .collect::<Int64Array>(),
            ),
            KeyType::Utf8 => std::sync::Arc::new(
                slots
                    .iter()
                    .map(|&slot| self.string_key(slot))
                    .collect::<StringArray>(),
            ),
        }
    }

    /// The string key of a slot, if the table holds strings and the key is not null.
    pub(crate) fn string_key(&self, slot: u32) -> Option<&str> {
        let key = self.key(slot);
        (self.key_type == KeyType::Utf8 && !key.null)
            .then(|| &*self.strings.strings[key.key as usize])
    }
}

/// A batch's key column, typed once per batch.
pub(crate) enum KeyColumn<'a> {
    Int64 {
        values: &'a [i64],
        nulls: Option<&'a Int64Array>,
    },
    Utf8(&'a StringArray),
}

impl<'a> KeyColumn<'a> {
    pub(crate) fn new(column: &'a ArrayRef, key_type: KeyType) -> Self {
        match key_type {
            KeyType::Int64 => {
                let array = column.as_primitive::<Int64Type>();
                KeyColumn::Int64 {
                    values: array.values(),
                    nulls: (array.null_count() > 0).then_some(array),
                }
            }
            KeyType::Utf8 => KeyColumn::Utf8(column.as_string::<i32>()),
        }
    }
}
