//! # flinkrs-cluster
//!
//! The top of the runtime's layering: the `flinkrs` command line and the processes it starts.
//! Today that is the in-process local cluster (`flinkrs run`), which places every subtask into
//! the slots of in-process TaskManagers. It may depend on every other runtime crate; nothing
//! depends on it.

pub mod cli;
pub mod logging;
pub mod process;
pub mod prometheus;
pub mod rest;
pub mod run;
pub mod stop;
