//! A real single-node Kubernetes on this machine, so that pods run: etcd,
//! kube-apiserver (ServiceAccount admission on, so pods get tokens),
//! kube-controller-manager, kube-scheduler, containerd (its own instance) with
//! runc and the bridge CNI plugins, kubelet, kube-proxy (iptables mode) and
//! CoreDNS. Images are built locally ([`KubeNode::build_image`]) and loaded
//! into the node's containerd; nothing is pulled.
//!
//! The node is machine-wide (fixed addresses on `lo`, kubelet's port, iptables
//! chains), so one runs at a time: a lock file makes parallel tests wait. It
//! needs root; without root, or without the binaries `make testbed` installs,
//! a test skips with one line (CI: fails). Dropping the node deletes its pods,
//! stops every process and puts the machine back as it was: iptables, the
//! `cni0` bridge, the addresses on `lo`, the sysctls (`ip_forward` among them),
//! mounts, cgroups and directories ([`host`]).

mod config;
mod host;
mod images;
pub mod layout;
mod lock;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Node, Pod, ServiceAccount};
use kube::Api;
use kube::api::{DeleteParams, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::install::{
    COREDNS, DEBIAN_BASE, ETCD, Installed, KUBE_APISERVER, KUBE_CONTROLLER_MANAGER, KUBE_PROXY,
    KUBE_SCHEDULER, KUBELET, PAUSE, cache_root,
};
use crate::ports::free_loopback_port;
use crate::process::{ManagedProcess, ProcessSet};
use crate::readiness::wait_until_ready;
use crate::{ADMIN_TOKEN, Error, Result, error::io_at, skip::or_skip};

pub use images::base_image_tag;
use layout::{DNS_IP, NODE_IP, NODE_NAME, RUN_DIR, SERVICE_CIDR, VAR_DIR, containerd_socket};

/// The busybox test image every node has: `/bin/busybox` and nothing else.
pub const BUSYBOX_IMAGE: &str = "local/busybox:1";
const PAUSE_TAG: &str = "local/pause:1";

const ETCD_READY_DEADLINE: Duration = Duration::from_secs(30);
const APISERVER_READY_DEADLINE: Duration = Duration::from_secs(120);
const CONTAINERD_READY_DEADLINE: Duration = Duration::from_secs(30);
const DOCKERD_READY_DEADLINE: Duration = Duration::from_secs(60);
const NODE_READY_DEADLINE: Duration = Duration::from_secs(120);
const CONTROLLERS_READY_DEADLINE: Duration = Duration::from_secs(90);
/// How long teardown waits for kubelet to stop the pods (CNI DEL, unmounts).
const POD_DELETION_DEADLINE: Duration = Duration::from_secs(60);

/// Debian packages the node runs, with the file that proves each is installed.
const SYSTEM_BINARIES: &[(&str, &str)] = &[
    ("containerd", "/usr/bin/containerd"),
    ("containerd", "/usr/bin/ctr"),
    ("runc", "/usr/sbin/runc"),
    ("containernetworking-plugins", "/usr/lib/cni/bridge"),
    ("docker.io", "/usr/sbin/dockerd"),
    ("docker.io", "/usr/bin/docker"),
    ("busybox-static", "/bin/busybox"),
    ("iptables", "/usr/sbin/iptables"),
    ("nftables", "/usr/sbin/nft"),
];

/// A running single-node cluster. See the module documentation.
pub struct KubeNode {
    processes: ProcessSet,
    config: kube::Config,
    kubeconfig: PathBuf,
    server_url: String,
    kube_proxy: PathBuf,
    snapshot: host::HostSnapshot,
    dir: Option<tempfile::TempDir>,
    _lock: lock::NodeLock,
}

/// Every binary the node runs, located before anything starts.
struct Binaries {
    etcd: PathBuf,
    apiserver: PathBuf,
    controller_manager: PathBuf,
    scheduler: PathBuf,
    kubelet: PathBuf,
    kube_proxy: PathBuf,
    coredns: PathBuf,
    pause: PathBuf,
    debian_base: PathBuf,
}

impl Binaries {
    fn locate() -> Result<Binaries> {
        for (package, path) in SYSTEM_BINARIES {
            if !Path::new(path).exists() {
                return Err(Error::NotInstalled {
                    component: format!("{package} (Debian package)"),
                    path: PathBuf::from(path),
                });
            }
        }
        let locate = |installed: Installed| installed.locate();
        Ok(Binaries {
            etcd: locate(ETCD)?,
            apiserver: locate(KUBE_APISERVER)?,
            controller_manager: locate(KUBE_CONTROLLER_MANAGER)?,
            scheduler: locate(KUBE_SCHEDULER)?,
            kubelet: locate(KUBELET)?,
            kube_proxy: locate(KUBE_PROXY)?,
            coredns: locate(COREDNS)?,
            pause: locate(PAUSE)?,
            debian_base: locate(DEBIAN_BASE)?,
        })
    }
}

impl KubeNode {
    /// Starts the node and waits until it is Ready, or returns `None` (CI:
    /// panics) when not root or a binary is missing. Panics, with the logs,
    /// if an installed component fails.
    pub async fn start(test_name: &str) -> Option<KubeNode> {
        or_skip(test_name, Self::try_start(test_name).await)
    }

    /// Like [`start`](Self::start), but returns every problem as an error.
    pub async fn try_start(test_name: &str) -> Result<KubeNode> {
        let uid = current_uid();
        if uid != "0" {
            return Err(Error::NotRoot {
                component: "the real Kubernetes node".into(),
                uid,
            });
        }
        let binaries = Binaries::locate()?;
        let cache = cache_root();
        let name = test_name.to_owned();
        let lock = tokio::task::spawn_blocking(move || lock::NodeLock::acquire(&cache, &name))
            .await
            .map_err(|join| Error::Command {
                command: "lock the real node".into(),
                detail: join.to_string(),
            })??;
        kill_stale_processes();
        host::sweep();
        let snapshot = host::HostSnapshot::take();
        let dir = tempfile::Builder::new()
            .prefix("flinkrs-kube-node-")
            .tempdir()
            .map_err(io_at(std::env::temp_dir()))?;
        let mut node = KubeNode {
            processes: ProcessSet::new(test_name),
            config: kube::Config::new("https://127.0.0.1".parse().expect("a constant URL")),
            kubeconfig: dir.path().join("kubeconfig"),
            server_url: String::new(),
            kube_proxy: binaries.kube_proxy.clone(),
            snapshot,
            dir: Some(dir),
            _lock: lock,
        };
        // From here on, a failure drops `node`, which tears down what started.
        node.boot(&binaries).await?;
        Ok(node)
    }

    async fn boot(&mut self, binaries: &Binaries) -> Result<()> {
        let root = self.root().to_owned();
        for address in [NODE_IP, DNS_IP] {
            command_ok(
                "ip",
                &["addr", "add", &format!("{address}/32"), "dev", "lo"],
            )?;
        }
        for dir in [VAR_DIR, RUN_DIR] {
            std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        }
        let pki = write_pki(&root)?;

        let etcd_url = self.start_etcd(&binaries.etcd, &root).await?;
        self.spawn("dockerd", images::dockerd_command())?;
        self.start_containerd(&root).await?;
        self.start_apiserver(&binaries.apiserver, &root, &pki, &etcd_url)
            .await?;
        self.start_controllers(binaries, &root, &pki)?;
        self.wait_for_dockerd().await?;
        self.prepare_images(binaries, &root)?;

        let corefile = root.join("Corefile");
        write(&corefile, &config::corefile(&self.kubeconfig))?;
        let mut coredns = Command::new(&binaries.coredns);
        coredns.arg("-conf").arg(&corefile);
        self.spawn("coredns", coredns)?;

        let kubelet_config = root.join("kubelet-config.yaml");
        write(&kubelet_config, &config::kubelet(free_loopback_port()?))?;
        let kubelet_root = layout::kubelet_root();
        let mut kubelet = Command::new(&binaries.kubelet);
        kubelet
            .arg(format!("--config={}", kubelet_config.display()))
            .arg(format!("--kubeconfig={}", self.kubeconfig.display()))
            .arg(format!("--hostname-override={NODE_NAME}"))
            .arg(format!("--node-ip={NODE_IP}"))
            .arg(format!("--root-dir={kubelet_root}"))
            .arg(format!("--cert-dir={kubelet_root}/pki"));
        self.spawn("kubelet", kubelet)?;

        let proxy_config = root.join("kube-proxy-config.yaml");
        let text = config::kube_proxy(
            &self.kubeconfig,
            free_loopback_port()?,
            free_loopback_port()?,
        );
        write(&proxy_config, &text)?;
        let mut proxy = Command::new(&binaries.kube_proxy);
        proxy.arg(format!("--config={}", proxy_config.display()));
        self.spawn("kube-proxy", proxy)?;

        self.wait_until_node_ready().await
    }

    /// The node's working directory (configuration, PKI, etcd data, logs).
    fn root(&self) -> &Path {
        self.dir
            .as_ref()
            .map(|dir| dir.path())
            .expect("the directory lives as long as the node")
    }

    fn spawn(&mut self, component: &str, command: Command) -> Result<&mut ManagedProcess> {
        let process = ManagedProcess::spawn(component, command, self.root())?;
        remember_pid(process.pid());
        Ok(self.processes.push(process))
    }

    async fn start_etcd(&mut self, etcd: &Path, root: &Path) -> Result<String> {
        let client_url = format!("http://127.0.0.1:{}", free_loopback_port()?);
        let peer_url = format!("http://127.0.0.1:{}", free_loopback_port()?);
        let mut command = Command::new(etcd);
        command
            .arg("--name=flinkrs-node")
            .arg(format!("--data-dir={}", root.join("etcd").display()))
            .arg(format!("--listen-client-urls={client_url}"))
            .arg(format!("--advertise-client-urls={client_url}"))
            .arg(format!("--listen-peer-urls={peer_url}"))
            .arg(format!("--initial-advertise-peer-urls={peer_url}"))
            .arg(format!("--initial-cluster=flinkrs-node={peer_url}"))
            .arg("--unsafe-no-fsync");
        let process = self.spawn("etcd", command)?;
        let health = format!("{client_url}/health");
        wait_until_ready(process, ETCD_READY_DEADLINE, || async {
            let response = crate::http_client::get(&health).await?;
            Ok(response.body.contains("\"health\":\"true\"").then_some(()))
        })
        .await?;
        Ok(client_url)
    }

    async fn start_containerd(&mut self, root: &Path) -> Result<()> {
        let cni_dir = root.join("cni");
        std::fs::create_dir_all(&cni_dir).map_err(io_at(&cni_dir))?;
        // Written whole before containerd watches the directory: it reloads
        // on every write and complains about a half-written file.
        write(
            &cni_dir.join("10-flinkrs-node.conflist"),
            &config::cni_conflist(),
        )?;
        let config_file = root.join("containerd.toml");
        write(&config_file, &config::containerd(&cni_dir))?;
        let mut command = Command::new("containerd");
        command.arg("--config").arg(&config_file);
        let process = self.spawn("containerd", command)?;
        wait_until_ready(process, CONTAINERD_READY_DEADLINE, || async {
            Ok(ctr(&["version"]).is_ok().then_some(()))
        })
        .await
    }

    async fn start_apiserver(
        &mut self,
        apiserver: &Path,
        root: &Path,
        pki: &Pki,
        etcd_url: &str,
    ) -> Result<()> {
        let port = free_loopback_port()?;
        self.server_url = format!("https://{NODE_IP}:{port}");
        write(
            &self.kubeconfig,
            &config::kubeconfig(&self.server_url, &pki.ca, ADMIN_TOKEN),
        )?;
        let tokens = root.join("tokens.csv");
        write(
            &tokens,
            &format!("{ADMIN_TOKEN},admin,admin-uid,\"system:masters\"\n"),
        )?;
        let mut command = Command::new(apiserver);
        command
            .arg(format!("--etcd-servers={etcd_url}"))
            .arg(format!("--bind-address={NODE_IP}"))
            .arg(format!("--advertise-address={NODE_IP}"))
            .arg(format!("--secure-port={port}"))
            .arg(format!("--tls-cert-file={}", pki.apiserver_cert.display()))
            .arg(format!(
                "--tls-private-key-file={}",
                pki.apiserver_key.display()
            ))
            .arg(format!("--client-ca-file={}", pki.ca.display()))
            .arg(format!("--service-cluster-ip-range={SERVICE_CIDR}"))
            .arg("--service-account-issuer=https://kubernetes.default.svc")
            .arg(format!(
                "--service-account-key-file={}",
                pki.sa_key.display()
            ))
            .arg(format!(
                "--service-account-signing-key-file={}",
                pki.sa_key.display()
            ))
            .arg(format!("--token-auth-file={}", tokens.display()))
            .arg("--authorization-mode=RBAC")
            .arg("--allow-privileged=true")
            // Otherwise exec and logs resolve the node's name through the
            // machine's resolver, which does not know it.
            .arg("--kubelet-preferred-address-types=InternalIP");
        let kubeconfig = self.kubeconfig.clone();
        let process = self.spawn("kube-apiserver", command)?;
        self.config = wait_until_ready(process, APISERVER_READY_DEADLINE, || {
            apiserver_ready(&kubeconfig)
        })
        .await?;
        Ok(())
    }

    /// kube-controller-manager and kube-scheduler, without leader election
    /// (one of each; no lease to wait for).
    fn start_controllers(&mut self, binaries: &Binaries, root: &Path, pki: &Pki) -> Result<()> {
        let kubeconfig = self.kubeconfig.display().to_string();
        let common = |binary: &Path| -> Result<Command> {
            let mut command = Command::new(binary);
            command
                .arg(format!("--kubeconfig={kubeconfig}"))
                .arg(format!("--authentication-kubeconfig={kubeconfig}"))
                .arg(format!("--authorization-kubeconfig={kubeconfig}"))
                .arg("--bind-address=127.0.0.1")
                .arg(format!("--secure-port={}", free_loopback_port()?))
                .arg("--leader-elect=false");
            Ok(command)
        };
        let mut controller_manager = common(&binaries.controller_manager)?;
        controller_manager
            .arg(format!("--cert-dir={}", root.join("kcm-certs").display()))
            .arg(format!(
                "--service-account-private-key-file={}",
                pki.sa_key.display()
            ))
            .arg(format!("--root-ca-file={}", pki.ca.display()));
        self.spawn("kube-controller-manager", controller_manager)?;
        let mut scheduler = common(&binaries.scheduler)?;
        scheduler.arg(format!(
            "--cert-dir={}",
            root.join("scheduler-certs").display()
        ));
        self.spawn("kube-scheduler", scheduler)?;
        Ok(())
    }

    async fn wait_for_dockerd(&mut self) -> Result<()> {
        let process = self
            .processes
            .find("dockerd")
            .expect("dockerd was started first");
        wait_until_ready(process, DOCKERD_READY_DEADLINE, || async {
            Ok(images::docker_answers().then_some(()))
        })
        .await
    }

    /// The base image in dockerd; pause and busybox in containerd.
    fn prepare_images(&self, binaries: &Binaries, root: &Path) -> Result<()> {
        let work = root.join("images");
        std::fs::create_dir_all(&work).map_err(io_at(&work))?;
        images::ensure_base_image(&binaries.debian_base)?;
        images::build_single_binary_image(
            &work,
            PAUSE_TAG,
            &binaries.pause,
            "USER 65535:65535\nENTRYPOINT [\"/pause\"]",
        )?;
        images::build_single_binary_image(
            &work,
            BUSYBOX_IMAGE,
            Path::new("/bin/busybox"),
            "CMD [\"/busybox\", \"sh\"]",
        )?;
        images::load_into_containerd(&work, PAUSE_TAG)?;
        images::load_into_containerd(&work, BUSYBOX_IMAGE)
    }

    async fn wait_until_node_ready(&mut self) -> Result<()> {
        let client = self.client().await;
        let nodes: Api<Node> = Api::all(client.clone());
        let accounts: Api<ServiceAccount> = Api::namespaced(client, "default");
        let process = self.processes.find("kubelet").expect("kubelet was started");
        wait_until_ready(process, NODE_READY_DEADLINE, || async {
            let node = nodes.get_opt(NODE_NAME).await?;
            let ready = node
                .and_then(|node| node.status)
                .and_then(|status| status.conditions)
                .is_some_and(|conditions| {
                    conditions
                        .iter()
                        .any(|condition| condition.type_ == "Ready" && condition.status == "True")
                });
            Ok(ready.then_some(()))
        })
        .await?;
        // Pods need the namespace's default ServiceAccount (admission checks).
        let process = self
            .processes
            .find("kube-controller-manager")
            .expect("kube-controller-manager was started");
        wait_until_ready(process, CONTROLLERS_READY_DEADLINE, || async {
            Ok(accounts.get_opt("default").await?.map(|_| ()))
        })
        .await
    }

    /// A client authenticated as `admin` (`system:masters`).
    pub async fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config.clone())
            .expect("the kubeconfig worked when the node started")
    }

    /// A kubeconfig file for kubectl and helm (`--kubeconfig`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://10.250.0.1:<port>`.
    pub fn server_url(&self) -> String {
        self.server_url.clone()
    }

    /// The node's address, where pods reach servers the test runs on the host.
    pub fn node_ip(&self) -> &'static str {
        NODE_IP
    }

    /// Builds an image with the node's dockerd from `dockerfile` and `context`
    /// (`docker build --build-arg K=V --target T`), and loads it into the
    /// node's containerd, so that pods with `imagePullPolicy: Never` run it.
    /// The local Debian base image is [`base_image_tag`].
    pub fn build_image(
        &self,
        tag: &str,
        dockerfile: &Path,
        context: &Path,
        build_args: &[(&str, &str)],
        target: Option<&str>,
    ) -> Result<()> {
        let dockerfile_text = dockerfile.display().to_string();
        let context_text = context.display().to_string();
        let mut args = vec![
            "build".to_owned(),
            "--network=none".to_owned(),
            "--quiet".to_owned(),
            "-f".to_owned(),
            dockerfile_text,
            "-t".to_owned(),
            tag.to_owned(),
        ];
        for (key, value) in build_args {
            args.push("--build-arg".to_owned());
            args.push(format!("{key}={value}"));
        }
        if let Some(target) = target {
            args.push("--target".to_owned());
            args.push(target.to_owned());
        }
        args.push(context_text);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        images::docker(&args)?;
        let work = self.root().join("images");
        images::load_into_containerd(&work, tag)
    }

    /// Process ids (group leaders), to check that nothing outlives a test.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.pids()
    }

    /// Deletes every pod through the API, so kubelet stops each sandbox (CNI
    /// DEL frees the IP, the veth and the firewall rules) and unmounts its
    /// volumes. Controllers are stopped first, so nothing recreates them.
    fn delete_all_pods(&self) {
        let config = self.config.clone();
        let outcome = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async move {
                let client = kube::Client::try_from(config).map_err(|error| error.to_string())?;
                let pods: Api<Pod> = Api::all(client.clone());
                let started = Instant::now();
                let mut deleted = BTreeMap::new();
                loop {
                    let listed = pods
                        .list(&ListParams::default())
                        .await
                        .map_err(|error| error.to_string())?;
                    if listed.items.is_empty() {
                        return Ok(());
                    }
                    if started.elapsed() > POD_DELETION_DEADLINE {
                        return Err(format!(
                            "{} pod(s) still there after {POD_DELETION_DEADLINE:?}",
                            listed.items.len()
                        ));
                    }
                    for pod in listed.items {
                        let namespace = pod.metadata.namespace.unwrap_or_default();
                        let name = pod.metadata.name.unwrap_or_default();
                        if deleted.insert(format!("{namespace}/{name}"), ()).is_none() {
                            let api: Api<Pod> = Api::namespaced(client.clone(), &namespace);
                            let params = DeleteParams {
                                grace_period_seconds: Some(1),
                                ..DeleteParams::default()
                            };
                            let _ = api.delete(&name, &params).await;
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            })
        })
        .join();
        if let Ok(Err(problem)) | Err(problem) = outcome.map_err(|_| "panicked".to_owned()) {
            eprintln_real(&format!(
                "kube-node teardown: deleting pods: {problem}; sweeping instead"
            ));
        }
    }
}

