//! From a DataFusion logical plan to a job on our runtime: each plan node becomes Arrow stream
//! operators (a source with its computed columns and watermarks, a calc, a keyed group or
//! window aggregate). A node flinkrs cannot run yet is named and called "not supported yet".

use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::BinaryBuilder;
use arrow_array::cast::AsArray;
use arrow_array::types::TimestampMillisecondType;
use arrow_array::{
    ArrayRef, BinaryArray, RecordBatch, RecordBatchOptions, TimestampMillisecondArray, UInt32Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion_common::DFSchema;
use datafusion_common::arrow::compute::{cast, concat, filter_record_batch, is_not_null, take};
use datafusion_common::arrow::row::{RowConverter, SortField};
use datafusion_expr::execution_props::ExecutionProps;
use datafusion_expr::logical_plan::{
    Aggregate, Distinct, Filter, Projection, TableScan, Union, Values,
};
use datafusion_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion_expr::{Expr, ExprSchemable, LogicalPlan};
use datafusion_physical_expr::{PhysicalExpr, create_physical_expr};
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::arrow::ArrowStream;
use flinkrs_core::RuntimeMode;

use super::scan_columns::{ScanColumns, scan_columns};
use super::{PlannedQuery, ROW_KIND_COLUMN, TumbleSpec, WindowKind, stream_schema};
use crate::catalog::TableDefinition;
use crate::connector;
use crate::error::{Error, Result};
use crate::operators::aggregate::{AggregateCall, AggregateSpec, SqlAggregateOperator};
use crate::operators::calc::Calc;
use crate::operators::session::{SessionColumns, SqlSessionAggregateOperator};
use crate::operators::window_aggregate::{self, WindowAggregateOperator};

mod join;
mod keys;
mod normalize;
mod over;
mod rank;
mod sort;

/// A plan node's rows as a stream.
#[derive(Clone, Debug)]
pub(crate) struct Planned {
    pub stream: ArrowStream,
    /// Whether the stream carries updates (a row kind column at the end).
    pub updating: bool,
    /// The size of the tumbling windows whose `window_start` and `window_end` the stream
    /// carries, if any.
    pub tumble: Option<i64>,
    /// The parallelism of the operator the stream comes from, when it is not the default
    /// (a global aggregate, `VALUES`): the operators after it keep it, so the rows stay in
    /// order (a key's `-U` after its `+I`), as a forward connection keeps them.
    pub parallelism: Option<usize>,
}

pub(crate) struct Translator<'a> {
    env: &'a StreamExecutionEnvironment,
    query: &'a PlannedQuery,
    mode: RuntimeMode,
    mini_batch: bool,
    props: ExecutionProps,
    /// How many `SESSION` window aggregates were built: a `SESSION` TVF without one is not
    /// supported yet.
    session_aggregates: std::cell::Cell<usize>,
    /// The columns the query reads of each table.
    scan_columns: ScanColumns,
}

impl<'a> Translator<'a> {
    /// `mini_batch`: `table.exec.mini-batch.enabled`.
    pub(crate) fn new(
        env: &'a StreamExecutionEnvironment,
        query: &'a PlannedQuery,
        mini_batch: bool,
    ) -> Self {
        Translator {
            mode: env.runtime_mode(),
            mini_batch,
            env,
            query,
            props: ExecutionProps::new(),
            session_aggregates: std::cell::Cell::new(0),
            scan_columns: scan_columns(&query.plan),
        }
    }

    pub(crate) fn translate(&self) -> Result<Planned> {
        let planned = self.node(&self.query.plan)?;
        let sessions = self
            .query
            .tumbles
            .values()
            .filter(|tumble| tumble.kind == WindowKind::Session)
            .count();
        if sessions > self.session_aggregates.get() {
            return Err(Error::unsupported(
                "the SESSION window TVF without a window aggregate over it",
            ));
        }
        Ok(planned)
    }

    /// The `SESSION` TVF `plan` reads, through projections and filters.
    fn session_input(&self, plan: &LogicalPlan) -> Option<Arc<TumbleSpec>> {
        match plan {
            LogicalPlan::TableScan(scan) => self
                .query
                .tumbles
                .get(scan.table_name.table())
                .filter(|tumble| tumble.kind == WindowKind::Session)
                .cloned(),
            LogicalPlan::Projection(_) | LogicalPlan::Filter(_) | LogicalPlan::SubqueryAlias(_) => {
                plan.inputs()
                    .first()
                    .and_then(|input| self.session_input(input))
            }
            _ => None,
        }
    }

