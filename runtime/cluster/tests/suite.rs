//! Every integration test of `flinkrs-cluster`, one module per file, in one test binary: linked
//! once instead of once per file, which keeps a cold build's time and disk down.
//! `cargo test -p flinkrs-cluster --test suite <module>::` runs one file's tests.

#![expect(
    clippy::duplicate_mod,
    reason = "each test module declares the shared helpers it uses, as it did as a binary of its own"
)]
#[path = "cli.rs"]
mod cli;
#[path = "client.rs"]
mod client;
#[path = "cluster_checkpoints.rs"]
mod cluster_checkpoints;
#[path = "cluster_job.rs"]
mod cluster_job;
#[path = "cluster_metrics.rs"]
mod cluster_metrics;
#[path = "control_plane.rs"]
mod control_plane;
#[path = "high_availability.rs"]
mod high_availability;
#[path = "http/main.rs"]
mod http;
#[path = "output.rs"]
mod output;
#[path = "processes.rs"]
mod processes;
#[path = "program.rs"]
mod program;
#[path = "prometheus_cluster.rs"]
mod prometheus_cluster;
#[path = "sql_client.rs"]
mod sql_client;
#[path = "sql_job.rs"]
mod sql_job;
#[path = "sql_select.rs"]
mod sql_select;
#[path = "stop.rs"]
mod stop;
#[path = "web_ui.rs"]
mod web_ui;
