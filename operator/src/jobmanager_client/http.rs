//! The real JobManager client: HTTP/1.1 to Flink's REST API.

use std::{sync::Arc, time::Duration};

use flinkrs_contract::rest::{self, OperationStatus, TriggerId, paths};
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, body::Bytes};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use serde::de::DeserializeOwned;

use super::{
    CheckpointFailure, JobDetails, JobManagerClient, JobManagerClientFactory, JobManagerError,
    JobManagerResult, JobSummary, LatestCheckpoint, SavepointRequest, SavepointStatus,
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
    match serde_json::from_slice::<rest::ErrorResponse>(body) {
        Ok(errors) => errors.reason().to_owned(),
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
    }
}

impl JobManagerClient for HttpJobManagerClient {
    fn jobs_overview(&self) -> BoxFuture<'_, JobManagerResult<Vec<JobSummary>>> {
        Box::pin(async move {
            let overview: rest::MultipleJobsDetails = self.get_json(paths::JOBS_OVERVIEW).await?;
            Ok(overview.jobs.into_iter().map(JobSummary::from).collect())
        })
    }

    fn job_details<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, JobManagerResult<JobDetails>> {
        Box::pin(async move {
            let details: rest::JobDetails = self.get_json(&paths::job(job_id)).await?;
            Ok(JobDetails::from(details))
        })
    }

    fn trigger_savepoint<'a>(
        &'a self,
        job_id: &'a str,
        request: &'a SavepointRequest,
    ) -> BoxFuture<'a, JobManagerResult<String>> {
        Box::pin(async move {
            let resource = if request.stop_job {
                "stop"
            } else {
                "savepoints"
            };
            let path = paths::job_resource(job_id, resource);
            let bad_request = |message: String| JobManagerError::Http {
                url: format!("{}{path}", self.base_url),
                status: 400,
                message,
            };
            let trigger_id = TriggerId::parse(&request.trigger_id).map_err(bad_request)?;
            let body = if request.stop_job {
                serde_json::to_value(rest::StopWithSavepointRequest {
                    target_directory: request.target_directory.clone(),
                    drain: false,
                    trigger_id: Some(trigger_id),
                    format_type: None,
                })
            } else {
                serde_json::to_value(rest::SavepointTriggerRequest {
                    target_directory: request.target_directory.clone(),
                    cancel_job: false,
                    trigger_id: Some(trigger_id),
                    format_type: None,
                })
            }
            .map_err(|error| bad_request(error.to_string()))?;
            let (_, bytes) = self.call(Method::POST, &path, Some(body)).await?;
            let response: rest::TriggerResponse = self.parse(&path, &bytes)?;
            Ok(response.request_id.to_string())
        })
    }

    fn savepoint_status<'a>(
        &'a self,
        job_id: &'a str,
        trigger_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<SavepointStatus>> {
        Box::pin(async move {
            let path = paths::savepoint_status(job_id, trigger_id);
            let result: rest::AsynchronousOperationResult = self.get_json(&path).await?;
            if result.status.id != OperationStatus::Completed {
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
                        .lines()
                        .next()
                        .filter(|line| !line.is_empty())
                        .map_or(cause.class, str::to_owned),
                },
                (None, None) => SavepointStatus::Failed {
                    cause: "no location reported".into(),
                },
            })
        })
    }

    fn cancel_job<'a>(&'a self, job_id: &'a str) -> BoxFuture<'a, JobManagerResult<()>> {
        Box::pin(async move {
            self.call(Method::PATCH, &paths::job_cancel(job_id), None)
                .await?;
            Ok(())
        })
    }

    fn latest_checkpoint<'a>(
        &'a self,
        job_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<Option<LatestCheckpoint>>> {
        Box::pin(async move {
            let statistics: rest::CheckpointingStatistics = self
                .get_json(&paths::job_resource(job_id, "checkpoints"))
                .await?;
            Ok(statistics.latest.completed.and_then(|completed| {
                completed
                    .external_path
                    .map(|external_path| LatestCheckpoint {
                        id: i64::try_from(completed.id).unwrap_or(i64::MAX),
                        external_path,
                    })
            }))
        })
    }

    fn checkpoint_failure<'a>(
        &'a self,
        job_id: &'a str,
    ) -> BoxFuture<'a, JobManagerResult<Option<CheckpointFailure>>> {
        Box::pin(async move {
            let statistics: rest::CheckpointingStatistics = self
                .get_json(&paths::job_resource(job_id, "checkpoints"))
                .await?;
            Ok(CheckpointFailure::of(&statistics.latest))
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
