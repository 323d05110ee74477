//! From SQL text to a DataFusion logical plan, checked and typed as Flink types it: the
//! catalog is DataFusion's `ContextProvider`, window TVFs become virtual tables, and
//! DataFusion's analyzer coerces the types. [`translate`] then turns the plan into operators
//! of our own over Arrow batches.

mod field_names;
mod group_window;
pub(crate) mod proctime;
mod ranking;
mod scan_columns;
pub(crate) mod translate;
mod tvf;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion_common::config::ConfigOptions;
use datafusion_common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion_common::{DFSchema, ScalarValue, TableReference};
use datafusion_expr::logical_plan::builder::{LogicalPlanBuilder, LogicalTableSource};
use datafusion_expr::planner::{ContextProvider, ExprPlanner};
use datafusion_expr::{AggregateUDF, Expr, LogicalPlan, ScalarUDF, TableSource, WindowUDF};
use datafusion_optimizer::analyzer::Analyzer;
use datafusion_optimizer::simplify_expressions::SimplifyExpressions;
use datafusion_optimizer::{OptimizerContext, OptimizerRule};
use datafusion_sql::planner::{ParserOptions, PlannerContext, SqlToRel};
use datafusion_sql::sqlparser::ast::{Expr as SqlExpr, Statement};
use datafusion_sql::sqlparser::parser::Parser;

use crate::catalog::{CatalogManager, CatalogObject, TableDefinition};
use crate::error::{Error, Position, Result};
use crate::parse::{FlinkDialect, parser_error};
use crate::render::ResultColumn;

pub(crate) use tvf::{TumbleSpec, WindowKind, interval_unit_millis};

/// The functions a session's queries can call.
#[derive(Debug)]
pub(crate) struct Functions {
    scalars: HashMap<String, Arc<ScalarUDF>>,
    aggregates: HashMap<String, Arc<AggregateUDF>>,
    /// DataFusion's planners of special syntax: `SUBSTRING(… FROM …)`, `POSITION`,
    /// `COUNT(*)`, `||`.
    planners: Vec<Arc<dyn ExprPlanner>>,
}

impl Functions {
    pub(crate) fn new() -> Self {
        Functions {
            scalars: {
                let mut scalars = crate::functions::scalar_functions();
                scalars.insert("proctime".to_owned(), proctime::proctime_function());
                scalars
            },
            aggregates: crate::functions::aggregate_functions(),
            planners: vec![
                Arc::new(datafusion_functions::core::planner::CoreFunctionPlanner::default()),
                Arc::new(datafusion_functions::unicode::planner::UnicodeFunctionPlanner),
                Arc::new(datafusion_functions::datetime::planner::DatetimeFunctionPlanner),
                Arc::new(datafusion_functions_aggregate::planner::AggregateFunctionPlanner),
            ],
        }
    }

    /// Every function name, sorted, for `SHOW FUNCTIONS`.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .scalars
            .keys()
            .chain(self.aggregates.keys())
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// A query planned and ready to run: its logical plan, the tables it reads, and the columns
/// of its result as Flink names them.
#[derive(Clone, Debug)]
pub struct PlannedQuery {
    pub(crate) plan: LogicalPlan,
    pub(crate) tables: HashMap<String, Arc<TableDefinition>>,
    pub(crate) tumbles: HashMap<String, Arc<TumbleSpec>>,
    pub columns: Vec<ResultColumn>,
    /// The query as written: what a cluster is sent to plan it again.
    pub(crate) text: String,
}

/// The catalog and functions, as DataFusion's planner asks for them.
struct SqlContext<'a> {
    catalogs: &'a CatalogManager,
    functions: &'a Functions,
    tumbles: &'a HashMap<String, Arc<TumbleSpec>>,
    options: ConfigOptions,
}

fn reference_parts(name: &TableReference) -> Vec<String> {
    match name {
        TableReference::Bare { table } => vec![table.to_string()],
        TableReference::Partial { schema, table } => vec![schema.to_string(), table.to_string()],
        TableReference::Full {
            catalog,
            schema,
            table,
        } => vec![catalog.to_string(), schema.to_string(), table.to_string()],
    }
}

/// A view: DataFusion's planner inlines its plan where it is used.
#[derive(Debug)]
struct ViewSource {
    plan: LogicalPlan,
}

