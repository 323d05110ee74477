//! OVER aggregations: `agg(…) OVER (PARTITION BY … ORDER BY … {ROWS|RANGE} BETWEEN …
//! PRECEDING AND CURRENT ROW)` (or `OVER w … WINDOW w AS (…)`) as a keyed
//! [`SqlOverAggregateOperator`]. In streaming mode the ORDER BY must be one ascending time
//! attribute, as Flink requires; `FOLLOWING` bounds, `GROUPS` frames and different windows in
//! one query are not supported yet.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use datafusion_common::ScalarValue;
use datafusion_common::arrow::compute::cast;
use datafusion_common::arrow::row::RowConverter;
use datafusion_expr::expr::{WindowFunction, WindowFunctionDefinition};
use datafusion_expr::logical_plan::Window;
use datafusion_expr::{Expr, ExprSchemable, WindowFrameBound, WindowFrameUnits};
use datafusion_physical_expr::PhysicalExpr;
use flinkrs_core::RuntimeMode;

use super::keys::RowKey;
use super::{Planned, Translator, group_key};
use crate::error::{Error, Result};
use crate::operators::aggregate::AggregateCall;
use crate::operators::over::{FrameUnits, OverSpec, SqlOverAggregateOperator};
use crate::planner::stream_schema;

/// How far a `PRECEDING` bound reaches: rows, or the order value's units (milliseconds for a
/// time); `None` for `UNBOUNDED`.
fn preceding(bound: &WindowFrameBound, units: FrameUnits) -> Result<Option<i64>> {
    let value = match bound {
        WindowFrameBound::CurrentRow => return Ok(Some(0)),
        WindowFrameBound::Following(_) => {
            return Err(Error::unsupported(
                "an OVER window that starts at a FOLLOWING bound",
            ));
        }
        WindowFrameBound::Preceding(value) if value.is_null() => return Ok(None),
        WindowFrameBound::Preceding(value) => value,
    };
    let amount = match value {
        ScalarValue::IntervalDayTime(Some(interval)) => {
            Some(i64::from(interval.days) * 86_400_000 + i64::from(interval.milliseconds))
        }
        ScalarValue::IntervalMonthDayNano(Some(interval)) if interval.months == 0 => {
            Some(i64::from(interval.days) * 86_400_000 + interval.nanoseconds / 1_000_000)
        }
        ScalarValue::IntervalYearMonth(_) | ScalarValue::IntervalMonthDayNano(_) => {
            return Err(Error::unsupported(
                "an OVER RANGE bound in months or years (its length varies)",
            ));
        }
        ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::Int64(Some(v)) => Some(*v),
        ScalarValue::UInt8(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt16(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt32(Some(v)) => Some(i64::from(*v)),
        ScalarValue::UInt64(Some(v)) => i64::try_from(*v).ok(),
        _ => None,
    };
    match (amount, units) {
        (Some(amount), _) if amount >= 0 => Ok(Some(amount)),
        _ => Err(Error::unsupported(format!(
            "the OVER {} bound {value} PRECEDING",
            if units == FrameUnits::Rows {
                "ROWS"
            } else {
                "RANGE"
            }
        ))),
    }
}

/// The frame's text as Flink's plan prints it.
fn describe_frame(units: FrameUnits, preceding: Option<i64>) -> String {
    let start = match preceding {
        None => "UNBOUNDED PRECEDING".to_owned(),
        Some(0) => "CURRENT ROW".to_owned(),
        Some(n) => format!("{n} PRECEDING"),
    };
    format!(
        "{} BETWEEN {start} AND CURRENT ROW",
        if units == FrameUnits::Rows {
            "ROWS"
        } else {
            "RANG"
        }
    )
}

impl Translator<'_> {
    /// The window functions of `window`, which must all be aggregates over one window.
    fn over_functions<'w>(&self, window: &'w Window) -> Result<Vec<&'w WindowFunction>> {
        let mut functions = Vec::new();
        for expression in &window.window_expr {
            let function = match expression {
                Expr::Alias(alias) => alias.expr.as_ref(),
                other => other,
            };
            let Expr::WindowFunction(function) = function else {
                return Err(Error::unsupported(format!(
                    "the window expression {expression}"
                )));
            };
            if let WindowFunctionDefinition::WindowUDF(udf) = &function.fun {
                return Err(Error::unsupported(format!(
                    "{}() other than in Flink's Top-N or deduplication pattern (filtered by \
                     `rn <= N`)",
                    udf.name().to_uppercase()
                )));
            }
            if let Some(first) = functions.first().map(|f: &&WindowFunction| &f.params) {
                let params = &function.params;
                if params.partition_by != first.partition_by
                    || params.order_by != first.order_by
                    || params.window_frame != first.window_frame
                {
                    // Flink: "All aggregates must be computed on the same window."
                    return Err(Error::unsupported(
                        "OVER aggregates over different windows in one query (Flink computes \
                         all aggregates of a query on the same window)",
                    ));
                }
            }
            functions.push(function.as_ref());
        }
        Ok(functions)
    }

    pub(super) fn over(&self, window: &Window) -> Result<Planned> {
        let functions = self.over_functions(window)?;
        let Some(first) = functions.first() else {
            return Err(Error::validation("an OVER aggregation without aggregates"));
        };
        let parameters = &first.params;
        let frame = &parameters.window_frame;
        let units = match frame.units {
            WindowFrameUnits::Rows => FrameUnits::Rows,
            WindowFrameUnits::Range => FrameUnits::Range,
            WindowFrameUnits::Groups => {
                return Err(Error::unsupported("an OVER window of GROUPS"));
            }
        };
        if !matches!(frame.end_bound, WindowFrameBound::CurrentRow) {
            // As Flink says in streaming mode: "OVER RANGE FOLLOWING windows are not
            // supported yet."
            return Err(Error::unsupported(
                "an OVER window that ends after the CURRENT ROW (a FOLLOWING bound)",
            ));
        }
        let preceding = preceding(&frame.start_bound, units)?;
        let streaming = self.mode == RuntimeMode::Streaming;
        let schema = window.input.schema();
        let order_by = &parameters.order_by;
        let time_order = matches!(
            order_by.as_slice(),
            [sort] if sort.asc && matches!(&sort.expr, Expr::Column(column) if self.is_rowtime(column))
        );
        if let [sort] = order_by.as_slice()
            && let Expr::Column(column) = &sort.expr
            && self.is_proctime(&window.input, &column.name)
        {
            return Err(Error::unsupported(
                "an OVER window ordered by a processing-time attribute (PROCTIME())",
            ));
        }
        if streaming && !time_order {
            return Err(Error::validation(format!(
                "OVER windows' ordering in stream mode must be defined on a time attribute: \
                 ORDER BY one ascending rowtime column, not [{}]",
                order_by
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if order_by.is_empty() && preceding.is_some() {
            return Err(Error::unsupported("a bounded OVER window without ORDER BY"));
        }
        // The order value: a time in epoch milliseconds or an integer, for RANGE bounds.
        let bounded_range = units == FrameUnits::Range && preceding.is_some_and(|n| n > 0);
        let order_value = match order_by.as_slice() {
            [sort] => {
                let data_type = sort.expr.get_type(schema)?;
                let integer = data_type.is_integer();
                let time = matches!(data_type, DataType::Timestamp(..) | DataType::Date32);
                if bounded_range && (!sort.asc || !(integer || time)) {
                    return Err(Error::unsupported(format!(
                        "a bounded OVER RANGE window ordered by {sort} (only by one ascending \
                         time or integer column)"
                    )));
                }
                if integer || time {
                    Some((self.physical(&sort.expr, schema)?, time))
                } else {
                    None
                }
            }
            _ if bounded_range => {
                return Err(Error::unsupported(
                    "a bounded OVER RANGE window ordered by several columns",
                ));
            }
            _ => None,
        };
        let input = self.node(&window.input)?;
        if input.updating {
            return Err(Error::unsupported(
                "an OVER aggregation over an updating result (such as a group aggregate)",
            ));
        }
        // The stored columns: the input's, then every aggregate's arguments and FILTER.
        let columns = stream_schema(schema, false);
        let width = columns.fields().len();
        let mut fields: Vec<Field> = columns
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut projection: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
        let mut calls = Vec::new();
        for (index, (expression, function)) in window.window_expr.iter().zip(&functions).enumerate()
        {
            let WindowFunctionDefinition::AggregateUDF(udaf) = &function.fun else {
                return Err(Error::unsupported(format!(
                    "the window function {expression}"
                )));
            };
            let parameters = &function.params;
            let mut arguments = Vec::new();
            let mut argument_fields = Vec::new();
            for (position, argument) in parameters.args.iter().enumerate() {
                // `COUNT(*)` over a window keeps its wildcard: count a constant instead.
                #[expect(deprecated, reason = "DataFusion plans `COUNT(*) OVER` with it")]
                let wildcard = matches!(argument, Expr::Wildcard { .. });
                let one = Expr::Literal(ScalarValue::Int64(Some(1)), None);
                let argument = if wildcard { &one } else { argument };
                let field = Arc::new(Field::new(
                    format!("arg{index}_{position}"),
                    argument.get_type(schema)?,
                    true,
                ));
                projection.push(self.physical(argument, schema)?);
                arguments.push(fields.len());
                fields.push(field.as_ref().clone());
                argument_fields.push(field);
            }
            let filter = match &parameters.filter {
                Some(condition) => {
                    projection.push(self.physical(condition, schema)?);
                    fields.push(Field::new(
                        format!("filter{index}"),
                        DataType::Boolean,
                        true,
                    ));
                    Some(fields.len() - 1)
                }
                None => None,
            };
            let output_field = window.schema.field(width + index);
            calls.push(AggregateCall {
                function: Arc::clone(udaf),
                arguments,
                argument_fields,
                return_field: Arc::new(Field::new(
                    output_field.name(),
                    output_field.data_type().clone(),
                    true,
                )),
                distinct: parameters.distinct,
                filter,
                name: expression.schema_name().to_string(),
            });
        }
        let stored = Arc::new(Schema::new(fields.clone()));
        fields.push(Field::new("$order", DataType::Int64, true));
        fields.push(Field::new("$sort", DataType::Binary, false));
        fields.push(Field::new("$key", DataType::Binary, false));
        let tagged = Arc::new(Schema::new(fields));
        let RowKey {
            expressions: sort_exprs,
            fields: sort_fields,
        } = self.order_key(order_by, schema)?;
        let RowKey {
            expressions: partition_exprs,
            fields: partition_fields,
        } = self.partition_key(&parameters.partition_by, schema)?;
        let sort_converter = if sort_fields.is_empty() {
            None
        } else {
            Some(Arc::new(RowConverter::new(sort_fields)?))
        };
        let partition_converter = if partition_fields.is_empty() {
            None
        } else {
            Some(Arc::new(RowConverter::new(partition_fields)?))
        };
        let output_schema = Arc::clone(&tagged);
        let keys = KeyExpressions {
            projection,
            order: order_value,
            sort: sort_exprs,
            partition: partition_exprs,
        };
        let mut stream =
            input
                .stream
                .map_batches("Calc (over keys)", Arc::clone(&tagged), move |batch| {
                    keys.tag(
                        batch,
                        width,
                        sort_converter.as_deref(),
                        partition_converter.as_deref(),
                        &output_schema,
                    )
                });
        if let Some(parallelism) = input.parallelism {
            stream = stream.set_parallelism(parallelism);
        }
        let output = stream_schema(&window.schema, false);
        let spec = Arc::new(OverSpec {
            stored,
            width,
            aggregates: calls,
            units,
            preceding,
            output: Arc::clone(&output),
        });
        let describe = |exprs: &[Expr]| {
            exprs
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let order = order_by
            .iter()
            .map(|sort| format!("{} {}", sort.expr, if sort.asc { "ASC" } else { "DESC" }))
            .collect::<Vec<_>>()
            .join(", ");
        let name = format!(
            "OverAggregate(partitionBy=[{}], orderBy=[{order}], window=[{}], select=[{}])",
            describe(&parameters.partition_by),
            describe_frame(units, preceding),
            functions
                .iter()
                .map(|function| format!(
                    "{}({})",
                    function.fun.name().to_uppercase(),
                    describe(&function.params.args)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut stream = stream
            .key_by("$key")?
            .process(&name, output, None, move |context| {
                SqlOverAggregateOperator::new(Arc::clone(&spec), &context.info)
            });
        // No PARTITION BY: one partition, one subtask.
        let parallelism = parameters.partition_by.is_empty().then_some(1);
        if let Some(parallelism) = parallelism {
            stream = stream.set_parallelism(parallelism);
        }
        Ok(Planned {
            stream,
            updating: false,
            tumble: None,
            parallelism,
        })
    }
}

/// The expressions that tag each input row for the OVER aggregate.
struct KeyExpressions {
    /// The aggregates' arguments and FILTER conditions.
    projection: Vec<Arc<dyn PhysicalExpr>>,
    /// The order value's expression, and whether it is a time.
    order: Option<(Arc<dyn PhysicalExpr>, bool)>,
    sort: Vec<Arc<dyn PhysicalExpr>>,
    partition: Vec<Arc<dyn PhysicalExpr>>,
}

impl KeyExpressions {
    /// `batch`'s first `width` columns, the aggregates' arguments, `$order`, `$sort` and
    /// `$key`.
    fn tag(
        &self,
        batch: &RecordBatch,
        width: usize,
        sort_converter: Option<&RowConverter>,
        partition_converter: Option<&RowConverter>,
        output: &arrow_schema::SchemaRef,
    ) -> flinkrs_core::Result<RecordBatch> {
        let error = |e: &dyn std::fmt::Display| {
            flinkrs_core::Error::function(format!("Calc (over keys): {e}"))
        };
        let rows = batch.num_rows();
        let evaluate = |exprs: &[Arc<dyn PhysicalExpr>]| {
            exprs
                .iter()
                .map(|expr| {
                    expr.evaluate(batch)
                        .and_then(|value| value.into_array(rows))
                        .map_err(|e| error(&e))
                })
                .collect::<flinkrs_core::Result<Vec<ArrayRef>>>()
        };
        let mut columns = batch.columns()[..width].to_vec();
        columns.extend(evaluate(&self.projection)?);
        let order: ArrayRef = match &self.order {
            Some((expression, time)) => {
                let value = evaluate(std::slice::from_ref(expression))?.remove(0);
                let value = if *time {
                    cast(&value, &DataType::Timestamp(TimeUnit::Millisecond, None))
                        .map_err(|e| error(&e))?
                } else {
                    value
                };
                cast(&value, &DataType::Int64).map_err(|e| error(&e))?
            }
            None => Arc::new(Int64Array::from(vec![0; rows])),
        };
        columns.push(order);
        let sort: ArrayRef = match sort_converter {
            Some(converter) => {
                let sorts = converter
                    .convert_columns(&evaluate(&self.sort)?)
                    .map_err(|e| error(&e))?;
                Arc::new(BinaryArray::from_iter_values(
                    sorts.iter().map(|row| row.data()),
                ))
            }
            None => Arc::new(BinaryArray::from_iter_values((0..rows).map(|_| [0u8; 0]))),
        };
        columns.push(sort);
        let partition_columns = evaluate(&self.partition)?;
        let partition = RecordBatch::try_new_with_options(
            Arc::new(Schema::new(
                partition_columns
                    .iter()
                    .enumerate()
                    .map(|(index, column)| {
                        Field::new(format!("p{index}"), column.data_type().clone(), true)
                    })
                    .collect::<Vec<_>>(),
            )),
            partition_columns,
            &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
        )
        .map_err(|e| error(&e))?;
        let indices: Vec<usize> = (0..partition.num_columns()).collect();
        columns.push(group_key(&partition, &indices, partition_converter)?);
        RecordBatch::try_new(Arc::clone(output), columns).map_err(|e| error(&e))
    }
}
