//! What Flink's SQL client prints for each statement: `[INFO]` lines for statements that
//! change the session, tableaux for results, `[ERROR]` with the reason for a failure. The
//! `flinkrs sql` command reads statements (from `-i`, `-f` or the terminal) and hands each one
//! here, so the layout is tested without a terminal.

use std::io::{self, Write};
use std::time::Instant;

use flinkrs_core::RuntimeMode;

use crate::error::Error;
use crate::render::{ResultColumn, ResultRow, RowKind, Tableau, streaming_footer, tableau_batch};
use crate::session::{ResultMode, SqlSession, StatementResult};

/// The prompt before each statement.
pub const PROMPT: &str = "Flink SQL> ";
/// The prompt of a statement's further lines.
pub const CONTINUATION_PROMPT: &str = "> ";

/// `HELP`: the client's commands and the statements it runs.
pub const HELP: &str = "\
The following commands are available:

CLEAR\t\tClears the current terminal.
HELP\t\tPrints the available commands.
QUIT/EXIT\tQuits the SQL CLI client.
RESET\t\tResets a session configuration property. Syntax: \"RESET '<key>';\". Use \"RESET;\" for reset all session properties.
SET\t\tSets a session configuration property. Syntax: \"SET '<key>'='<value>';\". Use \"SET;\" for listing all properties.

Statements: SELECT, VALUES, INSERT INTO, BEGIN STATEMENT SET ... END, EXPLAIN,
CREATE/DROP TABLE, CREATE/DROP VIEW, CREATE/DROP/USE CATALOG, CREATE/DROP/USE DATABASE,
SHOW CATALOGS/DATABASES/TABLES/VIEWS/FUNCTIONS, DESCRIBE. End each statement with ';'.

Hint: Make sure that a statement ends with \";\" for finalizing (multi-line) statements.
";

/// What the client does after a line of input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAction {
    Continue,
    Quit,
}

/// Options of the printing.
#[derive(Clone, Copy, Debug)]
pub struct PrintOptions {
    /// Print how long a query took, as Flink does ("(0.42 seconds)"); off for golden tests.
    pub timing: bool,
}

/// Executes one statement (without its `;`) and prints what Flink's client prints. Client
/// commands (`HELP`, `QUIT`, `EXIT`, `CLEAR`) are handled here too. A failed statement
/// prints `[ERROR]` and returns the error.
pub fn execute_and_print(
    session: &mut SqlSession,
    text: &str,
    out: &mut dyn Write,
    options: PrintOptions,
) -> Result<ClientAction, Error> {
    let command = text.trim().trim_end_matches(';').trim().to_uppercase();
    match command.as_str() {
        "QUIT" | "EXIT" => return Ok(ClientAction::Quit),
        "HELP" => {
            write_out(out, HELP)?;
            return Ok(ClientAction::Continue);
        }
        "CLEAR" => {
            write_out(out, "\x1b[2J\x1b[H")?;
            return Ok(ClientAction::Continue);
        }
        _ => {}
    }
    match print_statement(session, text, out, options) {
        Ok(()) => Ok(ClientAction::Continue),
        Err(error) => {
            write_out(
                out,
                &format!("[ERROR] Could not execute SQL statement. Reason:\n{error}\n\n"),
            )?;
            Err(error)
        }
    }
}

fn write_out(out: &mut dyn Write, text: &str) -> Result<(), Error> {
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|error| Error::validation(format!("could not write the output: {error}")))
}

fn print_statement(
    session: &mut SqlSession,
    text: &str,
    out: &mut dyn Write,
    options: PrintOptions,
) -> Result<(), Error> {
    let started = Instant::now();
    match session.execute(text)? {
        StatementResult::Ok => write_out(out, "[INFO] Execute statement succeeded.\n\n"),
        StatementResult::Submitted { job_id } => write_out(
            out,
            &format!(
                "[INFO] Submitting SQL update statement to the cluster...\n[INFO] SQL update \
                 statement has been successfully submitted to the cluster:\nJob ID: {job_id}\n\n"
            ),
        ),
        StatementResult::StatementSetBegun => write_out(out, "[INFO] Begin a statement set.\n\n"),
        StatementResult::AddedToStatementSet => write_out(
            out,
            "[INFO] Add SQL update statement to the statement set.\n\n",
        ),
        StatementResult::Explained(plan) => write_out(out, &format!("{plan}\n")),
        StatementResult::Table { columns, rows } => {
            write_out(out, &tableau_batch(&columns, &rows, false, None))?;
            write_out(out, "\n")
        }
        StatementResult::Query(query) => {
            let elapsed = || options.timing.then(|| started.elapsed());
            let streaming = session.runtime_mode() == RuntimeMode::Streaming;
            match session.result_mode() {
                ResultMode::Tableau if !streaming => {
                    let rows = collect(session, &query)?;
                    write_out(out, &tableau_batch(&query.columns, &rows, false, elapsed()))?;
                }
                ResultMode::Table => {
                    let rows = materialize(collect(session, &query)?);
                    write_out(out, &tableau_batch(&query.columns, &rows, false, elapsed()))?;
                }
                ResultMode::Tableau | ResultMode::Changelog => {
                    let count = print_changelog(session, &query.columns, &query, out)?;
                    write_out(out, &format!("{}\n", streaming_footer(count, elapsed())))?;
                }
            }
            write_out(out, "\n")
        }
    }
}

/// Prints a result as it arrives: the header, then each change with its `op`. Returns the
/// number of rows printed.
fn print_changelog(
    session: &SqlSession,
    columns: &[ResultColumn],
    query: &crate::PlannedQuery,
    out: &mut dyn Write,
) -> Result<usize, Error> {
    let tableau = Tableau::by_type(columns, true);
    let mut printed = false;
    let mut count = 0;
    let mut failed: Option<io::Error> = None;
    let result = session.run_query(query, |row| {
        if failed.is_some() {
            return;
        }
        let mut text = String::new();
        if !printed {
            text.push_str(&tableau.header(columns));
            text.push('\n');
            printed = true;
        }
        text.push_str(&tableau.row(&row));
        text.push('\n');
        count += 1;
        if let Err(error) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
            failed = Some(error);
        }
    });
    if let Some(error) = failed {
        return Err(Error::validation(format!(
            "could not write the output: {error}"
        )));
    }
    result?;
    if printed {
        write_out(out, &format!("{}\n", tableau.border()))?;
    } else {
        write_out(
            out,
            &format!("{}\n{}\n", tableau.header(columns), tableau.border()),
        )?;
    }
    Ok(count)
}

fn collect(session: &SqlSession, query: &crate::PlannedQuery) -> Result<Vec<ResultRow>, Error> {
    let mut rows = Vec::new();
    session.run_query(query, |row| rows.push(row))?;
    Ok(rows)
}

/// Applies a changelog: `+I` and `+U` add a row, `-U` and `-D` take one equal row away.
pub fn materialize(changes: Vec<ResultRow>) -> Vec<ResultRow> {
    let mut rows: Vec<ResultRow> = Vec::new();
    for change in changes {
        if change.kind.is_addition() {
            rows.push(ResultRow {
                kind: RowKind::Insert,
                values: change.values,
            });
        } else if let Some(position) = rows.iter().position(|row| row.values == change.values) {
            rows.remove(position);
        }
    }
    rows
}
