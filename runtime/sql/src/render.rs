//! Values and results laid out as Flink's SQL client lays them out: each value as Flink casts
//! it to a string, and the tableau with its borders, right-aligned cells and `op` column.

use std::fmt::Write as _;
use std::time::Duration;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Decimal128Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};

use crate::types::{column_width_by_type, timestamp_precision};

/// How Flink's client shows a null.
pub const NULL: &str = "<NULL>";
/// The widest a column gets.
pub const MAX_COLUMN_WIDTH: usize = 30;

/// The kind of change a result row is, as Flink's `RowKind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum RowKind {
    Insert,
    UpdateBefore,
    UpdateAfter,
    Delete,
}

impl RowKind {
    /// `+I`, `-U`, `+U`, `-D`.
    pub fn short_string(self) -> &'static str {
        match self {
            RowKind::Insert => "+I",
            RowKind::UpdateBefore => "-U",
            RowKind::UpdateAfter => "+U",
            RowKind::Delete => "-D",
        }
    }

    pub(crate) fn code(self) -> i8 {
        match self {
            RowKind::Insert => 0,
            RowKind::UpdateBefore => 1,
            RowKind::UpdateAfter => 2,
            RowKind::Delete => 3,
        }
    }

    pub(crate) fn from_code(code: i8) -> Self {
        match code {
            1 => RowKind::UpdateBefore,
            2 => RowKind::UpdateAfter,
            3 => RowKind::Delete,
            _ => RowKind::Insert,
        }
    }

    /// Whether the row adds to the result (`+I`, `+U`) rather than taking from it.
    pub fn is_addition(self) -> bool {
        matches!(self, RowKind::Insert | RowKind::UpdateAfter)
    }
}

/// One result row: its kind and its values as Flink renders them (`None` for null).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResultRow {
    pub kind: RowKind,
    pub values: Vec<Option<String>>,
}

