//! The HTTP endpoints of a real running job, over loopback: Flink's REST API (`rest`) and
//! `/metrics` in Prometheus's format (`metrics`), and
//! both served by the `flinkrs run` process (`flinkrs_run`), and the `flinkrs savepoint` and
//! `flinkrs stop` commands against them (`cli`).

mod cli;
mod flinkrs_run;
mod metrics;
mod rest;
mod support;
