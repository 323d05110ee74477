//! The node's configuration files, as text. Each is the recipe's file with
//! this machine kind's constraints noted where they show.

use std::path::Path;

use super::layout::{
    CNI_BRIDGE, DNS_IP, NODE_IP, NODE_NAME, POD_CIDR, SERVICE_IP_KUBERNETES, cni_data_dir,
    containerd_root, containerd_socket, containerd_state, kubelet_root,
};

/// The image containerd runs as every pod's sandbox.
pub(crate) const PAUSE_IMAGE: &str = "docker.io/local/pause:1";

/// containerd with CRI, its own instance (not docker's).
pub(crate) fn containerd(cni_conf_dir: &Path) -> String {
    format!(
        r#"version = 2
root = "{root}"
state = "{state}"

[grpc]
  address = "{socket}"

[plugins]
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "{PAUSE_IMAGE}"
    # Root lacks CAP_SYS_RESOURCE on these machines, so a negative
    # oom_score_adj (every sandbox asks for -998) fails; clamp it instead.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "{cni}"
      max_conf_num = 1
  [plugins."io.containerd.internal.v1.opt"]
    path = "{root}/opt"
"#,
        root = containerd_root(),
        state = containerd_state(),
        socket = containerd_socket(),
        cni = cni_conf_dir.display(),
    )
}

/// A bridge network for the pods. The firewall plugin adds FORWARD accepts,
/// which pod-to-pod traffic needs once dockerd has set FORWARD's policy to DROP.
pub(crate) fn cni_conflist() -> String {
    format!(
        r#"{{
  "cniVersion": "1.0.0",
  "name": "flinkrs-node",
  "plugins": [
    {{
      "type": "bridge", "bridge": "{CNI_BRIDGE}", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": {{
        "type": "host-local",
        "ranges": [[{{"subnet": "{POD_CIDR}"}}]],
        "routes": [{{"dst": "0.0.0.0/0"}}],
        "dataDir": "{data}/networks"
      }}
    }},
    {{"type": "portmap", "capabilities": {{"portMappings": true}}}},
    {{"type": "firewall", "backend": "iptables"}}
  ]
}}
"#,
        data = cni_data_dir()
    )
}

/// The kubeconfig every component and the tests use: the admin token,
/// verified against the node's own CA.
pub(crate) fn kubeconfig(server_url: &str, ca: &Path, token: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: flinkrs-node
  cluster:
    server: {server_url}
    certificate-authority: {ca}
users:
- name: admin
  user:
    token: {token}
contexts:
- name: flinkrs-node
  context:
    cluster: flinkrs-node
    user: admin
    namespace: default
current-context: flinkrs-node
",
        ca = ca.display()
    )
}

/// The API server's certificate: valid for the addresses pods and the host use.
pub(crate) fn openssl_apiserver() -> String {
    format!(
        "[req]
distinguished_name = dn
prompt = no
[dn]
CN = kube-apiserver
[ext]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = IP:127.0.0.1, IP:{NODE_IP}, IP:{SERVICE_IP_KUBERNETES}, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
"
    )
}

/// kubelet: cgroupfs (no systemd), no image GC (nothing can be pulled again),
/// and oom_score_adj 0 (it cannot go negative here).
pub(crate) fn kubelet(healthz_port: u16) -> String {
    format!(
        r#"apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://{socket}
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
address: {NODE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: {healthz_port}
authentication:
  anonymous: {{enabled: true}}
  webhook: {{enabled: false}}
  x509: {{}}
authorization:
  mode: AlwaysAllow
clusterDomain: cluster.local
clusterDNS: [{DNS_IP}]
resolvConf: /etc/resolv.conf
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {{memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}}
serializeImagePulls: false
oomScoreAdj: 0
podLogsDir: {root}/pod-logs
"#,
        socket = containerd_socket(),
        root = kubelet_root(),
    )
}

/// kube-proxy in iptables mode, on loopback ports, leaving conntrack and
/// route_localnet sysctls alone.
pub(crate) fn kube_proxy(kubeconfig: &Path, healthz_port: u16, metrics_port: u16) -> String {
    format!(
        r#"apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection: {{kubeconfig: {kubeconfig}}}
clusterCIDR: {POD_CIDR}
hostnameOverride: {NODE_NAME}
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:{healthz_port}
metricsBindAddress: 127.0.0.1:{metrics_port}
conntrack: {{maxPerCore: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}}
iptables: {{localhostNodePorts: false}}
oomScoreAdj: 0
"#,
        kubeconfig = kubeconfig.display()
    )
}

/// CoreDNS for cluster.local only: no `forward`, so nothing leaves the machine.
/// `endpoint_pod_names` names a headless Service's endpoints after their pods
/// (`POD.SERVICE.NAMESPACE.svc`), as some clusters do, so that a pod whose host
/// name is that FQDN (`subdomain` + `setHostnameAsFQDN`) is found by it.
pub(crate) fn corefile(kubeconfig: &Path) -> String {
    format!(
        ".:53 {{
    bind {DNS_IP}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} flinkrs-node
        pods insecure
        endpoint_pod_names
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 5
}}
",
        kubeconfig = kubeconfig.display()
    )
}
