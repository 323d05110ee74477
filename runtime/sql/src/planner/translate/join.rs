//! A regular equi-join (`INNER`, `LEFT`, `RIGHT`, `FULL OUTER`) as a keyed
//! [`SqlJoinOperator`] over the tagged union of both inputs.
//!
//! The runtime's Arrow streams have one-input operators only. Rather than a two-input
//! operator in the core, each input is mapped to one shared schema (the left's columns, the
//! right's, which side the row is from, its row kind, whether its join key is free of nulls,
//! and the join key as one binary column in Arrow's row format), the two are merged with
//! `union` and keyed by the binary key: equal keys of both sides reach one subtask, and the
//! operator's keyed state checkpoints and rescales by key group as the aggregate's does.

use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int8Array, RecordBatch};
use arrow_schema::SchemaRef;
use datafusion_common::arrow::compute::{and, is_not_null};
use datafusion_common::arrow::row::{RowConverter, SortField};
use datafusion_common::{Column, DFSchema, NullEquality, ScalarValue};
use datafusion_expr::binary::comparison_coercion;
use datafusion_expr::logical_plan::{Join, JoinType};
use datafusion_expr::utils::split_conjunction_owned;
use datafusion_expr::{Between, BinaryExpr, Expr, ExprSchemable, Operator as SqlOperator};
use flinkrs_core::RuntimeMode;

use super::{Planned, Translator};
use crate::error::{Error, Result};
use crate::operators::join::{
    IntervalBounds, JoinKind, JoinSpec, KEY_COLUMN, LEFT, RIGHT, SqlJoinOperator,
};
use crate::planner::{ROW_KIND_COLUMN, stream_schema};
use crate::render::RowKind;

/// A join's equal keys, as (left, right) expression pairs, and the rest of its condition.
pub(crate) struct EquiCondition {
    pub keys: Vec<(Expr, Expr)>,
    pub rest: Option<Expr>,
}

/// Splits `join`'s condition into equal keys (an `=` of an expression over the left's
/// columns only and one over the right's only) and the rest.
pub(crate) fn equi_condition(join: &Join) -> EquiCondition {
    let mut keys = join.on.clone();
    let mut rest = Vec::new();
    let left = join.left.schema();
    let right = join.right.schema();
    let over = |expr: &Expr, schema: &DFSchema| {
        let columns = expr.column_refs();
        !columns.is_empty() && columns.iter().all(|column| schema.has_column(column))
    };
    for conjunct in join
        .filter
        .clone()
        .map(split_conjunction_owned)
        .unwrap_or_default()
    {
        match &conjunct {
            Expr::BinaryExpr(BinaryExpr {
                left: a,
                op: SqlOperator::Eq,
                right: b,
            }) => {
                if over(a, left) && over(b, right) {
                    keys.push((a.as_ref().clone(), b.as_ref().clone()));
                } else if over(b, left) && over(a, right) {
                    keys.push((b.as_ref().clone(), a.as_ref().clone()));
                } else {
                    rest.push(conjunct);
                }
            }
            _ => rest.push(conjunct),
        }
    }
    EquiCondition {
        keys,
        rest: rest.into_iter().reduce(Expr::and),
    }
}

/// An interval literal's milliseconds (`INTERVAL '10' SECOND`), if it is one of days and
/// time only.
fn interval_millis(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Literal(ScalarValue::IntervalMonthDayNano(Some(value)), _) if value.months == 0 => {
            Some(i64::from(value.days) * 86_400_000 + value.nanoseconds / 1_000_000)
        }
        Expr::Literal(ScalarValue::IntervalDayTime(Some(value)), _) => {
            Some(i64::from(value.days) * 86_400_000 + i64::from(value.milliseconds))
        }
        _ => None,
    }
}

