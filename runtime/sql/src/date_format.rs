//! Flink's `DATE_FORMAT(timestamp, pattern)`: a timestamp written with a Java
//! `SimpleDateFormat` pattern (`yyyy-MM-dd HH:mm:ss`), where DataFusion's function of that
//! name takes strftime's `%Y-%m-%d`. The pattern is read once per batch it does not change in.

use std::fmt::Write;
use std::sync::Arc;

use arrow_array::Array;
use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, Datelike, Timelike};
use datafusion_common::arrow::compute::cast;
use datafusion_common::{DataFusionError, Result as DfResult};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

pub(crate) fn date_format() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(DateFormat {
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DateFormat {
    signature: Signature,
}

/// One part of a pattern: a field letter repeated `width` times, or literal text.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Field(char, usize),
    Literal(String),
}

/// The parts of a Java date pattern; quoted text (`'T'`, `''` for a quote) is literal.
fn parse(pattern: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            let mut text = String::new();
            if chars.peek() == Some(&'\'') {
                chars.next();
                parts.push(Part::Literal("'".into()));
                continue;
            }
            loop {
                match chars.next() {
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        text.push('\'');
                    }
                    Some('\'') | None => break,
                    Some(other) => text.push(other),
                }
            }
            parts.push(Part::Literal(text));
        } else if c.is_ascii_alphabetic() {
            if !"yMdHmsS".contains(c) {
                return Err(format!(
                    "the pattern letter '{c}' in DATE_FORMAT's '{pattern}' is not supported yet \
                     (flinkrs takes y, M, d, H, m, s and S)"
                ));
            }
            let mut width = 1;
            while chars.peek() == Some(&c) {
                chars.next();
                width += 1;
            }
            parts.push(Part::Field(c, width));
        } else {
            parts.push(Part::Literal(c.to_string()));
        }
    }
    Ok(parts)
}

/// Writes the timestamp `millis` (since the epoch, UTC) with `parts`.
fn write(parts: &[Part], millis: i64, out: &mut impl Write) -> std::fmt::Result {
    let Some(time) = DateTime::from_timestamp_millis(millis).map(|t| t.naive_utc()) else {
        return Ok(());
    };
    for part in parts {
        match part {
            Part::Literal(text) => out.write_str(text)?,
            Part::Field('y', 2) => write!(out, "{:02}", time.year().rem_euclid(100))?,
            Part::Field('y', width) => write!(out, "{:0width$}", time.year())?,
            Part::Field('M', width) => write!(out, "{:0width$}", time.month())?,
            Part::Field('d', width) => write!(out, "{:0width$}", time.day())?,
            Part::Field('H', width) => write!(out, "{:0width$}", time.hour())?,
            Part::Field('m', width) => write!(out, "{:0width$}", time.minute())?,
            Part::Field('s', width) => write!(out, "{:0width$}", time.second())?,
            Part::Field(_, width) => write!(out, "{:0width$}", millis.rem_euclid(1_000))?,
        }
    }
    Ok(())
}

impl ScalarUDFImpl for DateFormat {
    fn name(&self) -> &str {
        "date_format"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        match arg_types {
            [time, pattern]
                if matches!(
                    time,
                    DataType::Timestamp(..) | DataType::Date32 | DataType::Utf8 | DataType::Null
                ) && matches!(pattern, DataType::Utf8 | DataType::Null) =>
            {
                Ok(vec![
                    DataType::Timestamp(TimeUnit::Millisecond, None),
                    DataType::Utf8,
                ])
            }
            _ => datafusion_common::plan_err!(
                "Cannot apply 'DATE_FORMAT' to arguments of type {}; it takes (TIMESTAMP, STRING)",
                arg_types
                    .iter()
                    .map(crate::types::flink_type_name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let times = cast(
            &arrays[0],
            &DataType::Timestamp(TimeUnit::Millisecond, None),
        )?;
        let times = times.as_primitive::<TimestampMillisecondType>();
        let patterns = cast(&arrays[1], &DataType::Utf8)?;
        let patterns = patterns.as_string::<i32>();
        let mut out = StringBuilder::with_capacity(rows, rows * 20);
        let mut parsed: Option<(&str, Vec<Part>)> = None;
        for row in 0..rows {
            if times.is_null(row) || patterns.is_null(row) {
                out.append_null();
                continue;
            }
            let pattern = patterns.value(row);
            if parsed.as_ref().is_none_or(|(p, _)| *p != pattern) {
                let parts = parse(pattern).map_err(DataFusionError::Execution)?;
                parsed = Some((pattern, parts));
            }
            if let Some((_, parts)) = &parsed {
                write(parts, times.value(row), &mut out)
                    .map_err(|e| DataFusionError::Execution(e.to_string()))?;
            }
            out.append_value("");
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(pattern: &str, millis: i64) -> String {
        let mut out = String::new();
        write(&parse(pattern).unwrap(), millis, &mut out).unwrap();
        out
    }

    #[test]
    fn java_patterns_are_written_as_simple_date_format_writes_them() {
        // 2015-07-15 09:05:03.042 UTC
        let millis = 1_436_951_103_042;
        assert_eq!(format("yyyy-MM-dd", millis), "2015-07-15");
        assert_eq!(format("HH:mm", millis), "09:05");
        assert_eq!(
            format("yyyy-MM-dd'T'HH:mm:ss.SSS", millis),
            "2015-07-15T09:05:03.042"
        );
        assert_eq!(format("yy/M/d H:m:s ''", millis), "15/7/15 9:5:3 '");
    }

    #[test]
    fn an_unsupported_letter_is_named() {
        assert_eq!(
            parse("EEE, d MMM").unwrap_err(),
            "the pattern letter 'E' in DATE_FORMAT's 'EEE, d MMM' is not supported yet \
             (flinkrs takes y, M, d, H, m, s and S)"
        );
    }
}
