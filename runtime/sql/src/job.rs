//! [`SqlJob`]: a SQL script run as one job, as `flinkrs run --sql-file`, a cluster's
//! JobManager (`flinkrs jobmanager --sql-file`) and the operator's `job.sql` run it.
//!
//! The script is read as Flink's SQL client reads one: statements end with `;`; its `SET`,
//! `CREATE`, `DROP` and `USE` statements build the session the job's query is planned in, and
//! its one `INSERT INTO`, or the `INSERT INTO`s of its one statement set
//! (`EXECUTE STATEMENT SET BEGIN … END;`), is the job. The options it sets that the runtime
//! knows (checkpointing, restart strategy, parallelism, runtime mode, ...) are the job's
//! configuration, over the process's. Planning is deterministic, so the JobManager and every TaskManager that read the
//! same script build the same job (architecture decision 10).

use std::collections::BTreeMap;

use flinkrs_api::StreamExecutionEnvironment;

use crate::collect::PreparedQuery;
use crate::error::{Error, Position, Result};
use crate::parse::{FlinkStatement, parse_statement};
use crate::session::{PreparedInsert, PreparedInserts, SqlSession};
use crate::split::split_statements;

/// A SQL script's job: its `INSERT INTO`, planned in the session its other statements built.
#[derive(Clone)]
pub struct SqlJob {
    body: JobBody,
    /// Flink's name for the job: `insert-into_` and its sink tables.
    job_name: String,
    options: BTreeMap<String, String>,
}

/// What a script's job runs.
#[derive(Clone)]
enum JobBody {
    /// Its `INSERT INTO`, or its statement set's.
    Inserts(PreparedInserts),
    /// Its closing `SELECT`, whose rows a client reads ([`SqlJob::collecting`]).
    Collect(Box<PreparedQuery>),
}