impl Drop for KubeNode {
    fn drop(&mut self) {
        self.processes.print_log_tails_if_panicking();
        if std::thread::panicking() {
            // Keep the configuration and logs of a failed test for a look.
            if let Some(dir) = self.dir.take() {
                eprintln_real(&format!("kube-node files kept in {}", dir.keep().display()));
            }
        }
        self.processes.stop_component("kube-controller-manager");
        self.processes.stop_component("kube-scheduler");
        if self.processes.find("kubelet").is_some() && !self.server_url.is_empty() {
            self.delete_all_pods();
        }
        self.processes.stop_component("kube-proxy");
        // Flushes the KUBE-* service chains in every mode.
        let _ = Command::new(&self.kube_proxy)
            .arg("--cleanup")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        self.processes.stop_component("kubelet");
        kill_containers();
        self.processes.stop_all();
        kill_stale_processes();
        self.snapshot.restore();
        forget_pids();
    }
}

/// The certificates and keys of the node's own CA.
struct Pki {
    ca: PathBuf,
    apiserver_cert: PathBuf,
    apiserver_key: PathBuf,
    sa_key: PathBuf,
}

fn write_pki(root: &Path) -> Result<Pki> {
    let dir = root.join("pki");
    std::fs::create_dir_all(&dir).map_err(io_at(&dir))?;
    let path = |name: &str| dir.join(name).display().to_string();
    let cnf = dir.join("openssl.cnf");
    write(&cnf, &config::openssl_apiserver())?;
    let (ca, ca_key) = (path("ca.crt"), path("ca.key"));
    let (cert, key, csr) = (
        path("apiserver.crt"),
        path("apiserver.key"),
        path("apiserver.csr"),
    );
    let cnf = cnf.display().to_string();
    command_ok(
        "openssl",
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &ca_key,
            "-out",
            &ca,
            "-days",
            "30",
            "-subj",
            "/CN=flinkrs-node-ca",
        ],
    )?;
    command_ok(
        "openssl",
        &[
            "req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-config", &cnf,
        ],
    )?;
    command_ok(
        "openssl",
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "30",
            "-extfile",
            &cnf,
            "-extensions",
            "ext",
        ],
    )?;
    let sa_key = path("sa.key");
    command_ok("openssl", &["genrsa", "-out", &sa_key, "2048"])?;
    Ok(Pki {
        ca: PathBuf::from(ca),
        apiserver_cert: PathBuf::from(cert),
        apiserver_key: PathBuf::from(key),
        sa_key: PathBuf::from(sa_key),
    })
}

