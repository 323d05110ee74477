//! [`RestClient`]: HTTP/1.1 to one JobManager's REST API, with Flink's JSON, for a command
//! that waits for each answer (it runs a small tokio runtime of its own).

use std::time::Duration;

use flinkrs_contract::rest::ErrorResponse;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How long one request may take before the JobManager counts as unresponsive.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What a REST call can run into, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing accepts connections there.
    #[error(
        "cannot reach the JobManager's REST API at {address}: {reason}; start a cluster with \
         `flinkrs jobmanager` (or `flinkrs local`), or pass its REST address with -m HOST:PORT \
         (rest.address and rest.port, localhost:8081 by default)"
    )]
    Unreachable { address: String, reason: String },
    /// Something answers there, but not as Flink's REST API.
    #[error(
        "{address} did not answer {method} {path} as Flink's REST API does ({reason}); -m takes \
         the JobManager's REST address (rest.port, 8081 by default), not its control plane \
         (jobmanager.rpc.port, 6123)"
    )]
    NotRestApi {
        address: String,
        method: Method,
        path: String,
        reason: String,
    },
    /// The JobManager refused the request: its status and the reason it gave.
    #[error("the JobManager at {address} answered {status} to {method} {path}: {message}")]
    Refused {
        address: String,
        method: Method,
        path: String,
        status: u16,
        message: String,
    },
    #[error(
        "the JobManager at {address} did not answer {method} {path} within {REQUEST_TIMEOUT:?}"
    )]
    Timeout {
        address: String,
        method: Method,
        path: String,
    },
    #[error("cannot write the request to {path} as JSON: {reason}")]
    InvalidRequest { path: String, reason: String },
    #[error("cannot start the client's I/O runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

impl ClientError {
    /// The HTTP status the JobManager refused the request with.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The reason the JobManager gave, for a refused request.
    pub fn message(&self) -> Option<&str> {
        match self {
            ClientError::Refused { message, .. } => Some(message),
            _ => None,
        }
    }
}

/// A client of the REST API at `host:port`.
#[derive(Debug)]
pub struct RestClient {
    address: String,
    runtime: tokio::runtime::Runtime,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl RestClient {
    /// A client of the REST API at `address` (`host:port`). Connects at the first request.
    pub fn new(address: &str) -> Result<Self, ClientError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(RestClient {
            address: address.to_owned(),
            runtime,
            http: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    /// The address it talks to, `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// `GET path`, read as `T`.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(Method::GET, path, None)
    }

    /// `POST path` with `body` as JSON, the answer read as `T`.
    pub fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
    ) -> Result<T, ClientError> {
        let body = serde_json::to_vec(body).map_err(|error| ClientError::InvalidRequest {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        self.call(Method::POST, path, Some(body))
    }

    /// `PATCH path` without a body, the answer read as `T`.
    pub fn patch<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        self.call(Method::PATCH, path, None)
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let not_rest = |reason: String| ClientError::NotRestApi {
            address: self.address.clone(),
            method: method.clone(),
            path: path.to_owned(),
            reason,
        };
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("http://{}{path}", self.address));
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|error| not_rest(format!("not a valid request: {error}")))?;
        let exchange = async {
            let response = self.http.request(request).await?;
            let status = response.status();
            let bytes = response.into_body().collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((status, bytes))
        };
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(REQUEST_TIMEOUT, exchange).await });
        let (status, bytes) = match answer {
            Err(_) => {
                return Err(ClientError::Timeout {
                    address: self.address.clone(),
                    method,
                    path: path.to_owned(),
                });
            }
            Ok(Err(error)) => {
                let connect = error
                    .downcast_ref::<hyper_util::client::legacy::Error>()
                    .is_some_and(hyper_util::client::legacy::Error::is_connect);
                let reason = innermost(error.as_ref());
                return Err(if connect {
                    ClientError::Unreachable {
                        address: self.address.clone(),
                        reason,
                    }
                } else {
                    not_rest(reason)
                });
            }
            Ok(Ok(answer)) => answer,
        };
        if !status.is_success() {
            let errors: ErrorResponse = serde_json::from_slice(&bytes).map_err(|_| {
                not_rest(format!(
                    "status {} without Flink's {{\"errors\": [...]}} body",
                    status.as_u16()
                ))
            })?;
            return Err(ClientError::Refused {
                address: self.address.clone(),
                method,
                path: path.to_owned(),
                status: status.as_u16(),
                message: plain_reason(errors.reason()).to_owned(),
            });
        }
        serde_json::from_slice(&bytes)
            .map_err(|error| not_rest(format!("unexpected JSON: {error}")))
    }
}

/// The deepest cause of `error`: the one that says what happened ("Connection refused").
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// A reason without the Java exception classes Flink puts in front of it
/// (`org.apache.flink.runtime.rest.NotFoundException: Job … not found` → `Job … not found`).
pub fn plain_reason(reason: &str) -> &str {
    let mut reason = reason.trim();
    while let Some((class, rest)) = reason.split_once(": ") {
        let is_class = class.starts_with("org.apache.flink.")
            && !class.contains(char::is_whitespace)
            && (class.ends_with("Exception") || class.ends_with("Error"));
        if !is_class {
            break;
        }
        reason = rest.trim_start();
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_lose_the_java_classes_in_front_of_them() {
        assert_eq!(
            plain_reason(
                "org.apache.flink.runtime.rest.handler.RestHandlerException: Job could not be \
                 found."
            ),
            "Job could not be found."
        );
        assert_eq!(
            plain_reason(
                "org.apache.flink.runtime.checkpoint.CheckpointException: \
                 org.apache.flink.util.FlinkException: the job ended: before it"
            ),
            "the job ended: before it"
        );
        assert_eq!(
            plain_reason("unknown example 'x': the examples are: a"),
            "unknown example 'x': the examples are: a"
        );
    }
}
