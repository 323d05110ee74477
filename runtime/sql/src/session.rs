//! [`SqlSession`]: what Flink's SQL client session holds (catalogs, options, running jobs),
//! and the execution of one statement.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use arrow_array::cast::AsArray;
use arrow_array::types::Int8Type;
use arrow_schema::{Field, Schema};
use crossbeam_channel::Sender;
use datafusion_common::arrow::compute::cast;
use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_api::sink::SinkFunction;
use flinkrs_core::{Batch, RuntimeMode};
use flinkrs_dataflow::{JobClient, JobListener};

use crate::catalog::{
    CatalogManager, CatalogObject, ComputedColumn, TableDefinition, ViewDefinition, WatermarkSpec,
};
use crate::connector::{PrintTarget, add_sink};
use crate::error::{Error, Result};
use crate::parse::{ColumnKind, CreateTable, FlinkStatement, ShowKind, parse_statement};
use crate::planner::translate::{Planned, Translator};
use crate::planner::{
    Functions, PlannedQuery, ROW_KIND_COLUMN, plan_column_expression, plan_query,
};
use crate::render::{ResultColumn, ResultRow, RowKind, render_value};
use crate::types::{arrow_type, flink_type_name};

pub const RUNTIME_MODE: &str = "execution.runtime-mode";
pub const RESULT_MODE: &str = "sql-client.execution.result-mode";
pub const PARALLELISM: &str = "parallelism.default";
pub const MINI_BATCH: &str = "table.exec.mini-batch.enabled";

/// How the client shows a query's result (`sql-client.execution.result-mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResultMode {
    /// The tableau: rows with borders, printed as they come (the default here, as the
    /// non-interactive client uses).
    Tableau,
    /// The materialized table: the final rows, without the `op` column.
    Table,
    /// Every change, with its `op` column, also in batch mode.
    Changelog,
}

/// What a statement did.
#[derive(Debug)]
pub enum StatementResult {
    /// DDL, `SET`, `USE`: "Execute statement succeeded."
    Ok,
    /// `SHOW`, `DESCRIBE`, `SET` without arguments: a small table.
    Table {
        columns: Vec<ResultColumn>,
        rows: Vec<ResultRow>,
    },
    /// A query, planned: run it with [`SqlSession::run_query`].
    Query(Box<PlannedQuery>),
    /// `INSERT INTO`: a job was submitted and runs in the background.
    Submitted { job_id: String },
    /// `BEGIN STATEMENT SET`: the inserts that follow wait for `END`.
    StatementSetBegun,
    /// An `INSERT INTO` inside a statement set: checked, and kept for `END`.
    AddedToStatementSet,
    /// `EXPLAIN`: the plan, as text.
    Explained(String),
}

/// A query's whole result: its columns and its rows in the order they came.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<ResultRow>,
}

/// A SQL session: the catalogs, the options set with `SET`, and the jobs `INSERT INTO`
/// submitted.
pub struct SqlSession {
    catalogs: CatalogManager,
    functions: Arc<Functions>,
    options: BTreeMap<String, String>,
    print: PrintTarget,
    jobs: Vec<(String, JoinHandle<Result<()>>)>,
    /// With a cluster (`flinkrs sql -m`): where `INSERT INTO` and `SELECT` run.
    cluster: Option<Box<dyn Cluster>>,
    /// The statements that built the session (`CREATE`, `DROP`, `USE`, `SET`, `RESET`), in
    /// order: a submitted job's script starts with them.
    prelude: Vec<String>,
    /// Between `BEGIN STATEMENT SET` and `END`: the inserts so far, with their text.
    statement_set: Option<Vec<(PreparedInsert, String)>>,
}

/// A cluster the session's jobs run on (`flinkrs sql -m`). A job is sent as a script: the
/// session's statements so far (`CREATE`, `USE`, `SET`, ...), then the job's statement.
pub trait Cluster: Send {
    /// Submits a script whose `INSERT INTO` (or statement set) is the job; returns the job's
    /// id as soon as it is starting.
    fn submit(&self, script: &str) -> Result<String>;

    /// Submits a script whose last statement is a `SELECT`, and hands its rows to `on_row`
    /// as they come, until the job has ended and every row was read.
    fn collect(&self, script: &str, on_row: &mut dyn FnMut(ResultRow)) -> Result<()>;
}

impl std::fmt::Debug for SqlSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlSession")
            .field("catalogs", &self.catalogs)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Default for SqlSession {
    fn default() -> Self {
        Self::new()
    }
}

