//! A serde `Serializer` that writes the canonical encoding of a value (see the module docs of
//! [`key_hash`](super)) straight into a MurmurHash3 state.

use std::fmt;

use serde::Serialize;
use serde::ser::{self, Serializer};

use super::murmur3::Murmur3;

/// The canonical encoding of NaN: every NaN payload hashes alike, as equal keys must.
const CANONICAL_NAN_BITS: u64 = 0x7ff8_0000_0000_0000;

/// Stops the encoding. Only a `Serialize` impl raises it (through `ser::Error::custom`); the
/// bytes written up to that point are then hashed as they are.
#[derive(Debug)]
pub(super) struct Stop;

impl fmt::Display for Stop {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("the key's Serialize impl failed")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<T: fmt::Display>(_message: T) -> Self {
        Stop
    }
}

/// Feeds the canonical encoding of what is serialized into it to a MurmurHash3 state.
#[derive(Debug, Default)]
pub(super) struct CanonicalEncoder {
    pub(super) state: Murmur3,
}

impl CanonicalEncoder {
    #[inline]
    fn write_length(&mut self, length: usize) {
        // Lengths are u32 by definition; a longer one is taken modulo 2^32.
        self.state.write_u32(length as u32);
    }

    #[inline]
    fn write_variant_index(&mut self, variant_index: u32) {
        self.state.write_u32(variant_index);
    }

    #[inline]
    fn write_str(&mut self, value: &str) {
        self.write_length(value.len());
        self.state.write_bytes(value.as_bytes());
    }

    #[inline]
    fn write_f64(&mut self, value: f64) {
        let bits = if value.is_nan() {
            CANONICAL_NAN_BITS
        } else if value == 0.0 {
            // -0.0 == 0.0, so both must hash alike.
            0
        } else {
            value.to_bits()
        };
        self.state.write_u64(bits);
    }
}

/// A sequence or map in progress. Serde may not know its length up front (`len: None`, as
/// with `#[serde(flatten)]`); its elements then come first and their count after them.
pub(super) struct Collection<'a> {
    encoder: &'a mut CanonicalEncoder,
    count_to_append: Option<u32>,
}

impl<'a> Collection<'a> {
    #[inline]
    fn begin(encoder: &'a mut CanonicalEncoder, length: Option<usize>) -> Self {
        match length {
            Some(length) => {
                encoder.write_length(length);
                Collection {
                    encoder,
                    count_to_append: None,
                }
            }
            None => Collection {
                encoder,
                count_to_append: Some(0),
            },
        }
    }

    #[inline]
    fn count_one(&mut self) {
        if let Some(count) = &mut self.count_to_append {
            *count = count.wrapping_add(1);
        }
    }

    #[inline]
    fn end(self) {
        if let Some(count) = self.count_to_append {
            self.encoder.state.write_u32(count);
        }
    }
}

/// Measures the UTF-8 length of `Display` output without storing it.
struct LengthCounter(usize);

impl fmt::Write for LengthCounter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0 += text.len();
        Ok(())
    }
}

/// Streams `Display` output into the hash.
struct BytesWriter<'a>(&'a mut Murmur3);

impl fmt::Write for BytesWriter<'_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.write_bytes(text.as_bytes());
        Ok(())
    }
}

impl<'a> Serializer for &'a mut CanonicalEncoder {
    type Ok = ();
    type Error = Stop;
    type SerializeSeq = Collection<'a>;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Collection<'a>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    /// The compact forms (an IP address as its bytes, not its text) are the canonical ones.
    fn is_human_readable(&self) -> bool {
        false
    }

    #[inline]
    fn serialize_bool(self, value: bool) -> Result<(), Stop> {
        self.state.write_u8(u8::from(value));
        Ok(())
    }

    #[inline]
    fn serialize_i8(self, value: i8) -> Result<(), Stop> {
        self.serialize_i64(i64::from(value))
    }

    #[inline]
    fn serialize_i16(self, value: i16) -> Result<(), Stop> {
        self.serialize_i64(i64::from(value))
    }

    #[inline]
    fn serialize_i32(self, value: i32) -> Result<(), Stop> {
        self.serialize_i64(i64::from(value))
    }

    #[inline]
    fn serialize_i64(self, value: i64) -> Result<(), Stop> {
        self.state.write_u64(value as u64);
        Ok(())
    }

    #[inline]
    fn serialize_i128(self, value: i128) -> Result<(), Stop> {
        self.serialize_u128(value as u128)
    }

    #[inline]
    fn serialize_u8(self, value: u8) -> Result<(), Stop> {
        self.serialize_u64(u64::from(value))
    }

    #[inline]
    fn serialize_u16(self, value: u16) -> Result<(), Stop> {
        self.serialize_u64(u64::from(value))
    }

    #[inline]
    fn serialize_u32(self, value: u32) -> Result<(), Stop> {
        self.serialize_u64(u64::from(value))
    }