impl TableSource for ViewSource {
    fn schema(&self) -> SchemaRef {
        Arc::clone(self.plan.schema().inner())
    }

    fn get_logical_plan(&self) -> Option<Cow<'_, LogicalPlan>> {
        Some(Cow::Borrowed(&self.plan))
    }
}

impl SqlContext<'_> {
    fn lookup(&self, name: &TableReference) -> Result<CatalogObject> {
        let path = self.catalogs.qualify(&reference_parts(name))?;
        self.catalogs.get(&path).cloned().ok_or_else(|| {
            Error::validation(format!(
                "Object '{}' not found within '{}.{}'",
                path.object, path.catalog, path.database
            ))
        })
    }
}

impl ContextProvider for SqlContext<'_> {
    fn get_table_source(
        &self,
        name: TableReference,
    ) -> datafusion_common::Result<Arc<dyn TableSource>> {
        if let Some(tumble) = self.tumbles.get(name.table()) {
            return Ok(Arc::new(LogicalTableSource::new(Arc::clone(
                &tumble.schema,
            ))));
        }
        match self.lookup(&name) {
            Ok(CatalogObject::Table(table)) => {
                Ok(Arc::new(LogicalTableSource::new(Arc::clone(&table.schema))))
            }
            Ok(CatalogObject::View(view)) => Ok(Arc::new(ViewSource {
                plan: view.plan.clone(),
            })),
            Err(error) => Err(datafusion_common::DataFusionError::Plan(error.to_string())),
        }
    }

    fn get_expr_planners(&self) -> &[Arc<dyn ExprPlanner>] {
        &self.functions.planners
    }

    fn get_function_meta(&self, name: &str) -> Option<Arc<ScalarUDF>> {
        self.functions.scalars.get(&name.to_lowercase()).cloned()
    }

    fn get_higher_order_meta(&self, _name: &str) -> Option<Arc<datafusion_expr::HigherOrderUDF>> {
        None
    }

    fn get_aggregate_meta(&self, name: &str) -> Option<Arc<AggregateUDF>> {
        self.functions.aggregates.get(&name.to_lowercase()).cloned()
    }

    fn get_window_meta(&self, name: &str) -> Option<Arc<WindowUDF>> {
        if name.eq_ignore_ascii_case("row_number") {
            return Some(Arc::new(
                WindowUDF::from(crate::functions::RowNumber::new()),
            ));
        }
        ranking::ranking_function(name)
    }

    fn get_variable_type(&self, _variable_names: &[String]) -> Option<DataType> {
        None
    }

    fn options(&self) -> &ConfigOptions {
        &self.options
    }

    fn udf_names(&self) -> Vec<String> {
        self.functions.scalars.keys().cloned().collect()
    }

    fn higher_order_function_names(&self) -> Vec<String> {
        Vec::new()
    }

    fn udaf_names(&self) -> Vec<String> {
        self.functions.aggregates.keys().cloned().collect()
    }

    fn udwf_names(&self) -> Vec<String> {
        let mut names = vec!["row_number".to_owned()];
        names.extend(ranking::NAMES.map(str::to_owned));
        names
    }
}

fn parser_options() -> ParserOptions {
    ParserOptions::new()
        .with_enable_ident_normalization(false)
        .with_parse_float_as_decimal(true)
        .with_map_string_types_to_utf8view(false)
        // Flink sorts nulls as the lowest values: first ascending, last descending.
        .with_default_null_ordering(datafusion_sql::planner::NullOrdering::NullsMin)
}

