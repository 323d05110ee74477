//! etcd + kube-apiserver + kube-controller-manager on loopback, as envtest
//! runs them, with token authentication instead of client certificates.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::install::{ETCD, KUBE_APISERVER, KUBE_CONTROLLER_MANAGER};
use crate::ports::free_loopback_port;
use crate::process::{ManagedProcess, ProcessSet};
use crate::readiness::wait_until_ready;
use crate::{Error, Result, error::io_at, skip::or_skip};

/// Points the tests at an existing cluster (kind) instead of a local one.
const EXTERNAL_CLUSTER_VARIABLE: &str = "FLINKRS_E2E_KUBECONFIG";
/// The bearer token of the `admin` user, a member of `system:masters`.
pub const ADMIN_TOKEN: &str = "test-token";
/// kube-apiserver on 2 shared cores takes 10-30 s to serve /readyz.
const APISERVER_READY_DEADLINE: Duration = Duration::from_secs(120);
const ETCD_READY_DEADLINE: Duration = Duration::from_secs(30);
const CONTROLLER_MANAGER_READY_DEADLINE: Duration = Duration::from_secs(90);

/// A private Kubernetes control plane: its own etcd (own ports, own data dir),
/// kube-apiserver and kube-controller-manager (garbage collection, Deployments
/// and the other built-in controllers; no scheduler and no nodes, so pods stay
/// Pending).
pub struct KubeControlPlane {
    // Field order is drop order: processes stop before their files go.
    processes: ProcessSet,
    config: kube::Config,
    kubeconfig: PathBuf,
    server_url: String,
    _dir: tempfile::TempDir,
}

impl KubeControlPlane {
    /// Starts a control plane, or returns `None` (CI: panics) when a binary
    /// is not installed. Panics, with the logs, if an installed one fails.
    pub async fn start(test_name: &str) -> Option<KubeControlPlane> {
        or_skip(test_name, Self::try_start(test_name).await)
    }

    /// Like [`start`](Self::start), but returns every problem as an error.
    ///
    /// With `FLINKRS_E2E_KUBECONFIG` set (the kind tier, `e2e/kind/run.sh`)
    /// it starts nothing and connects to that cluster instead.
    pub async fn try_start(test_name: &str) -> Result<KubeControlPlane> {
        if let Some(kubeconfig) = std::env::var_os(EXTERNAL_CLUSTER_VARIABLE) {
            return Self::connect(test_name, PathBuf::from(kubeconfig)).await;
        }
        let etcd = ETCD.locate()?;
        let apiserver = KUBE_APISERVER.locate()?;
        let controller_manager = KUBE_CONTROLLER_MANAGER.locate()?;
        let dir = tempfile::Builder::new()
            .prefix("flinkrs-kube-")
            .tempdir()
            .map_err(io_at(std::env::temp_dir()))?;
        let root = dir.path().to_owned();
        let mut processes = ProcessSet::new(test_name);

        let etcd_url = start_etcd(&mut processes, &etcd, &root).await?;

        let files = write_auth_files(&root)?;
        let port = free_loopback_port()?;
        let server_url = format!("https://127.0.0.1:{port}");
        let process = processes.push(ManagedProcess::spawn(
            "kube-apiserver",
            apiserver_command(&apiserver, &root, &files, &etcd_url, port),
            &root,
        )?);
        let certificate = root.join("certs").join("apiserver.crt");
        let kubeconfig = root.join("kubeconfig");
        let config = wait_until_ready(process, APISERVER_READY_DEADLINE, || {
            apiserver_ready(&certificate, &kubeconfig, &server_url)
        })
        .await?;

        let process = processes.push(ManagedProcess::spawn(
            "kube-controller-manager",
            controller_manager_command(&controller_manager, &root, &kubeconfig, &files)?,
            &root,
        )?);
        let client = kube::Client::try_from(config.clone())?;
        wait_until_ready(process, CONTROLLER_MANAGER_READY_DEADLINE, || {
            controller_manager_leads(client.clone())
        })
        .await?;

        Ok(KubeControlPlane {
            processes,
            config,
            kubeconfig,
            server_url,
            _dir: dir,
        })
    }

