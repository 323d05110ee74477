//! Row-oriented generation driven by per-field specs: what SQL's `'connector' = 'datagen'`
//! and the CLI build on.

use std::fmt;

use flinkrs_core::{Error, Result};
use rand::Rng;

use super::row_rng::RowRng;
use super::source::Generate;

/// How one field's values are made.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldGenerator {
    /// `start`, `start + 1`, … `end` (both included): row `i` gets `start + i`. A sequence
    /// bounds the number of rows to its length, like Flink's sequence generator.
    Sequence { start: i64, end: i64 },
    /// A uniformly random whole number in `min..=max`.
    RandomInt { min: i64, max: i64 },
    /// `length` random lowercase hex digits, as Flink's random string generator makes.
    RandomString { length: usize },
    /// A uniformly random number in `min..=max`.
    RandomDouble { min: f64, max: f64 },
}

impl FieldGenerator {
    /// Checks the bounds, so that generating never fails; `key` names the field in the error.
    pub fn validate(&self, key: &str) -> Result<()> {
        match *self {
            FieldGenerator::Sequence { start, end } if start > end => Err(Error::config(
                key,
                format!("the sequence start {start} is greater than its end {end}"),
            )),
            FieldGenerator::RandomInt { min, max } if min > max => Err(Error::config(
                key,
                format!("the minimum {min} is greater than the maximum {max}"),
            )),
            FieldGenerator::RandomDouble { min, max } if !(min.is_finite() && max.is_finite()) => {
                Err(Error::config(
                    key,
                    format!("the bounds {min} and {max} must be finite"),
                ))
            }
            FieldGenerator::RandomDouble { min, max } if min > max => Err(Error::config(
                key,
                format!("the minimum {min} is greater than the maximum {max}"),
            )),
            _ => Ok(()),
        }
    }

    /// The number of values a sequence has; `None` for random fields, which never run out.
    pub fn sequence_length(&self) -> Option<u64> {
        match self {
            FieldGenerator::Sequence { start, end } => {
                let length = i128::from(*end) - i128::from(*start) + 1;
                // The whole i64 range has 2^64 values: one more than u64 counts.
                Some(if length <= 0 {
                    0
                } else {
                    u64::try_from(length).unwrap_or(u64::MAX)
                })
            }
            _ => None,
        }
    }

    /// The value of row `index`.
    pub fn value(&self, index: u64, rng: &mut RowRng) -> FieldValue {
        match *self {
            FieldGenerator::Sequence { start, .. } => {
                FieldValue::Long(start.wrapping_add(index as i64))
            }
            FieldGenerator::RandomInt { min, max } => FieldValue::Long(rng.random_range(min..=max)),
            FieldGenerator::RandomString { length } => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let text = (0..length)
                    .map(|_| char::from(HEX[rng.random_range(0..HEX.len())]))
                    .collect();
                FieldValue::String(text)
            }
            FieldGenerator::RandomDouble { min, max } => {
                FieldValue::Double(rng.random_range(min..=max))
            }
        }
    }
}

/// One generated field value.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    Long(i64),
    Double(f64),
    String(String),
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldValue::Long(value) => write!(f, "{value}"),
            FieldValue::Double(value) => write!(f, "{value}"),
            FieldValue::String(value) => f.write_str(value),
        }
    }
}

/// A generated row: one value per field, in the generator's field order.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub fields: Vec<FieldValue>,
}

/// Prints like Flink prints an insert-only row: `+I[1, 3f9a, 0.25]`.
impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("+I[")?;
        for (position, field) in self.fields.iter().enumerate() {
            if position > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{field}")?;
        }
        f.write_str("]")
    }
}

/// Makes [`Row`]s from named field generators.
#[derive(Clone, Debug, PartialEq)]
pub struct RowGenerator {
    fields: Vec<(String, FieldGenerator)>,
}

impl RowGenerator {
    /// Checks every field's bounds; the error names the field.
    pub fn new(fields: Vec<(String, FieldGenerator)>) -> Result<Self> {
        for (name, field) in &fields {
            field.validate(&format!("fields.{name}"))?;
        }
        Ok(RowGenerator { fields })
    }

    pub fn fields(&self) -> &[(String, FieldGenerator)] {
        &self.fields
    }

    /// The field names, in row order.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|(name, _)| name.as_str())
    }

    /// The shortest sequence's length: rows past it would repeat or overflow a sequence.
    pub fn rows_bounded_by_sequences(&self) -> Option<u64> {
        self.fields
            .iter()
            .filter_map(|(_, field)| field.sequence_length())
            .min()
    }
}

impl Generate<Row> for RowGenerator {
    fn generate(&self, index: u64, rng: &mut RowRng) -> Row {
        Row {
            fields: self
                .fields
                .iter()
                .map(|(_, field)| field.value(index, rng))
                .collect(),
        }
    }
}