    fn node(&self, plan: &LogicalPlan) -> Result<Planned> {
        match plan {
            LogicalPlan::Projection(projection) => self.projection(projection),
            LogicalPlan::Filter(filter) => self.filter(filter),
            LogicalPlan::TableScan(scan) => self.scan(scan),
            LogicalPlan::SubqueryAlias(alias) => self.node(&alias.input),
            LogicalPlan::Values(values) => self.values(values),
            LogicalPlan::EmptyRelation(empty) => self.empty(empty.produce_one_row, plan.schema()),
            LogicalPlan::Aggregate(aggregate) => self.aggregate(aggregate),
            LogicalPlan::Sort(sort) => self.sort(sort),
            LogicalPlan::Limit(limit) => self.limit(limit),
            LogicalPlan::Join(join) => self.join(join),
            LogicalPlan::Union(union) => self.union(union),
            LogicalPlan::Distinct(Distinct::All(input)) => self.distinct(input),
            LogicalPlan::Distinct(Distinct::On(_)) => Err(Error::unsupported("DISTINCT ON")),
            LogicalPlan::Window(window) => self.over(window),
            other => Err(Error::unsupported(format!(
                "the query shape {}",
                other.display().to_string().split(':').next().unwrap_or("")
            ))),
        }
    }

    fn physical(&self, expression: &Expr, schema: &DFSchema) -> Result<Arc<dyn PhysicalExpr>> {
        Ok(create_physical_expr(
            expression,
            schema,
            &self.props,
            &PhysicalPlanningContext::default(),
        )?)
    }

    fn calc(&self, input: &Planned, calc: Calc, tumble: Option<i64>) -> Planned {
        let output = Arc::clone(&calc.output);
        let name = calc.name.clone();
        let mut stream = input
            .stream
            .map_batches(&name, output, move |batch| calc.apply(batch));
        if let Some(parallelism) = input.parallelism {
            stream = stream.set_parallelism(parallelism);
        }
        Planned {
            stream,
            updating: input.updating,
            tumble,
            parallelism: input.parallelism,
        }
    }

    fn projection(&self, projection: &Projection) -> Result<Planned> {
        let input = self.node(&projection.input)?;
        self.projection_over(input, projection)
    }

    /// `projection` over `input`, the rows of its input plan.
    fn projection_over(&self, input: Planned, projection: &Projection) -> Result<Planned> {
        let input_schema = projection.input.schema();
        let expressions = projection
            .expr
            .iter()
            .map(|expression| self.physical(expression, input_schema))
            .collect::<Result<Vec<_>>>()?;
        let output = stream_schema(&projection.schema, input.updating);
        let row_kind = input
            .updating
            .then(|| input.stream.schema().index_of(ROW_KIND_COLUMN).ok())
            .flatten();
        let tumble = input.tumble.filter(|_| {
            projection
                .schema
                .fields()
                .iter()
                .any(|f| f.name() == "window_end")
        });
        let calc = Calc {
            name: "Calc".into(),
            filter: None,
            projection: Some(expressions),
            output,
            row_kind,
        };
        Ok(self.calc(&input, calc, tumble))
    }

    fn filter(&self, filter: &Filter) -> Result<Planned> {
        if let Some(planned) = self.top_n(filter)? {
            return Ok(planned);
        }
        // `FROM a, b WHERE a.k = b.k`: a cross join whose condition is the WHERE clause.
        if let LogicalPlan::Join(join) = filter.input.as_ref()
            && join.join_type == datafusion_expr::JoinType::Inner
            && join.on.is_empty()
            && join.filter.is_none()
        {
            let mut joined = join.clone();
            joined.filter = Some(filter.predicate.clone());
            return self.join(&joined);
        }
        let input = self.node(&filter.input)?;
        let predicate = self.physical(&filter.predicate, filter.input.schema())?;
        let calc = Calc {
            name: "Calc (WHERE)".into(),
            filter: Some(predicate),
            projection: None,
            output: Arc::clone(input.stream.schema()),
            row_kind: None,
        };
        let tumble = input.tumble;
        Ok(self.calc(&input, calc, tumble))
    }