    /// An existing cluster: the handle owns no process and stops nothing.
    async fn connect(test_name: &str, kubeconfig: PathBuf) -> Result<KubeControlPlane> {
        let parsed = Kubeconfig::read_from(&kubeconfig)?;
        let config =
            kube::Config::from_custom_kubeconfig(parsed, &KubeConfigOptions::default()).await?;
        let server_url = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_owned();
        let dir = tempfile::tempdir().map_err(io_at(std::env::temp_dir()))?;
        Ok(KubeControlPlane {
            processes: ProcessSet::new(test_name),
            config,
            kubeconfig,
            server_url,
            _dir: dir,
        })
    }

    /// A client authenticated as `admin` (`system:masters`).
    pub async fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config.clone())
            .expect("the kubeconfig worked when the control plane started")
    }

    /// A kubeconfig file for kubectl and helm (`--kubeconfig`).
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// `https://127.0.0.1:<port>`.
    pub fn server_url(&self) -> String {
        self.server_url.clone()
    }

    /// Process ids (group leaders), to check that nothing outlives a test.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.pids()
    }
}

/// Starts etcd on its own free client and peer ports, waits for /health.
async fn start_etcd(processes: &mut ProcessSet, etcd: &Path, root: &Path) -> Result<String> {
    let client_url = format!("http://127.0.0.1:{}", free_loopback_port()?);
    let peer_url = format!("http://127.0.0.1:{}", free_loopback_port()?);
    let mut command = Command::new(etcd);
    command
        .arg("--name=testbed")
        .arg(format!("--data-dir={}", root.join("etcd").display()))
        .arg(format!("--listen-client-urls={client_url}"))
        .arg(format!("--advertise-client-urls={client_url}"))
        .arg(format!("--listen-peer-urls={peer_url}"))
        .arg(format!("--initial-advertise-peer-urls={peer_url}"))
        .arg(format!("--initial-cluster=testbed={peer_url}"))
        // Test data needs no durability, and fsync is the slow part on a busy disk.
        .arg("--unsafe-no-fsync");
    let process = processes.push(ManagedProcess::spawn("etcd", command, root)?);
    let health = format!("{client_url}/health");
    wait_until_ready(process, ETCD_READY_DEADLINE, || async {
        let response = crate::http_client::get(&health).await?;
        Ok(response.body.contains("\"health\":\"true\"").then_some(()))
    })
    .await?;
    Ok(client_url)
}

struct AuthFiles {
    tokens: PathBuf,
    service_account_key: PathBuf,
}

