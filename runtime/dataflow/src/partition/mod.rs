//! Partitioners: how the rows of an edge are spread over the consuming subtasks. The
//! [`ChannelWriter`] at the edge of a chain applies them, a batch at a time.

mod writer;

pub use writer::ChannelWriter;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use flinkrs_core::Batch;
use serde::{Deserialize, Serialize};

use crate::batch::StreamBatch;

/// How records of an edge are spread over the consuming subtasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PartitionerKind {
    /// Subtask i sends to subtask i; needs equal parallelism.
    Forward,
    /// Round robin over all consumers.
    Rebalance,
    /// By key: key → key group → the subtask owning that key group.
    Hash,
    /// Every record to every consumer.
    Broadcast,
}

impl fmt::Display for PartitionerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartitionerKind::Forward => "FORWARD",
            PartitionerKind::Rebalance => "REBALANCE",
            PartitionerKind::Hash => "HASH",
            PartitionerKind::Broadcast => "BROADCAST",
        })
    }
}

/// The key hash of a record ([`key_hash`](fn@flinkrs_core::key_hash)), for hash partitioning of
/// typed rows.
pub type KeyHashFn<T> = Arc<dyn Fn(&T) -> i32 + Send + Sync>;

/// Computes the key hash of every row of a batch, in one pass: what hash partitioning needs.
/// Typed rows call the key selector per row; Arrow batches hash a key column vectorized.
pub trait BatchKeyHash<B>: Send + Sync {
    /// Replaces the contents of `hashes` with one hash per row of `batch`, in row order.
    fn hash_rows(&self, batch: &B, hashes: &mut Vec<i32>);
}

/// The [`BatchKeyHash`] of typed rows: a key hash function applied to each record's value.
struct RecordKeyHash<T>(KeyHashFn<T>);

impl<T: flinkrs_core::Data> BatchKeyHash<Batch<T>> for RecordKeyHash<T> {
    fn hash_rows(&self, batch: &Batch<T>, hashes: &mut Vec<i32>) {
        hashes.clear();
        hashes.extend(batch.iter().map(|record| (self.0)(&record.value)));
    }
}

/// A shared [`BatchKeyHash`] for batches of type `B`.
pub type SharedKeyHash<B> = Arc<dyn BatchKeyHash<B>>;

/// A partitioner as the graph stores it: the kind, and for hash partitioning the key hash
/// behind `Any` (a [`SharedKeyHash`] of the edge's batch type).
#[derive(Clone)]
pub struct PartitionerSpec {
    pub kind: PartitionerKind,
    pub key_hash: Option<Arc<dyn Any + Send + Sync>>,
    /// Chosen by default, not by the user: becomes rebalance when the parallelism changes.
    pub is_default: bool,
}

impl fmt::Debug for PartitionerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.kind)
    }
}

impl PartitionerSpec {
    /// Forward if both sides have the same parallelism, else rebalance; as Flink chooses when
    /// the program names no partitioner.
    pub fn default_for_edge() -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Forward,
            key_hash: None,
            is_default: true,
        }
    }

    pub fn forward() -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Forward,
            key_hash: None,
            is_default: false,
        }
    }

    pub fn rebalance() -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Rebalance,
            key_hash: None,
            is_default: false,
        }
    }

    pub fn broadcast() -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Broadcast,
            key_hash: None,
            is_default: false,
        }
    }

    /// Hash partitioning of typed rows by `key_hash` of each record's value.
    pub fn hash<T: flinkrs_core::Data>(key_hash: KeyHashFn<T>) -> Self {
        let shared: SharedKeyHash<Batch<T>> = Arc::new(RecordKeyHash(key_hash));
        Self::hash_batches(shared)
    }

    /// Hash partitioning by a batch-level key hash (Arrow key columns).
    pub fn hash_batches<B: StreamBatch>(key_hash: SharedKeyHash<B>) -> Self {
        PartitionerSpec {
            kind: PartitionerKind::Hash,
            key_hash: Some(Arc::new(key_hash)),
            is_default: false,
        }
    }
}

/// Bounds on a batch sent over a channel.
#[derive(Clone, Copy, Debug)]
pub struct BatchBounds {
    pub max_rows: usize,
    pub max_bytes: usize,
}

impl BatchBounds {
    /// Rows per batch for rows whose inline size is `row_size` bytes, honouring both bounds:
    /// how many rows a source puts in one batch before it knows their heap sizes.
    pub fn rows_for_size(&self, row_size: usize) -> usize {
        self.max_rows.min(self.max_bytes / row_size.max(1)).max(1)
    }
}
