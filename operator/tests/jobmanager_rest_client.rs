//! The real HTTP JobManager client against Flink REST responses (recorded from
//! Flink 2.3.0, see fixtures/flink-rest/README.md), served from a loopback server.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{Method, StatusCode, Uri},
};
use serde_json::json;

use flinkrs_operator::jobmanager_client::{
    HttpJobManagerClient, JobManagerClient, JobManagerError, JobState, LatestCheckpoint,
    SavepointRequest, SavepointStatus,
};

const RUNNING_JOB: &str = "f99bfd0afc365abfb8b23641b7d0b785";
const EMPTY_JOB: &str = "00000000000000000000000000000000";
const UNKNOWN_JOB: &str = "ffffffffffffffffffffffffffffffff";

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/flink-rest")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// A recorded raw response (`HTTP/1.1 202 Accepted`, headers, blank line, body).
fn recorded_response(name: &str) -> (StatusCode, String) {
    let text = fixture(name);
    let status: u16 = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let body = text
        .split_once("\r\n\r\n")
        .or_else(|| text.split_once("\n\n"))
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (StatusCode::from_u16(status).expect("a status code"), body)
}

type Routes = HashMap<(Method, String), (StatusCode, String)>;

#[derive(Clone, Default)]
struct FakeFlink {
    routes: Arc<Routes>,
    requests: Arc<Mutex<Vec<(Method, String, String)>>>,
}

async fn respond(
    State(flink): State<FakeFlink>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> (StatusCode, String) {
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    flink.requests.lock().expect("not poisoned").push((
        method.clone(),
        path.clone(),
        String::from_utf8_lossy(&body).into_owned(),
    ));
    flink.routes.get(&(method, path)).cloned().unwrap_or((
        StatusCode::NOT_FOUND,
        json!({"errors": ["Not found: /unknown"]}).to_string(),
    ))
}

/// Serves the fixtures on a free loopback port; returns the base URL.
async fn serve_fixtures() -> (String, FakeFlink) {
    let ok = |name: &str| (StatusCode::OK, fixture(name));
    let mut routes = Routes::new();
    let mut route = |method: Method, path: String, response: (StatusCode, String)| {
        routes.insert((method, path), response);
    };
    route(
        Method::GET,
        "/jobs/overview".into(),
        ok("jobs_overview_running.json"),
    );
    route(
        Method::GET,
        format!("/jobs/{RUNNING_JOB}"),
        ok("job_running.json"),
    );
    route(
        Method::GET,
        format!("/jobs/{RUNNING_JOB}/checkpoints"),
        ok("keyed_job_checkpoints.json"),
    );
    route(
        Method::GET,
        format!("/jobs/{EMPTY_JOB}/checkpoints"),
        ok("job_checkpoints.json"),
    );
    route(
        Method::GET,
        format!("/jobs/{EMPTY_JOB}"),
        (StatusCode::OK, "<html>a proxy page</html>".to_owned()),
    );
    route(
        Method::POST,
        format!("/jobs/{RUNNING_JOB}/savepoints"),
        (StatusCode::ACCEPTED, fixture("savepoint_trigger.json")),
    );
    route(
        Method::POST,
        format!("/jobs/{RUNNING_JOB}/stop"),
        (StatusCode::ACCEPTED, fixture("stop_trigger.json")),
    );
    route(
        Method::GET,
        format!("/jobs/{RUNNING_JOB}/savepoints/in-progress"),
        ok("savepoint_status_in_progress.json"),
    );
    route(
        Method::GET,
        format!("/jobs/{RUNNING_JOB}/savepoints/completed"),
        ok("savepoint_status_completed.json"),
    );
    route(
        Method::GET,
        format!("/jobs/{RUNNING_JOB}/savepoints/failed"),
        ok("savepoint_unwritable_status_completed.json"),
    );
    route(
        Method::PATCH,
        format!("/jobs/{RUNNING_JOB}?mode=cancel"),
        recorded_response("patch_cancel.txt"),
    );
    route(
        Method::PATCH,
        format!("/jobs/{UNKNOWN_JOB}?mode=cancel"),
        recorded_response("patch_cancel_unknown.txt"),
    );
    let flink = FakeFlink {
        routes: Arc::new(routes),
        ..FakeFlink::default()
    };
    let app = Router::new().fallback(respond).with_state(flink.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let address = listener.local_addr().expect("an address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}"), flink)
}

#[tokio::test]
async fn jobs_overview_reads_the_recorded_running_job() {
    let (url, _) = serve_fixtures().await;
    let jobs = HttpJobManagerClient::new(&url)
        .jobs_overview()
        .await
        .expect("parsed");
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, RUNNING_JOB);
    assert_eq!(jobs[0].name, "rest-probe-unbounded-tumble");
    assert_eq!(jobs[0].state, JobState::Running);
    assert_eq!(jobs[0].start_time, 1795344005388);
}

