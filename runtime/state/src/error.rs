//! Errors of the state crate.

use flinkrs_core::KeyGroupRange;

/// Failures while registering, snapshotting or restoring state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A state name was registered twice with different types.
    #[error("state '{name}' is already registered with another type")]
    TypeMismatch { name: String },

    /// A restored state holds values of another type than the job registers.
    #[error(
        "state '{name}' was checkpointed with values of type {checkpointed} but the job \
         registers it with type {registered}; restore from a checkpoint or savepoint of a \
         compatible version of the job, or give the operator a new uid and pass \
         --allowNonRestoredState to start it without the old state"
    )]
    RestoredTypeMismatch {
        name: String,
        checkpointed: String,
        registered: String,
    },

    /// Two subtasks' snapshots hold the same state with different types.
    #[error(
        "cannot merge snapshots: state '{name}' has values of type {first} in one and {other} \
         in another; the snapshots are not of the same operator"
    )]
    MergeTypeMismatch {
        name: String,
        first: String,
        other: String,
    },

    /// State could not be encoded for a snapshot.
    #[error("cannot encode state '{name}': {source}")]
    Encode {
        name: String,
        #[source]
        source: postcard::Error,
    },

    /// A frozen state does not hold what its own structure says it holds: a bug.
    #[error("internal error: cannot encode state '{name}': {problem}")]
    FrozenStateInconsistent { name: String, problem: String },

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

    /// A keyed state snapshot was written before its asynchronous phase encoded it: a bug.
    #[error(
        "internal error: the keyed state of operator {operator_id} was written to a checkpoint \
         before it was materialized"
    )]
    NotMaterialized { operator_id: String },

    /// State was accessed outside of a keyed context.
    #[error("keyed state '{name}' used without a current key")]
    NoCurrentKey { name: String },

    /// Checkpoint storage could not be read or written.
    #[error("{action} '{}': {source}", path.display())]
    Storage {
        action: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A checkpoint file is not what it should be: truncated, of another format or version,
    /// or not a checkpoint file at all.
    #[error("checkpoint file '{location}': {message}")]
    CorruptCheckpoint {
        location: crate::storage::CheckpointLocation,
        message: String,
    },

    /// An S3 request of checkpoint storage failed. The message names the object (its bucket
    /// and key), the endpoint, what went wrong and what to do about it.
    #[error("{action} '{location}' at S3 endpoint {endpoint}: {problem}")]
    S3 {
        action: &'static str,
        location: String,
        endpoint: String,
        problem: String,
    },

    /// The process's I/O runtime could not run a request.
    #[error("{0}")]
    IoRuntime(String),

    /// A store was handed a location of another kind: a bug, not a user's mistake.
    #[error("internal error: the {store} checkpoint store was handed '{location}'")]
    StoreMismatch {
        store: &'static str,
        location: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Lives here because core must not depend on the state crate. The state error is kept as
/// the source, so its own source (an encoder or decoder error) stays reachable.
impl From<Error> for flinkrs_core::Error {
    fn from(error: Error) -> Self {
        flinkrs_core::Error::State(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use flinkrs_core::KeyGroupRange;

    use crate::{KeyedStateBackend, KeyedStateSnapshot, StateSnapshot, ValueState};

    #[test]
    fn decode_failure_keeps_state_and_postcard_errors_as_sources() {
        let mut backend =
            KeyedStateBackend::<u64>::new(128, KeyGroupRange::for_operator(128, 1, 0));
        // An empty entry list is not even a length prefix: the decoder runs out of bytes.
        let corrupt = StateSnapshot {
            name: "count".to_owned(),
            value_type: std::any::type_name::<u64>().to_owned(),
            key_groups: [(3, Vec::new())].into_iter().collect(),
        };
        backend
            .restore(KeyedStateSnapshot::new(128, vec![corrupt]))
            .unwrap();
        let state_error = ValueState::<u64>::register(&mut backend, "count").unwrap_err();
        let error = flinkrs_core::Error::from(state_error);

        assert_eq!(
            error.to_string(),
            "state: cannot restore state 'count' (key group 3): Hit the end of buffer, expected \
             more data"
        );
        let source = error.source().expect("the state error is the source");
        let Some(super::Error::Decode {
            name, key_group, ..
        }) = source.downcast_ref::<super::Error>()
        else {
            panic!("source is not a decode error: {source:?}");
        };
        assert_eq!((name.as_str(), *key_group), ("count", 3));
        let cause = source.source().expect("the decoder's error is below it");
        assert_eq!(
            cause.downcast_ref::<postcard::Error>(),
            Some(&postcard::Error::DeserializeUnexpectedEnd)
        );
        assert!(cause.source().is_none());
    }

    #[test]
    fn state_message_without_a_cause_keeps_its_text() {
        let error = flinkrs_core::Error::state("datagen source state has 3 bytes");
        assert_eq!(error.to_string(), "state: datagen source state has 3 bytes");
    }
}
