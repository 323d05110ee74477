//! Configures a row generator from Flink's datagen option names, as written in a SQL
//! `WITH (...)` clause.
//!
//! | option | meaning |
//! |---|---|
//! | `connector` | must be `datagen` when given |
//! | `rows-per-second` | job-wide rate; `0` is unlimited; default 10000 as in Flink |
//! | `number-of-rows` | bounds the source; unbounded when absent (unless a sequence field ends) |
//! | `fields.<name>.kind` | `random` (default) or `sequence` |
//! | `fields.<name>.start`, `.end` | a sequence's bounds, both required, both included |
//! | `fields.<name>.min`, `.max` | a random number's bounds |
//! | `fields.<name>.length` | makes a random field a string of that many characters |
//!
//! Without a table schema, a random field's type is inferred: a string when it has `length`,
//! a double when `min` or `max` has a fraction or an exponent, otherwise a whole number
//! (between `i64::MIN` and `i64::MAX` by default). Fields are ordered by name.

use std::collections::BTreeMap;

use flinkrs_core::{Error, Result};

use super::row::{FieldGenerator, RowGenerator};

pub const CONNECTOR: &str = "connector";
pub const ROWS_PER_SECOND: &str = "rows-per-second";
pub const NUMBER_OF_ROWS: &str = "number-of-rows";
/// Flink's default `rows-per-second`.
pub const DEFAULT_ROWS_PER_SECOND: u64 = 10_000;

const FIELD_PROPERTIES: [&str; 6] = ["kind", "start", "end", "min", "max", "length"];

/// Parsed datagen options.
#[derive(Clone, Debug, PartialEq)]
pub struct DataGenOptions {
    /// `0` means as fast as possible.
    pub rows_per_second: u64,
    /// The number of rows: `number-of-rows` or the shortest sequence, whichever is smaller.
    pub number_of_rows: Option<u64>,
    pub generator: RowGenerator,
}

fn unknown_option(key: &str) -> Error {
    let fields = FIELD_PROPERTIES
        .map(|property| format!("fields.<name>.{property}"))
        .join(", ");
    Error::config(
        key,
        format!(
            "unknown datagen option; known options are: {CONNECTOR}, {ROWS_PER_SECOND}, \
             {NUMBER_OF_ROWS}, {fields}"
        ),
    )
}

fn parse_u64(key: &str, value: &str) -> Result<u64> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::config(key, format!("'{value}' is not a non-negative whole number")))
}

fn parse_i64(key: &str, value: &str) -> Result<i64> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::config(key, format!("'{value}' is not a whole number")))
}

fn parse_f64(key: &str, value: &str) -> Result<f64> {
    value
        .trim()
        .parse()
        .map_err(|_| Error::config(key, format!("'{value}' is not a number")))
}

/// One field's options: property → (full key, value).
type FieldOptions<'a> = BTreeMap<&'a str, (&'a str, &'a str)>;

impl DataGenOptions {
    /// Parses Flink's datagen options, rejecting unknown options and malformed values with an
    /// error naming the option.
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<Self> {
        let mut rows_per_second = DEFAULT_ROWS_PER_SECOND;
        let mut number_of_rows = None;
        let mut fields: BTreeMap<&str, FieldOptions<'_>> = BTreeMap::new();
        for (key, value) in options {
            match key.as_str() {
                CONNECTOR if value.trim().eq_ignore_ascii_case("datagen") => {}
                CONNECTOR => {
                    return Err(Error::config(
                        key,
                        format!("'{value}' is not this connector; expected 'datagen'"),
                    ));
                }
                ROWS_PER_SECOND => rows_per_second = parse_u64(key, value)?,
                NUMBER_OF_ROWS => number_of_rows = Some(parse_u64(key, value)?),
                _ => {
                    let (name, property) = key
                        .strip_prefix("fields.")
                        .and_then(|rest| rest.rsplit_once('.'))
                        .filter(|(name, property)| {
                            !name.is_empty() && FIELD_PROPERTIES.contains(property)
                        })
                        .ok_or_else(|| unknown_option(key))?;
                    fields
                        .entry(name)
                        .or_default()
                        .insert(property, (key.as_str(), value));
                }
            }
        }
        if fields.is_empty() {
            return Err(Error::config(
                "fields",
                "the datagen source needs at least one field, e.g. 'fields.id.kind' = 'sequence'",
            ));
        }
        let fields = fields
            .into_iter()
            .map(|(name, properties)| Ok((name.to_owned(), field_generator(name, &properties)?)))
            .collect::<Result<Vec<_>>>()?;
        let generator = RowGenerator::new(fields)?;
        let bound = generator.rows_bounded_by_sequences();
        let number_of_rows = match (number_of_rows, bound) {
            (Some(rows), Some(bound)) => Some(rows.min(bound)),
            (rows, bound) => rows.or(bound),
        };
        Ok(DataGenOptions {
            rows_per_second,
            number_of_rows,
            generator,
        })
    }
}

/// Rejects the properties of `properties` that `kind` does not use.
fn reject_properties(properties: &FieldOptions<'_>, unused: &[&str], kind: &str) -> Result<()> {
    match unused.iter().find_map(|property| properties.get(property)) {
        Some((key, _)) => Err(Error::config(
            *key,
            format!("does not apply to a {kind} field"),
        )),
        None => Ok(()),
    }
}

fn field_generator(name: &str, properties: &FieldOptions<'_>) -> Result<FieldGenerator> {
    let value = |property: &str| properties.get(property).copied();
    let kind = value("kind").map_or("random", |(_, kind)| kind.trim());
    match kind {
        "sequence" => {
            reject_properties(properties, &["min", "max", "length"], "sequence")?;
            let bound = |property: &str| match value(property) {
                Some((key, text)) => parse_i64(key, text),
                None => Err(Error::config(
                    format!("fields.{name}.{property}"),
                    format!(
                        "a sequence field needs both 'fields.{name}.start' and 'fields.{name}.end'"
                    ),
                )),
            };
            Ok(FieldGenerator::Sequence {
                start: bound("start")?,
                end: bound("end")?,
            })
        }
        "random" => {
            reject_properties(properties, &["start", "end"], "random")?;
            if let Some((key, text)) = value("length") {
                reject_properties(properties, &["min", "max"], "random string")?;
                let length = usize::try_from(parse_u64(key, text)?)
                    .map_err(|_| Error::config(key, format!("'{text}' is too long")))?;
                return Ok(FieldGenerator::RandomString { length });
            }
            let is_fractional = |entry: Option<(&str, &str)>| {
                entry.is_some_and(|(_, text)| text.contains(['.', 'e', 'E']))
            };
            if is_fractional(value("min")) || is_fractional(value("max")) {
                let bound = |property: &str, default: f64| {
                    value(property).map_or(Ok(default), |(key, text)| parse_f64(key, text))
                };
                return Ok(FieldGenerator::RandomDouble {
                    min: bound("min", 0.0)?,
                    max: bound("max", 1.0)?,
                });
            }
            let bound = |property: &str, default: i64| {
                value(property).map_or(Ok(default), |(key, text)| parse_i64(key, text))
            };
            Ok(FieldGenerator::RandomInt {
                min: bound("min", i64::MIN)?,
                max: bound("max", i64::MAX)?,
            })
        }
        other => {
            let key = value("kind").map_or("kind", |(key, _)| key);
            Err(Error::config(
                key,
                format!("'{other}' is not a generator kind; use 'sequence' or 'random'"),
            ))
        }
    }
}