    fn scan(&self, scan: &TableScan) -> Result<Planned> {
        if !scan.filters.is_empty() {
            return Err(Error::unsupported("filters pushed into a table scan"));
        }
        let planned = match self.query.tumbles.get(scan.table_name.table()) {
            Some(tumble) => self.tumble(tumble)?,
            None => {
                let table = self
                    .query
                    .tables
                    .get(&scan.table_name.to_string())
                    .ok_or_else(|| {
                        Error::validation(format!("Object '{}' not found", scan.table_name))
                    })?;
                // The columns the scan reads, where they are the source's own: with computed
                // columns or a watermark, the source's columns feed those too.
                let read: Option<Vec<usize>> = self
                    .scan_columns
                    .get(&scan.table_name.to_string())
                    .cloned()
                    .flatten()
                    .filter(|_| table.computed.is_empty() && table.watermark.is_none())
                    .map(|names| {
                        names
                            .iter()
                            .filter_map(|name| table.physical.index_of(name).ok())
                            .collect()
                    });
                self.table(table, read.as_deref())?
            }
        };
        match &scan.projection {
            None => Ok(planned),
            Some(indices) => {
                let schema = planned.stream.schema();
                let projection = indices
                    .iter()
                    .map(|&index| {
                        Arc::new(datafusion_physical_expr::expressions::Column::new(
                            schema.field(index).name(),
                            index,
                        )) as Arc<dyn PhysicalExpr>
                    })
                    .collect();
                let output = stream_schema(&scan.projected_schema, planned.updating);
                let tumble = planned
                    .tumble
                    .filter(|_| output.fields().iter().any(|f| f.name() == "window_end"));
                let row_kind = planned
                    .updating
                    .then(|| schema.index_of(ROW_KIND_COLUMN).ok())
                    .flatten();
                let calc = Calc {
                    name: format!("Calc (columns of {})", scan.table_name),
                    filter: None,
                    projection: Some(projection),
                    output,
                    row_kind,
                };
                Ok(self.calc(&planned, calc, tumble))
            }
        }
    }

    /// A table's source, its computed columns and its watermarks; `read` lists the source's
    /// columns the query reads, where it knows them.
    fn table(&self, table: &TableDefinition, read: Option<&[usize]>) -> Result<Planned> {
        let mut stream = connector::add_source(self.env, table, read)?;
        // An upsert source's row kinds, after its columns.
        let upserts = connector::reads_upserts(table);
        if !table.computed.is_empty() {
            let physical = DFSchema::try_from(table.physical.as_ref().clone())?;
            let mut projection: Vec<Arc<dyn PhysicalExpr>> = Vec::new();
            for (index, field) in table.physical.fields().iter().enumerate() {
                projection.push(Arc::new(
                    datafusion_physical_expr::expressions::Column::new(field.name(), index),
                ));
            }
            for column in &table.computed {
                projection.push(self.physical(&column.expression, &physical)?);
            }
            let output = nullable(&table.schema, upserts);
            let calc = Calc {
                name: format!("Calc (computed columns of {})", table.qualified_name),
                filter: None,
                projection: Some(projection),
                output: Arc::clone(&output),
                row_kind: upserts.then_some(table.physical.fields().len()),
            };
            stream = stream.map_batches(&calc.name.clone(), output, move |batch| calc.apply(batch));
        }
        if let Some(watermark) = &table.watermark {
            stream = stream.with_rowtime(&watermark.column)?;
            if !connector::watermarks_in_source(table) {
                let delay = u64::try_from(watermark.delay_millis).unwrap_or(0);
                stream = stream.assign_watermarks(Duration::from_millis(delay))?;
            }
        }
        if upserts {
            return self.normalize(stream, table);
        }
        Ok(Planned {
            stream,
            updating: false,
            tumble: None,
            parallelism: None,
        })
    }

    /// `TUMBLE(TABLE t, DESCRIPTOR(ts), size)`, `HOP` or `CUMULATE`: the input with each
    /// row's windows, a row per window.
    fn tumble(&self, tumble: &TumbleSpec) -> Result<Planned> {
        let function = tumble.kind.name();
        if tumble.kind == WindowKind::Session && self.mode == RuntimeMode::Batch {
            // As in Flink: "Unaligned windows like session are not supported in batch mode".
            return Err(Error::unsupported("a SESSION window in batch mode"));
        }
        let Some(base_plan) = &tumble.base_plan else {
            return Err(Error::validation(format!(
                "{function}: its input '{}' was not resolved",
                tumble.base.join(".")
            )));
        };
        if self.mode == RuntimeMode::Batch && self.is_proctime(base_plan, &tumble.time_column) {
            // Flink's words: its batch mode has no processing-time window TVFs.
            return Err(Error::validation(
                "Processing time Window TableFunction is not supported yet.",
            ));
        }
        let input = self.node(base_plan)?;
        if input.updating {
            return Err(Error::unsupported(format!(
                "a {function} window TVF over an updating input (Flink: \
                 StreamPhysicalWindowTableFunction doesn't support consuming update and delete \
                 changes)"
            )));
        }
        let time = base_plan
            .schema()
            .index_of_column_by_name(None, &tumble.time_column)
            .ok_or_else(|| {
                Error::validation(format!(
                    "{function}: the time column '{}' is not in the input",
                    tumble.time_column
                ))
            })?;
        let width = base_plan.schema().fields().len();
        let output = nullable(&tumble.schema, false);
        let declared = Arc::clone(&output);
        let windows = Windows {
            kind: tumble.kind,
            size: tumble.size_millis,
            offset: tumble.offset_millis,
        };
        let size = windows.size;
        let mut stream = input
            .stream
            .map_batches("WindowTableFunction", output, move |batch| {
                assign_windows(batch, time, width, windows, &declared)
            });
        if let Some(parallelism) = input.parallelism {
            stream = stream.set_parallelism(parallelism);
        }
        Ok(Planned {
            stream,
            updating: false,
            tumble: Some(size),
            parallelism: input.parallelism,
        })
    }

