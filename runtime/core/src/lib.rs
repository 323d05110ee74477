//! # flinkrs-core
//!
//! The bottom of the runtime's layering (`core → state → dataflow → {api, sql, connectors} →
//! cluster`). It holds the vocabulary every other crate speaks: ids, event time and watermarks,
//! the elements that flow through channels, key groups and the stable key hash, configuration
//! and errors.
//!
//! It depends on no other flinkrs crate but `flinkrs-contract` (the configuration keys it
//! shares with the operator), and it does no I/O.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod cluster_options;
pub mod config;
pub mod element;
pub mod error;
pub mod ids;
pub mod key_group;
pub mod key_hash;
pub mod murmur3;
pub mod time;

pub use config::{
    Configuration, ExternalizedCheckpointRetention, RestartStrategyType, RuntimeMode,
};
pub use element::{Batch, CheckpointBarrier, Record, StreamElement, WatermarkStatus};
pub use error::{Error, Result};
pub use ids::{CheckpointId, JobId, NodeId, OperatorId, SubtaskIndex, VertexId};
pub use key_group::{KeyGroupRange, key_group_for_hash, operator_index_for_key_group};
pub use key_hash::{assign_to_key_group, key_hash};
pub use time::{NO_TIMESTAMP, Watermark};

/// Bound for every value that flows through a stream: it moves between threads, may be copied
/// for broadcast or fan-out, and has a serde codec so it can cross the network and be stored
/// in checkpoints (Flink's `TypeSerializer` plays that part). `Sync`, because state frozen by
/// a checkpoint is read by the thread that encodes it while the task goes on.
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}
impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}