impl std::fmt::Debug for SqlJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlJob")
            .field("name", &self.job_name)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl SqlJob {
    /// Reads `script`, which `origin` names in error messages (its file). An error names the
    /// line of the statement that caused it.
    pub fn from_script(script: &str, origin: &str) -> Result<SqlJob> {
        Self::read(script, origin, false)
    }

    /// A script whose last statement is a `SELECT`, sent by the SQL client to a cluster
    /// (`flinkrs sql -m`): the job runs the query into a collect sink, whose rows the client
    /// reads through the JobManager ([`crate::collect`]).
    pub fn collecting(script: &str, origin: &str) -> Result<SqlJob> {
        Self::read(script, origin, true)
    }

    fn read(script: &str, origin: &str, collect: bool) -> Result<SqlJob> {
        let mut session = SqlSession::new();
        let mut query: Option<(Box<PreparedQuery>, u64)> = None;
        let mut job = ScriptJob::default();
        for statement in split_statements(script) {
            let line = statement.line;
            let located = |error| located(error, origin, line);
            if let Some((_, query_line)) = &query {
                return Err(Error::validation(format!(
                    "{origin}, line {line}: a statement after the SELECT on line {query_line}; \
                     the SELECT whose rows are shown ends the script"
                )));
            }
            match parse_statement(&statement.text).map_err(located)? {
                FlinkStatement::Query(text) if collect && job.inserts.is_empty() => {
                    query = Some((
                        Box::new(session.prepare_query(&text).map_err(located)?),
                        line,
                    ));
                }
                FlinkStatement::Insert { table, query } => {
                    job.insert(&session, &table, &query, origin, line)?;
                }
                FlinkStatement::BeginStatementSet { first } => {
                    if let Some(first_line) = job.first_line {
                        return Err(Error::validation(format!(
                            "{origin}, line {line}: a statement set after the job's INSERT INTO \
                             on line {first_line}; a script runs one job: put every INSERT INTO \
                             in the one statement set"
                        )));
                    }
                    job.in_statement_set = Some(line);
                    if let Some(FlinkStatement::Insert { table, query }) = first.map(|first| *first)
                    {
                        job.insert(&session, &table, &query, origin, line)?;
                    }
                }
                FlinkStatement::EndStatementSet => {
                    if job.in_statement_set.take().is_none() {
                        return Err(Error::validation(format!(
                            "{origin}, line {line}: END without BEGIN STATEMENT SET (or \
                             EXECUTE STATEMENT SET BEGIN) before it"
                        )));
                    }
                    if job.inserts.is_empty() {
                        return Err(Error::validation(format!(
                            "{origin}, line {line}: the statement set has no INSERT INTO"
                        )));
                    }
                }
                FlinkStatement::Query(_) | FlinkStatement::Explain(_) => {
                    return Err(Error::validation(format!(
                        "{origin}, line {line}: a job runs an INSERT INTO; a SELECT shows its \
                         rows and EXPLAIN its plan in the SQL client only (flinkrs sql -f \
                         {origin})"
                    )));
                }
                _ if job.in_statement_set.is_some() => {
                    return Err(Error::validation(format!(
                        "{origin}, line {line}: only INSERT INTO statements can be in a \
                         statement set; END it first"
                    )));
                }
                _ => {
                    session.execute(&statement.text).map_err(located)?;
                }
            }
        }
        if let Some(begun) = job.in_statement_set {
            return Err(Error::validation(format!(
                "{origin}: the statement set begun on line {begun} has no END"
            )));
        }
        if let Some((query, _)) = query {
            return Ok(SqlJob {
                body: JobBody::Collect(query),
                job_name: "collect".to_owned(),
                options: session.options().clone(),
            });
        }
        if collect {
            return Err(Error::validation(format!(
                "{origin} has no SELECT: a query's rows are shown for a script that ends with \
                 one"
            )));
        }
        if job.inserts.is_empty() {
            return Err(Error::validation(format!(
                "{origin} has no INSERT INTO statement: a SQL job writes a query's rows into a \
                 table, e.g. INSERT INTO sink SELECT ... FROM source"
            )));
        }
        let inserts = PreparedInserts(job.inserts);
        Ok(SqlJob {
            job_name: inserts.job_name(),
            body: JobBody::Inserts(inserts),
            options: session.options().clone(),
        })
    }

    /// The job's name: `pipeline.name` if the script sets it, else Flink's
    /// `insert-into_<catalog>.<database>.<table>`.
    pub fn name(&self) -> &str {
        self.options.get("pipeline.name").unwrap_or(&self.job_name)
    }

    /// Adds the job's options to `env`'s configuration (over what it holds), then its
    /// pipeline, from the query's sources to the sink table.
    pub fn build(&self, env: &StreamExecutionEnvironment) -> Result<()> {
        crate::session::apply_options(env, &self.options)?;
        match &self.body {
            JobBody::Inserts(inserts) => inserts.build(env),
            JobBody::Collect(query) => query.build(env),
        }
    }
}

/// What a script's statements have made of its job so far.
#[derive(Default)]
struct ScriptJob {
    inserts: Vec<PreparedInsert>,
    /// The line of the first `INSERT INTO`.
    first_line: Option<u64>,
    /// The line of the `BEGIN` of the open statement set.
    in_statement_set: Option<u64>,
}

impl ScriptJob {
    /// The `INSERT INTO` on `line`: the job's, or one more of its statement set's.
    fn insert(
        &mut self,
        session: &SqlSession,
        table: &[String],
        query: &str,
        origin: &str,
        line: u64,
    ) -> Result<()> {
        let located = |error| located(error, origin, line);
        if let (Some(first), None) = (self.first_line, self.in_statement_set) {
            return Err(Error::validation(format!(
                "{origin}, line {line}: a second INSERT INTO in one job (the first is on line \
                 {first}); to run both as one job, put them in a statement set: EXECUTE \
                 STATEMENT SET BEGIN INSERT INTO …; INSERT INTO …; END;"
            )));
        }
        let prepared = session.prepare_insert(table, query).map_err(located)?;
        // Built once here, so that what only building finds (a sink that cannot take the
        // query's updates, a bad connector option) names this line.
        prepared
            .build(&StreamExecutionEnvironment::new())
            .map_err(located)?;
        self.inserts.push(prepared);
        self.first_line.get_or_insert(line);
        Ok(())
    }
}

