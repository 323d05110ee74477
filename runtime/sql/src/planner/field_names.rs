//! Flink's names for the fields of a ROW read in a SELECT list: `SELECT person.id FROM t`
//! returns a column named `id`, where DataFusion would name it after the whole expression.

use datafusion_common::ScalarValue;
use datafusion_common::tree_node::{Transformed, TreeNode};
use datafusion_expr::logical_plan::Projection;
use datafusion_expr::{Expr, LogicalPlan};

use crate::error::Result;

/// Names every projected field access `row.field` without an alias after its field, unless
/// another column of the same projection already has that name.
pub(crate) fn name_field_accesses(plan: LogicalPlan) -> Result<LogicalPlan> {
    let renamed = plan.transform_up(|node| {
        let LogicalPlan::Projection(projection) = &node else {
            return Ok(Transformed::no(node));
        };
        let names: Vec<String> = projection
            .schema
            .fields()
            .iter()
            .map(|field| field.name().clone())
            .collect();
        let mut changed = false;
        let expressions: Vec<Expr> = projection
            .expr
            .iter()
            .map(|expr| match field_name(expr) {
                Some(name) if names.iter().filter(|n| *n == &name).count() == 0 => {
                    changed = true;
                    expr.clone().alias(name)
                }
                _ => expr.clone(),
            })
            .collect();
        if !changed {
            return Ok(Transformed::no(node));
        }
        let projection = Projection::try_new(expressions, projection.input.clone())?;
        Ok(Transformed::yes(LogicalPlan::Projection(projection)))
    })?;
    Ok(renamed.data)
}

/// The field an unaliased `get_field(row, 'field')` reads.
fn field_name(expr: &Expr) -> Option<String> {
    let Expr::ScalarFunction(function) = expr else {
        return None;
    };
    if function.func.name() != "get_field" {
        return None;
    }
    match function.args.get(1) {
        Some(Expr::Literal(ScalarValue::Utf8(Some(name)), _)) => Some(name.clone()),
        _ => None,
    }
}
