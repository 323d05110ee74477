//! The heap bytes a record owns, measured by walking it with serde.
//!
//! A typed batch's true size is its records' in-memory size plus what they own on the heap:
//! string and byte contents, and the elements of sequences and maps. serde sees exactly those,
//! so a counting [`Serializer`] measures them without allocating. Fields stored inline in the
//! record (numbers, booleans) cost nothing here: `size_of` already counts them. For a record of
//! plain numbers the walk compiles down to nothing.

use std::fmt;

use serde::ser::{self, Serialize, Serializer};

/// Heap bytes owned by `value`: string and byte contents, plus the elements of sequences and
/// maps (whose storage is on the heap).
#[inline]
pub fn heap_size<T: Serialize + ?Sized>(value: &T) -> usize {
    let mut counter = HeapCounter {
        bytes: 0,
        in_heap: 0,
    };
    // Counting cannot fail; a user `Serialize` impl that errors just ends the walk early.
    let _ = value.serialize(&mut counter);
    counter.bytes
}

struct HeapCounter {
    bytes: usize,
    /// Depth of sequences and maps being walked: their elements live on the heap.
    in_heap: u32,
}

impl HeapCounter {
    #[inline]
    fn inline_value(&mut self, width: usize) {
        if self.in_heap > 0 {
            self.bytes += width;
        }
    }
}

#[derive(Debug)]
struct Never;

impl fmt::Display for Never {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("size counting stopped")
    }
}

impl std::error::Error for Never {}

impl ser::Error for Never {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Never
    }
}

type Done = Result<(), Never>;

impl<'a> Serializer for &'a mut HeapCounter {
    type Ok = ();
    type Error = Never;
    type SerializeSeq = Nested<'a>;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Nested<'a>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn serialize_bool(self, _: bool) -> Done {
        self.inline_value(1);
        Ok(())
    }
    fn serialize_i8(self, _: i8) -> Done {
        self.inline_value(1);
        Ok(())
    }
    fn serialize_i16(self, _: i16) -> Done {
        self.inline_value(2);
        Ok(())
    }
    fn serialize_i32(self, _: i32) -> Done {
        self.inline_value(4);
        Ok(())
    }
    fn serialize_i64(self, _: i64) -> Done {
        self.inline_value(8);
        Ok(())
    }
    fn serialize_i128(self, _: i128) -> Done {
        self.inline_value(16);
        Ok(())
    }
    fn serialize_u8(self, _: u8) -> Done {
        self.inline_value(1);
        Ok(())
    }
    fn serialize_u16(self, _: u16) -> Done {
        self.inline_value(2);
        Ok(())
    }
    fn serialize_u32(self, _: u32) -> Done {
        self.inline_value(4);
        Ok(())
    }
    fn serialize_u64(self, _: u64) -> Done {
        self.inline_value(8);
        Ok(())
    }
    fn serialize_u128(self, _: u128) -> Done {
        self.inline_value(16);
        Ok(())
    }
    fn serialize_f32(self, _: f32) -> Done {
        self.inline_value(4);
        Ok(())
    }
    fn serialize_f64(self, _: f64) -> Done {
        self.inline_value(8);
        Ok(())
    }
    fn serialize_char(self, _: char) -> Done {
        self.inline_value(4);
        Ok(())
    }
    fn serialize_str(self, value: &str) -> Done {
        self.inline_value(size_of::<String>());
        self.bytes += value.len();
        Ok(())
    }
    fn serialize_bytes(self, value: &[u8]) -> Done {
        self.inline_value(size_of::<Vec<u8>>());
        self.bytes += value.len();
        Ok(())
    }
    fn serialize_none(self) -> Done {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Done {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Done {
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Done {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Done {
        value.serialize(self)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Nested<'a>, Never> {
        self.inline_value(size_of::<Vec<u8>>());
        self.in_heap += 1;
        Ok(Nested(self))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Nested<'a>, Never> {
        self.inline_value(size_of::<Vec<u8>>());
        self.in_heap += 1;
        Ok(Nested(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Never> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Never> {
        Ok(self)
    }
}

/// A sequence or map being walked: its elements count, and the depth drops when it ends.
struct Nested<'a>(&'a mut HeapCounter);

impl ser::SerializeSeq for Nested<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut *self.0)
    }
    fn end(self) -> Done {
        self.0.in_heap -= 1;
        Ok(())
    }
}

impl ser::SerializeMap for Nested<'_> {
    type Ok = ();
    type Error = Never;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Done {
        key.serialize(&mut *self.0)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Done {
        value.serialize(&mut *self.0)
    }
    fn end(self) -> Done {
        self.0.in_heap -= 1;
        Ok(())
    }
}

/// Tuples, structs and variants hold their fields in place: walk each field as it comes.
macro_rules! fields_in_place {
    ($($trait:ident :: $method:ident ($($key:ty)?)),*) => {$(
        impl ser::$trait for &mut HeapCounter {
            type Ok = ();
            type Error = Never;
            fn $method<T: Serialize + ?Sized>(&mut self, $(_: $key,)? value: &T) -> Done {
                value.serialize(&mut **self)
            }
            fn end(self) -> Done {
                Ok(())
            }
        }
    )*};
}

fields_in_place!(
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(&'static str),
    SerializeStructVariant::serialize_field(&'static str)
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_held_inline_own_no_heap() {
        assert_eq!(heap_size(&42u64), 0);
        assert_eq!(heap_size(&(1u32, 2.5f64, true)), 0);
        assert_eq!(heap_size(&Some(7i64)), 0);
    }

    #[test]
    fn strings_count_their_contents() {
        assert_eq!(heap_size("hello"), 5);
        assert_eq!(heap_size(&("flink".to_owned(), 3u64)), 5);
    }

    #[test]
    fn sequence_elements_live_on_the_heap() {
        // Three u64 elements on the heap.
        assert_eq!(heap_size(&vec![1u64, 2, 3]), 24);
        // Two Strings' headers on the heap of the Vec, plus their contents.
        let words = vec!["ab".to_owned(), "cde".to_owned()];
        assert_eq!(heap_size(&words), 2 * size_of::<String>() + 5);
        // A nested Vec inside a Vec: the inner header sits on the outer heap.
        assert_eq!(heap_size(&vec![vec![1u8, 2]]), size_of::<Vec<u8>>() + 2);
    }
}
