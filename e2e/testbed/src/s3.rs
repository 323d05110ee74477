//! S3 servers on loopback: s3s-fs (Rust, over a directory) and moto (Python),
//! two independent implementations of the same API. A server can be stopped and started
//! again on the same port ([`S3Server::stop`], [`S3Server::restart`]), to test an outage.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use crate::install::{MOTO, MOTO_MARKER, S3S_FS};
use crate::ports::free_loopback_port;
use crate::process::{ManagedProcess, ProcessSet};
use crate::readiness::wait_until_ready;
use crate::{Error, Result, error::io_at, skip::or_skip};

const READY_DEADLINE: Duration = Duration::from_secs(60);
const REGION: &str = "us-east-1";
const BUCKET: &str = "flinkrs-testbed";

/// A running S3 server with one empty bucket, `bucket`, already created.
pub struct S3Server {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
    pub region: String,
    pub bucket: String,
    /// Which implementation: `"s3s-fs"` or `"moto"`.
    pub implementation: &'static str,
    /// How the server was started, to start it again the same way.
    launch: Launch,
    processes: ProcessSet,
    dir: tempfile::TempDir,
}

/// A server's program and arguments.
struct Launch {
    program: PathBuf,
    args: Vec<String>,
}

impl Launch {
    fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        command
    }
}

impl S3Server {
    /// s3s-fs, storing objects in a fresh temp directory. It checks SigV4
    /// signatures against the one access key pair it is started with.
    pub async fn start_s3s_fs(test_name: &str) -> Option<S3Server> {
        or_skip(test_name, Self::try_start_s3s_fs(test_name).await)
    }

    /// moto's S3, in memory. It accepts any credentials: moto only checks
    /// signatures against users created through its own IAM API.
    pub async fn start_moto(test_name: &str) -> Option<S3Server> {
        or_skip(test_name, Self::try_start_moto(test_name).await)
    }

    /// s3s-fs listening on `host` instead of 127.0.0.1: the real node's
    /// address ([`crate::NODE_IP`]), so that pods reach it.
    pub async fn start_s3s_fs_at(test_name: &str, host: &str) -> Option<S3Server> {
        or_skip(test_name, Self::try_start_s3s_fs_at(test_name, host).await)
    }

    pub async fn try_start_s3s_fs(test_name: &str) -> Result<S3Server> {
        Self::try_start_s3s_fs_at(test_name, "127.0.0.1").await
    }

    pub async fn try_start_s3s_fs_at(test_name: &str, host: &str) -> Result<S3Server> {
        let binary = S3S_FS.locate()?;
        let dir = temp_dir("flinkrs-s3s-fs-")?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(io_at(&data))?;
        let port = free_loopback_port()?;
        let (access_key, secret_key) = ("flinkrs-access", "flinkrs-secret");
        let launch = Launch {
            program: binary,
            args: vec![
                "--host".into(),
                host.into(),
                "--port".into(),
                port.to_string(),
                "--access-key".into(),
                access_key.into(),
                "--secret-key".into(),
                secret_key.into(),
                data.display().to_string(),
            ],
        };
        let endpoint = format!("http://{host}:{port}");
        let server = Self::start(
            test_name, "s3s-fs", launch, endpoint, dir, access_key, secret_key,
        );
        server.await
    }

    pub async fn try_start_moto(test_name: &str) -> Result<S3Server> {
        MOTO_MARKER.locate()?;
        let binary = MOTO.locate()?;
        let dir = temp_dir("flinkrs-moto-")?;
        let port = free_loopback_port()?;
        let launch = Launch {
            program: binary,
            args: vec![
                "-H".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
            ],
        };
        let server = Self::start(
            test_name,
            "moto",
            launch,
            format!("http://127.0.0.1:{port}"),
            dir,
            "moto-access",
            "moto-secret",
        );
        server.await
    }

    async fn start(
        test_name: &str,
        implementation: &'static str,
        launch: Launch,
        endpoint: String,
        dir: tempfile::TempDir,
        access_key: &str,
        secret_key: &str,
    ) -> Result<S3Server> {
        let mut server = S3Server {
            endpoint,
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            region: REGION.to_owned(),
            bucket: BUCKET.to_owned(),
            implementation,
            launch,
            processes: ProcessSet::new(test_name),
            dir,
        };
        server.launch_and_wait().await?;
        server.create_bucket().await?;
        Ok(server)
    }

    /// Starts the server's process and waits until it answers.
    async fn launch_and_wait(&mut self) -> Result<()> {
        let process =
            ManagedProcess::spawn(self.implementation, self.launch.command(), self.dir.path())?;
        let process = self.processes.push(process);
        let endpoint = &self.endpoint;
        // Any HTTP answer means it is serving; S3 itself answers 403 or an
        // XML bucket list at `/` depending on the implementation.
        wait_until_ready(process, READY_DEADLINE, || async {
            crate::http_client::get(&format!("{endpoint}/")).await?;
            Ok(Some(()))
        })
        .await
    }

    async fn create_bucket(&self) -> Result<()> {
        self.client()
            .await
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|error| Error::S3 {
                endpoint: self.endpoint.clone(),
                detail: format!(
                    "create bucket {}: {}",
                    self.bucket,
                    aws_sdk_s3::error::DisplayErrorContext(&error)
                ),
            })?;
        Ok(())
    }

    /// Stops the server, as an outage would: requests are refused until
    /// [`restart`](Self::restart). s3s-fs keeps its objects in its data folder.
    pub fn stop(&mut self) {
        self.processes.stop_all();
    }

    /// Starts the stopped server again on the same port, with the same data
    /// folder and credentials, and waits until it answers. s3s-fs serves the
    /// objects it had; moto keeps objects in memory, so its bucket comes back
    /// empty.
    pub async fn restart(&mut self) -> Result<()> {
        self.stop();
        self.launch_and_wait().await?;
        let bucket_exists = self
            .client()
            .await
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok();
        if !bucket_exists {
            self.create_bucket().await?;
        }
        Ok(())
    }

    /// A path-style client for `endpoint`, with this server's credentials.
    pub async fn client(&self) -> aws_sdk_s3::Client {
        self.client_with_credentials(&self.access_key, &self.secret_key)
            .await
    }

    /// A client with other credentials, e.g. to check a wrong secret is refused.
    pub async fn client_with_credentials(
        &self,
        access_key: &str,
        secret_key: &str,
    ) -> aws_sdk_s3::Client {
        let credentials = Credentials::new(access_key, secret_key, None, None, "flinkrs-testbed");
        // rustls with ring: kube already builds ring; plain http needs no TLS.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(self.region.clone()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(credentials)
            .force_path_style(true)
            .http_client(http_client)
            // Checksums only where S3 requires them: the newer default
            // (trailing CRC checksums on every upload) is not implemented by
            // every S3-compatible server, and the tests compare data exactly.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Process ids (group leaders), to check that nothing outlives a test.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.pids()
    }
}

fn temp_dir(prefix: &str) -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(io_at(std::env::temp_dir()))
}