/// Renders row `row` of `array` as Flink casts the value to a string; `None` for null.
pub fn render_value(array: &ArrayRef, row: usize) -> Option<String> {
    if array.is_null(row) {
        return None;
    }
    Some(match array.data_type() {
        DataType::Boolean => {
            if array.as_boolean().value(row) {
                "TRUE".into()
            } else {
                "FALSE".into()
            }
        }
        DataType::Int8 => array.as_primitive::<Int8Type>().value(row).to_string(),
        DataType::Int16 => array.as_primitive::<Int16Type>().value(row).to_string(),
        DataType::Int32 => array.as_primitive::<Int32Type>().value(row).to_string(),
        DataType::Int64 => array.as_primitive::<Int64Type>().value(row).to_string(),
        DataType::Float32 => java_double(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => java_double(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => array.as_string::<i32>().value(row).to_owned(),
        DataType::LargeUtf8 => array.as_string::<i64>().value(row).to_owned(),
        DataType::Utf8View => array.as_string_view().value(row).to_owned(),
        DataType::Decimal128(_, scale) => {
            decimal(array.as_primitive::<Decimal128Type>().value(row), *scale)
        }
        DataType::Date32 => date(i64::from(array.as_primitive::<Date32Type>().value(row))),
        DataType::Timestamp(unit, _) => {
            let (value, per_second) = match unit {
                TimeUnit::Second => (array.as_primitive::<TimestampSecondType>().value(row), 1),
                TimeUnit::Millisecond => (
                    array.as_primitive::<TimestampMillisecondType>().value(row),
                    1_000,
                ),
                TimeUnit::Microsecond => (
                    array.as_primitive::<TimestampMicrosecondType>().value(row),
                    1_000_000,
                ),
                TimeUnit::Nanosecond => (
                    array.as_primitive::<TimestampNanosecondType>().value(row),
                    1_000_000_000,
                ),
            };
            timestamp(value, per_second, timestamp_precision(unit))
        }
        _ => datafusion_common::ScalarValue::try_from_array(array, row)
            .map(|value| value.to_string())
            .unwrap_or_else(|error| format!("<{error}>")),
    })
}

/// A double as Java's `Double.toString` writes it: `1.5`, `2.0`, `1.0E7`, `1.0E-4`.
pub fn java_double(value: f64) -> String {
    if value.is_nan() {
        return "NaN".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if value == 0.0 {
        return if value.is_sign_negative() {
            "-0.0"
        } else {
            "0.0"
        }
        .into();
    }
    let magnitude = value.abs();
    if (1e-3..1e7).contains(&magnitude) {
        let text = format!("{value}");
        if text.contains('.') {
            text
        } else {
            text + ".0"
        }
    } else {
        let text = format!("{value:e}");
        let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exponent}")
    }
}

fn decimal(value: i128, scale: i8) -> String {
    if scale <= 0 {
        return (value * 10i128.pow(u32::from(scale.unsigned_abs()))).to_string();
    }
    let scale = scale as usize;
    let digits = value.unsigned_abs().to_string();
    let digits = format!("{digits:0>width$}", width = scale + 1);
    let (whole, fraction) = digits.split_at(digits.len() - scale);
    let sign = if value < 0 { "-" } else { "" };
    format!("{sign}{whole}.{fraction}")
}

/// Days since the epoch as `yyyy-MM-dd` (proleptic Gregorian).
fn date(days: i64) -> String {
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}")
}

fn timestamp(value: i64, per_second: i64, precision: u32) -> String {
    let seconds = value.div_euclid(per_second);
    let fraction = value.rem_euclid(per_second);
    let days = seconds.div_euclid(86_400);
    let second_of_day = seconds.rem_euclid(86_400);
    let mut text = format!(
        "{} {:02}:{:02}:{:02}",
        date(days),
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    );
    if precision > 0 {
        let digits = per_second.ilog10();
        let fraction = format!("{fraction:0>width$}", width = digits as usize);
        let _ = write!(text, ".{}", &fraction[..(precision.min(digits)) as usize]);
    }
    text
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A result's columns: names and Arrow types.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub data_type: DataType,
}

/// The tableau layout of a result.
#[derive(Debug)]
pub struct Tableau {
    widths: Vec<usize>,
    with_kind: bool,
}

impl Tableau {
    /// Widths from the values (a batch result, shown once complete), as Flink's client does
    /// in batch mode.
    pub fn by_content(columns: &[ResultColumn], rows: &[ResultRow], with_kind: bool) -> Self {
        let mut widths: Vec<usize> = columns.iter().map(|c| display_width(&c.name)).collect();
        for row in rows {
            for (width, value) in widths.iter_mut().zip(&row.values) {
                *width = (*width).max(display_width(value.as_deref().unwrap_or(NULL)));
            }
        }
        for width in &mut widths {
            *width = (*width).min(MAX_COLUMN_WIDTH);
        }
        if with_kind {
            widths.insert(0, 2);
        }
        Tableau { widths, with_kind }
    }

    /// Widths from the types (a streaming result, shown as it arrives).
    pub fn by_type(columns: &[ResultColumn], with_kind: bool) -> Self {
        let mut widths: Vec<usize> = columns
            .iter()
            .map(|c| {
                display_width(&c.name)
                    .max(column_width_by_type(&c.data_type))
                    .max(NULL.len())
            })
            .collect();
        if with_kind {
            widths.insert(0, 2);
        }
        Tableau { widths, with_kind }
    }

    pub fn border(&self) -> String {
        let mut line = String::from("+");
        for width in &self.widths {
            line.push_str(&"-".repeat(width + 2));
            line.push('+');
        }
        line
    }

    /// The border, the column names and the border again.
    pub fn header(&self, columns: &[ResultColumn]) -> String {
        let mut names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        if self.with_kind {
            names.insert(0, "op");
        }
        format!(
            "{}\n{}\n{}",
            self.border(),
            self.line(names.iter().copied()),
            self.border()
        )
    }

    pub fn row(&self, row: &ResultRow) -> String {
        let values = row.values.iter().map(|v| v.as_deref().unwrap_or(NULL));
        if self.with_kind {
            self.line(std::iter::once(row.kind.short_string()).chain(values))
        } else {
            self.line(values)
        }
    }

    fn line<'a>(&self, cells: impl Iterator<Item = &'a str>) -> String {
        let mut line = String::from("|");
        for (cell, &width) in cells.zip(&self.widths) {
            line.push(' ');
            let cell_width = display_width(cell);
            if cell_width <= width {
                line.push_str(&" ".repeat(width - cell_width));
                line.push_str(cell);
            } else {
                let kept: String = cell.chars().take(width.saturating_sub(3)).collect();
                line.push_str(&kept);
                line.push_str("...");
            }
            line.push_str(" |");
        }
        line
    }
}

