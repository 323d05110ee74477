//! The typed columns of the csv format. Each field is parsed straight into a builder of its
//! column's Arrow type with the parser arrow's cast from strings uses for that type, so a value
//! reads exactly as a cast of its text would, without building the strings first. `TIMESTAMP(3)`
//! has a fast path for the form csv files hold (`2026-01-01 00:00:00.001`) and falls back to
//! the cast's parser for anything else. The other types keep their text, which is cast a batch
//! at a time as before.

use std::sync::Arc;

use arrow_array::builder::{PrimitiveBuilder, StringBuilder};
use arrow_array::types::{
    ArrowTimestampType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
    TimestampMillisecondType,
};
use arrow_array::{ArrayRef, ArrowPrimitiveType, new_null_array};
use arrow_schema::{DataType, TimeUnit};
use chrono::Utc;
use datafusion_common::arrow::compute::kernels::cast_utils::{Parser, string_to_datetime};

/// The values of one column of a csv batch being read.
pub(super) enum TypedColumn {
    /// `STRING`: the field's text.
    Text(StringBuilder),
    Int8(PrimitiveBuilder<Int8Type>),
    Int16(PrimitiveBuilder<Int16Type>),
    Int32(PrimitiveBuilder<Int32Type>),
    Int64(PrimitiveBuilder<Int64Type>),
    Float32(PrimitiveBuilder<Float32Type>),
    Float64(PrimitiveBuilder<Float64Type>),
    /// `TIMESTAMP(3)`.
    Timestamp(PrimitiveBuilder<TimestampMillisecondType>),
    /// Any other type: the field's text, cast to the type when the batch ends.
    Cast(StringBuilder),
    /// A column the query does not read: not parsed, null (of its type) in every row.
    Unread {
        data_type: DataType,
        rows: usize,
    },
}

impl TypedColumn {
    /// An empty column of `data_type`, with room for `rows` values.
    pub fn of_type(data_type: &DataType, rows: usize) -> TypedColumn {
        match data_type {
            DataType::Utf8 => TypedColumn::Text(StringBuilder::with_capacity(rows, rows * 8)),
            DataType::Int8 => TypedColumn::Int8(PrimitiveBuilder::with_capacity(rows)),
            DataType::Int16 => TypedColumn::Int16(PrimitiveBuilder::with_capacity(rows)),
            DataType::Int32 => TypedColumn::Int32(PrimitiveBuilder::with_capacity(rows)),
            DataType::Int64 => TypedColumn::Int64(PrimitiveBuilder::with_capacity(rows)),
            DataType::Float32 => TypedColumn::Float32(PrimitiveBuilder::with_capacity(rows)),
            DataType::Float64 => TypedColumn::Float64(PrimitiveBuilder::with_capacity(rows)),
            DataType::Timestamp(TimeUnit::Millisecond, None) => {
                TypedColumn::Timestamp(PrimitiveBuilder::with_capacity(rows))
            }
            _ => TypedColumn::Cast(StringBuilder::with_capacity(rows, rows * 8)),
        }
    }

    /// A column the query does not read, of `data_type`.
    pub fn unread(data_type: &DataType) -> TypedColumn {
        TypedColumn::Unread {
            data_type: data_type.clone(),
            rows: 0,
        }
    }

    /// Whether the column parses its fields: all but an unread one.
    pub fn is_read(&self) -> bool {
        !matches!(self, TypedColumn::Unread { .. })
    }

    /// Whether the column keeps text to cast when the batch ends.
    pub fn is_cast(&self) -> bool {
        matches!(self, TypedColumn::Cast(_))
    }

    /// Appends `text` read as the column's type. Returns false, appending nothing, if `text` is
    /// not a value of the type; a cast column takes any text, checked when the batch ends.
    pub fn append(&mut self, text: &str) -> bool {
        match self {
            TypedColumn::Text(builder) | TypedColumn::Cast(builder) => {
                builder.append_value(text);
                true
            }
            TypedColumn::Int8(builder) => append_parsed(builder, text),
            TypedColumn::Int16(builder) => append_parsed(builder, text),
            TypedColumn::Int32(builder) => append_parsed(builder, text),
            TypedColumn::Int64(builder) => append_parsed(builder, text),
            TypedColumn::Float32(builder) => append_parsed(builder, text),
            TypedColumn::Float64(builder) => append_parsed(builder, text),
            TypedColumn::Timestamp(builder) => append_some(builder, timestamp_millis(text)),
            TypedColumn::Unread { rows, .. } => {
                *rows += 1;
                true
            }
        }
    }

