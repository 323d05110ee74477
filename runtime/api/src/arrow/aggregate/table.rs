//! [`GroupTable`]: maps each group (window, key) to a slot, the index of its accumulators.
//!
//! Groups are kept per window: a map from key to slot for each window start. Rows of a batch
//! mostly share a window, so the operator finds a window's map once per run of rows and then
//! probes it with the key alone; firing a window drops its whole map at once, and the emptied
//! map is kept for a later window, so its allocation is reused. A group aggregate without
//! windows keeps all its groups under window `0`.
//!
//! Integer keys are stored as they are. String keys are interned: each distinct string gets
//! an id, counted by the groups that use it and freed with the last of them, so the maps hold
//! fixed-size keys either way. Nulls form a group of their own. Slots of fired windows are
//! reused.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, StringArray};
use foldhash::fast::FixedState;

use super::plan::KeyType;

/// A group: its window's start (0 for a group aggregate without windows) and its key: the
/// integer value or the interned string's id (0 for null).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// The groups of one window.
#[derive(Default)]
struct WindowGroups {
    by_key: HashMap<i64, u32, FixedState>,
    null: Option<u32>,
    /// Slots in the order their groups were created: the order results are emitted in.
    order: Vec<u32>,
}

impl WindowGroups {
    fn clear(&mut self) {
        self.by_key.clear();
        self.null = None;
        self.order.clear();
    }
}

/// Slots and the group each holds.
#[derive(Default)]
struct Slots {
    keys: Vec<GroupKey>,
    in_use: Vec<bool>,
    free: Vec<u32>,
}

impl Slots {
    fn allocate(&mut self, key: GroupKey) -> u32 {
        match self.free.pop() {
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
        }
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

pub(crate) struct GroupTable {
    key_type: KeyType,
    windows: BTreeMap<i64, WindowGroups>,
    /// Emptied maps of fired windows, for reuse.
    spare: Vec<WindowGroups>,
    slots: Slots,
    strings: Interner,
}

impl GroupTable {
    pub(crate) fn new(key_type: KeyType) -> Self {
        GroupTable {
            key_type,
            windows: BTreeMap::new(),
            spare: Vec::new(),
            slots: Slots::default(),
            strings: Interner::default(),
        }
    }

    /// Slots ever allocated: the length every accumulator column must have.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.keys.len()
    }

    /// Appends to `slots` the slot of each row in `rows` of `keys`, all of window `window`,
    /// creating missing groups; the slots of new groups are appended to `created` too.
    pub(crate) fn probe_rows(
        &mut self,
        window: i64,
        keys: &KeyColumn<'_>,
        rows: Range<usize>,
        slots: &mut Vec<u32>,
        created: &mut Vec<u32>,
    ) {
        let GroupTable {
            windows,
            spare,
            slots: allocator,
            strings,
            ..
        } = self;
        let groups = windows
            .entry(window)
            .or_insert_with(|| spare.pop().unwrap_or_default());
        let mut probe = |key: i64, null: bool, strings: &mut Interner| -> u32 {
            let existing = if null {
                groups.null
            } else {
                groups.by_key.get(&key).copied()
            };
            if let Some(slot) = existing {
                return slot;
            }
            let slot = allocator.allocate(GroupKey { window, key, null });
            if null {
                groups.null = Some(slot);
            } else {
                groups.by_key.insert(key, slot);
                if let KeyColumn::Utf8(_) = keys {
                    strings.retain(key as u32);
                }
            }
            groups.order.push(slot);
            created.push(slot);
            slot
        };
        match keys {
            KeyColumn::Int64 {
                values,
                nulls: None,
            } => {
                for &key in &values[rows] {
                    slots.push(probe(key, false, strings));
                }
            }
            KeyColumn::Int64 {
                values,
                nulls: Some(nulls),
            } => {
                for row in rows {
                    slots.push(probe(values[row], nulls.is_null(row), strings));
                }
            }
            KeyColumn::Utf8(values) => {
                for row in rows {
                    let slot = if values.is_null(row) {
                        probe(0, true, strings)
                    } else {
                        let id = strings.id(values.value(row));
                        probe(i64::from(id), false, strings)
                    };
                    slots.push(slot);
                }
            }
        }
    }

    /// The slot of a restored group, created if new (then also appended to `created`).
    pub(crate) fn probe_restored(
        &mut self,
        window: i64,
        key: RestoredKey<'_>,
        created: &mut Vec<u32>,
    ) -> u32 {
        let mut slots = Vec::with_capacity(1);
        match key {
            RestoredKey::Null => {
                let nulls = Int64Array::from(vec![None]);
                let column = KeyColumn::Int64 {
                    values: nulls.values(),
                    nulls: Some(&nulls),
                };
                self.probe_rows(window, &column, 0..1, &mut slots, created);
            }
            RestoredKey::Int(value) => {
                let column = KeyColumn::Int64 {
                    values: std::slice::from_ref(&value),
                    nulls: None,
                };
                self.probe_rows(window, &column, 0..1, &mut slots, created);
            }
            RestoredKey::Str(value) => {
                let strings = StringArray::from(vec![value]);
                self.probe_rows(
                    window,
                    &KeyColumn::Utf8(&strings),
                    0..1,
                    &mut slots,
                    created,
                );
            }
        }
        slots[0]
    }

    pub(crate) fn key(&self, slot: u32) -> GroupKey {
        self.slots.keys[slot as usize]
    }

    /// The earliest window that still has groups, with its slots in creation order.
    pub(crate) fn first_window(&self) -> Option<(i64, &[u32])> {
        self.windows
            .first_key_value()
            .map(|(&start, groups)| (start, groups.order.as_slice()))
    }

    /// Removes every group of the window starting at `start`.
    pub(crate) fn remove_window(&mut self, start: i64) {
        let Some(mut groups) = self.windows.remove(&start) else {
            return;
        };
        for &slot in &groups.order {
            let key = self.slots.keys[slot as usize];
            self.slots.in_use[slot as usize] = false;
            self.slots.free.push(slot);
            if self.key_type == KeyType::Utf8 && !key.null {
                self.strings.release(key.key as u32);
            }
        }
        groups.clear();
        self.spare.push(groups);
    }

    /// Every slot in use: window by window, each in creation order.
    pub(crate) fn live_slots(&self) -> impl Iterator<Item = u32> + '_ {
        self.windows
            .values()
            .flat_map(|groups| groups.order.iter().copied())
    }

    /// The key column of the groups in `slots`, in order.
    pub(crate) fn key_array(&self, slots: &[u32]) -> ArrayRef {
        let keys = slots.iter().map(|&slot| self.key(slot));
        match self.key_type {
            KeyType::Int64 if slots.iter().all(|&slot| !self.key(slot).null) => {
                std::sync::Arc::new(Int64Array::from_iter_values(keys.map(|key| key.key)))
            }
            KeyType::Int64 => std::sync::Arc::new(
                keys.map(|key| (!key.null).then_some(key.key))
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

/// A restored group's key.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RestoredKey<'a> {
    Null,
    Int(i64),
    Str(&'a str),
}
