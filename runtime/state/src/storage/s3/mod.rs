//! Checkpoints in S3 or an S3-compatible store (MinIO, s3s, Ceph, …), through aws-sdk-s3 on
//! the process's I/O runtime.
//!
//! Every request is bounded: a connect timeout, a timeout per attempt and per operation, a
//! small retry budget with short backoffs, and a deadline over the whole call. An outage of
//! the store thus fails a checkpoint in bounded time (and the checkpoint coordinator decides,
//! by `execution.checkpointing.tolerable-failed-checkpoints`, whether the job goes on); it
//! never hangs the job.

mod errors;
mod multipart;
mod settings;

use std::future::Future;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::{CheckpointLocation, CheckpointStore, METADATA_FILE, S3Location};
use crate::error::{Error, Result};
use crate::io_runtime;
use errors::{describe, is_invalid_range, is_missing_object};
pub use multipart::{MIN_PART_BYTES, OpenUpload, UploadedPart};
pub use settings::{S3Settings, StaticCredentials};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Until the first byte of an answer.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(120);
/// Attempts per request, the first included.
const MAX_ATTEMPTS: u32 = 3;
const INITIAL_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Over a whole call (a listing and its deletes, or a read and its body): the last guard.
const CALL_DEADLINE: Duration = Duration::from_secs(180);
/// S3's own region when nothing names one; S3-compatible stores accept any.
const DEFAULT_REGION: &str = "us-east-1";

/// Checkpoint files as S3 objects: `s3://bucket/prefix/<job-id>/chk-<n>/task-…`. A PUT is
/// atomic, so publishing `_metadata` is one PUT.
#[derive(Clone, Debug)]
pub struct S3Store {
    client: Client,
    /// The endpoint, for messages: the URL, or AWS's own with its region.
    endpoint: String,
}

impl S3Store {
    /// A client as `settings` say. Nothing is sent yet, so a bad endpoint or bad credentials
    /// show up on the first request, with the object named.
    pub fn connect(settings: &S3Settings) -> Result<Self> {
        let settings = settings.clone();
        io_runtime::block_on(async move { Self::build(settings).await })
    }

    async fn build(settings: S3Settings) -> S3Store {
        // rustls with ring: kube already builds ring, and plain http needs no TLS at all.
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .read_timeout(READ_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .operation_timeout(OPERATION_TIMEOUT)
                    .build(),
            )
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(INITIAL_BACKOFF)
                    .with_max_backoff(MAX_BACKOFF),
            );
        if let Some(credentials) = &settings.credentials {
            loader = loader.credentials_provider(Credentials::new(
                &credentials.access_key,
                &credentials.secret_key,
                None,
                None,
                "flinkrs configuration (s3.access-key)",
            ));
        }
        // With an endpoint of its own (MinIO and the like) the region hardly matters, and the
        // instance metadata service, the last resort of AWS's region chain, is not asked.
        let region = settings.region.clone().or_else(|| {
            settings
                .endpoint
                .as_ref()
                .map(|_| std::env::var("AWS_REGION").unwrap_or_else(|_| DEFAULT_REGION.to_owned()))
        });
        if let Some(region) = region {
            loader = loader.region(Region::new(region));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(settings.path_style_access)
            // Checksums only where S3 requires them: the newer default (trailing CRC
            // checksums on every upload) is not implemented by every S3-compatible store.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if shared.region().is_none() {
            config = config.region(Region::new(DEFAULT_REGION));
        }
        if let Some(endpoint) = &settings.endpoint {
            config = config.endpoint_url(endpoint);
        }
        let config = config.build();
        let endpoint = match (settings.endpoint.as_deref(), shared.endpoint_url()) {
            (Some(endpoint), _) | (None, Some(endpoint)) => endpoint.to_owned(),
            (None, None) => format!(
                "AWS S3 in {}",
                config
                    .region()
                    .map_or(DEFAULT_REGION, |region| region.as_ref())
            ),
        };
        S3Store {
            client: Client::from_conf(config),
            endpoint,
        }
    }

    fn location<'a>(&self, location: &'a CheckpointLocation) -> Result<&'a S3Location> {
        match location {
            CheckpointLocation::S3(location) => Ok(location),
            CheckpointLocation::Local(_) => Err(Error::StoreMismatch {
                store: "S3",
                location: location.to_string(),
            }),
        }
    }

    /// Runs `request` on the I/O runtime within [`CALL_DEADLINE`]; a failure (already
    /// described by the request) becomes an error naming `action`, the object and the endpoint.
    fn run<T, F>(&self, action: &'static str, location: &S3Location, request: F) -> Result<T>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, String>> + Send + 'static,
    {
        let outcome = io_runtime::block_on(async move {
            tokio::time::timeout(CALL_DEADLINE, request)
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "no answer within {} s; check that the store is up and reachable at \
                         s3.endpoint",
                        CALL_DEADLINE.as_secs()
                    ))
                })
        })?;
        outcome.map_err(|problem| Error::S3 {
            action,
            location: location.to_string(),
            endpoint: self.endpoint.clone(),
            problem,
        })
    }
}