/// A time term of an interval join's bound: a column, plus or minus intervals.
fn time_term(expr: &Expr) -> Option<(&Column, i64)> {
    match expr {
        Expr::Column(column) => Some((column, 0)),
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
            let (column, offset) = time_term(left)?;
            let millis = interval_millis(right)?;
            match op {
                SqlOperator::Plus => Some((column, offset.checked_add(millis)?)),
                SqlOperator::Minus => Some((column, offset.checked_sub(millis)?)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The time bounds of an interval join in the rest of its condition: comparisons (or a
/// `BETWEEN`) of a left and a right time column, each plus or minus intervals, that bound
/// `right time - left time` from both sides. Returns the two time columns and the bounds.
fn interval_bounds(
    rest: &Expr,
    left: &DFSchema,
    right: &DFSchema,
) -> Option<((Column, Column), i64, i64)> {
    let mut comparisons = Vec::new();
    for conjunct in split_conjunction_owned(rest.clone()) {
        match conjunct {
            Expr::Between(Between {
                expr,
                negated: false,
                low,
                high,
            }) => {
                comparisons.push((*expr.clone(), SqlOperator::GtEq, *low));
                comparisons.push((*expr, SqlOperator::LtEq, *high));
            }
            Expr::BinaryExpr(BinaryExpr {
                left: a,
                op: op @ (SqlOperator::Gt | SqlOperator::GtEq | SqlOperator::Lt | SqlOperator::LtEq),
                right: b,
            }) => comparisons.push((*a, op, *b)),
            _ => {}
        }
    }
    let mut columns: Option<(Column, Column)> = None;
    let mut lower = i64::MIN;
    let mut upper = i64::MAX;
    for (a, op, b) in &comparisons {
        let (Some((column_a, offset_a)), Some((column_b, offset_b))) = (time_term(a), time_term(b))
        else {
            continue;
        };
        // As `right - left <op> bound`.
        let (pair, op, bound) = if right.has_column(column_a) && left.has_column(column_b) {
            ((column_b, column_a), *op, offset_b - offset_a)
        } else if left.has_column(column_a) && right.has_column(column_b) {
            let flipped = match op {
                SqlOperator::Gt => SqlOperator::Lt,
                SqlOperator::GtEq => SqlOperator::LtEq,
                SqlOperator::Lt => SqlOperator::Gt,
                _ => SqlOperator::GtEq,
            };
            ((column_a, column_b), flipped, offset_a - offset_b)
        } else {
            continue;
        };
        let pair = (pair.0.clone(), pair.1.clone());
        match &columns {
            Some(seen) if *seen != pair => return None,
            _ => columns = Some(pair),
        }
        match op {
            SqlOperator::GtEq => lower = lower.max(bound),
            SqlOperator::Gt => lower = lower.max(bound.saturating_add(1)),
            SqlOperator::LtEq => upper = upper.min(bound),
            _ => upper = upper.min(bound.saturating_sub(1)),
        }
    }
    let columns = columns?;
    (lower != i64::MIN && upper != i64::MAX).then_some((columns, lower, upper))
}

impl Translator<'_> {
    /// Whether `column` is a time attribute: the column a table's `WATERMARK FOR` names.
    pub(super) fn is_rowtime(&self, column: &Column) -> bool {
        self.query.tables.values().any(|table| {
            table
                .watermark
                .as_ref()
                .is_some_and(|watermark| watermark.column == column.name)
        })
    }

    /// An interval join's bounds, when the join is one: a join of insert-only inputs whose
    /// condition bounds the difference of two time attributes from both sides.
    fn interval(
        &self,
        join: &Join,
        rest: Option<&Expr>,
        inputs_updating: bool,
    ) -> Result<Option<IntervalBounds>> {
        let Some(((left_time, right_time), lower, upper)) =
            rest.and_then(|rest| interval_bounds(rest, join.left.schema(), join.right.schema()))
        else {
            return Ok(None);
        };
        if !self.is_rowtime(&left_time) || !self.is_rowtime(&right_time) || inputs_updating {
            return Ok(None);
        }
        let index = |schema: &DFSchema, column: &Column| {
            schema.index_of_column(column).map_err(Error::from)
        };
        Ok(Some(IntervalBounds {
            times: [
                index(join.left.schema(), &left_time)?,
                index(join.right.schema(), &right_time)?,
            ],
            lower,
            upper,
        }))
    }

    /// `a [INNER|LEFT|RIGHT|FULL] JOIN b ON a.k = b.k [AND …]`.
    pub(super) fn join(&self, join: &Join) -> Result<Planned> {
        let kind = match join.join_type {
            JoinType::Inner => JoinKind::Inner,
            JoinType::Left => JoinKind::Left,
            JoinType::Right => JoinKind::Right,
            JoinType::Full => JoinKind::Full,
            other => {
                return Err(Error::unsupported(format!(
                    "the {other} join (from IN, EXISTS or a semi or anti join)"
                )));
            }
        };
        if join.null_equality == NullEquality::NullEqualsNull {
            return Err(Error::unsupported(
                "a join on IS NOT DISTINCT FROM (null-equal join keys)",
            ));
        }
        let condition = equi_condition(join);
        // A cross or non-equi join has no key to spread its rows by: as Flink's, it runs in
        // one subtask, every row of one side against every row of the other (its condition,
        // if any, is the filter).
        let single = condition.keys.is_empty();
        let keys = if single {
            vec![(datafusion_expr::lit(0_i32), datafusion_expr::lit(0_i32))]
        } else {
            condition.keys.clone()
        };
        let left = self.node(&join.left)?;
        let right = self.node(&join.right)?;
        let interval = self.interval(
            join,
            condition.rest.as_ref(),
            left.updating || right.updating,
        )?;
        // An interval join, and an inner join of insert-only inputs, only insert.
        let updating = self.mode == RuntimeMode::Streaming
            && interval.is_none()
            && (kind != JoinKind::Inner || left.updating || right.updating);
        let sides = [
            stream_schema(join.left.schema(), false),
            stream_schema(join.right.schema(), false),
        ];
        let input = JoinSpec::input_schema(&sides);
        let mut left_keys = Vec::new();
        let mut right_keys = Vec::new();
        let mut key_types = Vec::new();
        for (left_key, right_key) in &keys {
            let left_type = left_key.get_type(join.left.schema())?;
            let right_type = right_key.get_type(join.right.schema())?;
            let common = comparison_coercion(&left_type, &right_type).ok_or_else(|| {
                Error::validation(format!(
                    "the join keys {left_key} and {right_key} cannot be compared: {} and {}",
                    crate::types::flink_type_name(&left_type),
                    crate::types::flink_type_name(&right_type)
                ))
            })?;
            let cast = |key: &Expr, data_type: &arrow_schema::DataType| {
                if *data_type == common {
                    key.clone()
                } else {
                    Expr::Cast(datafusion_expr::Cast::new(
                        Box::new(key.clone()),
                        common.clone(),
                    ))
                }
            };
            left_keys.push(self.physical(&cast(left_key, &left_type), join.left.schema())?);
            right_keys.push(self.physical(&cast(right_key, &right_type), join.right.schema())?);
            key_types.push(SortField::new(common));
        }
        let filter = condition
            .rest
            .as_ref()
            .map(|rest| self.physical(rest, &join.schema))
            .transpose()?;
        let describe = |keys: &[(Expr, Expr)]| {
            let mut parts: Vec<String> = keys.iter().map(|(a, b)| format!("{a} = {b}")).collect();
            parts.extend(condition.rest.as_ref().map(ToString::to_string));
            if parts.is_empty() {
                "true".to_owned()
            } else {
                parts.join(" AND ")
            }
        };
        let name = match &interval {
            None => format!(
                "Join(joinType=[{}], where=[{}])",
                kind.flink_name(),
                describe(&condition.keys)
            ),
            Some(bounds) => format!(
                "IntervalJoin(joinType=[{}], windowBounds=[isRowTime=true, leftLowerBound={}, \
                 leftUpperBound={}, leftTimeIndex={}, rightTimeIndex={}], where=[{}])",
                kind.flink_name(),
                bounds.upper.saturating_neg(),
                bounds.lower.saturating_neg(),
                bounds.times[LEFT],
                bounds.times[RIGHT],
                describe(&condition.keys)
            ),
        };
        let converter = Arc::new(RowConverter::new(key_types)?);
        let tag = |planned: &Planned,
                   side: usize,
                   keys: Vec<Arc<dyn datafusion_physical_expr::PhysicalExpr>>|
         -> Result<ArrowStreamTag> {
            let kind_column = if planned.updating {
                Some(
                    planned
                        .stream
                        .schema()
                        .index_of(ROW_KIND_COLUMN)
                        .map_err(|_| {
                            Error::validation("an updating join input has no row kind column")
                        })?,
                )
            } else {
                None
            };
            Ok(ArrowStreamTag {
                side,
                keys,
                converter: Arc::clone(&converter),
                kind_column,
                sides: sides.clone(),
                output: Arc::clone(&input),
            })
        };
        let tag_left = tag(&left, LEFT, left_keys)?;
        let tag_right = tag(&right, RIGHT, right_keys)?;
        let tagged = |planned: &Planned, tag: ArrowStreamTag, name: &str| {
            let mut stream = planned
                .stream
                .map_batches(name, Arc::clone(&input), move |batch| tag.apply(batch));
            if let Some(parallelism) = planned.parallelism {
                stream = stream.set_parallelism(parallelism);
            }
            stream
        };
        let left_stream = tagged(&left, tag_left, "Calc (join key, left)");
        let right_stream = tagged(&right, tag_right, "Calc (join key, right)");
        let output = stream_schema(&join.schema, updating);
        let spec = Arc::new(JoinSpec {
            kind,
            sides,
            filter,
            output: Arc::clone(&output),
            updating,
            interval,
        });
        let mut stream = left_stream
            .union(&[right_stream])?
            .key_by(KEY_COLUMN)?
            .process(&name, output, None, move |context| {
                SqlJoinOperator::new(Arc::clone(&spec), &context.info)
            });
        if single {
            stream = stream.set_parallelism(1);
        }
        Ok(Planned {
            stream,
            updating,
            tumble: None,
            parallelism: single.then_some(1),
        })
    }
}

/// Maps one side's batches to the tagged union of both inputs.
struct ArrowStreamTag {
    side: usize,
    keys: Vec<Arc<dyn datafusion_physical_expr::PhysicalExpr>>,
    converter: Arc<RowConverter>,
    /// The input's row kind column, for an updating input.
    kind_column: Option<usize>,
    sides: [SchemaRef; 2],
    output: SchemaRef,
}

impl ArrowStreamTag {
    fn apply(&self, batch: &RecordBatch) -> flinkrs_core::Result<RecordBatch> {
        let error = |e: &dyn std::fmt::Display| {
            flinkrs_core::Error::function(format!("Calc (join key): {e}"))
        };
        let rows = batch.num_rows();
        let keys = self
            .keys
            .iter()
            .map(|key| {
                key.evaluate(batch)
                    .and_then(|value| value.into_array(rows))
                    .map_err(|e| error(&e))
            })
            .collect::<flinkrs_core::Result<Vec<ArrayRef>>>()?;
        let mut joinable: Option<BooleanArray> = None;
        for key in &keys {
            let present = is_not_null(key).map_err(|e| error(&e))?;
            joinable = Some(match joinable {
                None => present,
                Some(all) => and(&all, &present).map_err(|e| error(&e))?,
            });
        }
        let joinable = joinable.unwrap_or_else(|| BooleanArray::from(vec![true; rows]));
        let encoded = self
            .converter
            .convert_columns(&keys)
            .map_err(|e| error(&e))?;
        let key_column =
            arrow_array::BinaryArray::from_iter_values(encoded.iter().map(|row| row.data()));
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.output.fields().len());
        for (side, schema) in self.sides.iter().enumerate() {
            let width = schema.fields().len();
            if side == self.side {
                columns.extend(batch.columns()[..width].iter().cloned());
            } else {
                columns.extend(
                    schema
                        .fields()
                        .iter()
                        .map(|field| arrow_array::new_null_array(field.data_type(), rows)),
                );
            }
        }
        columns.push(Arc::new(Int8Array::from_value(self.side as i8, rows)));
        columns.push(match self.kind_column {
            Some(index) => Arc::clone(batch.column(index)),
            None => Arc::new(Int8Array::from_value(RowKind::Insert.code(), rows)),
        });
        columns.push(Arc::new(joinable));
        columns.push(Arc::new(key_column));
        RecordBatch::try_new(Arc::clone(&self.output), columns).map_err(|e| error(&e))
    }
}