fn display_width(text: &str) -> usize {
    text.chars().count()
}

/// A whole batch-mode result, as the client prints it: "N rows in set", or "Empty set".
pub fn tableau_batch(
    columns: &[ResultColumn],
    rows: &[ResultRow],
    with_kind: bool,
    elapsed: Option<Duration>,
) -> String {
    let time = elapsed.map_or(String::new(), |e| {
        format!(" ({:.2} seconds)", e.as_secs_f64())
    });
    if rows.is_empty() {
        return format!("Empty set{time}\n");
    }
    let tableau = Tableau::by_content(columns, rows, with_kind);
    let mut out = tableau.header(columns);
    out.push('\n');
    for row in rows {
        out.push_str(&tableau.row(row));
        out.push('\n');
    }
    out.push_str(&tableau.border());
    let noun = if rows.len() == 1 { "row" } else { "rows" };
    let _ = writeln!(out, "\n{} {noun} in set{time}", rows.len());
    out
}

/// The last line of a streaming result.
pub fn streaming_footer(rows: usize, elapsed: Option<Duration>) -> String {
    let time = elapsed.map_or(String::new(), |e| {
        format!(" ({:.2} seconds)", e.as_secs_f64())
    });
    let noun = if rows == 1 { "row" } else { "rows" };
    format!("Received a total of {rows} {noun}{time}")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Decimal128Array, TimestampMillisecondArray};

    use super::*;

    #[test]
    fn values_render_as_flink_casts_them_to_strings() {
        assert_eq!(java_double(1.5), "1.5");
        assert_eq!(java_double(2.0), "2.0");
        assert_eq!(java_double(12_345_678.0), "1.2345678E7");
        assert_eq!(java_double(0.0001), "1.0E-4");
        let decimals: ArrayRef = Arc::new(
            Decimal128Array::from(vec![1250, -5])
                .with_precision_and_scale(10, 2)
                .unwrap(),
        );
        assert_eq!(render_value(&decimals, 0).as_deref(), Some("12.50"));
        assert_eq!(render_value(&decimals, 1).as_deref(), Some("-0.05"));
        let timestamps: ArrayRef =
            Arc::new(TimestampMillisecondArray::from(vec![1_577_836_800_123, -1]));
        assert_eq!(
            render_value(&timestamps, 0).as_deref(),
            Some("2020-01-01 00:00:00.123")
        );
        assert_eq!(
            render_value(&timestamps, 1).as_deref(),
            Some("1969-12-31 23:59:59.999")
        );
    }

    fn row(kind: RowKind, values: &[&str]) -> ResultRow {
        ResultRow {
            kind,
            values: values.iter().map(|v| Some((*v).to_owned())).collect(),
        }
    }

    #[test]
    fn batch_and_streaming_tableaux_match_flinks_client() {
        let columns = vec![
            ResultColumn {
                name: "name".into(),
                data_type: DataType::Utf8,
            },
            ResultColumn {
                name: "cnt".into(),
                data_type: DataType::Int64,
            },
        ];
        let rows = vec![
            row(RowKind::Insert, &["Alice", "1"]),
            row(RowKind::Insert, &["Bob", "2"]),
        ];
        assert_eq!(
            tableau_batch(&columns, &rows, false, None),
            "+-------+-----+\n|  name | cnt |\n+-------+-----+\n| Alice |   1 |\n\
             |   Bob |   2 |\n+-------+-----+\n2 rows in set\n"
        );
        let tableau = Tableau::by_type(&columns, true);
        assert_eq!(
            tableau.header(&columns),
            "+----+--------------------------------+----------------------+\n\
             | op |                           name |                  cnt |\n\
             +----+--------------------------------+----------------------+"
        );
        assert_eq!(
            tableau.row(&row(RowKind::UpdateBefore, &["Bob", "1"])),
            "| -U |                            Bob |                    1 |"
        );
        assert_eq!(streaming_footer(4, None), "Received a total of 4 rows");
    }
}