impl SqlSession {
    /// A session whose `print` tables write to stdout.
    pub fn new() -> Self {
        Self::with_print_target(Arc::new(Mutex::new(std::io::stdout())))
    }

    /// A session whose `print` tables write to `target`.
    pub fn with_print_target(target: PrintTarget) -> Self {
        SqlSession {
            catalogs: CatalogManager::default(),
            functions: Arc::new(Functions::new()),
            options: BTreeMap::new(),
            print: target,
            jobs: Vec::new(),
            cluster: None,
            prelude: Vec::new(),
            statement_set: None,
        }
    }

    /// `INSERT INTO` and `SELECT` statements from now on run as jobs on `cluster`, instead
    /// of here.
    pub fn run_on(&mut self, cluster: Box<dyn Cluster>) {
        self.cluster = Some(cluster);
    }

    pub fn catalogs(&self) -> &CatalogManager {
        &self.catalogs
    }

    /// `execution.runtime-mode`: streaming unless set to batch.
    pub fn runtime_mode(&self) -> RuntimeMode {
        match self.options.get(RUNTIME_MODE).map(String::as_str) {
            Some("batch") => RuntimeMode::Batch,
            _ => RuntimeMode::Streaming,
        }
    }

    /// `table.exec.mini-batch.enabled`: off by default, as in Flink.
    pub fn mini_batch(&self) -> bool {
        self.options
            .get(MINI_BATCH)
            .is_some_and(|value| value == "true")
    }

    pub fn result_mode(&self) -> ResultMode {
        match self.options.get(RESULT_MODE).map(String::as_str) {
            Some("table") => ResultMode::Table,
            Some("changelog") => ResultMode::Changelog,
            _ => ResultMode::Tableau,
        }
    }

    /// Executes one statement (without its `;`).
    pub fn execute(&mut self, text: &str) -> Result<StatementResult> {
        let statement = parse_statement(text)?;
        if self.statement_set.is_some() {
            return self.in_statement_set(statement);
        }
        let builds_session = !matches!(
            statement,
            FlinkStatement::Query(_)
                | FlinkStatement::Insert { .. }
                | FlinkStatement::Show(_)
                | FlinkStatement::Describe(_)
                | FlinkStatement::Set(None)
                | FlinkStatement::BeginStatementSet { .. }
                | FlinkStatement::EndStatementSet
                | FlinkStatement::Explain(_)
        );
        let result = self.execute_statement(statement, text)?;
        if builds_session {
            self.prelude.push(text.trim().to_owned());
        }
        Ok(result)
    }

