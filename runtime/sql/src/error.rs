//! The SQL crate's error: what failed, on which statement, table, column or file, and what to
//! do about it.

use std::fmt;

/// A position in a SQL script: 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: u64,
    pub column: u64,
}

/// Errors of parsing, validating, planning or running SQL.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The statement does not parse; the message shows the line with a caret under the
    /// position.
    #[error("SQL parse failed. {message} at line {}, column {}\n{snippet}", position.line, position.column)]
    Parse {
        message: String,
        position: Position,
        /// The offending line and a caret line under the column.
        snippet: String,
    },

    /// A name, type or option is wrong: an unknown table, column, function or option, or
    /// operands of incompatible types.
    #[error("{0}")]
    Validation(String),

    /// A construct Flink supports that flinkrs does not support yet.
    #[error("{0} is not supported yet")]
    Unsupported(String),

    /// A connector option is missing or wrong: names the table and the option.
    #[error("table '{table}': option '{key}': {message}")]
    Option {
        table: String,
        key: String,
        message: String,
    },

    /// The job failed while running.
    #[error(transparent)]
    Runtime(#[from] flinkrs_core::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn validation(message: impl fmt::Display) -> Self {
        Error::Validation(message.to_string())
    }

    pub(crate) fn unsupported(what: impl fmt::Display) -> Self {
        Error::Unsupported(what.to_string())
    }

    /// A parse error at `position` of `text` (the statement), with the caret snippet.
    pub(crate) fn parse(message: impl fmt::Display, text: &str, position: Position) -> Self {
        let line = text
            .lines()
            .nth(position.line.saturating_sub(1) as usize)
            .unwrap_or("");
        let caret = " ".repeat(position.column.saturating_sub(1) as usize) + "^";
        Error::Parse {
            message: message.to_string(),
            position,
            snippet: format!("{line}\n{caret}"),
        }
    }
}

/// DataFusion's planning errors, reworded where Flink words them differently.
impl From<datafusion_common::DataFusionError> for Error {
    fn from(error: datafusion_common::DataFusionError) -> Self {
        use datafusion_common::DataFusionError as E;
        match error {
            E::NotImplemented(what) => Error::Unsupported(what),
            E::Plan(message) => Error::Validation(reword(&message)),
            E::SchemaError(error, _) => Error::Validation(reword(&error.to_string())),
            E::Context(context, inner) => match Error::from(*inner) {
                Error::Validation(message) => Error::Validation(format!("{context}: {message}")),
                other => other,
            },
            E::Diagnostic(_, inner) => Error::from(*inner),
            other => Error::Validation(reword(&other.to_string())),
        }
    }
}

/// Drops DataFusion's hints about its own internals from a message.
fn reword(message: &str) -> String {
    let message = message.trim();
    match message.find(". Valid fields are") {
        Some(end) => message[..end].to_owned(),
        None => message.to_owned(),
    }
}

impl From<datafusion_common::arrow::error::ArrowError> for Error {
    fn from(error: datafusion_common::arrow::error::ArrowError) -> Self {
        Error::Runtime(flinkrs_core::Error::function(format!("Arrow: {error}")))
    }
}
