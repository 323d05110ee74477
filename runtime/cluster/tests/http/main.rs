//! The HTTP endpoints of a real running job, over loopback: Flink's REST API (`rest`) and
//! `/metrics` in Prometheus's format (`metrics`).

mod metrics;
mod rest;
mod support;
