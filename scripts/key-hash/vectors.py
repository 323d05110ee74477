"""Pinned test vectors of the key hash (runtime/core/src/key_hash.rs), from an independent
implementation.

For each key of a table, this script builds the key's canonical encoding by hand, following the
specification in the module docs of key_hash.rs, hashes it with the PyPI package `mmh3` (a C
implementation of MurmurHash3, not ours), and applies Flink's MathUtils.murmurHash(int) step and
the modulo to get the key groups at max parallelism 128 and 32768.

It prints one line per key, in the form of the Rust test table
`key_hash_matches_independent_murmur3_vectors` in runtime/core/src/key_hash/tests.rs:
    assert_vector(<key>, <key hash>, <key group at 128>, <key group at 32768>);

Re-run:
    python3 -m venv /tmp/keyhash-venv && /tmp/keyhash-venv/bin/pip install mmh3
    /tmp/keyhash-venv/bin/python scripts/key-hash/vectors.py
"""

import struct

import mmh3

MASK_32 = 0xFFFF_FFFF
MASK_64 = 0xFFFF_FFFF_FFFF_FFFF
CANONICAL_NAN_BITS = 0x7FF8_0000_0000_0000


# The canonical encoding, one function per kind of serde value.


def integer(value):
    """Any integer type up to 64 bits: two's complement in 8 bytes, little-endian."""
    return struct.pack("<Q", value & MASK_64)


def integer_128(value):
    return (value & ((1 << 128) - 1)).to_bytes(16, "little")


def boolean(value):
    return bytes([1 if value else 0])


def char(value):
    return integer(ord(value))


def float_64(value):
    if value != value:
        bits = CANONICAL_NAN_BITS
    elif value == 0.0:
        bits = 0
    else:
        bits = struct.unpack("<Q", struct.pack("<d", value))[0]
    return struct.pack("<Q", bits)


def length(count):
    return struct.pack("<I", count & MASK_32)


def string(value):
    data = value.encode("utf-8")
    return length(len(data)) + data


def none():
    return b"\x00"


def some(encoded):
    return b"\x01" + encoded


def fields(*encoded):
    """Tuples, structs, tuple structs: the fields in order."""
    return b"".join(encoded)


def sequence(elements):
    return length(len(elements)) + b"".join(elements)


def variant(index, content=b""):
    return length(index) + content


# The keys: a Rust expression of the key (as the Rust test writes it), and its encoding.
# `Shape` is the test's enum `{ Empty, Count(u64), Named(String) }`.
KEYS = [
    ("&0u64", integer(0)),
    ("&1u64", integer(1)),
    ("&-1i64", integer(-1)),
    ("&42u64", integer(42)),
    ("&i64::MIN", integer(-(1 << 63))),
    ("&u64::MAX", integer((1 << 64) - 1)),
    ("&-1i128", integer_128(-1)),
    ('""', string("")),
    ('"ab"', string("ab")),
    ('"flink"', string("flink")),
    ('"hello world"', string("hello world")),
    ('"thirteen-byte"', string("thirteen-byte")),
    ('"größe"', string("größe")),
    ('&(1u64, "a")', fields(integer(1), string("a"))),
    ("&Some(3u64)", some(integer(3))),
    ("&None::<u64>", none()),
    ("&true", boolean(True)),
    ("&false", boolean(False)),
    ("&'x'", char("x")),
    ("&1.5f64", float_64(1.5)),
    ("&-0.0f64", float_64(-0.0)),
    ("&f64::NAN", float_64(float("nan"))),
    ("&()", b""),
    ("&[1u64, 2, 3][..]", sequence([integer(1), integer(2), integer(3)])),
    ("&Shape::Empty", variant(0)),
    ("&Shape::Count(7)", variant(1, integer(7))),
    ('&Shape::Named("n".to_owned())', variant(2, string("n"))),
]


def rotate_left(value, bits):
    return ((value << bits) | (value >> (32 - bits))) & MASK_32


def to_signed(value):
    return value - (1 << 32) if value & 0x8000_0000 else value


def flink_murmur_hash(code):
    """Flink's MathUtils.murmurHash(int), the arithmetic of murmur_hash in key_group.rs."""
    h = (code * 0xCC9E_2D51) & MASK_32
    h = rotate_left(h, 15)
    h = (h * 0x1B87_3593) & MASK_32
    h = rotate_left(h, 13)
    h = (h * 5 + 0xE654_6B64) & MASK_32
    h ^= 4
    h ^= h >> 16
    h = (h * 0x85EB_CA6B) & MASK_32
    h ^= h >> 13
    h = (h * 0xC2B2_AE35) & MASK_32
    h ^= h >> 16
    h = to_signed(h)
    if h >= 0:
        return h
    if h != -(1 << 31):
        return -h
    return 0


def main():
    for expression, encoded in KEYS:
        key_hash = mmh3.hash(encoded, 0, signed=True)
        spread = flink_murmur_hash(key_hash)
        print(f"    assert_vector({expression}, {key_hash}, {spread % 128}, {spread % 32768});")


if __name__ == "__main__":
    main()
