//! The `datagen` table source: Flink's option names (`fields.#.kind` = `random` or
//! `sequence`, `min`, `max`, `length`, `start`, `end`, `rows-per-second`,
//! `number-of-rows`), each column generated as a pure function of the row index.

use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, Int64Array,
    TimestampMillisecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;
use flinkrs_connectors::RateLimitedSource;
use flinkrs_connectors::datagen::{
    ArrowDataGen, DEFAULT_SEED, FieldGenerator, FieldValue, Rng, RowIndices, RowRng, mix64,
};

use super::{check_options, parse_option};
use crate::catalog::TableDefinition;
use crate::error::{Error, Result};

const KNOWN: [&str; 3] = ["connector", "rows-per-second", "number-of-rows"];
const FIELD_SUFFIXES: [&str; 7] = ["kind", "min", "max", "length", "start", "end", "max-past"];

/// How one column is generated.
#[derive(Clone, Debug)]
enum ColumnGenerator {
    Field(FieldGenerator),
    Boolean,
    /// A random timestamp in `[now - max_past, now]`.
    Timestamp {
        now: i64,
        max_past: i64,
    },
}

pub(crate) fn add_source(
    env: &StreamExecutionEnvironment,
    table: &TableDefinition,
) -> Result<ArrowStream> {
    let columns: Vec<String> = table
        .physical
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    check_options("datagen", &table.options, &KNOWN, &FIELD_SUFFIXES, &columns)?;
    let rows_per_second: u64 =
        parse_option(table, "rows-per-second", "a whole number")?.unwrap_or(10_000);
    let mut rows: Option<u64> = parse_option(table, "number-of-rows", "a whole number")?;
    let mut generators = Vec::new();
    for field in table.physical.fields() {
        let generator = column_generator(table, field.name(), field.data_type())?;
        if let ColumnGenerator::Field(field_generator) = &generator
            && let Some(length) = field_generator.sequence_length()
        {
            rows = Some(rows.map_or(length, |rows| rows.min(length)));
        }
        generators.push((generator, field.data_type().clone()));
    }
    let generators = Arc::new(generators);
    let schema = Arc::clone(&table.physical);
    let name = table.qualified_name.clone();
    let stream = env.add_arrow_source(&name, Arc::clone(&schema), None, move |_| {
        let generators = Arc::clone(&generators);
        let source = ArrowDataGen::new(Arc::clone(&schema), rows, move |indices| {
            generators
                .iter()
                .enumerate()
                .map(|(index, (generator, data_type))| column(generator, data_type, index, indices))
                .collect()
        });
        // `0` is unlimited, as in Flink.
        let rate = if rows_per_second == 0 {
            u64::MAX
        } else {
            rows_per_second
        };
        Ok(RateLimitedSource::new(source, rate))
    })?;
    Ok(stream)
}

fn column_generator(
    table: &TableDefinition,
    column: &str,
    data_type: &DataType,
) -> Result<ColumnGenerator> {
    let key = |suffix: &str| format!("fields.{column}.{suffix}");
    let kind = table
        .options
        .get(&key("kind"))
        .map_or("random", String::as_str);
    let option_error = |suffix: &str, message: String| Error::Option {
        table: table.qualified_name.clone(),
        key: key(suffix),
        message,
    };
    let reject = |suffixes: &[&str], why: &str| -> Result<()> {
        match suffixes
            .iter()
            .find(|suffix| table.options.contains_key(&key(suffix)))
        {
            Some(suffix) => Err(option_error(suffix, why.to_owned())),
            None => Ok(()),
        }
    };
    let integer = |suffix: &str| parse_option::<i64>(table, &key(suffix), "a whole number");
    let double = |suffix: &str| parse_option::<f64>(table, &key(suffix), "a number");
    let generator = match (kind, data_type) {
        (
            "sequence",
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::Utf8
            | DataType::Float32
            | DataType::Float64,
        ) => {
            reject(
                &["min", "max", "length"],
                "a sequence field takes 'start' and 'end' only",
            )?;
            let (Some(start), Some(end)) = (integer("start")?, integer("end")?) else {
                return Err(option_error(
                    "start",
                    "a sequence field needs both 'start' and 'end'".into(),
                ));
            };
            ColumnGenerator::Field(FieldGenerator::Sequence { start, end })
        }
        ("sequence", other) => {
            return Err(option_error(
                "kind",
                format!(
                    "a sequence of {} is not supported yet",
                    crate::types::flink_type_name(other)
                ),
            ));
        }
        ("random", DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64) => {
            reject(
                &["start", "end", "length"],
                "a random number field takes 'min' and 'max'",
            )?;
            let (low, high) = integer_range(data_type);
            ColumnGenerator::Field(FieldGenerator::RandomInt {
                min: integer("min")?.unwrap_or(low),
                max: integer("max")?.unwrap_or(high),
            })
        }
        ("random", DataType::Float32 | DataType::Float64) => {
            reject(
                &["start", "end", "length"],
                "a random number field takes 'min' and 'max'",
            )?;
            ColumnGenerator::Field(FieldGenerator::RandomDouble {
                min: double("min")?.unwrap_or(f64::from(f32::MIN)),
                max: double("max")?.unwrap_or(f64::from(f32::MAX)),
            })
        }
        ("random", DataType::Utf8) => {
            reject(
                &["start", "end", "min", "max"],
                "a random string field takes 'length'",
            )?;
            let length =
                parse_option::<usize>(table, &key("length"), "a whole number")?.unwrap_or(100);
            ColumnGenerator::Field(FieldGenerator::RandomString { length })
        }
        ("random", DataType::Boolean) => {
            reject(
                &["start", "end", "min", "max", "length"],
                "a random boolean field takes no options",
            )?;
            ColumnGenerator::Boolean
        }
        ("random", DataType::Timestamp(TimeUnit::Millisecond, _)) => {
            reject(
                &["start", "end", "min", "max", "length"],
                "a random timestamp field takes 'max-past'",
            )?;
            let max_past = parse_option::<String>(table, &key("max-past"), "a duration")?
                .map(|text| {
                    parse_duration_millis(&text).ok_or_else(|| {
                        option_error(
                            "max-past",
                            format!("'{text}' is not a duration such as '5 s' or '1 min'"),
                        )
                    })
                })
                .transpose()?
                .unwrap_or(0);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
            ColumnGenerator::Timestamp { now, max_past }
        }
        ("random", other) => {
            return Err(option_error(
                "kind",
                format!(
                    "random values of {} are not supported yet",
                    crate::types::flink_type_name(other)
                ),
            ));
        }
        (other, _) => {
            return Err(option_error(
                "kind",
                format!("'{other}' is not a kind of field; use 'random' or 'sequence'"),
            ));
        }
    };
    if let ColumnGenerator::Field(field) = &generator {
        field.validate(&key("kind")).map_err(|error| {
            Error::validation(format!("table '{}': {error}", table.qualified_name))
        })?;
    }
    Ok(generator)
}

