//! # flinkrs-state
//!
//! Keyed state, its snapshots, and checkpoint storage. Sits on `flinkrs-core` and below
//! `flinkrs-dataflow`; it must not depend on the dataflow, the API or the connectors.
//!
//! Keyed state is held per key in a [`KeyedStateBackend`]. A snapshot groups entries by key
//! group, so a snapshot taken at parallelism p can be restored by subtasks that own any other
//! contiguous ranges of key groups (rescaling).
//!
//! [`storage`] writes checkpoints in Flink's layout (`<root>/<job-id>/chk-<n>/`, `_metadata`
//! last) to a local filesystem or to S3 and reads them back, rejecting damaged files with the
//! file named. This is the lowest crate that does I/O: it holds the process's one tokio
//! runtime for I/O ([`io_runtime`]), and S3 goes through aws-sdk-s3 on it.

mod backend;
mod cow_map;
mod cow_vec;
mod error;
mod handles;
pub mod io_runtime;
mod snapshot;
pub mod storage;

pub use backend::{KeyData, KeyedStateBackend, StateData};
pub use cow_map::CowMap;
pub use cow_vec::{CowVec, FrozenVec};
pub use error::{Error, Result};
pub use handles::{ListState, MapState, ReducingState, ValueState};
pub use snapshot::{FrozenState, KeyedStateSnapshot, StateSnapshot};

/// Hash map type used for state tables: fast, and not seeded per process since state never
/// leaves the process as a hash map.
pub type StateMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
