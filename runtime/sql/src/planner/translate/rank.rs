//! Flink's Top-N and deduplication patterns: `SELECT … FROM (SELECT …, ROW_NUMBER() OVER
//! (PARTITION BY p ORDER BY o) AS rn FROM t) WHERE rn <= N` (or `rn < N`, `rn = 1`) as a
//! keyed [`SqlRankOperator`]; `RANK()` and `DENSE_RANK()` in batch mode too (Flink's streaming
//! Top-N rejects them). Any other use of a ranking function is not supported yet.

use std::sync::Arc;

use arrow_array::{ArrayRef, BinaryArray, RecordBatch};
use arrow_schema::{Field, Schema};
use datafusion_common::DFSchema;
use datafusion_common::ScalarValue;
use datafusion_common::arrow::row::RowConverter;
use datafusion_expr::SortExpr;
use datafusion_expr::logical_plan::Filter;
use datafusion_expr::utils::split_conjunction_owned;
use datafusion_expr::{BinaryExpr, Expr, LogicalPlan, Operator as SqlOperator};
use flinkrs_core::RuntimeMode;

use super::keys::RowKey;
use super::{Planned, Translator, group_key};
use crate::error::{Error, Result};
use crate::operators::calc::Calc;
use crate::operators::rank::{RankSpec, RankType, SqlRankOperator};
use crate::planner::stream_schema;

/// The plan under a SubqueryAlias.
fn unaliased(plan: &LogicalPlan) -> &LogicalPlan {
    match plan {
        LogicalPlan::SubqueryAlias(alias) => unaliased(&alias.input),
        other => other,
    }
}

/// An integer literal's value.
fn integer(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Literal(value, _) => match value {
            ScalarValue::Int8(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int16(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int32(Some(v)) => Some(i64::from(*v)),
            ScalarValue::Int64(Some(v)) => Some(*v),
            _ => None,
        },
        Expr::Cast(cast) => integer(&cast.expr),
        _ => None,
    }
}

/// `N` of a Top-N's filter on the row number column `rn`: `rn <= N`, `rn < N`, `rn = 1`.
fn limit(predicate: &Expr, rn: &str) -> Option<usize> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = predicate else {
        return None;
    };
    let is_rn = |expr: &Expr| matches!(expr, Expr::Column(column) if column.name == rn);
    let (op, bound) = if is_rn(left) {
        (*op, integer(right)?)
    } else if is_rn(right) {
        let flipped = match op {
            SqlOperator::GtEq => SqlOperator::LtEq,
            SqlOperator::Gt => SqlOperator::Lt,
            other => *other,
        };
        (flipped, integer(left)?)
    } else {
        return None;
    };
    let limit = match op {
        SqlOperator::LtEq => bound,
        SqlOperator::Lt => bound - 1,
        SqlOperator::Eq if bound == 1 => 1,
        _ => return None,
    };
    usize::try_from(limit).ok().filter(|&limit| limit > 0)
}

/// What a Top-N is planned from.
#[derive(Clone, Copy)]
pub(super) enum Shape<'a> {
    /// A ranking function (its name) filtered by its number.
    Window(&'a str),
    /// `ORDER BY … LIMIT … OFFSET …` in streaming mode, as Flink's `SortLimit`.
    SortLimit,
    /// `LIMIT … OFFSET …` without `ORDER BY` in streaming mode, as Flink's `Limit`: the first
    /// rows, insert-only over an insert-only input.
    Limit,
}

/// A Top-N to plan: ranks `start + 1` to `limit` of each partition of `input`.
pub(super) struct TopN<'a> {
    pub input: &'a LogicalPlan,
    pub partition_by: &'a [Expr],
    pub order_by: &'a [SortExpr],
    /// The ranks before it (0-based) are kept, not emitted: an `OFFSET`.
    pub start: usize,
    /// The last rank emitted (1-based): the rows a partition keeps.
    pub limit: usize,
    pub output_rank: bool,
    pub rank_type: RankType,
    /// The result's columns: the input's, then the row number's for a ranking function.
    pub output: &'a DFSchema,
    pub shape: Shape<'a>,
}