/// `error` of the statement starting on `line` of the script `origin`: a parse error's position
/// moves to the script's line; other errors name the file and line.
fn located(error: Error, origin: &str, line: u64) -> Error {
    match error {
        Error::Parse {
            message,
            position,
            snippet,
        } => Error::Parse {
            message: format!("{origin}: {message}"),
            position: Position {
                line: position.line + line - 1,
                column: position.column,
            },
            snippet,
        },
        Error::Unsupported(what) => Error::Unsupported(format!("{origin}, line {line}: {what}")),
        other => Error::Validation(format!("{origin}, line {line}: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = "CREATE TABLE numbers (n INT) WITH ('connector' = 'datagen', \
        'fields.n.kind' = 'sequence', 'fields.n.start' = '1', 'fields.n.end' = '10');\n\
        CREATE TABLE sink (n INT) WITH ('connector' = 'blackhole');\n";

    #[test]
    fn a_script_is_its_one_insert_with_the_options_it_sets() {
        let script = format!(
            "SET 'execution.checkpointing.interval' = '5 s';\n{SOURCE}\
             INSERT INTO sink SELECT n FROM numbers WHERE n > 3;\n"
        );
        let job = SqlJob::from_script(&script, "job.sql").unwrap();
        assert_eq!(
            job.name(),
            "insert-into_default_catalog.default_database.sink"
        );
        let env = StreamExecutionEnvironment::new();
        job.build(&env).unwrap();
        assert_eq!(
            env.config().get("execution.checkpointing.interval"),
            Some("5 s")
        );
    }

    #[test]
    fn pipeline_name_names_the_job() {
        let script = format!(
            "SET 'pipeline.name' = 'evens';\n{SOURCE}INSERT INTO sink SELECT n FROM numbers;"
        );
        assert_eq!(
            SqlJob::from_script(&script, "job.sql").unwrap().name(),
            "evens"
        );
    }

    #[test]
    fn a_script_without_an_insert_says_what_a_job_needs() {
        let error = SqlJob::from_script(SOURCE, "job.sql").unwrap_err();
        assert_eq!(
            error.to_string(),
            "job.sql has no INSERT INTO statement: a SQL job writes a query's rows into a table, \
             e.g. INSERT INTO sink SELECT ... FROM source"
        );
    }

    #[test]
    fn a_select_or_a_second_insert_names_its_line() {
        let select = format!("{SOURCE}SELECT n FROM numbers;");
        assert_eq!(
            SqlJob::from_script(&select, "job.sql")
                .unwrap_err()
                .to_string(),
            "job.sql, line 3: a job runs an INSERT INTO; a SELECT shows its rows and EXPLAIN \
             its plan in the SQL client only (flinkrs sql -f job.sql)"
        );
        let two = format!(
            "{SOURCE}INSERT INTO sink SELECT n FROM numbers;\n\nINSERT INTO sink SELECT n FROM numbers;"
        );
        assert_eq!(
            SqlJob::from_script(&two, "job.sql")
                .unwrap_err()
                .to_string(),
            "job.sql, line 5: a second INSERT INTO in one job (the first is on line 3); to run \
             both as one job, put them in a statement set: EXECUTE STATEMENT SET BEGIN INSERT \
             INTO …; INSERT INTO …; END;"
        );
    }

    const TWO_SINKS: &str = "CREATE TABLE evens (n INT) WITH ('connector' = 'blackhole');\n\
        CREATE TABLE odds (n INT) WITH ('connector' = 'blackhole');\n";

    #[test]
    fn a_statement_set_is_one_job_of_every_insert_in_it() {
        let script = format!(
            "{SOURCE}{TWO_SINKS}EXECUTE STATEMENT SET\nBEGIN\n\
             INSERT INTO evens SELECT n FROM numbers WHERE n % 2 = 0;\n\
             INSERT INTO odds SELECT n FROM numbers WHERE n % 2 = 1;\nEND;\n"
        );
        let job = SqlJob::from_script(&script, "job.sql").unwrap();
        assert_eq!(
            job.name(),
            "insert-into_default_catalog.default_database.evens,\
             default_catalog.default_database.odds"
        );
        let env = StreamExecutionEnvironment::new();
        job.build(&env).unwrap();
        let graph = env.job_graph(job.name()).unwrap();
        let sinks: Vec<&str> = graph
            .vertices
            .iter()
            .flat_map(|vertex| vertex.name.split(" -> "))
            .filter(|name| name.starts_with("Sink"))
            .collect();
        assert_eq!(sinks.len(), 2, "{graph:?}");
    }

    #[test]
    fn a_statement_set_holds_inserts_only_and_ends() {
        let cases = [
            (
                format!(
                    "{SOURCE}BEGIN STATEMENT SET;\nCREATE TABLE t (n INT) WITH ('connector' = 'blackhole');\nEND;"
                ),
                "job.sql, line 4: only INSERT INTO statements can be in a statement set; END it \
                 first",
            ),
            (
                format!("{SOURCE}BEGIN STATEMENT SET;\nINSERT INTO sink SELECT n FROM numbers;\n"),
                "job.sql: the statement set begun on line 3 has no END",
            ),
            (
                format!("{SOURCE}END;"),
                "job.sql, line 3: END without BEGIN STATEMENT SET (or EXECUTE STATEMENT SET \
                 BEGIN) before it",
            ),
            (
                format!("{SOURCE}BEGIN STATEMENT SET;\nEND;"),
                "job.sql, line 4: the statement set has no INSERT INTO",
            ),
            (
                format!(
                    "{SOURCE}INSERT INTO sink SELECT n FROM numbers;\n\
                     EXECUTE STATEMENT SET BEGIN INSERT INTO sink SELECT n FROM numbers;\nEND;"
                ),
                "job.sql, line 4: a statement set after the job's INSERT INTO on line 3; a \
                 script runs one job: put every INSERT INTO in the one statement set",
            ),
        ];
        for (script, expected) in cases {
            assert_eq!(
                SqlJob::from_script(&script, "job.sql")
                    .unwrap_err()
                    .to_string(),
                expected,
                "{script}"
            );
        }
    }

    #[test]
    fn errors_name_the_script_line() {
        let unknown = format!("{SOURCE}INSERT INTO sink SELECT n FROM missing;");
        assert_eq!(
            SqlJob::from_script(&unknown, "job.sql")
                .unwrap_err()
                .to_string(),
            "job.sql, line 3: Object 'missing' not found within 'default_catalog.default_database'"
        );
        let syntax = format!("{SOURCE}\nINSERT INTO sink SELEC n FROM numbers;");
        let error = SqlJob::from_script(&syntax, "job.sql").unwrap_err();
        let Error::Parse { position, .. } = &error else {
            panic!("not a parse error: {error}");
        };
        assert_eq!(position.line, 4, "{error}");
        let bad_option = "SET 'execution.checkpointing.interval' = 'often';";
        assert_eq!(
            SqlJob::from_script(bad_option, "job.sql")
                .unwrap_err()
                .to_string(),
            "job.sql, line 1: SET 'execution.checkpointing.interval' = 'often': configuration \
             key 'execution.checkpointing.interval': 'often' is not a duration; write e.g. \
             '200 ms', '10 s', '1 min'"
        );
    }
}
