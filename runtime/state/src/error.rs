//! Errors of the state crate.

use flinkrs_core::KeyGroupRange;

/// Failures while registering, snapshotting or restoring state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A state name was registered twice with different types.
    #[error("state '{name}' is already registered with another type")]
    TypeMismatch { name: String },

    /// State could not be encoded for a snapshot.
    #[error("cannot encode state '{name}': {source}")]
    Encode {
        name: String,
        #[source]
        source: postcard::Error,
    },

    /// A snapshot is corrupt or was written by an incompatible type.
    #[error("cannot restore state '{name}' (key group {key_group}): {source}")]
    Decode {
        name: String,
        key_group: usize,
        #[source]
        source: postcard::Error,
    },

    /// The snapshot was taken with another number of key groups.
    #[error(
        "snapshot has max parallelism {snapshot}, the job has {job}; key groups cannot be \
         remapped, set pipeline.max-parallelism={snapshot}"
    )]
    MaxParallelismMismatch { snapshot: usize, job: usize },

    /// Keyed state holds a key of a key group this subtask does not own.
    #[error(
        "state '{name}' holds a key of key group {key_group}, outside this subtask's key groups \
         {}..={}; records must reach keyed state through a partitioning by the same key",
        range.start,
        range.end
    )]
    KeyGroupOutOfRange {
        name: String,
        key_group: usize,
        range: KeyGroupRange,
    },

    /// Two snapshots being merged hold the same key group of the same state.
    #[error(
        "cannot merge snapshots: state '{name}' has key group {key_group} in more than one \
         snapshot; the snapshots of an operator's subtasks must cover disjoint key groups"
    )]
    OverlappingKeyGroup { name: String, key_group: usize },

    /// Snapshots being merged were taken with different numbers of key groups.
    #[error(
        "cannot merge snapshots with max parallelism {first} and {other}; every subtask of an \
         operator has the same max parallelism"
    )]
    MergeMaxParallelismMismatch { first: usize, other: usize },

    /// State was accessed outside of a keyed context.
    #[error("keyed state '{name}' used without a current key")]
    NoCurrentKey { name: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<Error> for flinkrs_core::Error {
    fn from(error: Error) -> Self {
        flinkrs_core::Error::State(error.to_string())
    }
}