    /// Appends a null: what a value that does not parse reads as under `ignore-parse-errors`.
    pub fn append_null(&mut self) {
        match self {
            TypedColumn::Text(builder) | TypedColumn::Cast(builder) => builder.append_null(),
            TypedColumn::Int8(builder) => builder.append_null(),
            TypedColumn::Int16(builder) => builder.append_null(),
            TypedColumn::Int32(builder) => builder.append_null(),
            TypedColumn::Int64(builder) => builder.append_null(),
            TypedColumn::Float32(builder) => builder.append_null(),
            TypedColumn::Float64(builder) => builder.append_null(),
            TypedColumn::Timestamp(builder) => builder.append_null(),
            TypedColumn::Unread { rows, .. } => *rows += 1,
        }
    }

    /// A cast column's text so far, leaving it in place: to find a value that does not parse.
    pub fn text_so_far(&self) -> Option<ArrayRef> {
        match self {
            TypedColumn::Cast(builder) => Some(Arc::new(builder.finish_cloned())),
            _ => None,
        }
    }

    /// The values appended since the last call (a cast column's text, not yet cast); the
    /// builder starts over.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            TypedColumn::Text(builder) | TypedColumn::Cast(builder) => Arc::new(builder.finish()),
            TypedColumn::Int8(builder) => Arc::new(builder.finish()),
            TypedColumn::Int16(builder) => Arc::new(builder.finish()),
            TypedColumn::Int32(builder) => Arc::new(builder.finish()),
            TypedColumn::Int64(builder) => Arc::new(builder.finish()),
            TypedColumn::Float32(builder) => Arc::new(builder.finish()),
            TypedColumn::Float64(builder) => Arc::new(builder.finish()),
            TypedColumn::Timestamp(builder) => Arc::new(builder.finish()),
            TypedColumn::Unread { data_type, rows } => {
                new_null_array(data_type, std::mem::take(rows))
            }
        }
    }
}

/// Appends `text` parsed as the cast parses it, or returns false.
fn append_parsed<T: Parser>(builder: &mut PrimitiveBuilder<T>, text: &str) -> bool {
    append_some(builder, T::parse(text))
}

fn append_some<T: ArrowPrimitiveType>(
    builder: &mut PrimitiveBuilder<T>,
    value: Option<T::Native>,
) -> bool {
    match value {
        Some(value) => {
            builder.append_value(value);
            true
        }
        None => false,
    }
}

/// What arrow's cast makes of `text` as a `TIMESTAMP(3)`: the milliseconds since the epoch of
/// the time it names, read in UTC; `None` if it names none.
pub(super) fn timestamp_millis(text: &str) -> Option<i64> {
    plain_timestamp_millis(text.as_bytes()).or_else(|| cast_timestamp_millis(text))
}

/// The cast's own reading of `text`, for whatever the fast path does not take: other
/// separators, time zones, leap seconds, invalid dates.
fn cast_timestamp_millis(text: &str) -> Option<i64> {
    let naive = string_to_datetime(&Utc, text).ok()?.naive_utc();
    TimestampMillisecondType::from_naive_datetime(naive, None)
}

const MILLIS_PER_DAY: i64 = 86_400_000;

/// `YYYY-MM-DD HH:MM:SS`, maybe with `.` and 1 to 9 digits of fraction, read without chrono;
/// `None` for anything else, valid or not, and for a date or time that does not exist. The
/// fraction is truncated to milliseconds, as the cast does.
fn plain_timestamp_millis(bytes: &[u8]) -> Option<i64> {
    if !(bytes.len() == 19 || (21..=29).contains(&bytes.len())) {
        return None;
    }
    let separators = [(4, b'-'), (7, b'-'), (10, b' '), (13, b':'), (16, b':')];
    if separators.iter().any(|&(index, byte)| bytes[index] != byte) {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let hour = digits(&bytes[11..13])?;
    let minute = digits(&bytes[14..16])?;
    let second = digits(&bytes[17..19])?;
    let millis = match bytes.get(19) {
        None => 0,
        Some(b'.') => fraction_millis(&bytes[20..])?,
        Some(_) => return None,
    };
    let real_date = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    if !real_date || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let seconds_of_day = hour * 3600 + minute * 60 + second;
    Some(days_from_civil(year, month, day) * MILLIS_PER_DAY + seconds_of_day * 1000 + millis)
}

/// The number written by `bytes`, all ASCII digits.
#[inline]
fn digits(bytes: &[u8]) -> Option<i64> {
    bytes.iter().try_fold(0, |value, &byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + i64::from(byte - b'0'))
    })
}