impl CheckpointStore for S3Store {
    fn write(&self, location: &CheckpointLocation, bytes: Vec<u8>) -> Result<()> {
        let location = self.location(location)?;
        let (client, bucket, key) = (
            self.client.clone(),
            location.bucket.clone(),
            location.key.clone(),
        );
        self.run("cannot write checkpoint object", location, async move {
            client
                .put_object()
                .bucket(&bucket)
                .key(key)
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map(|_| ())
                .map_err(|error| describe(&error, &bucket))
        })
    }

    fn publish(&self, location: &CheckpointLocation, bytes: Vec<u8>) -> Result<()> {
        self.write(location, bytes)
    }

    fn read(&self, location: &CheckpointLocation) -> Result<Option<Vec<u8>>> {
        let location = self.location(location)?;
        let (client, bucket, key) = (
            self.client.clone(),
            location.bucket.clone(),
            location.key.clone(),
        );
        self.run("cannot read checkpoint object", location, async move {
            let object = match client.get_object().bucket(&bucket).key(key).send().await {
                Ok(object) => object,
                Err(error) if is_missing_object(&error) => return Ok(None),
                Err(error) => return Err(describe(&error, &bucket)),
            };
            let body =
                object.body.collect().await.map_err(|error| {
                    format!("the object's content broke off ({error}); try again")
                })?;
            Ok(Some(body.into_bytes().to_vec()))
        })
    }

    /// A GetObject with a `Range: bytes=a-b` header. A store that ignores the header and
    /// answers with the whole object still gives the range, cut out of it.
    fn read_range(
        &self,
        location: &CheckpointLocation,
        offset: u64,
        length: u64,
    ) -> Result<Option<Vec<u8>>> {
        let location = self.location(location)?;
        let (client, bucket, key) = (
            self.client.clone(),
            location.bucket.clone(),
            location.key.clone(),
        );
        let last = offset + length.max(1) - 1;
        self.run("cannot read checkpoint object", location, async move {
            let request = client
                .get_object()
                .bucket(&bucket)
                .key(key)
                .range(format!("bytes={offset}-{last}"));
            let object = match request.send().await {
                Ok(object) => object,
                Err(error) if is_missing_object(&error) => return Ok(None),
                // The object ends at `offset` or before.
                Err(error) if is_invalid_range(&error) => return Ok(Some(Vec::new())),
                Err(error) => return Err(describe(&error, &bucket)),
            };
            let ranged = object.content_range().is_some();
            let body =
                object.body.collect().await.map_err(|error| {
                    format!("the object's content broke off ({error}); try again")
                })?;
            let mut bytes = body.into_bytes().to_vec();
            if !ranged {
                let start = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let end = usize::try_from(last + 1)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                bytes = bytes[start..end].to_vec();
            }
            Ok(Some(bytes))
        })
    }

    fn delete_folder(&self, location: &CheckpointLocation) -> Result<()> {
        let location = self.location(location)?;
        let (client, bucket, prefix) = (
            self.client.clone(),
            location.bucket.clone(),
            location.folder_prefix(),
        );
        self.run("cannot delete checkpoint", location, async move {
            let mut keys = Vec::new();
            let mut continuation: Option<String> = None;
            loop {
                let page = client
                    .list_objects_v2()
                    .bucket(&bucket)
                    .prefix(&prefix)
                    .set_continuation_token(continuation.take())
                    .send()
                    .await
                    .map_err(|error| describe(&error, &bucket))?;
                keys.extend(
                    page.contents()
                        .iter()
                        .filter_map(|object| object.key().map(str::to_owned)),
                );
                match page.next_continuation_token() {
                    Some(token) if page.is_truncated() == Some(true) => {
                        continuation = Some(token.to_owned());
                    }
                    _ => break,
                }
            }
            // `_metadata` first: a checkpoint half deleted is no longer complete.
            keys.sort_by_key(|key| !key.ends_with(&format!("/{METADATA_FILE}")));
            for key in keys {
                client
                    .delete_object()
                    .bucket(&bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|error| describe(&error, &bucket))?;
            }
            Ok(())
        })
    }

    fn missing(&self, location: &CheckpointLocation, hint: &str) -> Error {
        Error::S3 {
            action: "cannot open checkpoint",
            location: location.to_string(),
            endpoint: self.endpoint.clone(),
            problem: format!("no such object: {hint}"),
        }
    }
}
