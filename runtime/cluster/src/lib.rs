//! # flinkrs-cluster
//!
//! The top of the runtime's layering: the `flinkrs` command line and the processes it starts:
//! the in-process local cluster of `flinkrs run`, and the processes of a cluster — the
//! JobManager, TaskManagers, and `flinkrs local` with both in one process — which talk gRPC
//! on their control plane — and the client of a JobManager's REST API (`flinkrs run -m`,
//! `list`, `cancel`, `stop`, `savepoint`). It may depend on every other runtime crate; nothing
//! depends on it.

pub mod cli;
pub mod client;
pub mod config_file;
pub mod high_availability;
pub mod job_spec;
pub mod jobmanager;
pub mod logging;
pub mod process;
pub mod program;
pub mod prometheus;
pub mod rest;
pub mod rpc;
pub mod run;
pub mod sql_client;
pub mod sql_cluster;
pub mod stop;
pub mod taskmanager;
