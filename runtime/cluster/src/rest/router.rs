//! The routes: Flink's paths, status codes and error bodies over a [`JobManagerGateway`].
//!
//! One path is flinkrs's own, since Flink's jar endpoints make no sense without jars:
//!
//! - `POST /flinkrs/jobs` submits a built-in job. The body is a
//!   [`JobSubmitRequest`](flinkrs_contract::rest::JobSubmitRequest):
//!   `{"example": "wordcount", "parallelism": 4, "flinkConfiguration": {"pipeline.name": "wc"}}`,
//!   with the optional `input`, `output`, `rate`, `savepointPath` and
//!   `allowNonRestoredState` of `flinkrs run`. It answers `202 {"jobid": "…"}` (Flink's
//!   jar-run response) once the job is starting; follow it with `GET /jobs/:id`.
//! - A malformed body, an unknown field or example, or a configuration value the job would
//!   refuse is a `400 {"errors": ["…"]}` that names it.
//! - `flinkrs run`'s own REST API answers `404`: it runs the one job it was started with;
//!   jobs are submitted to a session cluster (`flinkrs jobmanager` or `flinkrs local`).
//!
//! The web UI is served beside them: the page at `/`, its assets under `/flinkrs/web/`
//! ([`web`](super::web)).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use flinkrs_contract::rest::{
    self, AsynchronousOperationResult, ErrorResponse, FailureCause, JobSubmitResponse,
    SavepointOperation, SavepointTriggerRequest, StopWithSavepointRequest, TriggerId,
    TriggerResponse, paths,
};
use serde::Serialize;

use super::gateway::{
    GatewayError, JobManagerGateway, JobView, SavepointKind, SavepointTrigger, SubmitError,
};
use super::responses::{self as build, now_millis};
use super::savepoints::{OperationState, SavepointOperations};

/// What every handler shares.
#[derive(Clone)]
pub struct RestState {
    pub gateway: Arc<dyn JobManagerGateway>,
    pub savepoints: SavepointOperations,
}

/// Flink's REST API over `gateway`.
pub fn router(gateway: Arc<dyn JobManagerGateway>) -> Router {
    let state = RestState {
        gateway,
        savepoints: SavepointOperations::default(),
    };
    Router::new()
        .route(paths::CONFIG, get(config))
        .route(paths::OVERVIEW, get(overview))
        .route(paths::JOBS, get(jobs))
        .route(paths::JOBS_OVERVIEW, get(jobs_overview))
        .route(paths::JOB, get(job).patch(cancel))
        .route(paths::JOB_EXCEPTIONS, get(job_exceptions))
        .route(paths::JOB_PLAN, get(job_plan))
        .route(paths::JOB_CONFIG, get(job_config))
        .route(paths::JOB_CHECKPOINTS, get(job_checkpoints))
        .route(paths::JOB_CHECKPOINTS_CONFIG, get(job_checkpoints_config))
        .route(paths::JOB_SAVEPOINTS, post(trigger_savepoint))
        .route(paths::JOB_SAVEPOINT_STATUS, get(savepoint_status))
        .route(paths::JOB_STOP, post(stop_with_savepoint))
        .route(paths::JOB_VERTEX, get(vertex))
        .route(paths::JOB_VERTEX_WATERMARKS, get(vertex_watermarks))
        .route(paths::JOB_VERTEX_SUBTASKS_METRICS, get(subtasks_metrics))
        .route(paths::TASKMANAGERS, get(taskmanagers))
        .route(paths::TASKMANAGER, get(taskmanager))
        .route(paths::JOBMANAGER_CONFIG, get(jobmanager_config))
        .route(paths::FLINKRS_JOBS, post(submit_job))
        .route(paths::FLINKRS_JOB_RESULTS, get(job_results))
        .merge(super::web::routes())
        .fallback(unknown_path)
        .with_state(state)
}

/// A response with Flink's content type.
fn json(status: StatusCode, body: &impl Serialize) -> Response {
    match serde_json::to_string(body) {
        Ok(text) => (
            status,
            [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
            text,
        )
            .into_response(),
        Err(error) => self::error(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
    }
}

fn ok(body: &impl Serialize) -> Response {
    json(StatusCode::OK, body)
}

/// `{"errors": [message]}`.
fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json(status, &ErrorResponse::new(message))
}

/// A request refused: its status and message, answered as `{"errors": [message]}`.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.status, self.message)
    }
}

fn bad_parameter(name: &str, value: &str) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        format!(
            "org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could not \
             parse parameters: Cannot resolve path parameter ({name}) from value \"{value}\"."
        ),
    )
}

