//! Errors of the state crate.

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
