//! # flinkrs-state
//!
//! Keyed state and its snapshots. Sits on `flinkrs-core` and below `flinkrs-dataflow`; it must
//! not depend on the dataflow, the API or any I/O crate.
//!
//! Keyed state is held per key in a [`KeyedStateBackend`]. A snapshot groups entries by key
//! group, so a snapshot taken at parallelism p can be restored by subtasks that own any other
//! contiguous ranges of key groups (rescaling).
//!
//! [`storage`] writes checkpoints to a filesystem in Flink's layout (`<root>/<job-id>/chk-<n>/`,
//! `_metadata` last) and reads them back, rejecting damaged files with the file named.

mod backend;
mod cow_map;
mod error;
mod handles;
mod snapshot;
pub mod storage;

pub use backend::{KeyData, KeyedStateBackend, StateData};
pub use cow_map::CowMap;
pub use error::{Error, Result};
pub use handles::{ListState, MapState, ReducingState, ValueState};
pub use snapshot::{FrozenState, KeyedStateSnapshot, StateSnapshot};

/// Hash map type used for state tables: fast, and not seeded per process since state never
/// leaves the process as a hash map.
pub type StateMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