async fn apiserver_ready(kubeconfig: &Path) -> Result<Option<kube::Config>> {
    let parsed = Kubeconfig::read_from(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default()).await?;
    let client = kube::Client::try_from(config.clone())?;
    let request = http::Request::get("/readyz")
        .body(Vec::new())
        .expect("a constant request is valid");
    let body = client.request_text(request).await?;
    Ok((body.trim() == "ok").then_some(config))
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(io_at(path))
}

fn command_ok(program: &str, args: &[&str]) -> Result<String> {
    let mut command = Command::new(program);
    command.args(args);
    images::run(command, &format!("{program} {}", args.join(" ")))
}

fn ctr(args: &[&str]) -> Result<String> {
    let socket = containerd_socket();
    let mut all = vec!["--address", socket.as_str(), "--namespace", "k8s.io"];
    all.extend_from_slice(args);
    command_ok("ctr", &all)
}

/// Kills whatever containers are left (pods the API could not delete), so
/// their shims exit and their mounts go.
fn kill_containers() {
    let Ok(tasks) = ctr(&["tasks", "list", "--quiet"]) else {
        return;
    };
    for task in tasks.lines().map(str::trim).filter(|task| !task.is_empty()) {
        let _ = ctr(&["tasks", "kill", "--signal", "SIGKILL", task]);
        let deadline = Instant::now() + Duration::from_secs(5);
        while ctr(&["tasks", "delete", task]).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn current_uid() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().next().map(str::to_owned))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Where the node records its process groups, so a later run can end them
/// if this one is killed before its drop runs.
fn pids_file() -> PathBuf {
    cache_root().join("kube-node.pids")
}

fn remember_pid(pid: u32) {
    let path = pids_file();
    let mut text = std::fs::read_to_string(&path).unwrap_or_default();
    text.push_str(&format!("{pid}\n"));
    let _ = std::fs::write(&path, text);
}

fn forget_pids() {
    let _ = std::fs::remove_file(pids_file());
}

/// Ends what an earlier node left running: the process groups it recorded
/// (only if they still run a node command line, since pids get reused), and
/// containerd shims of the node's containerd.
fn kill_stale_processes() {
    let recorded = std::fs::read_to_string(pids_file()).unwrap_or_default();
    let ours = |pid: &str| {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|cmdline| {
                let text = String::from_utf8_lossy(&cmdline);
                text.contains("flinkrs-kube-node")
            })
            .unwrap_or(false)
    };
    for pid in recorded
        .lines()
        .map(str::trim)
        .filter(|pid| !pid.is_empty())
    {
        if ours(pid) {
            host::run_quietly("kill", &["-KILL", "--", &format!("-{pid}")]);
        }
    }
    // Shims daemonize away from containerd's group; their command line names
    // the node's containerd socket.
    let socket = containerd_socket();
    let docker_socket_dir = layout::docker_exec_root();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.filter_map(|entry| entry.ok()) {
            let pid = entry.file_name().to_string_lossy().into_owned();
            if !pid.bytes().all(|byte| byte.is_ascii_digit()) {
                continue;
            }
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let text = String::from_utf8_lossy(&cmdline);
            let shim = text.starts_with("/usr/bin/containerd-shim");
            if shim && (text.contains(&socket) || text.contains(&docker_socket_dir)) {
                host::run_quietly("kill", &["-KILL", &pid]);
            }
        }
    }
    // Give the kernel a moment to reap before mounts are swept; bounded.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && host::output_of("pgrep", &["-f", &socket]).is_some() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn eprintln_real(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
