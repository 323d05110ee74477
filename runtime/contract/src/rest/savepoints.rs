//! Savepoints and stop-with-savepoint: `POST /jobs/:id/savepoints`, `POST /jobs/:id/stop`, and
//! `GET /jobs/:id/savepoints/:triggerid`, Flink's asynchronous operations.
//!
//! A trigger answers `202 {"request-id": "<trigger id>"}` at once; the status is polled by the
//! trigger id. A client may choose the trigger id (`triggerId` in the body): a trigger with an
//! id already known returns the same operation instead of taking a second savepoint.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

/// An asynchronous operation's id: 32 hexadecimal digits, as Flink's `TriggerId`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TriggerId(String);

impl TriggerId {
    /// Reads a trigger id, in any case; stored in lower case.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() == 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            Ok(TriggerId(text.to_ascii_lowercase()))
        } else {
            Err(format!(
                "'{text}' is not a trigger id; a trigger id is 32 hexadecimal digits"
            ))
        }
    }

    /// A trigger id made of `value`'s 128 bits.
    pub fn from_u128(value: u128) -> Self {
        TriggerId(format!("{value:032x}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TriggerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TriggerId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TriggerId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The body of `POST /jobs/:id/savepoints`. Unknown fields are ignored, as Flink does.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavepointTriggerRequest {
    /// Where the savepoint goes; `execution.checkpointing.savepoint-dir` when absent.
    #[serde(
        rename = "target-directory",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub target_directory: Option<String>,
    /// Cancel the job once the savepoint is complete.
    #[serde(rename = "cancel-job", default)]
    pub cancel_job: bool,
    /// The client's own trigger id, which makes the trigger idempotent.
    #[serde(rename = "triggerId", default, skip_serializing_if = "Option::is_none")]
    pub trigger_id: Option<TriggerId>,
    /// `CANONICAL` (the default) or `NATIVE`.
    #[serde(
        rename = "formatType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub format_type: Option<String>,
}

/// The body of `POST /jobs/:id/stop`: a savepoint, then the job finishes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StopWithSavepointRequest {
    #[serde(
        rename = "targetDirectory",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub target_directory: Option<String>,
    /// Emit the maximum watermark before stopping, so event-time windows fire.
    #[serde(default)]
    pub drain: bool,
    #[serde(rename = "triggerId", default, skip_serializing_if = "Option::is_none")]
    pub trigger_id: Option<TriggerId>,
    #[serde(
        rename = "formatType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub format_type: Option<String>,
}

/// `202` to a trigger: the id to poll the operation by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TriggerResponse {
    #[serde(rename = "request-id")]
    pub request_id: TriggerId,
}

/// `GET /jobs/:id/savepoints/:triggerid`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AsynchronousOperationResult {
    pub status: QueueStatus,
    /// `null` while in progress.
    pub operation: Option<SavepointOperation>,
}

impl AsynchronousOperationResult {
    pub fn in_progress() -> Self {
        AsynchronousOperationResult {
            status: QueueStatus {
                id: OperationStatus::InProgress,
            },
            operation: None,
        }
    }

    pub fn completed(operation: SavepointOperation) -> Self {
        AsynchronousOperationResult {
            status: QueueStatus {
                id: OperationStatus::Completed,
            },
            operation: Some(operation),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStatus {
    pub id: OperationStatus,
}

/// There is no FAILED: a failed operation is `COMPLETED` with a `failure-cause`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperationStatus {
    InProgress,
    Completed,
}

/// A finished savepoint: its location, or why it failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavepointOperation {
    /// The savepoint's folder, e.g. `file:/savepoints/savepoint-8de181-16a2b3c4d5e6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(
        rename = "failure-cause",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub failure_cause: Option<FailureCause>,
}

/// A failure, as Flink serializes a Java throwable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureCause {
    pub class: String,
    #[serde(rename = "stack-trace")]
    pub stack_trace: String,
    /// Flink's Java-serialized throwable; flinkrs sends the message base64-free as text.
    #[serde(rename = "serialized-throwable", default)]
    pub serialized_throwable: String,
}