fn job_not_found(job_id: &str) -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        format!("org.apache.flink.runtime.rest.NotFoundException: Job {job_id} not found"),
    )
}

fn is_hex_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// The job `job_id`, or the response that says why there is none.
fn find_job(state: &RestState, job_id: &str) -> Result<JobView, Refusal> {
    if !is_hex_id(job_id) {
        return Err(bad_parameter("jobid", job_id));
    }
    let job_id = job_id.to_ascii_lowercase();
    state
        .gateway
        .job(&job_id)
        .ok_or_else(|| job_not_found(&job_id))
}

fn query_parameter<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `GET /flinkrs/jobs/:id/results?offset=N`: a page of a `SELECT` job's rows.
async fn job_results(
    State(state): State<RestState>,
    Path(job_id): Path<String>,
    uri: Uri,
) -> Response {
    if !is_hex_id(&job_id) {
        return bad_parameter("jobid", &job_id).into_response();
    }
    let offset = query_parameter(&uri, "offset").unwrap_or("0");
    let Ok(offset) = offset.parse::<u64>() else {
        return bad_parameter("offset", offset).into_response();
    };
    match state.gateway.results(&job_id.to_ascii_lowercase(), offset) {
        Ok(page) => match page.await {
            Ok(page) => json(StatusCode::OK, &page),
            Err(reason) => error(StatusCode::SERVICE_UNAVAILABLE, reason),
        },
        Err(GatewayError::UnknownJob(_)) => error(
            StatusCode::NOT_FOUND,
            "org.apache.flink.runtime.rest.handler.RestHandlerException: Job could not be found.",
        ),
        Err(GatewayError::NotPossible(reason)) => error(StatusCode::CONFLICT, reason),
    }
}

async fn unknown_path(uri: Uri) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("Unable to load requested file {}.", uri.path()),
    )
}

async fn config() -> Response {
    ok(&build::dashboard_configuration())
}

async fn overview(State(state): State<RestState>) -> Response {
    ok(&build::cluster_overview(
        &state.gateway.task_managers(),
        &state.gateway.jobs(),
    ))
}

async fn jobs(State(state): State<RestState>) -> Response {
    let jobs = state
        .gateway
        .jobs()
        .into_iter()
        .map(|job| rest::JobIdWithStatus {
            id: job.id,
            status: job.state,
        })
        .collect();
    ok(&rest::JobIdsWithStatus { jobs })
}

async fn jobs_overview(State(state): State<RestState>) -> Response {
    let now = now_millis();
    let jobs = state
        .gateway
        .jobs()
        .iter()
        .map(|job| build::job_summary(job, now))
        .collect();
    ok(&rest::MultipleJobsDetails { jobs })
}

async fn job(State(state): State<RestState>, Path(job_id): Path<String>) -> Response {
    match find_job(&state, &job_id) {
        Ok(job) => ok(&build::job_details(&job, now_millis())),
        Err(refusal) => refusal.into_response(),
    }
}

/// `PATCH /jobs/:id?mode=cancel`: 202 `{}`.
async fn cancel(State(state): State<RestState>, Path(job_id): Path<String>, uri: Uri) -> Response {
    let mode = query_parameter(&uri, "mode").unwrap_or("cancel");
    if mode != "cancel" {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could \
                 not parse parameters: Cannot resolve query parameter (mode) from value \
                 \"{mode}\"; the only mode is cancel (stop a job with POST /jobs/:id/stop)."
            ),
        );
    }
    if !is_hex_id(&job_id) {
        return bad_parameter("jobid", &job_id).into_response();
    }
    match state.gateway.cancel(&job_id.to_ascii_lowercase()) {
        Ok(()) => json(StatusCode::ACCEPTED, &serde_json::json!({})),
        Err(GatewayError::UnknownJob(_)) => error(
            StatusCode::NOT_FOUND,
            "org.apache.flink.runtime.rest.handler.RestHandlerException: Job could not be found.",
        ),
        Err(GatewayError::NotPossible(reason)) => error(StatusCode::CONFLICT, reason),
    }
}

/// `POST /flinkrs/jobs`: 202 `{"jobid": "…"}`.
async fn submit_job(State(state): State<RestState>, body: Bytes) -> Response {
    let request = match super::submission::parse(&body) {
        Ok(request) => request,
        Err(reason) => return error(StatusCode::BAD_REQUEST, reason),
    };
    match state.gateway.submit(&request) {
        Ok(jobid) => json(StatusCode::ACCEPTED, &JobSubmitResponse { jobid }),
        Err(SubmitError::Invalid(reason)) => error(StatusCode::BAD_REQUEST, reason),
        Err(SubmitError::NotAccepted(reason)) => error(StatusCode::NOT_FOUND, reason),
        Err(SubmitError::Failed(reason)) => error(StatusCode::INTERNAL_SERVER_ERROR, reason),
    }
}

