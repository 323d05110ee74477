//! The functions SQL can call: DataFusion's scalar functions and aggregates, with Flink's
//! typing where it differs. `SUM` of an integer column has the column's type and wraps on
//! overflow, and `AVG` of an integer column is an integer (the sum divided by the count,
//! rounded toward zero), as in Flink.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, FieldRef};
use datafusion_common::Result as DfResult;
use datafusion_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, GroupsAccumulator,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use crate::integer_aggregate::{IntegerAccumulator, IntegerGroupsAccumulator};

/// The scalar functions, by lower-case name and alias.
pub(crate) fn scalar_functions() -> HashMap<String, Arc<ScalarUDF>> {
    let mut functions = HashMap::new();
    for function in datafusion_functions::all_default_functions() {
        for alias in function.aliases() {
            functions.insert(alias.to_lowercase(), Arc::clone(&function));
        }
        functions.insert(function.name().to_lowercase(), function);
    }
    functions.insert(
        "mod".to_owned(),
        Arc::new(ScalarUDF::from(FlinkMod {
            signature: Signature::user_defined(Volatility::Immutable),
        })),
    );
    functions.insert("date_format".to_owned(), crate::date_format::date_format());
    functions.insert(
        "split_index".to_owned(),
        crate::string_functions::split_index(),
    );
    functions.insert(
        "regexp_extract".to_owned(),
        crate::string_functions::regexp_extract(),
    );
    functions
}

/// Flink's `MOD(a, b)`: the remainder of integer division, with the sign of `a`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkMod {
    signature: Signature,
}