#[test]
fn every_recorded_jobs_overview_parses() {
    type Overview = flinkrs_contract::rest::MultipleJobsDetails;
    let empty: Overview =
        serde_json::from_str(&fixture("jobs_overview_empty.json")).expect("parsed");
    assert!(empty.jobs.is_empty());
    let after: Overview =
        serde_json::from_str(&fixture("jobs_overview_after.json")).expect("parsed");
    let states: Vec<JobState> = after.jobs.into_iter().map(|job| job.state).collect();
    assert_eq!(states, [JobState::Finished, JobState::Canceled]);
    let cancelled: flinkrs_contract::rest::JobDetails =
        serde_json::from_str(&fixture("job_cancelled.json")).expect("parsed");
    assert_eq!(
        (cancelled.state, cancelled.end_time),
        (JobState::Canceled, 1795344034400)
    );
}

#[tokio::test]
async fn job_details_reads_the_recorded_job() {
    let (url, _) = serve_fixtures().await;
    let job = HttpJobManagerClient::new(&url)
        .job_details(RUNNING_JOB)
        .await
        .expect("parsed");
    assert_eq!(
        (job.id.as_str(), job.state, job.end_time),
        (RUNNING_JOB, JobState::Running, -1)
    );
}

#[tokio::test]
async fn latest_checkpoint_is_none_before_the_first_and_the_external_path_after() {
    let (url, _) = serve_fixtures().await;
    let client = HttpJobManagerClient::new(&url);
    assert_eq!(
        client.latest_checkpoint(EMPTY_JOB).await.expect("parsed"),
        None
    );
    assert_eq!(
        client.latest_checkpoint(RUNNING_JOB).await.expect("parsed"),
        Some(LatestCheckpoint {
            id: 13,
            external_path: "file:/data/flink/checkpoints/8de18148014df1893564ed58d2a94095/chk-13"
                .to_owned()
        })
    );
}

