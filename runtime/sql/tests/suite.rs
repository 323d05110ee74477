//! Every integration test of `flinkrs-sql`, one module per file, in one test binary: linked
//! once instead of once per file, which keeps a cold build's time and disk down.
//! `cargo test -p flinkrs-sql --test suite <module>::` runs one file's tests.

#![expect(
    clippy::duplicate_mod,
    reason = "each test module declares the shared helpers it uses, as it did as a binary of its own"
)]
#[path = "client.rs"]
mod client;
#[path = "differential.rs"]
mod differential;
#[path = "errors.rs"]
mod errors;
#[path = "insert.rs"]
mod insert;
#[path = "joins.rs"]
mod joins;
#[path = "json.rs"]
mod json;
#[path = "kafka.rs"]
mod kafka;
#[path = "kafka_watermarks.rs"]
mod kafka_watermarks;
#[path = "nexmark.rs"]
mod nexmark;
#[path = "over.rs"]
mod over;
#[path = "partitions.rs"]
mod partitions;
#[path = "proctime.rs"]
mod proctime;
#[path = "sort.rs"]
mod sort;
#[path = "upsert_kafka.rs"]
mod upsert_kafka;
#[path = "windows.rs"]
mod windows;