async fn job_exceptions(State(state): State<RestState>, Path(job_id): Path<String>) -> Response {
    match find_job(&state, &job_id) {
        Ok(job) => ok(&build::job_exceptions(&job)),
        Err(refusal) => refusal.into_response(),
    }
}

async fn job_plan(State(state): State<RestState>, Path(job_id): Path<String>) -> Response {
    match find_job(&state, &job_id) {
        Ok(job) => ok(&rest::JobPlanInfo {
            plan: build::job_plan(&job),
        }),
        Err(refusal) => refusal.into_response(),
    }
}

async fn job_config(State(state): State<RestState>, Path(job_id): Path<String>) -> Response {
    match find_job(&state, &job_id) {
        Ok(job) => ok(&build::job_config(&job)),
        Err(refusal) => refusal.into_response(),
    }
}

async fn job_checkpoints(State(state): State<RestState>, Path(job_id): Path<String>) -> Response {
    match find_job(&state, &job_id) {
        Ok(job) => ok(&build::checkpointing_statistics(
            job.checkpoints.as_ref(),
            now_millis(),
        )),
        Err(refusal) => refusal.into_response(),
    }
}

async fn job_checkpoints_config(
    State(state): State<RestState>,
    Path(job_id): Path<String>,
) -> Response {
    match find_job(&state, &job_id) {
        Ok(JobView {
            checkpoints: Some(checkpoints),
            ..
        }) => ok(&build::checkpoint_config(&checkpoints)),
        Ok(job) => error(
            StatusCode::NOT_FOUND,
            format!(
                "org.apache.flink.runtime.rest.handler.RestHandlerException: Checkpointing is not \
                 enabled for job {}; set execution.checkpointing.interval.",
                job.id
            ),
        ),
        Err(refusal) => refusal.into_response(),
    }
}

/// Reads a trigger body as Flink does: malformed JSON, a wrong type or a malformed trigger id
/// is a 400 naming the body's type.
fn parse_body<T: serde::de::DeserializeOwned + Default>(
    body: &Bytes,
    type_name: &str,
) -> Result<T, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|reason| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            format!(
                "org.apache.flink.runtime.rest.handler.RestHandlerException: Request did not \
                 match expected format {type_name}.\n{reason}"
            ),
        )
    })
}

/// A fresh random trigger id, as Flink makes one when the client names none.
fn new_trigger_id() -> TriggerId {
    use rand::{Rng, SeedableRng};
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let calls = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = (now_millis() as u64) ^ calls.rotate_left(32) ^ u64::from(std::process::id());
    TriggerId::from_u128(rand::rngs::SmallRng::seed_from_u64(seed).random())
}

/// Starts a savepoint operation and answers 202 with its trigger id.
fn start_operation(
    state: &RestState,
    job_id: &str,
    trigger_id: Option<TriggerId>,
    trigger: SavepointTrigger,
) -> Response {
    let job = match find_job(state, job_id) {
        Ok(job) => job,
        Err(refusal) => return refusal.into_response(),
    };
    let trigger_id = trigger_id.unwrap_or_else(new_trigger_id);
    match state
        .savepoints
        .trigger(state.gateway.as_ref(), &job.id, trigger_id, trigger)
    {
        Ok(request_id) => json(StatusCode::ACCEPTED, &TriggerResponse { request_id }),
        Err(_) => job_not_found(&job.id).into_response(),
    }
}