#[tokio::test]
async fn trigger_savepoint_posts_flinks_request_body_and_returns_the_request_id() {
    let (url, flink) = serve_fixtures().await;
    let request = SavepointRequest {
        trigger_id: "0123456789abcdef0123456789abcdef".to_owned(),
        target_directory: Some("s3://bucket/savepoints".to_owned()),
        stop_job: false,
    };
    let trigger = HttpJobManagerClient::new(&url)
        .trigger_savepoint(RUNNING_JOB, &request)
        .await
        .expect("accepted");
    assert_eq!(trigger, "1ca5324acf1787851c004c65515e7c5f");
    let requests = flink.requests.lock().expect("not poisoned").clone();
    let (method, path, body) = &requests[0];
    assert_eq!(
        (method, path.as_str()),
        (
            &Method::POST,
            format!("/jobs/{RUNNING_JOB}/savepoints").as_str()
        )
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(
        body,
        json!({
            "cancel-job": false,
            "triggerId": "0123456789abcdef0123456789abcdef",
            "target-directory": "s3://bucket/savepoints"
        })
    );
}

#[tokio::test]
async fn a_savepoint_that_stops_the_job_posts_flinks_stop_with_savepoint_body() {
    let (url, flink) = serve_fixtures().await;
    let request = SavepointRequest {
        trigger_id: "0123456789abcdef0123456789abcdef".to_owned(),
        target_directory: Some("s3://bucket/savepoints".to_owned()),
        stop_job: true,
    };
    let trigger = HttpJobManagerClient::new(&url)
        .trigger_savepoint(RUNNING_JOB, &request)
        .await
        .expect("accepted");
    assert_eq!(trigger, "04cf0c9e88974f8ee52f845ef3be230f");
    let requests = flink.requests.lock().expect("not poisoned").clone();
    let (method, path, body) = &requests[0];
    assert_eq!(
        (method, path.as_str()),
        (&Method::POST, format!("/jobs/{RUNNING_JOB}/stop").as_str())
    );
    let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
    assert_eq!(
        body,
        json!({
            "drain": false,
            "triggerId": "0123456789abcdef0123456789abcdef",
            "targetDirectory": "s3://bucket/savepoints"
        })
    );
}

#[tokio::test]
async fn savepoint_status_reads_in_progress_completed_and_failed() {
    let (url, _) = serve_fixtures().await;
    let client = HttpJobManagerClient::new(&url);
    assert_eq!(
        client
            .savepoint_status(RUNNING_JOB, "in-progress")
            .await
            .expect("parsed"),
        SavepointStatus::InProgress
    );
    assert_eq!(
        client
            .savepoint_status(RUNNING_JOB, "completed")
            .await
            .expect("parsed"),
        SavepointStatus::Completed {
            location: "file:/data/flink/savepoints/sp-plain/savepoint-8de181-166846a498df"
                .to_owned()
        }
    );
    assert_eq!(
        client.savepoint_status(RUNNING_JOB, "failed").await.expect("parsed"),
        SavepointStatus::Failed {
            cause: "java.util.concurrent.CompletionException: org.apache.flink.runtime.checkpoint.CheckpointException: An Exception occurred while triggering the checkpoint. IO-problem detected.".to_owned()
        }
    );
}

#[tokio::test]
async fn cancel_succeeds_on_202_and_reports_flinks_first_error_line_on_404() {
    let (url, flink) = serve_fixtures().await;
    let client = HttpJobManagerClient::new(&url);
    client.cancel_job(RUNNING_JOB).await.expect("202 Accepted");
    let error = client.cancel_job(UNKNOWN_JOB).await.expect_err("404");
    match error {
        JobManagerError::Http {
            url: failed,
            status,
            message,
        } => {
            assert_eq!(failed, format!("{url}/jobs/{UNKNOWN_JOB}?mode=cancel"));
            assert_eq!(status, 404);
            assert_eq!(
                message,
                "org.apache.flink.runtime.rest.handler.RestHandlerException: Job could not be found."
            );
        }
        other => panic!("expected an HTTP error, got {other:?}"),
    }
    let methods: Vec<Method> = flink
        .requests
        .lock()
        .expect("not poisoned")
        .iter()
        .map(|r| r.0.clone())
        .collect();
    assert_eq!(methods, [Method::PATCH, Method::PATCH]);
}

#[tokio::test]
async fn an_unreachable_jobmanager_is_an_error_that_names_its_url() {
    // Bind and drop a listener: nothing listens on that port any more.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("address")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let error = HttpJobManagerClient::new(&url)
        .jobs_overview()
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(&error, JobManagerError::Unreachable { url: failed, .. } if *failed == format!("{url}/jobs/overview")),
        "{error:?}"
    );
    assert!(
        error.to_string().starts_with(&format!(
            "JobManager at {url}/jobs/overview is unreachable: "
        )),
        "{error}"
    );
}

#[tokio::test]
async fn a_response_that_is_not_flinks_shape_is_a_bad_response_error_naming_the_url() {
    let (url, _) = serve_fixtures().await;
    let error = HttpJobManagerClient::new(&url)
        .job_details(EMPTY_JOB)
        .await
        .expect_err("not JSON");
    match error {
        JobManagerError::BadResponse {
            url: failed,
            reason,
        } => {
            assert_eq!(failed, format!("{url}/jobs/{EMPTY_JOB}"));
            assert!(
                reason.starts_with("expected value at line 1 column 1"),
                "{reason}"
            );
        }
        other => panic!("expected a bad response, got {other:?}"),
    }
}
