//! The real JobManager client: HTTP/1.1 to Flink's REST API.

use std::{sync::Arc, time::Duration};

use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, body::Bytes};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde::{Deserialize, de::DeserializeOwned};

use super::{
    JobDetails, JobManagerClient, JobManagerClientFactory, JobManagerError, JobManagerResult,
    JobSummary, LatestCheckpoint, SavepointRequest, SavepointStatus,
};

/// How long one REST call may take before the JobManager counts as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for one JobManager's REST endpoint, e.g. `http://wordcount-jobmanager.jobs.svc:8081`.
#[derive(Clone)]
pub struct HttpJobManagerClient {
    base_url: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl HttpJobManagerClient {
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> JobManagerResult<(StatusCode, Bytes)> {
        let url = format!("{}{path}", self.base_url);
        let unreachable = |reason: String| JobManagerError::Unreachable {
            url: url.clone(),
            reason,
        };
        let mut builder = Request::builder().method(method).uri(&url);
        let payload = match body {
            Some(json) => {
                builder = builder.header("content-type", "application/json");
                Bytes::from(json.to_string())
            }
            None => Bytes::new(),
        };
        let request = builder
            .body(Full::new(payload))
            .map_err(|error| unreachable(format!("invalid request: {error}")))?;
        let exchange = async {
            let response = self
                .http
                .request(request)
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {REQUEST_TIMEOUT:?}")))?
            .map_err(unreachable)?;
        if !status.is_success() {
            return Err(JobManagerError::Http {
                url,
                status: status.as_u16(),
                message: first_error_line(&bytes),
            });
        }
        Ok((status, bytes))
    }

    async fn get_json<T: DeserializeOwned>(&self, path: &str) -> JobManagerResult<T> {
        let (_, bytes) = self.call(Method::GET, path, None).await?;
        self.parse(path, &bytes)
    }

    fn parse<T: DeserializeOwned>(&self, path: &str, bytes: &[u8]) -> JobManagerResult<T> {
        serde_json::from_slice(bytes).map_err(|error| JobManagerError::BadResponse {
            url: format!("{}{path}", self.base_url),
            reason: error.to_string(),
        })
    }
}

/// Flink answers errors with `{"errors": ["<exception>\n\tat ..."]}`; the first
/// line of the first entry says what went wrong.
fn first_error_line(body: &[u8]) -> String {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<String>,
    }
    match serde_json::from_slice::<Errors>(body) {
        Ok(errors) => errors
            .errors
            .first()
            .and_then(|error| error.lines().next())
            .unwrap_or("no error message")
            .to_owned(),
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

#[derive(Deserialize)]
struct JobsOverview {
    jobs: Vec<JobSummary>,
}

#[derive(Deserialize)]
struct TriggerResponse {
    #[serde(rename = "request-id")]
    request_id: String,
}

#[derive(Deserialize)]
struct AsyncOperationResult {
    status: QueueStatus,
    #[serde(default)]
    operation: Option<SavepointOperation>,
}

#[derive(Deserialize)]
struct QueueStatus {
    id: String,
}

#[derive(Deserialize)]
struct SavepointOperation {
    #[serde(default)]
    location: Option<String>,
    #[serde(rename = "failure-cause", default)]
    failure_cause: Option<FailureCause>,
}

#[derive(Deserialize)]
struct FailureCause {
    #[serde(default)]
    class: Option<String>,
    #[serde(rename = "stack-trace", default)]
    stack_trace: Option<String>,
}

#[derive(Deserialize)]
struct CheckpointingStatistics {
    latest: LatestCheckpoints,
}

#[derive(Deserialize)]
struct LatestCheckpoints {
    completed: Option<CompletedCheckpoint>,
}

#[derive(Deserialize)]
struct CompletedCheckpoint {
    id: i64,
    external_path: Option<String>,
}

impl JobManagerClient for HttpJobManagerClient {
    fn jobs_overview(&self) -> BoxFuture<'_, JobManagerResult<Vec<JobSummary>>> {
        Box::pin(async move {
            let overview: JobsOverview = self.get_json("/jobs/overview").await?;
            Ok(overview.jobs)
        })
    }

    fn job_details<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, JobManagerResult<JobDetails>> {
        Box::pin(async move { self.get_json(&format!("/jobs/{job_id}")).await })
    }

    fn trigger_savepoint<'a>(
        &'a self,
        job_id: &'a str,
        request: &'a SavepointRequest,
    ) -> BoxFuture<'a, JobManagerResult<String>> {
        Box::pin(async move {
            let path = format!("/jobs/{job_id}/savepoints");
            let mut body = serde_json::json!({
                "cancel-job": request.cancel_job,
                "triggerId": request.trigger_id,
            });
            if let Some(directory) = &request.target_directory {
                body["target-directory"] = directory.clone().into();
            }
            let (_, bytes) = self.call(Method::POST, &path, Some(body)).await?;
            let response: TriggerResponse = self.parse(&path, &bytes)?;
            Ok(response.request_id)
        })
    }

    fn savepoint_status<'a>(
        &'a self,
        job_id: &'a str,
        trigger_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<SavepointStatus>> {
        Box::pin(async move {
            let path = format!("/jobs/{job_id}/savepoints/{trigger_id}");
            let result: AsyncOperationResult = self.get_json(&path).await?;
            if result.status.id != "COMPLETED" {
                return Ok(SavepointStatus::InProgress);
            }
            let operation = result
                .operation
                .ok_or_else(|| JobManagerError::BadResponse {
                    url: format!("{}{path}", self.base_url),
                    reason: "a COMPLETED savepoint without an `operation`".to_owned(),
                })?;
            Ok(match (operation.location, operation.failure_cause) {
                (Some(location), _) => SavepointStatus::Completed { location },
                (None, Some(cause)) => SavepointStatus::Failed {
                    cause: cause
                        .stack_trace
                        .as_deref()
                        .and_then(|trace| trace.lines().next())
                        .map(str::to_owned)
                        .or(cause.class)
                        .unwrap_or_else(|| "unknown cause".to_owned()),
                },
                (None, None) => SavepointStatus::Failed {
                    cause: "no location reported".into(),
                },
            })
        })
    }

    fn cancel_job<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, JobManagerResult<()>> {
        Box::pin(async move {
            self.call(Method::PATCH, &format!("/jobs/{job_id}?mode=cancel"), None)
                .await?;
            Ok(())
        })
    }

    fn latest_checkpoint<'a>(
        &'a self,
        job_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<Option<LatestCheckpoint>>> {
        Box::pin(async move {
            let statistics: CheckpointingStatistics = self
                .get_json(&format!("/jobs/{job_id}/checkpoints"))
                .await?;
            Ok(statistics.latest.completed.and_then(|completed| {
                completed
                    .external_path
                    .map(|external_path| LatestCheckpoint {
                        id: completed.id,
                        external_path,
                    })
            }))
        })
    }
}

/// Hands out [`HttpJobManagerClient`]s that share one connection pool.
#[derive(Clone)]
pub struct HttpJobManagers {
    http: Client<HttpConnector, Full<Bytes>>,
}

impl Default for HttpJobManagers {
    fn default() -> Self {
        Self {
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl JobManagerClientFactory for HttpJobManagers {
    fn client(&self, rest_url: &str) -> Arc<dyn JobManagerClient> {
        Arc::new(HttpJobManagerClient {
            base_url: rest_url.trim_end_matches('/').to_owned(),
            http: self.http.clone(),
        })
    }
}
