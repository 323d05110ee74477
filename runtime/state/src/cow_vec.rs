//! [`CowVec`]: a vector cut into chunks that a checkpoint freezes without copying, for
//! operators that keep their state outside the backend's tables (the window contents, the
//! Arrow aggregate's groups).
//!
//! As [`CowMap`](crate::CowMap) does for its shards, [`CowVec::freeze`] moves each chunk
//! behind an `Arc` and hands out a second `Arc` to it: O(number of chunks), whatever the number
//! of elements. The task goes on reading the shared chunks; the first write to a chunk the
//! frozen copy still holds copies that chunk, and a chunk whose frozen copy is gone is taken
//! back without a copy.
//!
//! An element is found by plain indexing (chunk, then offset), with no atomic operation and no
//! test of its own: a shared chunk leaves an empty vector in the owned chunks, so the offset's
//! bounds check, which indexing pays anyway, is what sends an access to a shared chunk down the
//! slow path.
//!
//! A writer that touches many elements per batch (an aggregate's accumulator columns) can take
//! back the chunks a batch will write once, before writing them ([`own_chunks_of`]), and skip
//! that pass altogether while no chunk is shared ([`has_shared_chunks`]).
//!
//! [`own_chunks_of`]: CowVec::own_chunks_of
//! [`has_shared_chunks`]: CowVec::has_shared_chunks

use std::sync::Arc;

/// Elements per chunk, a power of two: a write after a checkpoint copies at most this many.
pub const CHUNK: usize = 1 << CHUNK_BITS;
const CHUNK_BITS: u32 = 10;
const CHUNK_MASK: usize = CHUNK - 1;

/// A growable vector with an O(chunks) [`freeze`](Self::freeze).
#[derive(Clone, Debug)]
pub struct CowVec<T> {
    /// Each chunk's elements while the vector owns it, and an empty vector while it is shared.
    /// Past the chunks holding `len` elements, emptied chunks kept for reuse.
    owned: Vec<Vec<T>>,
    /// Each chunk shared with a frozen copy, by chunk (as long as `owned`).
    shared: Vec<Option<Arc<Vec<T>>>>,
    len: usize,
    /// How many chunks `shared` holds.
    shared_chunks: usize,
}

impl<T> Default for CowVec<T> {
    fn default() -> Self {
        CowVec {
            owned: Vec::new(),
            shared: Vec::new(),
            len: 0,
            shared_chunks: 0,
        }
    }
}

/// The chunks of a [`CowVec`] as they were at a checkpoint.
#[derive(Clone, Debug)]
pub struct FrozenVec<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> FrozenVec<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|chunk| chunk.iter())
    }

    /// The element at `index`, or `None` past the end.
    #[inline]
    pub fn get(&self, index: usize) -> Option<&T> {
        self.chunks
            .get(index >> CHUNK_BITS)
            .and_then(|chunk| chunk.get(index & CHUNK_MASK))
    }
}

impl<T> CowVec<T> {
    /// Elements per chunk.
    pub const CHUNK: usize = CHUNK;
}

/// The panic of an index past the end, as a slice's.
#[cold]
#[inline(never)]
#[track_caller]
fn out_of_bounds(index: usize, len: usize) -> ! {
    panic!("index out of bounds: the len is {len} but the index is {index}")
}

