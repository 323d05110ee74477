//! The real node's fixed names: addresses, networks and directories. Fixed,
//! not per-test, because a node is machine-wide (one at a time, see the lock
//! in [`super::lock`]) and because fixed names let a later run clean up after
//! a run that was killed.

/// The node's InternalIP, on `lo` (this kernel has no dummy interface). kubelet
/// and kube-apiserver listen here; pods reach the host's servers (S3 in the
/// tests) at this address.
pub const NODE_IP: &str = "10.250.0.1";
/// Cluster DNS (CoreDNS), also on `lo`.
pub const DNS_IP: &str = "10.250.0.10";
/// Pod IPs, on the `cni0` bridge.
pub(crate) const POD_CIDR: &str = "10.244.0.0/24";
/// ClusterIPs; `kubernetes.default` is the first one.
pub(crate) const SERVICE_CIDR: &str = "10.0.0.0/24";
pub(crate) const SERVICE_IP_KUBERNETES: &str = "10.0.0.1";
pub(crate) const CNI_BRIDGE: &str = "cni0";
/// The Node object's name.
pub const NODE_NAME: &str = "flinkrs-node";

/// Directories only the node uses; removed on teardown.
pub(crate) const VAR_DIR: &str = "/var/lib/flinkrs-kube-node";
pub(crate) const RUN_DIR: &str = "/run/flinkrs-kube-node";
pub(crate) const PRIVATE_DIRS: &[&str] = &[VAR_DIR, RUN_DIR];

/// Directories the node's components create by convention, shared with any
/// other user; removed on teardown only if they did not exist before.
pub(crate) const SHARED_DIRS: &[&str] = &[
    "/run/netns",
    "/var/lib/cni",
    "/var/log/containers",
    "/var/log/pods",
];

pub(crate) fn containerd_root() -> String {
    format!("{VAR_DIR}/containerd")
}
pub(crate) fn containerd_state() -> String {
    format!("{RUN_DIR}/containerd")
}
pub(crate) fn containerd_socket() -> String {
    format!("{RUN_DIR}/containerd/containerd.sock")
}
pub(crate) fn kubelet_root() -> String {
    format!("{VAR_DIR}/kubelet")
}
pub(crate) fn cni_data_dir() -> String {
    format!("{VAR_DIR}/cni")
}
pub(crate) fn docker_exec_root() -> String {
    format!("{RUN_DIR}/docker")
}
pub(crate) fn docker_socket() -> String {
    format!("{RUN_DIR}/docker.sock")
}
