//! Which columns of each table a query reads, for the sources that can leave the others out
//! (the csv filesystem source, as Flink's projection pushdown does). A scan under a
//! projection or an aggregate, maybe through a filter, reads the columns they refer to; any
//! other scan of the table reads every column.

use std::collections::{BTreeSet, HashMap, HashSet};

use datafusion_common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion_expr::{Expr, LogicalPlan, TableScan};

/// By table name, the names of the columns the query reads; `None` for a table it reads
/// whole.
pub(crate) type ScanColumns = HashMap<String, Option<BTreeSet<String>>>;

/// The columns `plan` reads of each table it scans.
pub(crate) fn scan_columns(plan: &LogicalPlan) -> ScanColumns {
    let mut read = ScanColumns::new();
    let mut covered: HashSet<*const TableScan> = HashSet::new();
    let _ = plan.apply(|node| {
        let (expressions, input): (Vec<&Expr>, &LogicalPlan) = match node {
            LogicalPlan::Projection(projection) => {
                (projection.expr.iter().collect(), &projection.input)
            }
            LogicalPlan::Aggregate(aggregate) => (
                aggregate
                    .group_expr
                    .iter()
                    .chain(&aggregate.aggr_expr)
                    .collect(),
                &aggregate.input,
            ),
            _ => return Ok(TreeNodeRecursion::Continue),
        };
        let (mut expressions, input) = match input {
            LogicalPlan::Filter(filter) => {
                let mut all = expressions;
                all.push(&filter.predicate);
                (all, filter.input.as_ref())
            }
            other => (expressions, other),
        };
        if let LogicalPlan::TableScan(scan) = input
            && scan.projection.is_none()
            && scan.filters.is_empty()
        {
            covered.insert(scan as *const TableScan);
            let columns = expressions
                .drain(..)
                .flat_map(Expr::column_refs)
                .map(|column| column.name.clone());
            let entry = read
                .entry(scan.table_name.to_string())
                .or_insert_with(|| Some(BTreeSet::new()));
            if let Some(names) = entry {
                names.extend(columns);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    let _ = plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && !covered.contains(&(scan as *const TableScan))
        {
            read.insert(scan.table_name.to_string(), None);
        }
        Ok(TreeNodeRecursion::Continue)
    });
    read
}