impl<T: Clone> CowVec<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether a frozen copy may still hold one of the chunks: until none does, a write may
    /// have to take its chunk back first.
    #[inline]
    pub fn has_shared_chunks(&self) -> bool {
        self.shared_chunks > 0
    }

    /// Takes back, ahead of writing them, the chunks holding the elements at `indices`: each
    /// shared one is copied, or taken back whole when no frozen copy holds it any more. For a
    /// writer that knows a batch's indices before it writes them, so that chunks are taken back
    /// once per batch and the writes that follow find them owned. Panics when an index is out
    /// of bounds, as [`get_mut`](Self::get_mut) does.
    pub fn own_chunks_of(&mut self, indices: impl IntoIterator<Item = usize>) {
        for index in indices {
            if index >= self.len {
                out_of_bounds(index, self.len);
            }
            let chunk = index >> CHUNK_BITS;
            if self.shared[chunk].is_some() {
                self.take_back(chunk);
            }
        }
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks().flatten()
    }

    /// The elements chunk by chunk, in order: for copying them out a slice at a time.
    pub fn chunks(&self) -> impl Iterator<Item = &[T]> {
        let used = self.len.div_ceil(CHUNK);
        self.owned[..used]
            .iter()
            .zip(&self.shared[..used])
            .map(|(owned, shared)| match shared {
                Some(elements) => elements.as_slice(),
                None => owned.as_slice(),
            })
    }

    /// The element at `index`. Panics when `index` is out of bounds, as a slice does.
    #[inline]
    #[track_caller]
    pub fn get(&self, index: usize) -> &T {
        let chunk = index >> CHUNK_BITS;
        match self
            .owned
            .get(chunk)
            .and_then(|owned| owned.get(index & CHUNK_MASK))
        {
            Some(element) => element,
            None => self.get_shared(index),
        }
    }

    /// The element at `index` in a shared chunk.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn get_shared(&self, index: usize) -> &T {
        if index >= self.len {
            out_of_bounds(index, self.len);
        }
        match &self.shared[index >> CHUNK_BITS] {
            Some(shared) => &shared[index & CHUNK_MASK],
            None => unreachable!("an element before len is in an owned or a shared chunk"),
        }
    }

    /// The element at `index`, to write: a chunk a frozen copy still holds is copied first.
    /// Panics when `index` is out of bounds, as a slice does.
    #[inline]
    #[track_caller]
    pub fn get_mut(&mut self, index: usize) -> &mut T {
        let (chunk, offset) = (index >> CHUNK_BITS, index & CHUNK_MASK);
        if chunk < self.owned.len() && offset < self.owned[chunk].len() {
            return &mut self.owned[chunk][offset];
        }
        self.get_mut_shared(index)
    }

    /// The element at `index` in a shared chunk, to write: the chunk is taken back first.
    #[cold]
    #[inline(never)]
    #[track_caller]
    fn get_mut_shared(&mut self, index: usize) -> &mut T {
        if index >= self.len {
            out_of_bounds(index, self.len);
        }
        let chunk = index >> CHUNK_BITS;
        self.take_back(chunk);
        &mut self.owned[chunk][index & CHUNK_MASK]
    }

    /// Makes a shared chunk owned: taken back whole when no frozen copy holds it any more,
    /// else copied. Once per chunk written after a checkpoint.
    #[cold]
    #[inline(never)]
    fn take_back(&mut self, chunk: usize) {
        if let Some(shared) = self.shared[chunk].take() {
            self.shared_chunks -= 1;
            self.owned[chunk] = Arc::try_unwrap(shared).unwrap_or_else(|arc| {
                let mut copy = Vec::with_capacity(CHUNK);
                copy.extend_from_slice(&arc);
                copy
            });
        }
    }

    /// Appends an element.
    #[inline]
    pub fn push(&mut self, value: T) {
        let (chunk, offset) = (self.len >> CHUNK_BITS, self.len & CHUNK_MASK);
        // The last chunk, owned, ends where the vector does; a shared one is empty, and only a
        // chunk of earlier elements can be shared, so it never starts at `len`.
        match self.owned.get_mut(chunk) {
            Some(owned) if owned.len() == offset => owned.push(value),
            _ => self.push_slow(value),
        }
        self.len += 1;
    }

    /// Appends an element to a new chunk or to a shared one, taken back first.
    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, value: T) {
        let chunk = self.len >> CHUNK_BITS;
        if chunk == self.owned.len() {
            self.owned.push(Vec::with_capacity(CHUNK));
            self.shared.push(None);
        }
        self.take_back(chunk);
        self.owned[chunk].push(value);
    }

    /// Drops every element. Owned chunks keep their storage for the next elements; shared
    /// ones are left to their frozen copy.
    pub fn clear(&mut self) {
        for (owned, shared) in self.owned.iter_mut().zip(&mut self.shared) {
            owned.clear();
            *shared = None;
        }
        self.len = 0;
        self.shared_chunks = 0;
    }

    /// Visits every element to write it, chunk by chunk, each taken back once.
    pub fn for_each_mut(&mut self, mut visit: impl FnMut(usize, &mut T)) {
        let mut index = 0;
        for chunk in 0..self.len.div_ceil(CHUNK) {
            if self.shared[chunk].is_some() {
                self.take_back(chunk);
            }
            for element in &mut self.owned[chunk] {
                visit(index, element);
                index += 1;
            }
        }
    }

    /// The vector as it is now, for a checkpoint: O(chunks), whatever the number of elements.
    pub fn freeze(&mut self) -> FrozenVec<T> {
        let used = self.len.div_ceil(CHUNK);
        let chunks = self.owned[..used]
            .iter_mut()
            .zip(&mut self.shared[..used])
            .map(|(owned, shared)| {
                let chunk = shared.get_or_insert_with(|| {
                    self.shared_chunks += 1;
                    Arc::new(std::mem::take(owned))
                });
                Arc::clone(chunk)
            })
            .collect();
        FrozenVec {
            chunks,
            len: self.len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frozen_copy_keeps_the_elements_of_its_checkpoint_while_the_vector_changes() {
        let mut vector: CowVec<String> = CowVec::new();
        let count = 3 * CHUNK + 5;
        for i in 0..count {
            vector.push(format!("e{i}"));
        }
        let frozen = vector.freeze();
        *vector.get_mut(1) = "changed".into();
        vector.push("new".into());
        vector.for_each_mut(|index, element| {
            if index == CHUNK * 2 {
                element.push('!');
            }
        });
        assert_eq!(vector.len(), count + 1);
        assert_eq!(vector.get(1), "changed");
        assert_eq!(vector.get(CHUNK * 2), &format!("e{}!", CHUNK * 2));
        assert_eq!(vector.get(count), "new");
        assert_eq!(vector.iter().count(), count + 1);
        let lengths: Vec<usize> = vector.chunks().map(<[String]>::len).collect();
        assert_eq!(lengths, [CHUNK, CHUNK, CHUNK, 6]);
        assert_eq!(vector.iter().nth(count), Some(&"new".to_owned()));
        let expected: Vec<String> = (0..count).map(|i| format!("e{i}")).collect();
        assert_eq!(frozen.len(), count);
        assert_eq!(frozen.iter().cloned().collect::<Vec<_>>(), expected);
        // Cleared, the vector leaves the frozen copy alone and starts again from empty.
        vector.clear();
        assert!(vector.is_empty());
        vector.push("again".into());
        assert_eq!(vector.get(0), "again");
        assert_eq!(frozen.iter().cloned().collect::<Vec<_>>(), expected);
    }

    #[test]
    fn chunks_no_frozen_copy_holds_are_taken_back_without_a_copy() {
        let mut vector: CowVec<u64> = CowVec::new();
        for i in 0..10 {
            vector.push(i);
        }
        let first = vector.freeze();
        assert!(
            vector.owned[0].is_empty(),
            "a shared chunk leaves an empty one"
        );
        let address = first.chunks[0].as_ptr();
        drop(first);
        *vector.get_mut(3) = 30;
        let second = vector.freeze();
        assert_eq!(second.chunks[0].as_ptr(), address);
        assert_eq!(
            second.iter().copied().collect::<Vec<_>>(),
            [0, 1, 2, 30, 4, 5, 6, 7, 8, 9]
        );
    }

    #[test]
    fn chunks_taken_back_ahead_of_a_batch_are_counted_until_none_is_shared() {
        let mut vector: CowVec<u64> = CowVec::new();
        for i in 0..(3 * CHUNK) as u64 {
            vector.push(i);
        }
        assert!(!vector.has_shared_chunks());
        let frozen = vector.freeze();
        assert!(vector.has_shared_chunks());
        // Two indices in the first chunk and one in the third: two chunks taken back.
        vector.own_chunks_of([1, 5, 2 * CHUNK + 1]);
        assert!(vector.shared[0].is_none() && vector.owned[0].len() == CHUNK);
        assert!(vector.shared[1].is_some() && vector.owned[1].is_empty());
        assert!(vector.shared[2].is_none() && vector.owned[2].len() == CHUNK);
        // Reads find elements in shared chunks as in owned ones.
        assert_eq!(vector.get(CHUNK + 1), &(CHUNK as u64 + 1));
        *vector.get_mut(5) = 50;
        *vector.get_mut(CHUNK) = 60;
        assert!(!vector.has_shared_chunks(), "every chunk is owned again");
        assert_eq!(frozen.get(5), Some(&5));
        assert_eq!(frozen.get(CHUNK), Some(&(CHUNK as u64)));
        assert_eq!(frozen.get(3 * CHUNK), None);
        assert_eq!(vector.get(5), &50);
        // A second checkpoint shares every chunk again; clearing leaves them to it.
        let second = vector.freeze();
        assert!(vector.has_shared_chunks());
        vector.clear();
        assert!(!vector.has_shared_chunks());
        assert_eq!(second.get(CHUNK), Some(&60));
    }

    #[test]
    #[should_panic(expected = "index out of bounds: the len is 5 but the index is 5")]
    fn reading_past_the_end_panics_as_a_slice_does() {
        let mut vector: CowVec<u64> = CowVec::new();
        for i in 0..5 {
            vector.push(i);
        }
        let _frozen = vector.freeze();
        vector.get(5);
    }

    #[test]
    #[should_panic(expected = "index out of bounds: the len is 3 but the index is 1024")]
    fn writing_past_the_end_panics_as_a_slice_does() {
        let mut vector: CowVec<u64> = CowVec::new();
        for i in 0..3 {
            vector.push(i);
        }
        vector.get_mut(CHUNK);
    }
}