    #[inline]
    fn serialize_u64(self, value: u64) -> Result<(), Stop> {
        self.state.write_u64(value);
        Ok(())
    }

    #[inline]
    fn serialize_u128(self, value: u128) -> Result<(), Stop> {
        self.state.write_u64(value as u64);
        self.state.write_u64((value >> 64) as u64);
        Ok(())
    }

    #[inline]
    fn serialize_f32(self, value: f32) -> Result<(), Stop> {
        self.write_f64(f64::from(value));
        Ok(())
    }

    #[inline]
    fn serialize_f64(self, value: f64) -> Result<(), Stop> {
        self.write_f64(value);
        Ok(())
    }

    #[inline]
    fn serialize_char(self, value: char) -> Result<(), Stop> {
        self.serialize_u64(u64::from(value))
    }

    #[inline]
    fn serialize_str(self, value: &str) -> Result<(), Stop> {
        self.write_str(value);
        Ok(())
    }

    #[inline]
    fn serialize_bytes(self, value: &[u8]) -> Result<(), Stop> {
        self.write_length(value.len());
        self.state.write_bytes(value);
        Ok(())
    }

    #[inline]
    fn serialize_none(self) -> Result<(), Stop> {
        self.state.write_u8(0);
        Ok(())
    }

    #[inline]
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Stop> {
        self.state.write_u8(1);
        value.serialize(self)
    }

    #[inline]
    fn serialize_unit(self) -> Result<(), Stop> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Stop> {
        Ok(())
    }

    #[inline]
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
    ) -> Result<(), Stop> {
        self.write_variant_index(variant_index);
        Ok(())
    }

    #[inline]
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        value.serialize(self)
    }

    #[inline]
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<(), Stop> {
        self.write_variant_index(variant_index);
        value.serialize(self)
    }

    #[inline]
    fn serialize_seq(self, length: Option<usize>) -> Result<Collection<'a>, Stop> {
        Ok(Collection::begin(self, length))
    }

    #[inline]
    fn serialize_tuple(self, _length: usize) -> Result<Self, Stop> {
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_struct(self, _name: &'static str, _length: usize) -> Result<Self, Stop> {
        Ok(self)
    }

    #[inline]
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _length: usize,
    ) -> Result<Self, Stop> {
        self.write_variant_index(variant_index);
        Ok(self)
    }

    #[inline]
    fn serialize_map(self, length: Option<usize>) -> Result<Collection<'a>, Stop> {
        Ok(Collection::begin(self, length))
    }

    #[inline]
    fn serialize_struct(self, _name: &'static str, _length: usize) -> Result<Self, Stop> {
        Ok(self)
    }

    #[inline]
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        variant_index: u32,
        _variant: &'static str,
        _length: usize,
    ) -> Result<Self, Stop> {
        self.write_variant_index(variant_index);
        Ok(self)
    }

    /// Like a `str`, without building the string: one pass measures the text, a second
    /// streams it.
    fn collect_str<T: fmt::Display + ?Sized>(self, value: &T) -> Result<(), Stop> {
        let mut counter = LengthCounter(0);
        fmt::write(&mut counter, format_args!("{value}")).map_err(|_| Stop)?;
        self.write_length(counter.0);
        fmt::write(&mut BytesWriter(&mut self.state), format_args!("{value}")).map_err(|_| Stop)
    }
}

impl ser::SerializeSeq for Collection<'_> {
    type Ok = ();
    type Error = Stop;

    #[inline]
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        self.count_one();
        value.serialize(&mut *self.encoder)
    }

    #[inline]
    fn end(self) -> Result<(), Stop> {
        Collection::end(self);
        Ok(())
    }
}

impl ser::SerializeMap for Collection<'_> {
    type Ok = ();
    type Error = Stop;

    #[inline]
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Stop> {
        self.count_one();
        key.serialize(&mut *self.encoder)
    }

    #[inline]
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Stop> {
        value.serialize(&mut *self.encoder)
    }

    #[inline]
    fn end(self) -> Result<(), Stop> {
        Collection::end(self);
        Ok(())
    }
}

/// Tuples and structs encode their fields in order, with nothing around them (field names
/// are not part of a key's encoding).
macro_rules! fields_in_order {
    ($($trait:ident :: $method:ident ($($key:ty)?)),*) => {$(
        impl ser::$trait for &mut CanonicalEncoder {
            type Ok = ();
            type Error = Stop;

            #[inline]
            fn $method<T: Serialize + ?Sized>(
                &mut self,
                $(_: $key,)?
                value: &T,
            ) -> Result<(), Stop> {
                value.serialize(&mut **self)
            }

            #[inline]
            fn end(self) -> Result<(), Stop> {
                Ok(())
            }
        }
    )*};
}

fields_in_order!(
    SerializeTuple::serialize_element(),
    SerializeTupleStruct::serialize_field(),
    SerializeTupleVariant::serialize_field(),
    SerializeStruct::serialize_field(&'static str),
    SerializeStructVariant::serialize_field(&'static str)
);
