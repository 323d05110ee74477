//! What flows through a channel: batches of records, watermarks, watermark status, checkpoint
//! barriers and the end of input.

use serde::{Deserialize, Serialize};

use crate::ids::CheckpointId;
use crate::time::{NO_TIMESTAMP, Watermark};

/// One record with its event-time timestamp ([`NO_TIMESTAMP`] when it has none).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record<T> {
    pub value: T,
    pub timestamp: i64,
}

impl<T> Record<T> {
    pub fn new(value: T) -> Self {
        Record {
            value,
            timestamp: NO_TIMESTAMP,
        }
    }

    pub fn with_timestamp(value: T, timestamp: i64) -> Self {
        Record { value, timestamp }
    }

    /// The event-time timestamp, if one was assigned.
    pub fn event_time(&self) -> Option<i64> {
        (self.timestamp != NO_TIMESTAMP).then_some(self.timestamp)
    }
}

/// Records travel in batches, never one at a time. A batch is bounded in rows and bytes by the
/// channel that carries it.
pub type Batch<T> = Vec<Record<T>>;

/// Whether a channel currently produces data that should hold back the watermark.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatermarkStatus {
    Active,
    /// The source has been idle longer than its idle timeout: downstream operators compute
    /// their watermark without this channel.
    Idle,
}

/// Kind of snapshot a barrier asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnapshotKind {
    Checkpoint,
    Savepoint,
}

/// Flows with the data. An operator snapshots its state when the barrier has arrived on all of
/// its inputs (alignment), then forwards it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointBarrier {
    pub id: CheckpointId,
    pub timestamp: i64,
    pub kind: SnapshotKind,
}

/// One element of a channel between two tasks.
#[derive(Debug)]
pub enum StreamElement<T> {
    Records(Batch<T>),
    Watermark(Watermark),
    WatermarkStatus(WatermarkStatus),
    Barrier(CheckpointBarrier),
    /// The producing subtask has finished; nothing follows on this channel.
    EndOfInput,
}
