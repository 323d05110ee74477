//! # flinkrs-contract
//!
//! What the runtime and the operator share (architecture decision 13), in one small crate both
//! depend on, so neither can drift from the other:
//!
//! - [`rest`]: the types of Flink's REST API, with Flink's JSON field names (`jid`,
//!   `start-time`, `request-id`, …). The runtime's JobManager serves them; the operator reads
//!   them. A test checks them field by field against responses recorded from Flink 2.3.
//! - [`config`]: the registry of configuration keys, with Flink's names, their value types,
//!   defaults and the older names Flink still accepts. The runtime's `Configuration` validates
//!   against it; the operator writes these keys into the pods' `config.yaml`.
//! - [`cli`]: the command line the pods run (`flinkrs jobmanager …`, `flinkrs taskmanager …`,
//!   `flinkrs local …`). The operator builds it; the `flinkrs` binary parses it with the same
//!   clap definitions.
//!
//! It sits beside `flinkrs-core`, below everything else, and depends only on serde, serde_json
//! and clap: no tokio, no kube, no runtime crate.

pub mod cli;
pub mod config;
pub mod rest;
