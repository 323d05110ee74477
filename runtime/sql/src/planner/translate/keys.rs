//! The keys the OVER and Top-N operators order and partition rows by, in Arrow's row format:
//! each key's physical expressions, and the fields that encode their values so that
//! comparing the bytes compares the values in the query's order.

use std::sync::Arc;

use arrow_schema::SortOptions;
use datafusion_common::DFSchema;
use datafusion_common::arrow::row::SortField;
use datafusion_expr::{Expr, ExprSchemable, SortExpr};
use datafusion_physical_expr::PhysicalExpr;

use super::Translator;
use crate::error::Result;

/// A key's expressions over the input, and the row-format field of each.
pub(super) struct RowKey {
    pub expressions: Vec<Arc<dyn PhysicalExpr>>,
    pub fields: Vec<SortField>,
}

impl Translator<'_> {
    /// The `ORDER BY` key: each expression with its direction and where its nulls go.
    pub(super) fn order_key(&self, order_by: &[SortExpr], schema: &DFSchema) -> Result<RowKey> {
        let mut key = RowKey {
            expressions: Vec::with_capacity(order_by.len()),
            fields: Vec::with_capacity(order_by.len()),
        };
        for sort in order_by {
            key.expressions.push(self.physical(&sort.expr, schema)?);
            key.fields.push(SortField::new_with_options(
                sort.expr.get_type(schema)?,
                SortOptions {
                    descending: !sort.asc,
                    nulls_first: sort.nulls_first,
                },
            ));
        }
        Ok(key)
    }

    /// The `PARTITION BY` key: the expressions in their natural order.
    pub(super) fn partition_key(&self, partition_by: &[Expr], schema: &DFSchema) -> Result<RowKey> {
        let mut key = RowKey {
            expressions: Vec::with_capacity(partition_by.len()),
            fields: Vec::with_capacity(partition_by.len()),
        };
        for expr in partition_by {
            key.expressions.push(self.physical(expr, schema)?);
            key.fields.push(SortField::new(expr.get_type(schema)?));
        }
        Ok(key)
    }
}