    /// Whether the query's window TVFs are over a processing-time attribute (`PROCTIME()`).
    fn over_processing_time(&self) -> bool {
        self.query.tumbles.values().any(|tumble| {
            tumble
                .base_plan
                .as_ref()
                .is_some_and(|plan| self.is_proctime(plan, &tumble.time_column))
        })
    }

    /// Whether the column `name` of `plan` is a processing-time attribute: a table's
    /// `PROCTIME()` column, or `PROCTIME()` in a query's (a view's) projection.
    fn is_proctime(&self, plan: &LogicalPlan, name: &str) -> bool {
        match plan {
            LogicalPlan::Projection(projection) => {
                let Some(index) = projection
                    .schema
                    .fields()
                    .iter()
                    .position(|field| field.name() == name)
                else {
                    return false;
                };
                match projection
                    .expr
                    .get(index)
                    .map(|expr| expr.clone().unalias())
                {
                    Some(Expr::ScalarFunction(call)) => call.name() == "proctime",
                    Some(Expr::Column(column)) => self.is_proctime(&projection.input, &column.name),
                    _ => false,
                }
            }
            LogicalPlan::Filter(_) | LogicalPlan::SubqueryAlias(_) => plan
                .inputs()
                .first()
                .is_some_and(|input| self.is_proctime(input, name)),
            LogicalPlan::TableScan(scan) => self
                .query
                .tables
                .get(&scan.table_name.to_string())
                .is_some_and(|table| table.is_proctime(name)),
            _ => false,
        }
    }

    /// For a window aggregate over a `SESSION` TVF: which group columns are the window's
    /// bounds, and which are the partition columns (the rest, which must be the TVF's
    /// `PARTITION BY` columns).
    fn session_columns(
        &self,
        aggregate: &Aggregate,
        tumble: &TumbleSpec,
        group_count: usize,
    ) -> Result<(SessionColumns, Vec<usize>)> {
        let mut window_start = None;
        let mut window_end = None;
        let mut partition = Vec::new();
        let mut partition_names = Vec::new();
        for (index, expression) in aggregate.group_expr.iter().enumerate() {
            match expression {
                Expr::Column(column) if column.name == "window_start" => {
                    window_start = Some(index);
                }
                Expr::Column(column) if column.name == "window_end" => window_end = Some(index),
                Expr::Column(column) => {
                    partition.push(index);
                    partition_names.push(column.name.clone());
                }
                other => {
                    return Err(Error::unsupported(format!(
                        "grouping a SESSION window by the expression {other}"
                    )));
                }
            }
        }
        let (Some(window_start), Some(window_end)) = (window_start, window_end) else {
            return Err(Error::unsupported(
                "a SESSION window aggregate that does not group by window_start and window_end",
            ));
        };
        let mut wanted = tumble.partition.clone();
        wanted.sort();
        partition_names.sort();
        if wanted != partition_names {
            return Err(Error::unsupported(format!(
                "a SESSION window aggregate grouped by [{}] over sessions partitioned by [{}]",
                partition_names.join(", "),
                wanted.join(", ")
            )));
        }
        debug_assert!(partition.iter().all(|&column| column < group_count));
        Ok((
            SessionColumns {
                window_start,
                window_end,
            },
            partition,
        ))
    }

    /// `SELECT DISTINCT` (and `UNION` without `ALL`, a distinct over the union): a group
    /// aggregate by every column, with no aggregate function, as Flink plans it. In streaming
    /// mode a row is emitted (`+I`) the first time it is seen; the stream counts as updating,
    /// as Flink's does.
    fn distinct(&self, input: &Arc<LogicalPlan>) -> Result<Planned> {
        let columns: Vec<Expr> = input
            .schema()
            .columns()
            .into_iter()
            .map(Expr::Column)
            .collect();
        let aggregate = Aggregate::try_new(Arc::clone(input), columns, Vec::new())?;
        self.aggregate(&aggregate)
    }