impl Translator<'_> {
    /// `filter` as a Top-N, when it is Flink's pattern; `None` when it is another filter.
    pub(super) fn top_n(&self, filter: &Filter) -> Result<Option<Planned>> {
        let LogicalPlan::Projection(projection) = unaliased(&filter.input) else {
            return Ok(None);
        };
        let LogicalPlan::Window(window) = unaliased(&projection.input) else {
            return Ok(None);
        };
        let [expression] = window.window_expr.as_slice() else {
            return Ok(None);
        };
        let function = match expression {
            Expr::Alias(alias) => alias.expr.as_ref(),
            other => other,
        };
        let Expr::WindowFunction(function) = function else {
            return Ok(None);
        };
        let rank_type = match function.fun.name() {
            "row_number" => RankType::RowNumber,
            "rank" => RankType::Rank,
            "dense_rank" => RankType::DenseRank,
            _ => return Ok(None),
        };
        if rank_type != RankType::RowNumber && self.mode == RuntimeMode::Streaming {
            // Flink's words: its streaming Top-N ranks by ROW_NUMBER() only.
            return Err(Error::validation(format!(
                "{}() on streaming table is not supported currently",
                function.fun.name().to_uppercase()
            )));
        }
        // The row number's column in the window's output, and its name in the projection.
        let width = window.input.schema().fields().len();
        let number = window.schema.qualified_field(width);
        let rn = projection
            .expr
            .iter()
            .zip(projection.schema.fields())
            .find_map(|(expr, field)| match expr.clone().unalias() {
                Expr::Column(column)
                    if column.name == number.1.name().as_str()
                        && column.relation.as_ref() == number.0 =>
                {
                    Some(field.name().clone())
                }
                _ => None,
            });
        let Some(rn) = rn else {
            return Ok(None);
        };
        // The row number's bound, and the rest of the condition, applied after the rank.
        let mut found = None;
        let mut rest = Vec::new();
        for conjunct in split_conjunction_owned(filter.predicate.clone()) {
            match limit(&conjunct, &rn) {
                Some(limit) if found.is_none() => found = Some(limit),
                _ => rest.push(conjunct),
            }
        }
        let Some(limit) = found else {
            return Err(Error::unsupported(format!(
                "{}() filtered otherwise than by `{rn} <= N`, `{rn} < N` or `{rn} = 1` \
                 (Flink's Top-N and deduplication)",
                function.fun.name().to_uppercase()
            )));
        };
        let output_rank = self
            .query
            .plan
            .schema()
            .fields()
            .iter()
            .any(|field| *field.name() == rn);
        let parameters = &function.params;
        if parameters.order_by.is_empty() {
            return Err(Error::unsupported(format!(
                "{}() without ORDER BY (Flink requires it for Top-N)",
                function.fun.name().to_uppercase()
            )));
        }
        let planned = self.rank(TopN {
            input: &window.input,
            partition_by: &parameters.partition_by,
            order_by: &parameters.order_by,
            start: 0,
            limit,
            output_rank,
            rank_type,
            output: &window.schema,
            shape: Shape::Window(function.fun.name()),
        })?;
        let planned = self.projection_over(planned, projection)?;
        let Some(rest) = rest.into_iter().reduce(Expr::and) else {
            return Ok(Some(planned));
        };
        let calc = Calc {
            name: "Calc (WHERE)".into(),
            filter: Some(self.physical(&rest, filter.input.schema())?),
            projection: None,
            output: Arc::clone(planned.stream.schema()),
            row_kind: None,
        };
        Ok(Some(self.calc(&planned, calc, None)))
    }

    /// A Top-N as a keyed [`SqlRankOperator`], at parallelism 1 without a partition key.
    pub(super) fn rank(&self, top: TopN<'_>) -> Result<Planned> {
        let TopN {
            partition_by,
            order_by,
            start,
            limit,
            output_rank,
            rank_type,
            ..
        } = top;
        let input = self.node(top.input)?;
        // Over a changelog (a group aggregate in streaming mode) the rows' kinds come along.
        let kind_column = if input.updating {
            Some(
                input
                    .stream
                    .schema()
                    .index_of(crate::planner::ROW_KIND_COLUMN)
                    .map_err(|_| Error::validation("an updating Top-N input has no row kind"))?,
            )
        } else {
            None
        };
        let schema = top.input.schema();
        let columns = stream_schema(schema, false);
        let width = columns.fields().len();
        let RowKey {
            expressions: sort_exprs,
            fields: sort_fields,
        } = self.order_key(order_by, schema)?;
        let RowKey {
            expressions: partition_exprs,
            fields: partition_fields,
        } = self.partition_key(partition_by, schema)?;
        // A deduplication: the first row by a time attribute, kept or replaced.
        let by_time = order_by.len() == 1
            && matches!(&order_by[0].expr, Expr::Column(column) if self.is_rowtime(column));
        let deduplicate = matches!(top.shape, Shape::Window(_))
            && limit == 1
            && by_time
            && rank_type == RankType::RowNumber;
        let updating = self.mode == RuntimeMode::Streaming
            && (input.updating || !matches!(top.shape, Shape::Limit));
        let mut fields: Vec<Field> = columns
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields.push(Field::new("$sort", arrow_schema::DataType::Binary, false));
        fields.push(Field::new("$key", arrow_schema::DataType::Binary, false));
        if kind_column.is_some() {
            fields.push(Field::new("$kind", arrow_schema::DataType::Int8, false));
        }
        let tagged = Arc::new(Schema::new(fields));
        let sort_converter = Arc::new(RowConverter::new(sort_fields)?);
        let partition_converter = if partition_fields.is_empty() {
            None
        } else {
            Some(Arc::new(RowConverter::new(partition_fields)?))
        };
        let output_schema = Arc::clone(&tagged);
        let mut stream =
            input
                .stream
                .map_batches("Calc (rank keys)", Arc::clone(&tagged), move |batch| {
                    let error = |e: &dyn std::fmt::Display| {
                        flinkrs_core::Error::function(format!("Calc (rank keys): {e}"))
                    };
                    let rows = batch.num_rows();
                    let evaluate = |exprs: &[Arc<dyn datafusion_physical_expr::PhysicalExpr>]| {
                        exprs
                            .iter()
                            .map(|expr| {
                                expr.evaluate(batch)
                                    .and_then(|value| value.into_array(rows))
                                    .map_err(|e| error(&e))
                            })
                            .collect::<flinkrs_core::Result<Vec<ArrayRef>>>()
                    };
                    // Without ORDER BY (a LIMIT) every row ties: they rank by arrival.
                    let sort_keys = if sort_exprs.is_empty() {
                        BinaryArray::from_iter_values(std::iter::repeat_n(b"", rows))
                    } else {
                        let sorts = sort_converter
                            .convert_columns(&evaluate(&sort_exprs)?)
                            .map_err(|e| error(&e))?;
                        BinaryArray::from_iter_values(sorts.iter().map(|row| row.data()))
                    };
                    let partition_columns = evaluate(&partition_exprs)?;
                    let partition = RecordBatch::try_new_with_options(
                        Arc::new(Schema::new(
                            partition_columns
                                .iter()
                                .enumerate()
                                .map(|(index, column)| {
                                    Field::new(
                                        format!("p{index}"),
                                        column.data_type().clone(),
                                        true,
                                    )
                                })
                                .collect::<Vec<_>>(),
                        )),
                        partition_columns,
                        &arrow_array::RecordBatchOptions::new().with_row_count(Some(rows)),
                    )
                    .map_err(|e| error(&e))?;
                    let indices: Vec<usize> = (0..partition.num_columns()).collect();
                    let key = group_key(&partition, &indices, partition_converter.as_deref())?;
                    let mut columns = batch.columns()[..width].to_vec();
                    columns.push(Arc::new(sort_keys));
                    columns.push(key);
                    if let Some(index) = kind_column {
                        columns.push(Arc::clone(batch.column(index)));
                    }
                    RecordBatch::try_new(Arc::clone(&output_schema), columns).map_err(|e| error(&e))
                });
        if let Some(parallelism) = input.parallelism {
            stream = stream.set_parallelism(parallelism);
        }
        let output = stream_schema(top.output, updating);
        let spec = Arc::new(RankSpec {
            columns,
            limit,
            start,
            output_rank,
            rank_column: matches!(top.shape, Shape::Window(_)),
            replace_as_update: deduplicate && !output_rank && kind_column.is_none(),
            retract: kind_column.is_some(),
            output: Arc::clone(&output),
            updating,
            rank_type,
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
        let strategy = if kind_column.is_some() {
            "RetractStrategy"
        } else {
            "AppendFastStrategy"
        };
        let name = match top.shape {
            Shape::Window(_) if deduplicate && !output_rank && kind_column.is_none() => format!(
                "Deduplicate(keep=[{}], key=[{}], order=[ROWTIME])",
                if order_by[0].asc {
                    "FirstRow"
                } else {
                    "LastRow"
                },
                describe(partition_by)
            ),
            Shape::Window(function) => format!(
                "Rank(strategy=[{strategy}], rankType=[{}], rankRange=[rankStart={}, \
                 rankEnd={limit}], partitionBy=[{}], orderBy=[{order}])",
                function.to_uppercase(),
                start + 1,
                describe(partition_by)
            ),
            Shape::SortLimit => format!(
                "SortLimit(orderBy=[{order}], offset=[{start}], fetch=[{}], \
                 strategy=[{strategy}])",
                limit - start
            ),
            Shape::Limit => format!("Limit(offset=[{start}], fetch=[{}])", limit - start),
        };
        let mut stream = stream
            .key_by("$key")?
            .process(&name, output, None, move |context| {
                SqlRankOperator::new(Arc::clone(&spec), &context.info)
            });
        // No PARTITION BY: one partition, one subtask.
        let parallelism = partition_by.is_empty().then_some(1);
        if let Some(parallelism) = parallelism {
            stream = stream.set_parallelism(parallelism);
        }
        Ok(Planned {
            stream,
            updating,
            tumble: None,
            parallelism,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion_expr::{col, lit};

    #[test]
    fn the_row_number_filters_of_top_n_and_deduplication_give_n() {
        assert_eq!(limit(&col("rn").lt_eq(lit(3i64)), "rn"), Some(3));
        assert_eq!(limit(&col("rn").lt(lit(3i32)), "rn"), Some(2));
        assert_eq!(limit(&col("rn").eq(lit(1i64)), "rn"), Some(1));
        assert_eq!(limit(&lit(5i64).gt_eq(col("rn")), "rn"), Some(5));
        assert_eq!(limit(&col("rn").eq(lit(2i64)), "rn"), None);
        assert_eq!(limit(&col("rn").gt(lit(2i64)), "rn"), None);
        assert_eq!(limit(&col("rn").lt(lit(1i64)), "rn"), None);
        assert_eq!(limit(&col("other").lt_eq(lit(3i64)), "rn"), None);
    }
}