fn integer_range(data_type: &DataType) -> (i64, i64) {
    match data_type {
        DataType::Int8 => (i64::from(i8::MIN), i64::from(i8::MAX)),
        DataType::Int16 => (i64::from(i16::MIN), i64::from(i16::MAX)),
        DataType::Int32 => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    }
}

/// `'5 s'`, `'10s'`, `'1 min'`, `'100 ms'`, `'2 h'`, `'1 d'` in milliseconds.
pub(crate) fn parse_duration_millis(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let amount: i64 = text[..split].parse().ok()?;
    let unit = text[split..].trim().to_lowercase();
    let factor = match unit.as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
        "min" | "mins" | "minute" | "minutes" => 60_000,
        "h" | "hour" | "hours" => 3_600_000,
        "d" | "day" | "days" => 86_400_000,
        _ => return None,
    };
    amount.checked_mul(factor)
}

fn column(
    generator: &ColumnGenerator,
    data_type: &DataType,
    index: usize,
    rows: RowIndices,
) -> flinkrs_core::Result<ArrayRef> {
    let mut rng = RowRng::new(mix64(index as u64, DEFAULT_SEED));
    let mut values = rows.iter().map(|row| {
        rng.start_row(row);
        (row, generator_value(generator, row, &mut rng))
    });
    let array: ArrayRef = match data_type {
        DataType::Boolean => {
            let mut builder = BooleanBuilder::with_capacity(rows.len);
            for (_, value) in values.by_ref() {
                builder.append_value(matches!(value, Generated::Bool(true)));
            }
            Arc::new(builder.finish())
        }
        DataType::Utf8 => {
            let mut builder = StringBuilder::with_capacity(rows.len, rows.len * 8);
            for (_, value) in values.by_ref() {
                match value {
                    Generated::Field(FieldValue::String(text)) => builder.append_value(text),
                    Generated::Field(other) => builder.append_value(other.to_string()),
                    _ => builder.append_null(),
                }
            }
            Arc::new(builder.finish())
        }
        DataType::Float32 => Arc::new(Float32Array::from_iter_values(
            values.map(|(_, v)| v.as_f64() as f32),
        )),
        DataType::Float64 => Arc::new(Float64Array::from_iter_values(
            values.map(|(_, v)| v.as_f64()),
        )),
        DataType::Int8 => Arc::new(Int8Array::from_iter_values(
            values.map(|(_, v)| v.as_i64() as i8),
        )),
        DataType::Int16 => Arc::new(Int16Array::from_iter_values(
            values.map(|(_, v)| v.as_i64() as i16),
        )),
        DataType::Int32 => Arc::new(Int32Array::from_iter_values(
            values.map(|(_, v)| v.as_i64() as i32),
        )),
        DataType::Timestamp(TimeUnit::Millisecond, _) => Arc::new(
            TimestampMillisecondArray::from_iter_values(values.map(|(_, v)| v.as_i64())),
        ),
        _ => Arc::new(Int64Array::from_iter_values(
            values.map(|(_, v)| v.as_i64()),
        )),
    };
    Ok(array)
}

enum Generated {
    Field(FieldValue),
    Bool(bool),
    Timestamp(i64),
}

impl Generated {
    fn as_i64(&self) -> i64 {
        match self {
            Generated::Field(FieldValue::Long(v)) | Generated::Timestamp(v) => *v,
            Generated::Field(FieldValue::Double(v)) => *v as i64,
            Generated::Field(FieldValue::String(_)) => 0,
            Generated::Bool(b) => i64::from(*b),
        }
    }

    fn as_f64(&self) -> f64 {
        match self {
            Generated::Field(FieldValue::Double(v)) => *v,
            other => other.as_i64() as f64,
        }
    }
}

fn generator_value(generator: &ColumnGenerator, row: u64, rng: &mut RowRng) -> Generated {
    match generator {
        ColumnGenerator::Field(field) => Generated::Field(field.value(row, rng)),
        ColumnGenerator::Boolean => Generated::Bool(rng.random_bool(0.5)),
        ColumnGenerator::Timestamp { now, max_past } => {
            Generated::Timestamp(now - rng.random_range(0..=*max_past))
        }
    }
}