fn write_auth_files(root: &Path) -> Result<AuthFiles> {
    let tokens = root.join("tokens.csv");
    std::fs::write(
        &tokens,
        format!("{ADMIN_TOKEN},admin,admin-uid,\"system:masters\"\n"),
    )
    .map_err(io_at(&tokens))?;
    let service_account_key = root.join("sa.key");
    let output = Command::new("openssl")
        .arg("genrsa")
        .arg("-out")
        .arg(&service_account_key)
        .arg("2048")
        .output()
        .map_err(|source| Error::Command {
            command: "openssl genrsa".into(),
            detail: format!("{source} (is openssl installed?)"),
        })?;
    if !output.status.success() {
        return Err(Error::Command {
            command: "openssl genrsa".into(),
            detail: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(AuthFiles {
        tokens,
        service_account_key,
    })
}

fn apiserver_command(
    binary: &Path,
    root: &Path,
    files: &AuthFiles,
    etcd_url: &str,
    port: u16,
) -> Command {
    let key = files.service_account_key.display();
    let mut command = Command::new(binary);
    command
        .arg(format!("--etcd-servers={etcd_url}"))
        .arg("--bind-address=127.0.0.1")
        .arg("--advertise-address=127.0.0.1")
        .arg(format!("--secure-port={port}"))
        .arg(format!("--cert-dir={}", root.join("certs").display()))
        .arg("--service-cluster-ip-range=10.0.0.0/24")
        .arg("--service-account-issuer=https://kubernetes.default.svc")
        .arg(format!("--service-account-key-file={key}"))
        .arg(format!("--service-account-signing-key-file={key}"))
        .arg(format!("--token-auth-file={}", files.tokens.display()))
        .arg("--authorization-mode=RBAC")
        // No token controller signs pod tokens here, so the admission plugin
        // that demands them would reject every pod.
        .arg("--disable-admission-plugins=ServiceAccount")
        .arg("--allow-privileged=true");
    command
}

/// Ready once the self-signed certificate exists (written at startup), the
/// kubeconfig built from it connects, and `/readyz` answers `ok`.
async fn apiserver_ready(
    certificate: &Path,
    kubeconfig: &Path,
    server_url: &str,
) -> Result<Option<kube::Config>> {
    if !certificate.is_file() {
        return Ok(None);
    }
    if !kubeconfig.is_file() {
        let text = kubeconfig_yaml(server_url, certificate);
        std::fs::write(kubeconfig, text).map_err(io_at(kubeconfig))?;
    }
    let config = Kubeconfig::read_from(kubeconfig)?;
    let config =
        kube::Config::from_custom_kubeconfig(config, &KubeConfigOptions::default()).await?;
    let client = kube::Client::try_from(config.clone())?;
    let request = http::Request::get("/readyz")
        .body(Vec::new())
        .expect("a constant request is valid");
    let body = client.request_text(request).await?;
    Ok((body.trim() == "ok").then_some(config))
}

fn kubeconfig_yaml(server_url: &str, certificate: &Path) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: testbed
  cluster:
    server: {server_url}
    certificate-authority: {certificate}
users:
- name: admin
  user:
    token: {ADMIN_TOKEN}
contexts:
- name: testbed
  context:
    cluster: testbed
    user: admin
    namespace: default
current-context: testbed
",
        certificate = certificate.display()
    )
}

fn controller_manager_command(
    binary: &Path,
    root: &Path,
    kubeconfig: &Path,
    files: &AuthFiles,
) -> Result<Command> {
    let kubeconfig = kubeconfig.display();
    let mut command = Command::new(binary);
    command
        .arg(format!("--kubeconfig={kubeconfig}"))
        .arg(format!("--authentication-kubeconfig={kubeconfig}"))
        .arg(format!("--authorization-kubeconfig={kubeconfig}"))
        .arg("--bind-address=127.0.0.1")
        // Its own free port, so control planes of parallel tests do not clash
        // on the default 10257.
        .arg(format!("--secure-port={}", free_loopback_port()?))
        .arg(format!(
            "--cert-dir={}",
            root.join("controller-manager-certs").display()
        ))
        .arg(format!(
            "--service-account-private-key-file={}",
            files.service_account_key.display()
        ))
        .arg(format!(
            "--root-ca-file={}",
            root.join("certs").join("apiserver.crt").display()
        ));
    Ok(command)
}

/// kube-controller-manager starts its controllers right after it takes the
/// leader-election lease, so a held lease is the readiness signal the API
/// itself offers (its own /healthz is https with a throwaway certificate).
async fn controller_manager_leads(client: kube::Client) -> Result<Option<()>> {
    let leases: kube::Api<Lease> = kube::Api::namespaced(client, "kube-system");
    let lease = leases.get_opt("kube-controller-manager").await?;
    let holder = lease
        .and_then(|lease| lease.spec)
        .and_then(|spec| spec.holder_identity);
    Ok(holder.map(|_| ()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kubeconfig_names_server_certificate_and_token() {
        let yaml = super::kubeconfig_yaml("https://127.0.0.1:6443", "/d/apiserver.crt".as_ref());
        assert!(yaml.contains("    server: https://127.0.0.1:6443\n"));
        assert!(yaml.contains("    certificate-authority: /d/apiserver.crt\n"));
        assert!(yaml.contains("    token: test-token\n"));
    }
}