    /// `UNION ALL`: the inputs' rows, each input cast to the union's column types. (`UNION`
    /// without `ALL` is a [`Self::distinct`] over it.)
    fn union(&self, union: &Union) -> Result<Planned> {
        let inputs = union
            .inputs
            .iter()
            .map(|input| self.node(input))
            .collect::<Result<Vec<_>>>()?;
        if inputs.iter().any(|input| input.updating) {
            return Err(Error::unsupported(
                "UNION ALL of an updating result (a group aggregate in streaming mode)",
            ));
        }
        let output = stream_schema(&union.schema, false);
        let mut streams = Vec::with_capacity(inputs.len());
        for input in &inputs {
            let target = Arc::clone(&output);
            let mut stream = input.stream.map_batches(
                "Calc (UNION ALL input)",
                Arc::clone(&output),
                move |batch| cast_columns(batch, &target),
            );
            if let Some(parallelism) = input.parallelism {
                stream = stream.set_parallelism(parallelism);
            }
            streams.push(stream);
        }
        let Some((first, others)) = streams.split_first() else {
            return Err(Error::validation("UNION ALL without inputs"));
        };
        Ok(Planned {
            stream: first.union(others)?,
            updating: false,
            tumble: None,
            parallelism: None,
        })
    }

    fn values(&self, values: &Values) -> Result<Planned> {
        let schema = stream_schema(&values.schema, false);
        let one_row = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(1)),
        )?;
        let empty = DFSchema::empty();
        let mut rows = Vec::with_capacity(values.values.len());
        for row in &values.values {
            let mut columns: Vec<ArrayRef> = Vec::with_capacity(row.len());
            for (expression, field) in row.iter().zip(schema.fields()) {
                let array = self
                    .physical(expression, &empty)?
                    .evaluate(&one_row)
                    .and_then(|value| value.into_array(1))?;
                columns.push(if array.data_type() == field.data_type() {
                    array
                } else {
                    cast(&array, field.data_type())?
                });
            }
            rows.push(RecordBatch::try_new(Arc::clone(&schema), columns)?);
        }
        // Streaming mode sees the rows one at a time, as Flink's values source emits them,
        // so updates downstream are the ones Flink shows; batch mode gets them at once.
        let batches = match self.mode {
            RuntimeMode::Streaming => rows,
            RuntimeMode::Batch => {
                let mut columns = Vec::with_capacity(schema.fields().len());
                for column in 0..schema.fields().len() {
                    let arrays: Vec<&dyn arrow_array::Array> =
                        rows.iter().map(|row| row.column(column).as_ref()).collect();
                    columns.push(concat(&arrays)?);
                }
                vec![RecordBatch::try_new_with_options(
                    Arc::clone(&schema),
                    columns,
                    &RecordBatchOptions::new().with_row_count(Some(rows.len())),
                )?]
            }
        };
        let stream = self.env.from_record_batches(schema, None, batches)?;
        Ok(Planned {
            stream: stream.name("Values"),
            updating: false,
            tumble: None,
            parallelism: Some(1),
        })
    }

    fn empty(&self, one_row: bool, schema: &DFSchema) -> Result<Planned> {
        let schema = stream_schema(schema, false);
        let rows = usize::from(one_row);
        let columns = schema
            .fields()
            .iter()
            .map(|field| arrow_array::new_null_array(field.data_type(), rows))
            .collect();
        let batch = RecordBatch::try_new_with_options(
            Arc::clone(&schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )?;
        let stream = self.env.from_record_batches(schema, None, vec![batch])?;
        Ok(Planned {
            stream,
            updating: false,
            tumble: None,
            parallelism: Some(1),
        })
    }

    fn aggregate(&self, aggregate: &Aggregate) -> Result<Planned> {
        let input = self.node(&aggregate.input)?;
        if input.updating
            && (input.tumble.is_some() || self.session_input(&aggregate.input).is_some())
        {
            return Err(Error::unsupported(
                "a window aggregate over an updating result (such as an aggregate of an \
                 aggregate)",
            ));
        }
        let input_schema = aggregate.input.schema();
        if aggregate
            .group_expr
            .iter()
            .any(|expression| matches!(expression, Expr::GroupingSet(_)))
        {
            return Err(Error::unsupported("GROUPING SETS, ROLLUP and CUBE"));
        }
        // The pre-aggregation calc: group columns, then every aggregate's arguments.
        let mut projection = Vec::new();
        let mut fields = Vec::new();
        for (index, expression) in aggregate.group_expr.iter().enumerate() {
            projection.push(self.physical(expression, input_schema)?);
            let data_type = expression.get_type(input_schema)?;
            fields.push(Field::new(format!("group{index}"), data_type, true));
        }
        let group_count = fields.len();
        let mut calls = Vec::new();
        for (index, expression) in aggregate.aggr_expr.iter().enumerate() {
            let function = match expression {
                Expr::Alias(alias) => alias.expr.as_ref(),
                other => other,
            };
            let Expr::AggregateFunction(function) = function else {
                return Err(Error::unsupported(format!(
                    "the aggregate expression {expression}"
                )));
            };
            let parameters = &function.params;
            if !parameters.order_by.is_empty() {
                return Err(Error::unsupported("ORDER BY inside an aggregate"));
            }
            let mut arguments = Vec::new();
            let mut argument_fields = Vec::new();
            for (position, argument) in parameters.args.iter().enumerate() {
                let data_type = argument.get_type(input_schema)?;
                let field = Arc::new(Field::new(
                    format!("arg{index}_{position}"),
                    data_type,
                    true,
                ));
                projection.push(self.physical(argument, input_schema)?);
                arguments.push(fields.len());
                fields.push(field.as_ref().clone());
                argument_fields.push(field);
            }
            // FILTER (WHERE …): one more boolean column.
            let filter = match &parameters.filter {
                Some(condition) => {
                    projection.push(self.physical(condition, input_schema)?);
                    fields.push(Field::new(
                        format!("filter{index}"),
                        DataType::Boolean,
                        true,
                    ));
                    Some(fields.len() - 1)
                }
                None => None,
            };
            let output_field = aggregate.schema.field(group_count + index);
            calls.push(AggregateCall {
                function: Arc::clone(&function.func),
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
        // Over an updating input: a hidden COUNT of the group's rows, then the row kind.
        let row_kind = if input.updating {
            projection.push(Arc::new(
                datafusion_physical_expr::expressions::Literal::new(
                    datafusion_common::ScalarValue::Int64(Some(1)),
                ),
            ));
            let one = Arc::new(Field::new("$one", DataType::Int64, true));
            calls.push(AggregateCall {
                function: datafusion_functions_aggregate::count::count_udaf(),
                arguments: vec![fields.len()],
                argument_fields: vec![Arc::clone(&one)],
                return_field: Arc::new(Field::new("$count", DataType::Int64, true)),
                distinct: false,
                filter: None,
                name: "$count".into(),
            });
            fields.push(one.as_ref().clone());
            fields.push(Field::new(ROW_KIND_COLUMN, DataType::Int8, false));
            Some(fields.len() - 1)
        } else {
            None
        };
        let calc_output = Arc::new(Schema::new(fields.clone()));
        fields.push(Field::new("$key", DataType::Binary, false));
        let keyed_schema = Arc::new(Schema::new(fields));
        let key_column = keyed_schema.fields().len() - 1;
        let calc = Calc {
            name: "Calc (aggregate input)".into(),
            filter: None,
            projection: Some(projection),
            output: calc_output,
            row_kind: row_kind.and_then(|_| input.stream.schema().index_of(ROW_KIND_COLUMN).ok()),
        };
        let column_named = |name: &str| {
            aggregate.group_expr.iter().position(
                |expression| matches!(expression, Expr::Column(column) if column.name == name),
            )
        };
        // A SESSION window aggregate keys its rows by the partition columns: the sessions of a
        // key are merged in one subtask.
        let session = match self.session_input(&aggregate.input) {
            None => None,
            Some(tumble) => Some(self.session_columns(aggregate, &tumble, group_count)?),
        };
        let key_columns: Vec<usize> = match &session {
            Some((_, partition)) => partition.clone(),
            None => (0..group_count).collect(),
        };
        let sort_fields: Vec<SortField> = key_columns
            .iter()
            .map(|&column| SortField::new(keyed_schema.field(column).data_type().clone()))
            .collect();
        let with_key = Arc::clone(&keyed_schema);
        let converter = if key_columns.is_empty() {
            None
        } else {
            Some(Arc::new(RowConverter::new(sort_fields)?))
        };
        let mut prepared = input.stream.map_batches(
            "Calc (group key)",
            Arc::clone(&keyed_schema),
            move |batch| {
                let computed = calc.apply(batch)?;
                let key = group_key(&computed, &key_columns, converter.as_deref())?;
                let mut columns = computed.columns().to_vec();
                columns.push(key);
                RecordBatch::try_new(Arc::clone(&with_key), columns)
                    .map_err(|e| flinkrs_core::Error::function(format!("Calc (group key): {e}")))
            },
        );
        if let Some(parallelism) = input.parallelism {
            prepared = prepared.set_parallelism(parallelism);
        }
        // A window aggregate groups by the window of a TUMBLE.
        let window_end = input
            .tumble
            .and_then(|_| column_named("window_start").and(column_named("window_end")));
        let updating = window_end.is_none() && self.mode == RuntimeMode::Streaming;
        let output = stream_schema(&aggregate.schema, updating);
        let spec = Arc::new(AggregateSpec {
            input: keyed_schema,
            group_count,
            key_column,
            aggregates: calls,
            output: Arc::clone(&output),
            window_end,
            global: group_count == 0,
            mini_batch: self.mini_batch,
            row_kind,
            processing_time: window_end.is_some() && self.over_processing_time(),
        });
        if row_kind.is_some() {
            // Each call must retract: a function without a retracting accumulator is named.
            for call in &spec.aggregates {
                let accumulator = spec.accumulator(call)?;
                if !accumulator.supports_retract_batch() {
                    return Err(Error::unsupported(format!(
                        "{} over an updating input (such as an aggregate of an aggregate)",
                        call.name
                    )));
                }
            }
        }
        let name = if window_end.is_some() {
            "WindowAggregate"
        } else {
            "GroupAggregate"
        };
        let keyed = prepared.key_by("$key")?;
        let mut stream = match session {
            Some((columns, _)) => {
                self.session_aggregates
                    .set(self.session_aggregates.get() + 1);
                keyed.process("SessionWindowAggregate", output, None, move |context| {
                    Ok(SqlSessionAggregateOperator::new(
                        Arc::clone(&spec),
                        columns,
                        &context.info,
                    ))
                })
            }
            None if window_aggregate::computes(&spec) => {
                keyed.process(name, output, None, move |context| {
                    WindowAggregateOperator::new(Arc::clone(&spec), &context.info)
                })
            }
            None => keyed.process(name, output, None, move |context| {
                Ok(SqlAggregateOperator::new(Arc::clone(&spec), &context.info))
            }),
        };
        // A global aggregate has one group: one subtask.
        let parallelism = (group_count == 0).then_some(1);
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

/// The group key of each row: the key columns in Arrow's row format, so that equal keys
/// have equal bytes.
fn group_key(
    batch: &RecordBatch,
    key_columns: &[usize],
    converter: Option<&RowConverter>,
) -> flinkrs_core::Result<ArrayRef> {
    let error =
        |e: arrow_schema::ArrowError| flinkrs_core::Error::function(format!("group key: {e}"));
    match converter {
        None => {
            let mut builder = BinaryBuilder::with_capacity(batch.num_rows(), 0);
            for _ in 0..batch.num_rows() {
                builder.append_value([]);
            }
            Ok(Arc::new(builder.finish()))
        }
        Some(converter) => {
            let columns: Vec<ArrayRef> = key_columns
                .iter()
                .map(|&column| Arc::clone(batch.column(column)))
                .collect();
            let rows = converter.convert_columns(&columns).map_err(error)?;
            let keys = BinaryArray::from_iter_values(rows.iter().map(|row| row.data()));
            Ok(Arc::new(keys))
        }
    }
}

/// The windows a window TVF assigns, in epoch milliseconds.
#[derive(Clone, Copy, Debug)]
struct Windows {
    kind: WindowKind,
    size: i64,
    offset: i64,
}

impl Windows {
    /// The start of the window of `size` (aligned to `offset`) that holds `time`.
    fn aligned_start(time: i64, offset: i64, size: i64) -> i64 {
        time - (time - offset).rem_euclid(size)
    }

    /// Calls `window(start, end)` for each window that holds `time`.
    fn each(&self, time: i64, mut window: impl FnMut(i64, i64)) {
        match self.kind {
            WindowKind::Tumble => {
                let start = Self::aligned_start(time, self.offset, self.size);
                window(start, start.saturating_add(self.size));
            }
            WindowKind::Hop { slide } => {
                let mut start = Self::aligned_start(time, self.offset, slide);
                while start > time.saturating_sub(self.size) {
                    window(start, start.saturating_add(self.size));
                    start -= slide;
                }
            }
            WindowKind::Session => window(time, time.saturating_add(self.size)),
            WindowKind::Cumulate { step } => {
                let start = Self::aligned_start(time, self.offset, self.size);
                let last = start.saturating_add(self.size);
                let mut end = start.saturating_add(step);
                while end <= last {
                    if end > time {
                        window(start, end);
                    }
                    end = end.saturating_add(step);
                }
            }
        }
    }
}

/// Appends `window_start`, `window_end` and `window_time` to each row of `batch` (of which the
/// first `width` columns are the input's), from the time column `time`: one row per window
/// that holds the row's time (one for `TUMBLE`, several for `HOP` and `CUMULATE`). Rows
/// without a time are dropped.
fn assign_windows(
    batch: &RecordBatch,
    time: usize,
    width: usize,
    windows: Windows,
    output: &SchemaRef,
) -> flinkrs_core::Result<RecordBatch> {
    let function = windows.kind.name();
    let error =
        |e: arrow_schema::ArrowError| flinkrs_core::Error::function(format!("{function}: {e}"));
    let present = is_not_null(batch.column(time)).map_err(error)?;
    let batch = if present.false_count() > 0 {
        filter_record_batch(batch, &present).map_err(error)?
    } else {
        batch.clone()
    };
    let millis = cast(
        batch.column(time),
        &DataType::Timestamp(TimeUnit::Millisecond, None),
    )
    .map_err(error)?;
    let millis = millis.as_primitive::<TimestampMillisecondType>();
    let mut rows: Vec<u32> = Vec::with_capacity(millis.len());
    let mut starts: Vec<i64> = Vec::with_capacity(millis.len());
    let mut ends: Vec<i64> = Vec::with_capacity(millis.len());
    for (row, &t) in millis.values().iter().enumerate() {
        windows.each(t, |start, end| {
            rows.push(row as u32);
            starts.push(start);
            ends.push(end);
        });
    }
    let mut columns = if windows.kind == WindowKind::Tumble {
        batch.columns()[..width].to_vec()
    } else {
        let indices = UInt32Array::from(rows);
        batch.columns()[..width]
            .iter()
            .map(|column| take(column, &indices, None))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(error)?
    };
    let times: TimestampMillisecondArray = ends.iter().map(|&end| Some(end - 1)).collect();
    columns.push(Arc::new(TimestampMillisecondArray::from(starts)));
    columns.push(Arc::new(TimestampMillisecondArray::from(ends)));
    columns.push(Arc::new(times));
    RecordBatch::try_new(Arc::clone(output), columns).map_err(error)
}

/// The first columns of `batch`, cast to the types of `target`'s.
fn cast_columns(batch: &RecordBatch, target: &SchemaRef) -> flinkrs_core::Result<RecordBatch> {
    let error =
        |e: arrow_schema::ArrowError| flinkrs_core::Error::function(format!("UNION ALL: {e}"));
    let columns = batch
        .columns()
        .iter()
        .zip(target.fields())
        .map(|(column, field)| {
            if column.data_type() == field.data_type() {
                Ok(Arc::clone(column))
            } else {
                cast(column, field.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(error)?;
    RecordBatch::try_new_with_options(
        Arc::clone(target),
        columns,
        &RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
    .map_err(error)
}

/// `schema` with every column nullable.
/// `schema` with every column nullable, and the row kind column last when `updating`.
fn nullable(schema: &Schema, updating: bool) -> SchemaRef {
    let mut fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|field| field.as_ref().clone().with_nullable(true))
        .collect();
    if updating {
        fields.push(Field::new(ROW_KIND_COLUMN, DataType::Int8, false));
    }
    Arc::new(Schema::new(fields))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windows(kind: WindowKind, size: i64, offset: i64, time: i64) -> Vec<(i64, i64)> {
        let mut found = Vec::new();
        Windows { kind, size, offset }.each(time, |start, end| found.push((start, end)));
        found
    }

    #[test]
    fn each_window_tvf_assigns_the_windows_that_hold_the_time() {
        assert_eq!(windows(WindowKind::Tumble, 5, 0, 7), [(5, 10)]);
        assert_eq!(windows(WindowKind::Tumble, 5, 2, 7), [(7, 12)]);
        assert_eq!(windows(WindowKind::Tumble, 5, 0, -3), [(-5, 0)]);
        assert_eq!(
            windows(WindowKind::Hop { slide: 5 }, 10, 0, 7),
            [(5, 15), (0, 10)]
        );
        assert_eq!(
            windows(WindowKind::Hop { slide: 5 }, 15, 0, 5),
            [(5, 20), (0, 15), (-5, 10)]
        );
        assert_eq!(
            windows(WindowKind::Cumulate { step: 5 }, 15, 0, 7),
            [(0, 10), (0, 15)]
        );
        assert_eq!(
            windows(WindowKind::Cumulate { step: 5 }, 15, 0, 15),
            [(15, 20), (15, 25), (15, 30)]
        );
        assert_eq!(windows(WindowKind::Session, 4, 0, 7), [(7, 11)]);
    }
}
