//! Every integration test of `flinkrs-connectors`, one module per file, in one test binary: linked
//! once instead of once per file, which keeps a cold build's time and disk down.
//! `cargo test -p flinkrs-connectors --test suite <module>::` runs one file's tests.

#![expect(
    clippy::duplicate_mod,
    reason = "each test module declares the shared helpers it uses, as it did as a binary of its own"
)]
#[path = "arrow_pipeline.rs"]
mod arrow_pipeline;
#[path = "arrow_restore.rs"]
mod arrow_restore;
#[path = "file_sink.rs"]
mod file_sink;
#[path = "rescale.rs"]
mod rescale;
#[path = "restore.rs"]
mod restore;
#[path = "s3_checkpoints.rs"]
mod s3_checkpoints;
#[path = "s3_file_sink.rs"]
mod s3_file_sink;
#[path = "s3_rescale.rs"]
mod s3_rescale;
#[path = "savepoint.rs"]
mod savepoint;
#[path = "timers_restore.rs"]
mod timers_restore;
