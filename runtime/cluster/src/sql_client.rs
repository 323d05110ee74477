//! `flinkrs sql`: Flink's SQL client. Runs `-i` (init) and `-f` (script) files, or reads
//! statements from the terminal with line editing and history: a statement may span lines
//! and ends with `;`. Each statement's output is laid out as Flink's client lays it out (see
//! `flinkrs_sql::client`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use flinkrs_sql::client::{
    CONTINUATION_PROMPT, ClientAction, PROMPT, PrintOptions, execute_and_print,
};
use flinkrs_sql::split::{is_blank, is_complete, split_statements};
use flinkrs_sql::{RUNTIME_MODE, SqlSession};

const SQL_EXAMPLES: &str = "\
Examples:
  flinkrs sql
  flinkrs sql -f examples/sql/people-by-job.sql
  flinkrs sql -i examples/sql/init.sql -f query.sql
  flinkrs sql -m localhost:8081 -f job.sql      (each INSERT INTO and SELECT is a job on that cluster)

Statements end with ';'. SET 'execution.runtime-mode' = 'batch' gives final results only;
the default, streaming, prints a changelog with an op column (+I, -U, +U, -D).
SET 'sql-client.execution.result-mode' = 'tableau' (the default), 'table' or 'changelog'.";

/// `flinkrs sql`.
#[derive(Debug, Args)]
#[command(after_help = SQL_EXAMPLES)]
pub struct SqlArgs {
    /// Run the statements of this file, then exit.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Run the statements of this file first (quietly: only failures are printed).
    #[arg(short = 'i', long = "init", value_name = "FILE")]
    pub init: Option<PathBuf>,

    /// Where the interactive history is kept (default: ~/.flinkrs-sql-history).
    #[arg(long = "history", value_name = "FILE")]
    pub history: Option<PathBuf>,

    /// Run each INSERT INTO and SELECT as a job on the cluster whose REST API is at HOST:PORT
    /// (the session's CREATE, USE and SET statements go with it) instead of here; a SELECT's
    /// rows are read back from the cluster.
    #[arg(short = 'm', long = "jobmanager", value_name = "HOST:PORT", value_parser = crate::client::parse_rest_address)]
    pub jobmanager: Option<String>,
}

/// Runs the client; the exit code is 1 when a statement of a file failed.
pub fn run(args: SqlArgs) -> ExitCode {
    match run_client(args) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_client(args: SqlArgs) -> anyhow::Result<ExitCode> {
    let mut session = SqlSession::new();
    if let Some(address) = &args.jobmanager {
        session.run_on(Box::new(crate::sql_cluster::RestCluster::new(address)?));
    }
    let stdout = std::io::stdout();
    let options = PrintOptions { timing: true };
    if let Some(init) = &args.init {
        let mut sink = std::io::sink();
        if !run_file(&mut session, init, &mut sink, options, false)? {
            return Ok(ExitCode::FAILURE);
        }
    }
    let succeeded = match &args.file {
        Some(file) => {
            let mut out = stdout.lock();
            writeln!(out, "[INFO] Executing SQL from file.\n")?;
            let succeeded = run_file(&mut session, file, &mut out, options, true)?;
            drop(out);
            succeeded
        }
        None => {
            interactive(&mut session, args.history.as_deref(), options)?;
            true
        }
    };
    let jobs = session.wait_for_jobs();
    let mut out = stdout.lock();
    writeln!(out, "Shutting down the session...\ndone.")?;
    if let Err(error) = jobs {
        eprintln!("error: a job submitted by INSERT INTO failed: {error}");
        return Ok(ExitCode::FAILURE);
    }
    Ok(if succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs a file's statements, stopping at the first that fails; false if one failed.
fn run_file(
    session: &mut SqlSession,
    path: &Path,
    out: &mut dyn Write,
    options: PrintOptions,
    echo: bool,
) -> anyhow::Result<bool> {
    let script = std::fs::read_to_string(path)
        .with_context(|| format!("could not read the SQL file '{}'", path.display()))?;
    for statement in split_statements(&script) {
        if echo {
            writeln!(out, "{PROMPT}{}", statement.text)?;
        }
        match execute_and_print(session, &statement.text, out, options) {
            Ok(ClientAction::Continue) => {}
            Ok(ClientAction::Quit) => return Ok(true),
            Err(_) => {
                eprintln!(
                    "error: the statement at line {} of '{}' failed; the rest of the file was \
                     not run",
                    statement.line,
                    path.display()
                );
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Reads statements from the terminal until QUIT, EXIT or end of input.
fn interactive(
    session: &mut SqlSession,
    history: Option<&Path>,
    options: PrintOptions,
) -> anyhow::Result<()> {
    let history = history.map(Path::to_path_buf).or_else(|| {
        std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".flinkrs-sql-history"))
    });
    let mut editor = rustyline::DefaultEditor::new().context("could not open the terminal")?;
    if let Some(history) = &history {
        // A missing history file is a first run, not an error.
        let _ = editor.load_history(history);
    }
    println!(
        "flinkrs SQL client ({} by default). Enter 'HELP;' for the commands, 'QUIT;' to leave.\n",
        session_mode(session)
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            PROMPT
        } else {
            CONTINUATION_PROMPT
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(rustyline::error::ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(rustyline::error::ReadlineError::Eof) => break,
            Err(error) => return Err(error).context("could not read from the terminal"),
        };
        buffer.push_str(&line);
        buffer.push('\n');
        let command = buffer.trim().trim_end_matches(';').trim().to_uppercase();
        let is_command = matches!(command.as_str(), "HELP" | "QUIT" | "EXIT" | "CLEAR");
        if !is_command && (is_blank(&buffer) || !is_complete(&buffer)) {
            if is_blank(&buffer) {
                buffer.clear();
            }
            continue;
        }
        let _ = editor.add_history_entry(buffer.trim());
        let mut out = std::io::stdout().lock();
        let statements = if is_command {
            vec![command]
        } else {
            split_statements(&buffer)
                .into_iter()
                .map(|statement| statement.text)
                .collect()
        };
        buffer.clear();
        for statement in statements {
            if let Ok(ClientAction::Quit) =
                execute_and_print(session, &statement, &mut out, options)
            {
                save_history(&mut editor, history.as_deref());
                return Ok(());
            }
        }
    }
    save_history(&mut editor, history.as_deref());
    Ok(())
}

fn save_history(editor: &mut rustyline::DefaultEditor, history: Option<&Path>) {
    if let Some(history) = history
        && let Err(error) = editor.save_history(history)
    {
        eprintln!(
            "warning: could not save the history to '{}': {error}",
            history.display()
        );
    }
}

fn session_mode(session: &SqlSession) -> String {
    format!("{RUNTIME_MODE} = {:?}", session.runtime_mode()).to_lowercase()
}
