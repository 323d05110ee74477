//! `PROCTIME()`: the processing time at which a row is read, `TIMESTAMP_LTZ(3)`, as a
//! computed column (`pt AS PROCTIME()`). Its Arrow type is a millisecond timestamp in UTC;
//! the type's time zone is what marks it `TIMESTAMP_LTZ`.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::TimestampMillisecondArray;
use arrow_schema::{DataType, TimeUnit};
use datafusion_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

/// The Arrow type of `PROCTIME()` and of `TIMESTAMP_LTZ(3)`.
pub(crate) fn proctime_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// Whether `text`, a computed column's expression, is `PROCTIME()`.
pub(crate) fn is_proctime_expression(text: &str) -> bool {
    text.split_whitespace()
        .collect::<String>()
        .eq_ignore_ascii_case("PROCTIME()")
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Proctime {
    signature: Signature,
}

/// The scalar function `PROCTIME()`.
pub(crate) fn proctime_function() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::from(Proctime {
        // Volatile: never folded into a constant at planning time.
        signature: Signature::nullary(Volatility::Volatile),
    }))
}

impl ScalarUDFImpl for Proctime {
    fn name(&self) -> &str {
        "proctime"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> datafusion_common::Result<DataType> {
        Ok(proctime_type())
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion_common::Result<ColumnarValue> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
            });
        let times =
            TimestampMillisecondArray::from_value(now, args.number_rows).with_timezone("UTC");
        Ok(ColumnarValue::Array(Arc::new(times)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proctime_expression_is_recognized_in_any_case_and_spacing() {
        assert!(is_proctime_expression("PROCTIME()"));
        assert!(is_proctime_expression("proctime( )"));
        assert!(!is_proctime_expression("PROCTIME() + INTERVAL '1' SECOND"));
        assert!(!is_proctime_expression("NOW()"));
    }
}
