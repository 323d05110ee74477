//! The runtime's error type. Every message says what failed, on which input, and what to do.

use std::path::PathBuf;

/// Errors shared by every runtime crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration key or value is wrong.
    #[error("configuration key '{key}': {message}")]
    Config { key: String, message: String },

    /// The job graph cannot be built or run as written.
    #[error("invalid job: {0}")]
    InvalidJob(String),

    /// A file or directory could not be read or written.
    #[error("{action} '{}': {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A user function or operator failed; the message names the operator and subtask.
    #[error("operator '{operator}' (subtask {subtask}) failed: {message}")]
    OperatorFailed {
        operator: String,
        subtask: String,
        message: String,
    },

    /// Malformed input data: names the source and the position.
    #[error("malformed input in {location}: {message}")]
    MalformedInput { location: String, message: String },

    /// A network connection failed.
    #[error("connection to {address} failed: {source}")]
    Connect {
        address: String,
        #[source]
        source: std::io::Error,
    },

    /// Keyed or operator state could not be registered, snapshotted or restored. The source
    /// is the state crate's error, boxed because core sits below the state crate; keeping it
    /// lets a caller walk down to the cause (say, the decoder's error for a corrupt snapshot).
    #[error("state: {0}")]
    State(#[source] Box<dyn std::error::Error + Send + Sync>),

    /// A batch or record could not be encoded or decoded for a channel or a checkpoint.
    #[error("codec: {0}")]
    Codec(String),

    /// A user function reported an error.
    #[error("{0}")]
    Function(String),

    /// The job failed, was restarted, and failed again until its restart strategy gave up.
    /// The cause is the last failure.
    #[error(
        "{cause} (the job was restarted {restarts} time(s); then its restart strategy, \
         {strategy}, gave up)"
    )]
    RestartsExhausted {
        restarts: u32,
        strategy: String,
        #[source]
        cause: Box<Error>,
    },

    /// The job was cancelled, or a neighbouring task failed first.
    #[error("task was cancelled")]
    Cancelled,
}

impl Error {
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// An error from user code, with the message the user wrote.
    pub fn function(message: impl Into<String>) -> Self {
        Error::Function(message.into())
    }

    /// A state failure found without a lower-level error, such as a source's checkpointed
    /// position of the wrong length. Failures of the state crate convert with `From`.
    pub fn state(message: impl Into<String>) -> Self {
        Error::State(message.into().into())
    }

    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