/// Plans a query (`SELECT`, `VALUES`, `WITH`): parses it, resolves its names against the
/// catalog and types it.
pub(crate) fn plan_query(
    text: &str,
    catalogs: &CatalogManager,
    functions: &Functions,
) -> Result<PlannedQuery> {
    let original = text;
    let text = &group_window::rewrite_group_windows(text)?;
    let (rewritten, calls) = tvf::rewrite_window_tvfs(text)?;
    let tumbles = resolve_tumbles(calls, catalogs, functions)?;
    let statement = Parser::new(&FlinkDialect)
        .try_with_sql(&rewritten)
        .and_then(|mut parser| {
            let statement = parser.parse_statement()?;
            // One statement per call: the script was split on `;` already.
            if parser.peek_token().token != datafusion_sql::sqlparser::tokenizer::Token::EOF {
                let next = parser.peek_token();
                return Err(datafusion_sql::sqlparser::parser::ParserError::ParserError(
                    format!(
                        "Encountered \"{}\" at Line: {}, Column: {}",
                        next.token, next.span.start.line, next.span.start.column
                    ),
                ));
            }
            Ok(statement)
        })
        .map_err(|error| parser_error(error, text, Position { line: 1, column: 1 }))?;
    if !matches!(statement, Statement::Query(_)) {
        return Err(Error::validation(
            "only a query (SELECT, VALUES, WITH) can be planned here",
        ));
    }
    let context = SqlContext {
        catalogs,
        functions,
        tumbles: &tumbles,
        options: ConfigOptions::default(),
    };
    let planner = SqlToRel::new_with_options(&context, parser_options());
    let plan = planner
        .sql_statement_to_plan(statement)
        .map_err(Error::from)
        .map_err(flink_type_names)?;
    let plan = field_names::name_field_accesses(plan)?;
    let named = result_columns(&plan);
    let plan = narrow_integer_literals(plan)?;
    let plan = Analyzer::new()
        .execute_and_check(plan, &context.options, |_, _| {})
        .map_err(Error::from)
        .map_err(flink_type_names)?;
    // Folds constants and rewrites functions DataFusion only evaluates simplified
    // (`COALESCE` becomes a `CASE`); names are kept.
    let plan = SimplifyExpressions::new()
        .rewrite(plan, &OptimizerContext::new())?
        .data;
    let mut tables = HashMap::new();
    plan.apply(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && !tumbles.contains_key(scan.table_name.table())
            && let Ok(CatalogObject::Table(table)) = context.lookup(&scan.table_name)
        {
            tables.insert(scan.table_name.to_string(), table);
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    for tumble in tumbles.values() {
        if let Some(base_plan) = &tumble.base_plan {
            base_plan.apply(|node| {
                if let LogicalPlan::TableScan(scan) = node
                    && let Ok(CatalogObject::Table(table)) = context.lookup(&scan.table_name)
                {
                    tables.insert(scan.table_name.to_string(), table);
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
        }
    }
    let columns = named
        .into_iter()
        .zip(plan.schema().fields())
        .map(|(column, field)| ResultColumn {
            name: column.name,
            data_type: field.data_type().clone(),
        })
        .collect();
    Ok(PlannedQuery {
        plan,
        tables,
        tumbles,
        columns,
        text: original.to_owned(),
    })
}

/// Resolves each TVF call's input table or view, and checks its time column.
fn resolve_tumbles(
    calls: Vec<tvf::TvfCall>,
    catalogs: &CatalogManager,
    functions: &Functions,
) -> Result<HashMap<String, Arc<TumbleSpec>>> {
    let empty = HashMap::new();
    let context = SqlContext {
        catalogs,
        functions,
        tumbles: &empty,
        options: ConfigOptions::default(),
    };
    let mut tumbles = HashMap::new();
    for call in calls {
        let reference = match call.base.as_slice() {
            [table] => TableReference::bare(table.as_str()),
            [database, table] => TableReference::partial(database.as_str(), table.as_str()),
            [catalog, database, table] => {
                TableReference::full(catalog.as_str(), database.as_str(), table.as_str())
            }
            _ => {
                return Err(Error::validation(format!(
                    "{}: '{}' is not a table name",
                    call.kind.name(),
                    call.base.join(".")
                )));
            }
        };
        let source = context
            .get_table_source(reference.clone())
            .map_err(Error::from)?;
        let base_plan = LogicalPlanBuilder::scan(reference, source, None)?.build()?;
        let base_schema = base_plan.schema().as_arrow().clone();
        let time = base_schema
            .field_with_name(&call.time_column)
            .map_err(|_| {
                Error::validation(format!(
                    "{}: the time column '{}' is not a column of '{}'",
                    call.kind.name(),
                    call.time_column,
                    call.base.join(".")
                ))
            })?;
        if !matches!(time.data_type(), DataType::Timestamp(_, _)) {
            return Err(Error::validation(format!(
                "{}: the time column '{}' has type {}; it must be a TIMESTAMP(3) time \
                 attribute",
                call.kind.name(),
                call.time_column,
                crate::types::flink_type_name(time.data_type())
            )));
        }
        let schema = TumbleSpec::output_schema(&base_schema);
        tumbles.insert(
            call.name.clone(),
            Arc::new(TumbleSpec {
                kind: call.kind,
                partition: call.partition,
                base: call.base,
                base_plan: Some(base_plan),
                time_column: call.time_column,
                size_millis: call.size_millis,
                offset_millis: call.offset_millis,
                schema,
            }),
        );
    }
    Ok(tumbles)
}

/// Plans a computed column's expression over a table's physical columns, for `CREATE
/// TABLE`: its type, or an error naming the column.
pub(crate) fn plan_column_expression(
    expression: &SqlExpr,
    physical: &Schema,
    catalogs: &CatalogManager,
    functions: &Functions,
) -> Result<(Expr, DataType)> {
    let tumbles = HashMap::new();
    let context = SqlContext {
        catalogs,
        functions,
        tumbles: &tumbles,
        options: ConfigOptions::default(),
    };
    let schema = DFSchema::try_from(physical.clone())?;
    let planner = SqlToRel::new_with_options(&context, parser_options());
    let expr = planner
        .sql_to_expr(expression.clone(), &schema, &mut PlannerContext::new())
        .map_err(Error::from)
        .map_err(flink_type_names)?;
    // Typed as in a query: a projection over the physical columns, coerced and simplified.
    let source = Arc::new(LogicalTableSource::new(Arc::new(physical.clone())));
    let plan = LogicalPlanBuilder::scan("computed", source, None)?
        .project(vec![expr])?
        .build()?;
    let plan = narrow_integer_literals(plan)?;
    let plan = Analyzer::new()
        .execute_and_check(plan, &context.options, |_, _| {})
        .map_err(Error::from)
        .map_err(flink_type_names)?;
    let plan = SimplifyExpressions::new()
        .rewrite(plan, &OptimizerContext::new())?
        .data;
    let LogicalPlan::Projection(projection) = &plan else {
        return Err(Error::validation(
            "a computed column did not plan to a projection",
        ));
    };
    let (Some(expr), Some(field)) = (projection.expr.first(), plan.schema().fields().first())
    else {
        return Err(Error::validation("a computed column planned to nothing"));
    };
    let data_type = field.data_type().clone();
    // Evaluated over the source's unqualified columns.
    let expr = expr
        .clone()
        .unalias_nested()
        .data
        .transform(|e| match e {
            Expr::Column(column) => Ok(Transformed::yes(Expr::Column(
                datafusion_common::Column::new_unqualified(column.name),
            ))),
            other => Ok(Transformed::no(other)),
        })?
        .data;
    Ok((expr, data_type))
}

/// Integer literals that fit in an `INT` are `INT`s, as in Flink (DataFusion makes every
/// integer literal a `BIGINT`), so `int_column + 1` stays an `INT`.
fn narrow_integer_literals(plan: LogicalPlan) -> Result<LogicalPlan> {
    let transformed = plan.transform_up_with_subqueries(|node| {
        // The names of a projection's, an aggregate's and a window's outputs are kept, as
        // the nodes above refer to them by name.
        let named = matches!(
            node,
            LogicalPlan::Projection(_) | LogicalPlan::Aggregate(_) | LogicalPlan::Window(_)
        );
        node.map_expressions(|expression| {
            let name = expression.schema_name().to_string();
            let narrowed = expression.transform_up(|expression| match expression {
                Expr::Literal(ScalarValue::Int64(Some(value)), metadata)
                    if i32::try_from(value).is_ok() =>
                {
                    Ok(Transformed::yes(Expr::Literal(
                        ScalarValue::Int32(Some(value as i32)),
                        metadata,
                    )))
                }
                other => Ok(Transformed::no(other)),
            })?;
            if named && narrowed.transformed && !matches!(narrowed.data, Expr::Alias(_)) {
                Ok(Transformed::yes(narrowed.data.alias(name)))
            } else {
                Ok(narrowed)
            }
        })?
        .transform_data(|node| match node {
            // `VALUES (1)` is a column of INT: the schema follows the narrowed rows.
            LogicalPlan::Values(values) => Ok(Transformed::yes(
                LogicalPlanBuilder::values(values.values)?.build()?,
            )),
            other => Ok(Transformed::no(other)),
        })
    })?;
    // Narrowing changes the types the plan's schemas recorded: recompute them.
    Ok(transformed.data.recompute_schema()?)
}

/// DataFusion's messages name Arrow types; Flink users know Flink's.
fn flink_type_names(error: Error) -> Error {
    match error {
        Error::Validation(message) => {
            let mut message = message;
            for (arrow, flink) in [
                ("Utf8View", "STRING"),
                ("Utf8", "STRING"),
                ("Int64", "BIGINT"),
                ("Int32", "INT"),
                ("Int16", "SMALLINT"),
                ("Int8", "TINYINT"),
                ("Float64", "DOUBLE"),
                ("Float32", "FLOAT"),
                ("Boolean", "BOOLEAN"),
                ("Date32", "DATE"),
                ("Timestamp(ms)", "TIMESTAMP(3)"),
                ("Timestamp(Millisecond, None)", "TIMESTAMP(3)"),
            ] {
                message = replace_word(&message, arrow, flink);
            }
            if let Some(at) = message.find("No field named ") {
                let rest = &message[at + "No field named ".len()..];
                let name = rest
                    .split(['\n', ' '])
                    .next()
                    .unwrap_or(rest)
                    .trim_end_matches('.')
                    .trim_matches('"');
                let name = name.rsplit('.').next().unwrap_or(name).trim_matches('"');
                return Error::Validation(format!("Column '{name}' not found in any table"));
            }
            Error::Validation(message)
        }
        other => other,
    }
}

/// Replaces `word` where it is not part of a longer identifier.
fn replace_word(text: &str, word: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(word) {
        let before = rest[..at].chars().next_back();
        let after = rest[at + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric() && c != '_');
        out.push_str(&rest[..at]);
        if boundary(before) && boundary(after) {
            out.push_str(replacement);
        } else {
            out.push_str(word);
        }
        rest = &rest[at + word.len()..];
    }
    out.push_str(rest);
    out
}

/// The result's columns. An unnamed expression gets Flink's name, `EXPR$<index>`.
fn result_columns(plan: &LogicalPlan) -> Vec<ResultColumn> {
    let expressions: Option<&Vec<Expr>> = match plan {
        LogicalPlan::Projection(projection) => Some(&projection.expr),
        _ => None,
    };
    let values = matches!(plan, LogicalPlan::Values(_));
    let mut columns: Vec<ResultColumn> = plan
        .schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let named = match expressions.and_then(|e| e.get(index)) {
                // DataFusion names a call through a function's alias (`DATE_FORMAT` for
                // `to_char`) with an alias of its own: the call as written, not a name.
                Some(Expr::Alias(alias)) => {
                    !(matches!(*alias.expr, Expr::ScalarFunction(_))
                        && alias.name.contains('(')
                        && alias.name.ends_with(')'))
                }
                // A column over an unnamed aggregate or expression of the plan below
                // (`SELECT AVG(x) … GROUP BY`) bears that expression's text as its name.
                Some(Expr::Column(column)) => {
                    !(column.relation.is_none()
                        && column.name.contains('(')
                        && column.name.ends_with(')'))
                }
                None => !values,
                Some(_) => false,
            };
            ResultColumn {
                name: if named {
                    field.name().clone()
                } else {
                    format!("EXPR${index}")
                },
                data_type: field.data_type().clone(),
            }
        })
        .collect();
    uniquify(&mut columns);
    columns
}

/// Makes the result's column names unique as Flink does: a name taken by an earlier column
/// gets the first free suffix `0`, `1`, … (`dateTime`, `dateTime0`).
fn uniquify(columns: &mut [ResultColumn]) {
    let mut taken = std::collections::HashSet::new();
    for column in columns.iter_mut() {
        if !taken.insert(column.name.clone()) {
            let name = (0..)
                .map(|suffix| format!("{}{suffix}", column.name))
                .find(|candidate| !taken.contains(candidate))
                .unwrap_or_default();
            taken.insert(name.clone());
            column.name = name;
        }
    }
}

/// The Arrow schema of a stream carrying a plan node's rows: every column nullable (the
/// planner's nullability is not checked batch by batch), plus the row kind column when the
/// stream carries updates.
pub(crate) fn stream_schema(schema: &DFSchema, updating: bool) -> SchemaRef {
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| Field::new(field.name(), field.data_type().clone(), true))
        .collect();
    if updating {
        fields.push(Field::new(ROW_KIND_COLUMN, DataType::Int8, false));
    }
    Arc::new(Schema::new(fields))
}

/// The column of an updating stream that holds each row's kind ([`crate::RowKind`]).
pub(crate) const ROW_KIND_COLUMN: &str = "$row_kind";