impl ScalarUDFImpl for FlinkMod {
    fn name(&self) -> &str {
        "mod"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        let common = match arg_types {
            [a, b] if is_integer(a) && is_integer(b) => {
                if a == &DataType::Int64 || b == &DataType::Int64 {
                    DataType::Int64
                } else {
                    DataType::Int32
                }
            }
            [a, b] if a.is_numeric() && b.is_numeric() => DataType::Float64,
            _ => {
                return datafusion_common::plan_err!(
                    "Cannot apply 'MOD' to arguments of type {}; it takes two numbers",
                    arg_types
                        .iter()
                        .map(crate::types::flink_type_name)
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        };
        Ok(vec![common.clone(), common])
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(arg_types.first().cloned().unwrap_or(DataType::Int32))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        match arrays.as_slice() {
            [a, b] => Ok(ColumnarValue::Array(
                datafusion_common::arrow::compute::kernels::numeric::rem(a, b)?,
            )),
            _ => datafusion_common::plan_err!("MOD takes two arguments"),
        }
    }
}

/// The aggregate functions, by lower-case name: `COUNT`, `MIN` and `MAX` are DataFusion's;
/// `SUM` and `AVG` follow Flink's typing for integers and are DataFusion's otherwise.
pub(crate) fn aggregate_functions() -> HashMap<String, Arc<AggregateUDF>> {
    use datafusion_functions_aggregate::{count, min_max};
    let mut functions = HashMap::new();
    functions.insert("count".to_owned(), count::count_udaf());
    functions.insert("min".to_owned(), min_max::min_udaf());
    functions.insert("max".to_owned(), min_max::max_udaf());
    for kind in [IntegerAggregateKind::Sum, IntegerAggregateKind::Avg] {
        let function = Arc::new(AggregateUDF::from(FlinkNumericAggregate::new(kind)));
        functions.insert(kind.name().to_owned(), function);
    }
    functions
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum IntegerAggregateKind {
    Sum,
    Avg,
}

impl IntegerAggregateKind {
    fn name(self) -> &'static str {
        match self {
            IntegerAggregateKind::Sum => "sum",
            IntegerAggregateKind::Avg => "avg",
        }
    }

    fn datafusion(self) -> Arc<AggregateUDF> {
        match self {
            IntegerAggregateKind::Sum => datafusion_functions_aggregate::sum::sum_udaf(),
            IntegerAggregateKind::Avg => datafusion_functions_aggregate::average::avg_udaf(),
        }
    }
}

/// `SUM` or `AVG`: Flink's integer semantics for integer inputs, DataFusion's otherwise.
#[derive(Debug, PartialEq, Eq, Hash)]
struct FlinkNumericAggregate {
    kind: IntegerAggregateKind,
    signature: Signature,
}

impl FlinkNumericAggregate {
    fn new(kind: IntegerAggregateKind) -> Self {
        FlinkNumericAggregate {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

fn is_integer(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64
    )
}

impl AggregateUDFImpl for FlinkNumericAggregate {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> DfResult<Vec<DataType>> {
        match arg_types {
            [single] if is_integer(single) => Ok(arg_types.to_vec()),
            _ => {
                // DataFusion's own signature decides, as if it were called directly.
                let fields: Vec<FieldRef> = arg_types
                    .iter()
                    .map(|data_type| Arc::new(Field::new("argument", data_type.clone(), true)))
                    .collect();
                let coerced = datafusion_expr::type_coercion::functions::fields_with_udf(
                    &fields,
                    self.kind.datafusion().as_ref(),
                )?;
                Ok(coerced.iter().map(|f| f.data_type().clone()).collect())
            }
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> DfResult<DataType> {
        match arg_types {
            [single] if is_integer(single) => Ok(single.clone()),
            _ => self.kind.datafusion().inner().return_type(arg_types),
        }
    }

    fn accumulator(&self, args: AccumulatorArgs) -> DfResult<Box<dyn Accumulator>> {
        let input = args.expr_fields.first().map(|f| f.data_type().clone());
        match input {
            Some(data_type) if is_integer(&data_type) => {
                Ok(Box::new(IntegerAccumulator::new(self.kind, data_type)))
            }
            _ => self.kind.datafusion().inner().accumulator(args),
        }
    }

    fn groups_accumulator_supported(&self, args: AccumulatorArgs) -> bool {
        match args.expr_fields.first() {
            Some(field) if is_integer(field.data_type()) => !args.is_distinct,
            _ => self
                .kind
                .datafusion()
                .inner()
                .groups_accumulator_supported(args),
        }
    }

    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> DfResult<Box<dyn GroupsAccumulator>> {
        match args.expr_fields.first() {
            Some(field) if is_integer(field.data_type()) => Ok(Box::new(
                IntegerGroupsAccumulator::new(self.kind, field.data_type().clone()),
            )),
            _ => self
                .kind
                .datafusion()
                .inner()
                .create_groups_accumulator(args),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> DfResult<Vec<FieldRef>> {
        match args.input_fields.first() {
            Some(field) if is_integer(field.data_type()) => Ok(vec![
                Arc::new(Field::new("sum", DataType::Int64, true)),
                Arc::new(Field::new("count", DataType::Int64, true)),
            ]),
            _ => self.kind.datafusion().inner().state_fields(args),
        }
    }
}

/// `ROW_NUMBER()`, for the planner only: Flink's Top-N and deduplication patterns
/// (`ROW_NUMBER() OVER (PARTITION BY … ORDER BY …)` filtered by `rn <= N`) run as the rank
/// operator ([`crate::operators::rank`]), never through DataFusion's window evaluation.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RowNumber {
    signature: Signature,
}

impl RowNumber {
    pub(crate) fn new() -> Self {
        RowNumber {
            signature: Signature::nullary(Volatility::Immutable),
        }
    }
}

impl datafusion_expr::WindowUDFImpl for RowNumber {
    fn name(&self) -> &str {
        "row_number"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn partition_evaluator(
        &self,
        _args: datafusion_expr::function::PartitionEvaluatorArgs,
    ) -> DfResult<Box<dyn datafusion_expr::PartitionEvaluator>> {
        Err(datafusion_common::DataFusionError::NotImplemented(
            "ROW_NUMBER() outside a Top-N or deduplication pattern".into(),
        ))
    }

    fn field(
        &self,
        field_args: datafusion_expr::function::WindowUDFFieldArgs,
    ) -> DfResult<FieldRef> {
        // BIGINT NOT NULL, as Flink types it.
        Ok(Arc::new(Field::new(
            field_args.name(),
            DataType::Int64,
            false,
        )))
    }
}