/// The milliseconds of a fraction of a second written with 1 to 9 digits: the first three,
/// the others checked to be digits and dropped.
#[inline]
fn fraction_millis(bytes: &[u8]) -> Option<i64> {
    let mut millis = 0;
    for (index, &byte) in bytes.iter().enumerate() {
        if !byte.is_ascii_digit() {
            return None;
        }
        if index < 3 {
            millis = millis * 10 + i64::from(byte - b'0');
        }
    }
    let scale = [100, 10, 1][bytes.len().clamp(1, 3) - 1];
    Some(millis * scale)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`): years are counted from March, so the leap day ends a year, in eras of
/// 400 years of 146,097 days.
#[inline]
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use arrow_array::Array;

    use super::*;

    /// Dates around every kind of month end and leap rule, in and out of range.
    fn dates() -> Vec<String> {
        let years = [
            0, 1, 4, 100, 1600, 1899, 1900, 1969, 1970, 2000, 2024, 2026, 2100, 9999,
        ];
        let mut dates = Vec::new();
        for year in years {
            for month in 0..=13 {
                for day in 0..=32 {
                    dates.push(format!("{year:04}-{month:02}-{day:02}"));
                }
            }
        }
        dates
    }

    const TIMES: [&str; 22] = [
        " 00:00:00",
        " 23:59:59",
        " 12:34:56",
        " 24:00:00",
        " 23:60:00",
        " 23:59:60",
        " 00:00:00.0",
        " 00:00:00.001",
        " 00:00:00.5",
        " 00:00:00.05",
        " 00:00:00.123",
        " 00:00:00.1234",
        " 00:00:00.99999",
        " 00:00:00.999999",
        " 12:00:00.1234567",
        " 12:00:00.12345678",
        " 12:00:00.123456789",
        " 12:00:00.1234567891",
        " 12:00:00.",
        " 12:00:00.12a",
        "T12:00:00.123",
        " 12:00:00.123Z",
    ];

    #[test]
    fn the_timestamp_fast_path_agrees_with_the_cast() {
        let mut fast = 0;
        for date in dates() {
            for time in TIMES {
                let text = format!("{date}{time}");
                let expected = cast_timestamp_millis(&text);
                if let Some(millis) = plain_timestamp_millis(text.as_bytes()) {
                    assert_eq!(Some(millis), expected, "{text}");
                    fast += 1;
                }
                assert_eq!(timestamp_millis(&text), expected, "{text}");
            }
        }
        // Every real date of the 14 years, with the 14 times the fast path reads.
        let real_dates = 14 * 365 + 5;
        assert_eq!(fast, real_dates * 14);
    }

    #[test]
    fn the_timestamp_fast_path_takes_only_its_own_form() {
        for text in [
            "2026-01-01 00:00:00.001",
            "2024-02-29 12:00:00",
            "2000-02-29 23:59:59.999999999",
        ] {
            assert!(plain_timestamp_millis(text.as_bytes()).is_some(), "{text}");
        }
        for text in [
            "2026-02-30 00:00:00",
            "1900-02-29 00:00:00",
            "2026-01-01",
            "2026-01-01T00:00:00",
            "2026-01-01 000000",
            "2026-1-01 00:00:00",
            "+2026-01-01 00:00:00",
            "2026-01-01 00:00:00 +01:00",
            "２026-01-01 00:00:00",
            "",
        ] {
            assert_eq!(plain_timestamp_millis(text.as_bytes()), None, "{text}");
            assert_eq!(
                timestamp_millis(text),
                cast_timestamp_millis(text),
                "{text}"
            );
        }
        assert_eq!(timestamp_millis("1970-01-01 00:00:01.5"), Some(1500));
        assert_eq!(timestamp_millis("1969-12-31 23:59:59.999"), Some(-1));
        assert_eq!(
            timestamp_millis("2026-01-01 01:00:00+01:00"),
            Some(1_767_225_600_000)
        );
    }

    #[test]
    fn numbers_parse_as_the_cast_parses_them() {
        let mut column = TypedColumn::of_type(&DataType::Int32, 4);
        assert!(column.append("12"));
        assert!(column.append(" -3 "));
        assert!(!column.append(""));
        assert!(!column.append("1.5"));
        assert!(!column.append("99999999999"));
        column.append_null();
        let values = column.finish();
        assert_eq!(values.len(), 3);
        assert_eq!(values.null_count(), 1);

        let mut column = TypedColumn::of_type(&DataType::Float64, 4);
        assert!(column.append("0.31"));
        assert!(column.append("1e3"));
        assert!(!column.append("x"));
        assert_eq!(column.finish().len(), 2);
    }
}