    fn execute_statement(
        &mut self,
        statement: FlinkStatement,
        text: &str,
    ) -> Result<StatementResult> {
        match statement {
            FlinkStatement::Query(query) => Ok(StatementResult::Query(Box::new(plan_query(
                &query,
                &self.catalogs,
                &self.functions,
            )?))),
            FlinkStatement::Insert { table, query } => {
                let prepared = self.prepare_insert(&table, &query)?;
                self.submit(vec![(prepared, text.trim().to_owned())], false)
            }
            FlinkStatement::BeginStatementSet { first } => {
                self.statement_set = Some(Vec::new());
                match first {
                    Some(insert) => self.in_statement_set(*insert),
                    None => Ok(StatementResult::StatementSetBegun),
                }
            }
            FlinkStatement::EndStatementSet => Err(Error::validation(
                "No statement set to submit: END ends a statement set that BEGIN STATEMENT SET \
                 (or EXECUTE STATEMENT SET BEGIN) started",
            )),
            FlinkStatement::Explain(explained) => self.explain(*explained),
            FlinkStatement::CreateTable(create) => {
                self.create_table(*create)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::CreateView {
                name,
                temporary,
                if_not_exists,
                query,
            } => {
                let planned = plan_query(&query, &self.catalogs, &self.functions)?;
                let path = self.catalogs.qualify(&name)?;
                let view = ViewDefinition {
                    qualified_name: path.to_string(),
                    query,
                    plan: planned.plan,
                    temporary,
                };
                self.catalogs
                    .create(&path, CatalogObject::View(Arc::new(view)), if_not_exists)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::DropTable {
                name,
                if_exists,
                view,
            } => {
                let path = self.catalogs.qualify(&name)?;
                self.catalogs.drop(&path, view, if_exists)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::CreateCatalog { name, options } => {
                self.catalogs.create_catalog(&name, &options)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::DropCatalog { name, if_exists } => {
                self.catalogs.drop_catalog(&name, if_exists)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::CreateDatabase {
                name,
                if_not_exists,
            } => {
                self.catalogs.create_database(&name, if_not_exists)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::DropDatabase {
                name,
                if_exists,
                cascade,
            } => {
                self.catalogs.drop_database(&name, if_exists, cascade)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::UseCatalog(name) => {
                self.catalogs.use_catalog(&name)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::UseDatabase(name) => {
                self.catalogs.use_database(&name)?;
                Ok(StatementResult::Ok)
            }
            FlinkStatement::Show(kind) => Ok(self.show(kind)),
            FlinkStatement::Describe(name) => self.describe(&name),
            FlinkStatement::Set(None) => Ok(string_table(
                &["key", "value"],
                self.options
                    .iter()
                    .map(|(key, value)| vec![key.clone(), value.clone()])
                    .collect(),
            )),
            FlinkStatement::Set(Some((key, value))) => {
                check_option(&key, &value)?;
                self.options.insert(key, value);
                Ok(StatementResult::Ok)
            }
            FlinkStatement::Reset(None) => {
                self.options.clear();
                Ok(StatementResult::Ok)
            }
            FlinkStatement::Reset(Some(key)) => {
                self.options.remove(&key);
                Ok(StatementResult::Ok)
            }
        }
    }

    /// Runs a planned query to its end, handing each result row to `on_row` as it comes.
    pub fn run_query(&self, query: &PlannedQuery, mut on_row: impl FnMut(ResultRow)) -> Result<()> {
        if let Some(cluster) = &self.cluster {
            // Built here first, so that what only building finds is said before submitting.
            crate::collect::PreparedQuery {
                planned: query.clone(),
                mini_batch: self.mini_batch(),
            }
            .build(&StreamExecutionEnvironment::new())?;
            let script = self.script_with(&format!("{};\n", query.text.trim()));
            return cluster.collect(&script, &mut on_row);
        }
        let (sender, receiver) = crossbeam_channel::bounded::<ResultRow>(1024);
        let query = query.clone();
        let configure = self.environment_settings();
        let mini_batch = self.mini_batch();
        let job = std::thread::Builder::new()
            .name("sql-query".into())
            .spawn(move || -> Result<()> {
                let env = configure()?;
                let planned = Translator::new(&env, &query, mini_batch).translate()?;
                let rows = result_rows(&planned, &query.columns, None)?;
                rows.add_sink("Collect", ChannelSink { sender })
                    .set_parallelism(1);
                env.execute("collect")?;
                Ok(())
            })
            .map_err(|error| {
                Error::validation(format!("could not start the query's job: {error}"))
            })?;
        for row in receiver {
            on_row(row);
        }
        job.join()
            .map_err(|_| Error::validation("the query's job thread panicked"))?
    }

    /// Executes a statement that is a query and collects its whole result.
    pub fn query(&mut self, text: &str) -> Result<QueryResult> {
        match self.execute(text)? {
            StatementResult::Query(query) => {
                let mut rows = Vec::new();
                self.run_query(&query, |row| rows.push(row))?;
                Ok(QueryResult {
                    columns: query.columns,
                    rows,
                })
            }
            other => Err(Error::validation(format!(
                "the statement is not a query; it returned {other:?}"
            ))),
        }
    }

    /// Waits for the jobs `INSERT INTO` submitted, and reports the first that failed.
    pub fn wait_for_jobs(&mut self) -> Result<()> {
        let mut first_error = None;
        for (job_id, job) in self.jobs.drain(..) {
            let result = job
                .join()
                .map_err(|_| Error::validation(format!("job {job_id} panicked")))
                .and_then(|result| result);
            if let Err(error) = result {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// A job's script for a cluster: the statements that built the session, then `job`.
    fn script_with(&self, job: &str) -> String {
        let mut script = self.prelude.join(";\n");
        if !script.is_empty() {
            script.push_str(";\n");
        }
        script.push_str(job);
        script
    }

    /// Makes the job environment of this session's options, in the job's thread.
    fn environment_settings(
        &self,
    ) -> impl FnOnce() -> Result<StreamExecutionEnvironment> + Send + 'static {
        let options = self.options.clone();
        move || job_environment(&options)
    }

    /// The options set with `SET`, in the order of their keys.
    pub fn options(&self) -> &BTreeMap<String, String> {
        &self.options
    }

    /// Plans a query whose rows a client reads from a cluster, and builds its job once, so
    /// that what only building finds is said here.
    pub(crate) fn prepare_query(&self, text: &str) -> Result<crate::collect::PreparedQuery> {
        let prepared = crate::collect::PreparedQuery {
            planned: plan_query(text, &self.catalogs, &self.functions)?,
            mini_batch: self.mini_batch(),
        };
        prepared.build(&StreamExecutionEnvironment::new())?;
        Ok(prepared)
    }

    /// Checks an `INSERT INTO table query` against its sink table: the job it would run,
    /// ready to be built.
    pub(crate) fn prepare_insert(&self, table: &[String], query: &str) -> Result<PreparedInsert> {
        let path = self.catalogs.qualify(table)?;
        let sink = match self.catalogs.get(&path) {
            Some(CatalogObject::Table(sink)) => Arc::clone(sink),
            Some(CatalogObject::View(_)) => {
                return Err(Error::validation(format!(
                    "'{path}' is a view; INSERT INTO needs a table"
                )));
            }
            None => {
                return Err(Error::validation(format!(
                    "Object '{}' not found within '{}.{}'",
                    path.object, path.catalog, path.database
                )));
            }
        };
        let planned = plan_query(query, &self.catalogs, &self.functions)?;
        let sink_columns = sink.physical.fields();
        if planned.columns.len() != sink_columns.len() {
            return Err(Error::validation(format!(
                "Column types of query result and sink for '{path}' do not match.\nCause: \
                 Different number of columns.\n\nQuery schema: [{}]\nSink schema:  [{}]",
                describe_columns(
                    planned
                        .columns
                        .iter()
                        .map(|c| (c.name.as_str(), &c.data_type))
                ),
                describe_columns(
                    sink_columns
                        .iter()
                        .map(|f| (f.name().as_str(), f.data_type()))
                )
            )));
        }
        for (position, (column, field)) in planned.columns.iter().zip(sink_columns).enumerate() {
            if !implicitly_castable(&column.data_type, field.data_type()) {
                return Err(Error::validation(format!(
                    "Column types of query result and sink for '{path}' do not match.\nCause: \
                     Incompatible types for sink column '{}' at position {position}: the query \
                     gives {}, the sink takes {}; CAST the column.",
                    field.name(),
                    flink_type_name(&column.data_type),
                    flink_type_name(field.data_type())
                )));
            }
        }
        Ok(PreparedInsert {
            job_name: format!("insert-into_{path}"),
            planned,
            sink,
            mini_batch: self.mini_batch(),
            print: Arc::clone(&self.print),
        })
    }

    /// A statement inside a statement set: an `INSERT INTO` joins it, `END` submits it.
    fn in_statement_set(&mut self, statement: FlinkStatement) -> Result<StatementResult> {
        match statement {
            FlinkStatement::Insert { table, query } => {
                let prepared = self.prepare_insert(&table, &query)?;
                // Built once here, so that what only building finds is said now.
                prepared.build(&StreamExecutionEnvironment::new())?;
                let text = format!("INSERT INTO {} {}", table.join("."), query.trim());
                if let Some(set) = &mut self.statement_set {
                    set.push((prepared, text));
                }
                Ok(StatementResult::AddedToStatementSet)
            }
            FlinkStatement::EndStatementSet => {
                let inserts = self.statement_set.take().unwrap_or_default();
                if inserts.is_empty() {
                    return Err(Error::validation(
                        "the statement set has no INSERT INTO statement: nothing was submitted",
                    ));
                }
                // Each insert was built when it joined the set.
                self.submit(inserts, true)
            }
            _ => Err(Error::validation(
                "only INSERT INTO statements can be in a statement set: END it first, or \
                 add an INSERT INTO",
            )),
        }
    }

    /// `EXPLAIN`: the query's plan and the job graph it runs as.
    fn explain(&self, explained: FlinkStatement) -> Result<StatementResult> {
        let env = StreamExecutionEnvironment::new();
        apply_options(&env, &self.options)?;
        let (plan, job_name) = match explained {
            FlinkStatement::Insert { table, query } => {
                let prepared = self.prepare_insert(&table, &query)?;
                prepared.build(&env)?;
                (prepared.planned.plan.clone(), prepared.job_name)
            }
            FlinkStatement::Query(query) => {
                let planned = plan_query(&query, &self.catalogs, &self.functions)?;
                let translated = Translator::new(&env, &planned, self.mini_batch()).translate()?;
                translated.stream.discard();
                (planned.plan, "collect".to_owned())
            }
            _ => {
                return Err(Error::validation(
                    "EXPLAIN explains a query or an INSERT INTO",
                ));
            }
        };
        let graph = env.job_graph(&job_name)?;
        Ok(StatementResult::Explained(crate::explain::render(
            &plan, &graph,
        )))
    }

    /// Runs `inserts` as one job (here, or on the cluster of `-m`); `built` when each was
    /// already built once, so what only building finds has been said.
    fn submit(
        &mut self,
        inserts: Vec<(PreparedInsert, String)>,
        built: bool,
    ) -> Result<StatementResult> {
        let text = match inserts.as_slice() {
            [(_, text)] => format!("{text};\n"),
            _ => {
                let body: String = inserts
                    .iter()
                    .map(|(_, text)| format!("{text};\n"))
                    .collect();
                format!("EXECUTE STATEMENT SET\nBEGIN\n{body}END;\n")
            }
        };
        let prepared = PreparedInserts(inserts.into_iter().map(|(insert, _)| insert).collect());
        if let Some(cluster) = &self.cluster {
            if !built {
                // Planned here first, so that what only building finds is said before
                // submitting.
                prepared.build(&StreamExecutionEnvironment::new())?;
            }
            let job_id = cluster.submit(&self.script_with(&text))?;
            return Ok(StatementResult::Submitted { job_id });
        }
        let configure = self.environment_settings();
        let (ready, ready_receiver) = crossbeam_channel::bounded::<Result<String>>(1);
        let job = std::thread::Builder::new()
            .name("sql-insert".into())
            .spawn(move || -> Result<()> {
                let built = (|| -> Result<StreamExecutionEnvironment> {
                    let env = configure()?;
                    prepared.build(&env)?;
                    Ok(env)
                })();
                let env = match built {
                    Ok(env) => env,
                    Err(error) => {
                        let message = error.to_string();
                        let _ = ready.send(Err(error));
                        return Err(Error::validation(message));
                    }
                };
                env.register_job_listener(SubmittedListener(ready.clone()));
                env.execute(&prepared.job_name())?;
                Ok(())
            })
            .map_err(|error| Error::validation(format!("could not start the job: {error}")))?;
        match ready_receiver.recv() {
            Ok(Ok(job_id)) => {
                self.jobs.push((job_id.clone(), job));
                Ok(StatementResult::Submitted { job_id })
            }
            Ok(Err(error)) => {
                let _ = job.join();
                Err(error)
            }
            Err(_) => {
                // The job ended before it was submitted: its error says why.
                let result = job.join().map_err(|_| {
                    Error::validation(format!("the job of '{}' panicked", text.trim()))
                })?;
                result.map(|()| StatementResult::Submitted {
                    job_id: String::new(),
                })
            }
        }
    }

    fn create_table(&mut self, create: CreateTable) -> Result<()> {
        let path = self.catalogs.qualify(&create.name)?;
        let mut physical = Vec::new();
        for column in &create.columns {
            if create
                .columns
                .iter()
                .filter(|c| c.name == column.name)
                .count()
                > 1
            {
                return Err(Error::validation(format!(
                    "A column named '{}' already exists in the table '{path}'",
                    column.name
                )));
            }
            if let ColumnKind::Physical {
                data_type,
                not_null,
            } = &column.kind
            {
                physical.push(Field::new(&column.name, arrow_type(data_type)?, !not_null));
            }
        }
        let physical = Arc::new(Schema::new(physical));
        let mut fields: Vec<Field> = physical
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        let mut computed = Vec::new();
        for column in &create.columns {
            if let ColumnKind::Computed(expression) = &column.kind {
                let (planned, data_type) =
                    plan_column_expression(expression, &physical, &self.catalogs, &self.functions)
                        .map_err(|error| {
                            Error::validation(format!(
                                "computed column '{}' of table '{path}': {error}",
                                column.name
                            ))
                        })?;
                // A processing-time attribute is never null, as Flink types it.
                let proctime =
                    crate::planner::proctime::is_proctime_expression(&expression.to_string());
                fields.push(Field::new(&column.name, data_type, !proctime));
                computed.push(ComputedColumn {
                    name: column.name.clone(),
                    expression: planned,
                    text: expression.to_string(),
                });
            }
        }
        let schema = Arc::new(Schema::new(fields));
        let watermark = match &create.watermark {
            None => None,
            Some((column, expression)) => Some(watermark_spec(&schema, column, expression)?),
        };
        let mut options = BTreeMap::new();
        for (key, value) in create.options {
            if options.insert(key.clone(), value).is_some() {
                return Err(Error::validation(format!(
                    "table '{path}': the option '{key}' is given twice"
                )));
            }
        }
        for key in &create.partition_keys {
            if physical.field_with_name(key).is_err() {
                return Err(Error::validation(format!(
                    "table '{path}': the partition key '{key}' is not a physical column of the \
                     table; PARTITIONED BY names columns declared with a type"
                )));
            }
        }
        let definition = TableDefinition {
            qualified_name: path.to_string(),
            physical,
            computed,
            schema,
            watermark,
            primary_key: create.primary_key,
            partition_keys: create.partition_keys,
            options,
            temporary: create.temporary,
        };
        self.catalogs.create(
            &path,
            CatalogObject::Table(Arc::new(definition)),
            create.if_not_exists,
        )
    }

    fn show(&self, kind: ShowKind) -> StatementResult {
        let (header, names) = match kind {
            ShowKind::Catalogs => ("catalog name", self.catalogs.catalog_names()),
            ShowKind::Databases => ("database name", self.catalogs.database_names()),
            ShowKind::Tables => ("table name", self.catalogs.object_names(false)),
            ShowKind::Views => ("view name", self.catalogs.object_names(true)),
            ShowKind::Functions => ("function name", self.functions.names()),
            ShowKind::CurrentCatalog => (
                "current catalog name",
                vec![self.catalogs.current_catalog().to_owned()],
            ),
            ShowKind::CurrentDatabase => (
                "current database name",
                vec![self.catalogs.current_database().to_owned()],
            ),
        };
        string_table(
            &[header],
            names.into_iter().map(|name| vec![name]).collect(),
        )
    }

    fn describe(&self, name: &[String]) -> Result<StatementResult> {
        let path = self.catalogs.qualify(name)?;
        let header = ["name", "type", "null", "key", "extras", "watermark"];
        let rows = match self.catalogs.get(&path) {
            Some(CatalogObject::Table(table)) => table
                .schema
                .fields()
                .iter()
                .map(|field| {
                    let mut type_name = flink_type_name(field.data_type());
                    let proctime = table.is_proctime(field.name());
                    // A processing-time attribute is NOT NULL, but Flink shows only its mark.
                    if !field.is_nullable() && !proctime {
                        type_name.push_str(" NOT NULL");
                    }
                    let watermark = table
                        .watermark
                        .as_ref()
                        .filter(|w| &w.column == field.name());
                    if watermark.is_some() {
                        type_name.push_str(" *ROWTIME*");
                    }
                    if proctime {
                        type_name.push_str(" *PROCTIME*");
                    }
                    let key = if table.primary_key.contains(field.name()) {
                        format!("PRI({})", table.primary_key.join(", "))
                    } else {
                        String::new()
                    };
                    let extras = table
                        .computed
                        .iter()
                        .find(|c| &c.name == field.name())
                        .map(|c| format!("AS {}", c.text))
                        .unwrap_or_default();
                    vec![
                        field.name().clone(),
                        type_name,
                        if field.is_nullable() { "TRUE" } else { "FALSE" }.to_owned(),
                        key,
                        extras,
                        watermark.map(|w| w.expression.clone()).unwrap_or_default(),
                    ]
                })
                .collect(),
            Some(CatalogObject::View(view)) => view
                .plan
                .schema()
                .fields()
                .iter()
                .map(|field| {
                    vec![
                        field.name().clone(),
                        flink_type_name(field.data_type()),
                        if field.is_nullable() { "TRUE" } else { "FALSE" }.to_owned(),
                        String::new(),
                        String::new(),
                        String::new(),
                    ]
                })
                .collect(),
            None => {
                return Err(Error::validation(format!(
                    "Tables or views with the identifier '{path}' doesn't exist."
                )));
            }
        };
        Ok(string_table(&header, rows))
    }
}

/// Whether a query column of type `from` may be written to a sink column of type `to` without
/// a CAST, as Flink's implicit casts allow: the same type, a wider number, or text to text.
fn implicitly_castable(from: &arrow_schema::DataType, to: &arrow_schema::DataType) -> bool {
    use arrow_schema::DataType as T;
    let rank = |t: &T| match t {
        T::Int8 => Some(1),
        T::Int16 => Some(2),
        T::Int32 => Some(3),
        T::Int64 => Some(4),
        T::Decimal128(_, _) => Some(5),
        T::Float32 => Some(6),
        T::Float64 => Some(7),
        _ => None,
    };
    let text = |t: &T| matches!(t, T::Utf8 | T::LargeUtf8 | T::Utf8View);
    from == to
        || matches!(from, T::Null)
        || (text(from) && text(to))
        || matches!((rank(from), rank(to)), (Some(a), Some(b)) if a <= b)
        || matches!((from, to), (T::Timestamp(_, _), T::Timestamp(_, _)))
}

/// Validates the values of the options the session acts on.
fn check_option(key: &str, value: &str) -> Result<()> {
    let allowed: &[&str] = match key {
        RUNTIME_MODE => &["streaming", "batch"],
        RESULT_MODE => &["table", "tableau", "changelog"],
        MINI_BATCH => &["true", "false"],
        PARALLELISM => {
            return match value.parse::<usize>() {
                Ok(parallelism) if parallelism > 0 => Ok(()),
                _ => Err(Error::validation(format!(
                    "SET '{key}': '{value}' is not a positive whole number"
                ))),
            };
        }
        _ if runtime_option(key) => {
            return flinkrs_core::Configuration::new()
                .set(key, value)
                .map_err(|error| Error::validation(format!("SET '{key}' = '{value}': {error}")));
        }
        _ => return Ok(()),
    };
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Error::validation(format!(
            "SET '{key}': '{value}' is not one of {}",
            allowed.join(", ")
        )))
    }
}

/// An `INSERT INTO` checked against its sink table: what [`PreparedInsert::build`] adds to
/// a job's environment.
#[derive(Clone)]
pub(crate) struct PreparedInsert {
    /// Flink's name for the job: `insert-into_<catalog>.<database>.<table>`.
    pub job_name: String,
    planned: PlannedQuery,
    sink: Arc<TableDefinition>,
    mini_batch: bool,
    print: PrintTarget,
}

impl PreparedInsert {
    /// Adds the pipeline from the query's sources to the sink table to `env`.
    pub(crate) fn build(&self, env: &StreamExecutionEnvironment) -> Result<()> {
        let translated = Translator::new(env, &self.planned, self.mini_batch).translate()?;
        add_sink(
            || result_rows(&translated, &self.planned.columns, Some(&self.sink)),
            &translated.stream,
            &self.sink,
            Arc::clone(&self.print),
            translated.updating,
        )
    }
}

/// The inserts of one job: one `INSERT INTO`, or a statement set's.
#[derive(Clone)]
pub(crate) struct PreparedInserts(pub Vec<PreparedInsert>);

impl PreparedInserts {
    /// Flink's name for the job: `insert-into_` and the sink tables, joined by commas.
    pub(crate) fn job_name(&self) -> String {
        let sinks: Vec<&str> = self
            .0
            .iter()
            .map(|insert| insert.job_name.trim_start_matches("insert-into_"))
            .collect();
        format!("insert-into_{}", sinks.join(","))
    }

    /// Adds every insert's pipeline to `env`.
    pub(crate) fn build(&self, env: &StreamExecutionEnvironment) -> Result<()> {
        self.0.iter().try_for_each(|insert| insert.build(env))
    }
}

/// A job environment configured by a session's options: every option the runtime knows
/// (the runtime mode, parallelism, checkpointing, restart strategy, ...) goes into the job's
/// configuration; the client's own (`sql-client.*`, `table.*`) stay with the session.
pub(crate) fn job_environment(
    options: &BTreeMap<String, String>,
) -> Result<StreamExecutionEnvironment> {
    let env = StreamExecutionEnvironment::new();
    apply_options(&env, options)?;
    Ok(env)
}

/// Sets each of `options` the runtime knows in `env`'s configuration.
pub(crate) fn apply_options(
    env: &StreamExecutionEnvironment,
    options: &BTreeMap<String, String>,
) -> Result<()> {
    for (key, value) in options {
        if runtime_option(key) {
            env.set(key, value.as_str())
                .map_err(|error| Error::validation(format!("SET '{key}' = '{value}': {error}")))?;
        }
    }
    Ok(())
}

/// Whether `key` is an option of the runtime's configuration.
fn runtime_option(key: &str) -> bool {
    flinkrs_core::config::find_option(flinkrs_core::config::current_key(key)).is_some()
}

fn describe_columns<'a>(
    columns: impl Iterator<Item = (&'a str, &'a arrow_schema::DataType)>,
) -> String {
    columns
        .map(|(name, data_type)| format!("{name}: {}", flink_type_name(data_type)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `WATERMARK FOR column AS column [- INTERVAL 'n' unit]`.
fn watermark_spec(
    schema: &Schema,
    column: &str,
    expression: &datafusion_sql::sqlparser::ast::Expr,
) -> Result<WatermarkSpec> {
    let field = schema.field_with_name(column).map_err(|_| {
        Error::validation(format!(
            "The rowtime attribute field '{column}' is not defined in the table schema"
        ))
    })?;
    if !matches!(
        field.data_type(),
        arrow_schema::DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, _)
    ) {
        return Err(Error::validation(format!(
            "Invalid data type of time field for watermark definition. The field must be of \
             type TIMESTAMP(3), but the time field type is {}",
            flink_type_name(field.data_type())
        )));
    }
    let text = expression.to_string();
    // The column as written: bare, or quoted in backticks.
    let quoted = format!("`{column}`");
    let delay_millis = if text == column || text == quoted {
        0
    } else {
        let interval = text
            .strip_prefix(quoted.as_str())
            .or_else(|| text.strip_prefix(column))
            .map(str::trim)
            .and_then(|rest| rest.strip_prefix('-'))
            .map(str::trim)
            .and_then(|rest| {
                let upper = rest.to_uppercase();
                upper
                    .strip_prefix("INTERVAL")
                    .map(|rest| rest.trim().to_owned())
            });
        let parsed = interval.and_then(|interval| {
            let (amount, unit) = interval.rsplit_once(' ')?;
            let amount: i64 = amount.trim().trim_matches('\'').trim().parse().ok()?;
            Some(amount * crate::planner::interval_unit_millis(unit)?)
        });
        parsed.ok_or_else(|| {
            Error::unsupported(format!(
                "the watermark expression '{text}' (flinkrs supports '{column}' and '{column} - \
                 INTERVAL 'n' SECOND')"
            ))
        })?
    };
    Ok(WatermarkSpec {
        column: column.to_owned(),
        delay_millis,
        expression: text,
    })
}

/// A result of string columns (SHOW, DESCRIBE, SET).
fn string_table(header: &[&str], rows: Vec<Vec<String>>) -> StatementResult {
    StatementResult::Table {
        columns: header
            .iter()
            .map(|name| ResultColumn {
                name: (*name).to_owned(),
                data_type: arrow_schema::DataType::Utf8,
            })
            .collect(),
        rows: rows
            .into_iter()
            .map(|values| ResultRow {
                kind: RowKind::Insert,
                values: values.into_iter().map(Some).collect(),
            })
            .collect(),
    }
}

/// The planned stream's rows, rendered; cast to the sink's column types first when there is
/// a sink. One subtask renders them, so a key's changes (`-U` after its `+I`) reach the
/// reader in the order they were made, whichever subtasks made them.
pub(crate) fn result_rows(
    planned: &Planned,
    columns: &[ResultColumn],
    sink: Option<&TableDefinition>,
) -> Result<flinkrs_api::DataStream<ResultRow>> {
    let width = columns.len();
    let kind_column = if planned.updating {
        Some(planned.stream.schema().index_of(ROW_KIND_COLUMN)?)
    } else {
        None
    };
    let targets: Option<Vec<arrow_schema::DataType>> = sink.map(|sink| {
        sink.physical
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect()
    });
    Ok(planned
        .stream
        .to_rows(move |batch, rows: &mut Vec<ResultRow>| {
            let mut arrays = batch.columns()[..width].to_vec();
            if let Some(targets) = &targets {
                for (array, target) in arrays.iter_mut().zip(targets) {
                    if array.data_type() != target {
                        *array = cast(array, target).map_err(|error| {
                            flinkrs_core::Error::function(format!("sink: {error}"))
                        })?;
                    }
                }
            }
            let kinds = kind_column.map(|index| batch.column(index).as_primitive::<Int8Type>());
            for row in 0..batch.num_rows() {
                rows.push(ResultRow {
                    kind: kinds.map_or(RowKind::Insert, |kinds| {
                        RowKind::from_code(kinds.value(row))
                    }),
                    values: arrays
                        .iter()
                        .map(|array| render_value(array, row))
                        .collect(),
                });
            }
            Ok(())
        })
        .set_parallelism(1))
}

/// Hands the rows of a query's job to the session's thread.
#[derive(Clone)]
struct ChannelSink {
    sender: Sender<ResultRow>,
}

impl SinkFunction<ResultRow> for ChannelSink {
    fn write_batch(&mut self, batch: &mut Batch<ResultRow>) -> flinkrs_core::Result<()> {
        for record in batch.drain(..) {
            self.sender
                .send(record.value)
                .map_err(|_| flinkrs_core::Error::function("the query's reader went away"))?;
        }
        Ok(())
    }
}

/// Tells the session the job id once the job is submitted.
struct SubmittedListener(Sender<Result<String>>);

impl JobListener for SubmittedListener {
    fn on_job_submitted(&self, client: &JobClient) {
        let _ = self.0.send(Ok(client.job_id().to_string()));
    }
}
