//! Test support: starts real components (S3 servers, a Kafka broker, etcd with kube-apiserver
//! and kube-controller-manager, Prometheus) on free loopback ports, a real
//! single-node Kubernetes whose pods run ([`KubeNode`], root only), and finds
//! kubectl and helm, and a headless browser for the web UI ([`Browser`]).
//!
//! Where it sits: a dev-dependency of every crate whose integration tests need
//! a real server; nothing in the runtime or the operator depends on it. The
//! binaries come from `make testbed` (`e2e/testbed/install/`), cached under
//! `~/.cache/flinkrs/<component>-<version>/`, with every version read from
//! `install/versions.env`, the one source of truth for both.
//!
//! A missing component makes `start` return `None` after one loud `SKIPPED`
//! line, except in CI (`CI=true`), where it panics: CI must never pass on
//! skipped tests. A component that is installed but fails to start always
//! panics, with the tail of its log.
//!
//! Every process is started in its own process group and the whole group is
//! killed on `Drop`, panics included, so no test leaves a server behind.

mod browser;
mod error;
pub mod http_client;
mod install;
mod kafka;
mod kube_control_plane;
mod kube_node;
mod ports;
mod process;
mod prometheus;
mod readiness;
mod s3;
mod skip;
mod tools;

pub use browser::{Browser, CHROMIUM, LAUNCH_ARGS};
pub use error::{Error, Result};
pub use install::pinned_version;
pub use kafka::KafkaBroker;
pub use kube_control_plane::{ADMIN_TOKEN, KubeControlPlane};
pub use kube_node::layout::{DNS_IP, NODE_IP, NODE_NAME};
pub use kube_node::{BUSYBOX_IMAGE, KubeNode, base_image_tag};
pub use prometheus::Prometheus;
pub use s3::S3Server;
pub use tools::{helm, kubectl};
