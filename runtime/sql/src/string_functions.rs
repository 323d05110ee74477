//! Flink's string functions that DataFusion does not have: `SPLIT_INDEX` and `REGEXP_EXTRACT`.
//! A compiled pattern is reused for every row of a batch that shares it.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::Int64Type;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use datafusion_common::Result as DfResult;
use datafusion_common::arrow::compute::cast;
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use regex::Regex;

/// `SPLIT_INDEX(str, separator, index)`: the `index`-th (from 0) piece of `str` split at every
/// `separator`, empty pieces included; NULL when the index is negative or past the last piece,
/// or an argument is NULL.
pub(crate) fn split_index() -> Arc<ScalarUDF> {
    function(Kind::SplitIndex)
}

/// `REGEXP_EXTRACT(str, regex [, index])`: group `index` (0, the whole match, by default) of
/// the first match of `regex` in `str`; NULL when nothing matches, the group did not take
/// part, the index is out of range, the pattern is invalid, or an argument is NULL.
pub(crate) fn regexp_extract() -> Arc<ScalarUDF> {
    function(Kind::RegexpExtract)
}

fn function(kind: Kind) -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(StringFunction {
        kind,
        signature: Signature::user_defined(Volatility::Immutable),
    }))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    SplitIndex,
    RegexpExtract,
}

/// A function of (string, string, integer) to a string.
#[derive(Debug, PartialEq, Eq, Hash)]
struct StringFunction {
    kind: Kind,
    signature: Signature,
}

impl StringFunction {
    fn sql_name(&self) -> &'static str {
        match self.kind {
            Kind::SplitIndex => "SPLIT_INDEX",
            Kind::RegexpExtract => "REGEXP_EXTRACT",
        }
    }
}

impl ScalarUDFImpl for StringFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::SplitIndex => "split_index",
            Kind::RegexpExtract => "regexp_extract",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        let integer = |t: &DataType| t.is_integer() || t == &DataType::Null;
        let text = |t: &DataType| {
            matches!(
                t,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null
            )
        };
        let optional_index = self.kind == Kind::RegexpExtract;
        let fits = match arg_types {
            [a, b] => optional_index && text(a) && text(b),
            [a, b, c] => text(a) && text(b) && integer(c),
            _ => false,
        };
        if !fits {
            let written: Vec<String> = arg_types
                .iter()
                .map(crate::types::flink_type_name)
                .collect();
            return datafusion_common::plan_err!(
                "Cannot apply '{}' to arguments of type {}; it takes (STRING, STRING, {})",
                self.sql_name(),
                written.join(", "),
                if optional_index { "[INT]" } else { "INT" }
            );
        }
        let mut types = vec![DataType::Utf8, DataType::Utf8];
        if arg_types.len() == 3 {
            types.push(DataType::Int64);
        }
        Ok(types)
    }

    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let text = cast(&arrays[0], &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let pattern = cast(&arrays[1], &DataType::Utf8)?;
        let pattern = pattern.as_string::<i32>();
        let index: Option<ArrayRef> = arrays
            .get(2)
            .map(|a| cast(a, &DataType::Int64))
            .transpose()?;
        let index = index.as_ref().map(|a| a.as_primitive::<Int64Type>());
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        // The last pattern compiled, for the next row with the same text.
        let mut compiled: Option<(String, Option<Regex>)> = None;
        for row in 0..rows {
            if text.is_null(row) || pattern.is_null(row) || index.is_some_and(|i| i.is_null(row)) {
                out.append_null();
                continue;
            }
            let group = index.map_or(Some(0), |i| Some(i.value(row)));
            let value = if self.kind == Kind::RegexpExtract {
                let source = pattern.value(row);
                if compiled.as_ref().is_none_or(|(s, _)| s != source) {
                    compiled = Some((source.to_owned(), Regex::new(source).ok()));
                }
                let regex = compiled.as_ref().and_then(|(_, regex)| regex.as_ref());
                regex.and_then(|regex| extract(regex, text.value(row), group?))
            } else {
                split(text.value(row), pattern.value(row), group)
            };
            out.append_option(value);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

fn split(text: &str, separator: &str, index: Option<i64>) -> Option<String> {
    let index = usize::try_from(index?).ok()?;
    if text.is_empty() {
        return None;
    }
    text.split(separator).nth(index).map(str::to_owned)
}

fn extract(regex: &Regex, text: &str, group: i64) -> Option<String> {
    let group = usize::try_from(group).ok()?;
    let captures = regex.captures(text)?;
    captures.get(group).map(|m| m.as_str().to_owned())
}
