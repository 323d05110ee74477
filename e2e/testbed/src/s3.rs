//! S3 servers on loopback: s3s-fs (Rust, over a directory) and moto (Python),
//! two independent implementations of the same API.

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
    processes: ProcessSet,
    _dir: tempfile::TempDir,
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

    pub async fn try_start_s3s_fs(test_name: &str) -> Result<S3Server> {
        let binary = S3S_FS.locate()?;
        let dir = temp_dir("flinkrs-s3s-fs-")?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).map_err(io_at(&data))?;
        let port = free_loopback_port()?;
        let (access_key, secret_key) = ("flinkrs-access", "flinkrs-secret");
        let mut command = Command::new(binary);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", access_key, "--secret-key", secret_key])
            .arg(&data);
        let server = Self::start(
            test_name, "s3s-fs", command, port, dir, access_key, secret_key,
        );
        server.await
    }

    pub async fn try_start_moto(test_name: &str) -> Result<S3Server> {
        MOTO_MARKER.locate()?;
        let binary = MOTO.locate()?;
        let dir = temp_dir("flinkrs-moto-")?;
        let port = free_loopback_port()?;
        let mut command = Command::new(binary);
        command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
        let server = Self::start(
            test_name,
            "moto",
            command,
            port,
            dir,
            "moto-access",
            "moto-secret",
        );
        server.await
    }

    async fn start(
        test_name: &str,
        implementation: &'static str,
        command: Command,
        port: u16,
        dir: tempfile::TempDir,
        access_key: &str,
        secret_key: &str,
    ) -> Result<S3Server> {
        let mut processes = ProcessSet::new(test_name);
        let process = processes.push(ManagedProcess::spawn(implementation, command, dir.path())?);
        let endpoint = format!("http://127.0.0.1:{port}");
        // Any HTTP answer means it is serving; S3 itself answers 403 or an
        // XML bucket list at `/` depending on the implementation.
        wait_until_ready(process, READY_DEADLINE, || async {
            crate::http_client::get(&format!("{endpoint}/")).await?;
            Ok(Some(()))
        })
        .await?;
        let server = S3Server {
            endpoint,
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            region: REGION.to_owned(),
            bucket: BUCKET.to_owned(),
            implementation,
            processes,
            _dir: dir,
        };
        server
            .client()
            .await
            .create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .map_err(|error| Error::S3 {
                endpoint: server.endpoint.clone(),
                detail: format!(
                    "create bucket {BUCKET}: {}",
                    aws_sdk_s3::error::DisplayErrorContext(&error)
                ),
            })?;
        Ok(server)
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