async fn trigger_savepoint(
    State(state): State<RestState>,
    Path(job_id): Path<String>,
    body: Bytes,
) -> Response {
    let request: SavepointTriggerRequest = match parse_body(&body, "SavepointTriggerRequestBody") {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let trigger = SavepointTrigger {
        target_directory: request.target_directory,
        kind: SavepointKind::Savepoint {
            cancel_job: request.cancel_job,
        },
    };
    start_operation(&state, &job_id, request.trigger_id, trigger)
}

async fn stop_with_savepoint(
    State(state): State<RestState>,
    Path(job_id): Path<String>,
    body: Bytes,
) -> Response {
    let request: StopWithSavepointRequest = match parse_body(&body, "StopWithSavepointRequestBody")
    {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let trigger = SavepointTrigger {
        target_directory: request.target_directory,
        kind: SavepointKind::Stop {
            drain: request.drain,
        },
    };
    start_operation(&state, &job_id, request.trigger_id, trigger)
}

async fn savepoint_status(
    State(state): State<RestState>,
    Path((job_id, trigger_id)): Path<(String, String)>,
) -> Response {
    if !is_hex_id(&job_id) {
        return bad_parameter("jobid", &job_id).into_response();
    }
    let Ok(trigger) = TriggerId::parse(&trigger_id) else {
        return bad_parameter("triggerid", &trigger_id).into_response();
    };
    let job_id = job_id.to_ascii_lowercase();
    let operation = state.savepoints.state(&job_id, &trigger);
    if let Some(OperationState::Done(_)) = &operation {
        state.gateway.savepoint_outcome_read(&job_id);
    }
    match operation {
        None => error(
            StatusCode::NOT_FOUND,
            format!(
                "org.apache.flink.runtime.rest.handler.RestHandlerException: There is no \
                 savepoint operation with triggerId={trigger} for job {job_id}."
            ),
        ),
        Some(OperationState::InProgress) => ok(&AsynchronousOperationResult::in_progress()),
        Some(OperationState::Done(Ok(location))) => ok(&AsynchronousOperationResult::completed(
            SavepointOperation {
                location: Some(location),
                failure_cause: None,
            },
        )),
        Some(OperationState::Done(Err(reason))) => ok(&AsynchronousOperationResult::completed(
            SavepointOperation {
                location: None,
                failure_cause: Some(FailureCause {
                    class: "org.apache.flink.runtime.checkpoint.CheckpointException".into(),
                    stack_trace: format!(
                        "org.apache.flink.runtime.checkpoint.CheckpointException: {reason}"
                    ),
                    serialized_throwable: String::new(),
                }),
            },
        )),
    }
}

fn find_vertex(
    state: &RestState,
    job_id: &str,
    vertex_id: &str,
) -> Result<super::gateway::VertexView, Refusal> {
    let job = find_job(state, job_id)?;
    if !is_hex_id(vertex_id) {
        return Err(bad_parameter("vertexid", vertex_id));
    }
    let vertex_id = vertex_id.to_ascii_lowercase();
    job.vertices
        .into_iter()
        .find(|vertex| vertex.id == vertex_id)
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                format!(
                    "org.apache.flink.runtime.rest.NotFoundException: JobVertex {vertex_id} not \
                     found in job {}.",
                    job.id
                ),
            )
        })
}

async fn vertex(
    State(state): State<RestState>,
    Path((job_id, vertex_id)): Path<(String, String)>,
) -> Response {
    match find_vertex(&state, &job_id, &vertex_id) {
        Ok(vertex) => ok(&build::vertex_details(&vertex, now_millis())),
        Err(refusal) => refusal.into_response(),
    }
}

async fn vertex_watermarks(
    State(state): State<RestState>,
    Path((job_id, vertex_id)): Path<(String, String)>,
) -> Response {
    match find_vertex(&state, &job_id, &vertex_id) {
        Ok(vertex) => ok(&build::vertex_watermarks(&vertex)),
        Err(refusal) => refusal.into_response(),
    }
}

async fn subtasks_metrics(
    State(state): State<RestState>,
    Path((job_id, vertex_id)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    match find_vertex(&state, &job_id, &vertex_id) {
        Ok(vertex) => ok(&build::subtasks_metrics(
            &vertex,
            query_parameter(&uri, "get"),
        )),
        Err(refusal) => refusal.into_response(),
    }
}

async fn taskmanagers(State(state): State<RestState>) -> Response {
    let taskmanagers = state
        .gateway
        .task_managers()
        .iter()
        .map(build::task_manager_info)
        .collect();
    ok(&rest::TaskManagersInfo { taskmanagers })
}

async fn taskmanager(State(state): State<RestState>, Path(id): Path<String>) -> Response {
    match state.gateway.task_managers().iter().find(|tm| tm.id == id) {
        Some(task_manager) => ok(&build::task_manager_details(task_manager)),
        None => error(
            StatusCode::NOT_FOUND,
            format!(
                "org.apache.flink.runtime.rest.handler.RestHandlerException: Could not find \
                 TaskManager {id}."
            ),
        ),
    }
}

async fn jobmanager_config(State(state): State<RestState>) -> Response {
    let entries: Vec<rest::ConfigurationEntry> = state
        .gateway
        .configuration()
        .into_iter()
        .map(|(key, value)| rest::ConfigurationEntry { key, value })
        .collect();
    ok(&entries)
}
