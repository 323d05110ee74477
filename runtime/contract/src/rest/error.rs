//! Flink's error body: `{"errors": ["…"]}`, with any HTTP status from 400 up.

use serde::{Deserialize, Serialize};

/// What Flink's REST API answers on any error: one or more messages. For a failed request the
/// first is the reason (for some errors, a Java stack trace whose first line is the reason).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub errors: Vec<String>,
}

impl ErrorResponse {
    pub fn new(message: impl Into<String>) -> Self {
        ErrorResponse {
            errors: vec![message.into()],
        }
    }

    /// The first line of the first message: the reason, without a stack trace.
    pub fn reason(&self) -> &str {
        self.errors
            .first()
            .and_then(|error| error.lines().next())
            .unwrap_or("no error message")
    }
}
