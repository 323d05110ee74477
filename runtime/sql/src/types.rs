//! Flink's SQL types and the Arrow types that hold them.

use arrow_schema::{DataType, Field, Fields, TimeUnit};

use crate::error::{Error, Result};

/// The Arrow type of a Flink type as written in DDL (`INT`, `VARCHAR(20)`, `DECIMAL(10, 2)`,
/// `TIMESTAMP(3)`), or an error naming it.
pub fn arrow_type(flink_type: &str) -> Result<DataType> {
    if let Some(fields) = row_fields(flink_type) {
        return row_type(fields, flink_type);
    }
    let upper = flink_type.trim().to_uppercase();
    let (base, arguments) = match upper.split_once('(') {
        Some((base, rest)) => (
            base.trim(),
            rest.trim_end_matches(')')
                .split(',')
                .map(|part| part.trim().parse::<u32>())
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| {
                    Error::validation(format!("type {flink_type}: malformed arguments"))
                })?,
        ),
        None => (upper.as_str(), Vec::new()),
    };
    let precision = |default: u32| arguments.first().copied().unwrap_or(default);
    Ok(match base {
        "BOOLEAN" | "BOOL" => DataType::Boolean,
        "TINYINT" => DataType::Int8,
        "SMALLINT" => DataType::Int16,
        "INT" | "INTEGER" => DataType::Int32,
        "BIGINT" => DataType::Int64,
        "FLOAT" | "REAL" => DataType::Float32,
        "DOUBLE" | "DOUBLE PRECISION" => DataType::Float64,
        "STRING" | "VARCHAR" | "CHAR" | "CHARACTER VARYING" | "CHARACTER" | "TEXT" => {
            DataType::Utf8
        }
        "DECIMAL" | "DEC" | "NUMERIC" => {
            let precision = precision(10);
            let scale = arguments.get(1).copied().unwrap_or(0);
            if !(1..=38).contains(&precision) || scale > precision {
                return Err(Error::validation(format!(
                    "type {flink_type}: DECIMAL precision must be between 1 and 38 and the \
                     scale at most the precision"
                )));
            }
            DataType::Decimal128(precision as u8, scale as i8)
        }
        "DATE" => DataType::Date32,
        "TIMESTAMP" | "TIMESTAMP WITHOUT TIME ZONE" => timestamp(precision(6), flink_type)?,
        "TIMESTAMP_LTZ" => timestamp(precision(6), flink_type)?,
        "BYTES" | "VARBINARY" | "BINARY" => DataType::Binary,
        _ => {
            return Err(Error::unsupported(format!("the type {flink_type}")));
        }
    })
}

/// The fields of `ROW<…>`, as the DDL parser writes it back.
fn row_fields(flink_type: &str) -> Option<&str> {
    let trimmed = flink_type.trim();
    let head = trimmed.get(..4)?;
    if !head.eq_ignore_ascii_case("ROW<") {
        return None;
    }
    trimmed.get(4..)?.strip_suffix('>')
}

/// `` `name` type, `name` type `` (types may nest) into a struct type.
fn row_type(fields: &str, written: &str) -> Result<DataType> {
    let mut parsed = Vec::new();
    for field in split_top_level(fields) {
        let field = field.trim();
        let (name, rest) = match field.strip_prefix('`') {
            Some(quoted) => {
                let end = quoted.find('`').ok_or_else(|| {
                    Error::validation(format!("type {written}: unclosed quote in '{field}'"))
                })?;
                (quoted[..end].to_owned(), &quoted[end + 1..])
            }
            None => match field.split_once(char::is_whitespace) {
                Some((name, rest)) => (name.to_owned(), rest),
                None => {
                    return Err(Error::validation(format!(
                        "type {written}: the field '{field}' has no type"
                    )));
                }
            },
        };
        parsed.push(Field::new(name, arrow_type(rest)?, true));
    }
    if parsed.is_empty() {
        return Err(Error::validation(format!(
            "type {written}: a ROW needs fields"
        )));
    }
    Ok(DataType::Struct(Fields::from(parsed)))
}

/// `text` split at the commas outside `<…>` and `(…)`.
fn split_top_level(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start, mut quoted) = (Vec::new(), 0i32, 0, false);
    for (at, c) in text.char_indices() {
        match c {
            '`' => quoted = !quoted,
            '<' | '(' if !quoted => depth += 1,
            '>' | ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    if !text[start..].trim().is_empty() {
        parts.push(&text[start..]);
    }
    parts
}

fn timestamp(precision: u32, written: &str) -> Result<DataType> {
    Ok(match precision {
        0 => DataType::Timestamp(TimeUnit::Second, None),
        1..=3 => DataType::Timestamp(TimeUnit::Millisecond, None),
        4..=6 => DataType::Timestamp(TimeUnit::Microsecond, None),
        7..=9 => DataType::Timestamp(TimeUnit::Nanosecond, None),
        _ => {
            return Err(Error::validation(format!(
                "type {written}: TIMESTAMP precision must be between 0 and 9"
            )));
        }
    })
}

/// How Flink names the type Arrow's `data_type` holds (`INT`, `STRING`, `TIMESTAMP(3)`).
pub fn flink_type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INT".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => "BIGINT".into(),
        DataType::Float32 => "FLOAT".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Decimal128(precision, scale) => format!("DECIMAL({precision}, {scale})"),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Timestamp(unit, Some(_)) => {
            format!("TIMESTAMP_LTZ({})", timestamp_precision(unit))
        }
        DataType::Timestamp(unit, None) => format!("TIMESTAMP({})", timestamp_precision(unit)),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".into(),
        DataType::Null => "NULL".into(),
        DataType::Interval(_) => "INTERVAL".into(),
        DataType::Struct(fields) => format!(
            "ROW<{}>",
            fields
                .iter()
                .map(|field| format!("`{}` {}", field.name(), flink_type_name(field.data_type())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

pub(crate) fn timestamp_precision(unit: &TimeUnit) -> u32 {
    match unit {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 3,
        TimeUnit::Microsecond => 6,
        TimeUnit::Nanosecond => 9,
    }
}

/// The width Flink's client gives a column of this type when it cannot see the values
/// (streaming results): enough for any value of the type, 30 for variable-length ones.
pub fn column_width_by_type(data_type: &DataType) -> usize {
    match data_type {
        DataType::Int8 => 4,
        DataType::Int16 => 6,
        DataType::Int32 => 11,
        DataType::Int64 | DataType::UInt64 => 20,
        DataType::Decimal128(precision, _) => usize::from(*precision) + 2,
        DataType::Boolean => 5,
        DataType::Date32 | DataType::Date64 => 10,
        DataType::Timestamp(unit, _) => match timestamp_precision(unit) {
            0 => 19,
            1..=3 => 23,
            4..=6 => 26,
            _ => 29,
        },
        _ => 30,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flink_types_map_to_arrow_and_back() {
        for (written, name) in [
            ("INT", "INT"),
            ("BIGINT", "BIGINT"),
            ("VARCHAR(20)", "STRING"),
            ("DECIMAL(10,2)", "DECIMAL(10, 2)"),
            ("TIMESTAMP(3)", "TIMESTAMP(3)"),
            ("DOUBLE", "DOUBLE"),
            ("BOOLEAN", "BOOLEAN"),
        ] {
            assert_eq!(flink_type_name(&arrow_type(written).unwrap()), name);
        }
        assert_eq!(
            arrow_type("MAP<STRING, INT>").unwrap_err().to_string(),
            "the type MAP<STRING, INT> is not supported yet"
        );
    }
}
