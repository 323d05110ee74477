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
//!
//! A checkpoint freezes the table ([`GroupTable::freeze`]) in O(open windows + chunks): each
//! slot's group, the interned strings and each window's group order are chunked copy-on-write
//! vectors ([`CowVec`]), and so are the accumulator columns. The maps from key to slot are not
//! part of a snapshot; a restore builds them again. A write to a frozen chunk copies it once:
//! the accumulator columns take back the chunks of a batch before its update loops, and the
//! table's own vectors are written only when a group is created or a window dropped.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef, Int64Array, StringArray};
use flinkrs_state::{CowVec, FrozenVec};
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

/// Interned strings with reference counts. An id's string is `None` while the id is free.
#[derive(Default)]
struct Interner {
    ids: HashMap<Arc<str>, u32, FixedState>,
    strings: CowVec<Option<Arc<str>>>,
    references: Vec<u32>,
    free: Vec<u32>,
}

impl Interner {
    fn id(&mut self, value: &str) -> u32 {
        if let Some(&id) = self.ids.get(value) {
            return id;
        }
        let string: Arc<str> = value.into();
        let id = match self.free.pop() {
            Some(id) => {
                *self.strings.get_mut(id as usize) = Some(Arc::clone(&string));
                id
            }
            None => {
                self.strings.push(Some(Arc::clone(&string)));
                self.references.push(0);
                (self.strings.len() - 1) as u32
            }
        };
        self.ids.insert(string, id);
        id
    }

    fn retain(&mut self, id: u32) {
        self.references[id as usize] += 1;
    }

    fn release(&mut self, id: u32) {
        let references = &mut self.references[id as usize];
        *references -= 1;
        if *references == 0 {
            if let Some(string) = self.strings.get_mut(id as usize).take() {
                self.ids.remove(&*string);
            }
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
    order: CowVec<u32>,
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
    keys: CowVec<GroupKey>,
    free: Vec<u32>,
}

impl Slots {
    #[inline]
    fn allocate(&mut self, key: GroupKey) -> u32 {
        match self.free.pop() {
            Some(slot) => {
                *self.keys.get_mut(slot as usize) = key;
                slot
            }
            None => {
                self.keys.push(key);
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

/// Finds or creates the group `(window, key, null)` in `groups`, the groups of `window`; a new
/// group gets a slot from `allocator` and is appended to `created`. A string key's `key` is
/// its id in `strings`, retained by a new group. Inlined into each probe loop, as the per-row
/// step it is.
#[inline(always)]
#[expect(
    clippy::too_many_arguments,
    reason = "the table's parts, borrowed apart so that the probe loops find the window once"
)]
fn probe_group(
    groups: &mut WindowGroups,
    allocator: &mut Slots,
    strings: &mut Interner,
    string_keys: bool,
    window: i64,
    key: i64,
    null: bool,
    created: &mut Vec<u32>,
) -> u32 {
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
        if string_keys {
            strings.retain(key as u32);
        }
    }
    groups.order.push(slot);
    created.push(slot);
    slot
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
        match keys {
            KeyColumn::Int64 {
                values,
                nulls: None,
            } => {
                for &key in &values[rows] {
                    slots.push(probe_group(
                        groups, allocator, strings, false, window, key, false, created,
                    ));
                }
            }
            KeyColumn::Int64 {
                values,
                nulls: Some(nulls),
            } => {
                for row in rows {
                    slots.push(probe_group(
                        groups,
                        allocator,
                        strings,
                        false,
                        window,
                        values[row],
                        nulls.is_null(row),
                        created,
                    ));
                }
            }
            KeyColumn::Utf8(values) => {
                for row in rows {
                    let (key, null) = if values.is_null(row) {
                        (0, true)
                    } else {
                        (i64::from(strings.id(values.value(row))), false)
                    };
                    slots.push(probe_group(
                        groups, allocator, strings, true, window, key, null, created,
                    ));
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
        let string_keys = self.key_type == KeyType::Utf8;
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
        let (key, null) = match key {
            RestoredKey::Null => (0, true),
            RestoredKey::Int(value) => (value, false),
            RestoredKey::Str(value) => (i64::from(strings.id(value)), false),
        };
        probe_group(
            groups,
            allocator,
            strings,
            string_keys,
            window,
            key,
            null,
            created,
        )
    }

    pub(crate) fn key(&self, slot: u32) -> GroupKey {
        *self.slots.keys.get(slot as usize)
    }

    /// The start of the earliest window that still has groups.
    pub(crate) fn first_window(&self) -> Option<i64> {
        self.windows.keys().next().copied()
    }

    /// Appends to `slots` the slots of the window starting at `start`, in creation order.
    pub(crate) fn window_slots(&self, start: i64, slots: &mut Vec<u32>) {
        if let Some(groups) = self.windows.get(&start) {
            for chunk in groups.order.chunks() {
                slots.extend_from_slice(chunk);
            }
        }
    }

    /// Removes every group of the window starting at `start`.
    pub(crate) fn remove_window(&mut self, start: i64) {
        let Some(mut groups) = self.windows.remove(&start) else {
            return;
        };
        for chunk in groups.order.chunks() {
            self.slots.free.extend_from_slice(chunk);
        }
        if self.key_type == KeyType::Utf8 {
            for &slot in groups.order.iter() {
                let key = *self.slots.keys.get(slot as usize);
                if !key.null {
                    self.strings.release(key.key as u32);
                }
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
        match self.key_type {
            KeyType::Int64 => {
                let mut nulls = false;
                let values: Vec<i64> = slots
                    .iter()
                    .map(|&slot| {
                        let key = self.key(slot);
                        nulls |= key.null;
                        key.key
                    })
                    .collect();
                if !nulls {
                    return Arc::new(Int64Array::from(values));
                }
                Arc::new(
                    slots
                        .iter()
                        .zip(values)
                        .map(|(&slot, key)| (!self.key(slot).null).then_some(key))
                        .collect::<Int64Array>(),
                )
            }
            KeyType::Utf8 => Arc::new(
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
        if self.key_type != KeyType::Utf8 || key.null {
            return None;
        }
        self.strings.strings.get(key.key as usize).as_deref()
    }

    /// The table as it is now, for a checkpoint: O(open windows + chunks), whatever the number
    /// of groups.
    pub(crate) fn freeze(&mut self) -> FrozenGroups {
        FrozenGroups {
            key_type: self.key_type,
            keys: self.slots.keys.freeze(),
            strings: self.strings.strings.freeze(),
            windows: self
                .windows
                .iter_mut()
                .map(|(&start, groups)| (start, groups.order.freeze()))
                .collect(),
        }
    }
}

/// A group table as a checkpoint froze it: enough to list every group with its key, window
/// by window in creation order.
pub(crate) struct FrozenGroups {
    pub key_type: KeyType,
    /// Each slot's group, by slot.
    pub keys: FrozenVec<GroupKey>,
    /// Interned strings, by id.
    pub strings: FrozenVec<Option<Arc<str>>>,
    /// Each window's start and its groups' slots in creation order, by window start.
    pub windows: Vec<(i64, FrozenVec<u32>)>,
}

/// A restored group's key.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RestoredKey<'a> {
    Null,
    Int(i64),
    Str(&'a str),
}
