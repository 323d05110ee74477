//! The operator's own HTTP endpoint: `/metrics` (Prometheus) and `/healthz`, which answers
//! 503 with the reason while the controller loop is stopped or stuck.

use std::sync::Arc;

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::get,
};
use tokio::net::TcpListener;

use crate::{Error, Result, health::ControllerHealth, metrics::Metrics};

#[derive(Clone)]
struct Shared {
    metrics: Arc<Metrics>,
    health: Arc<ControllerHealth>,
}

/// Serves until the task is dropped.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    health: Arc<ControllerHealth>,
) -> Result<()> {
    let address = listener
        .local_addr()
        .map(|address| address.to_string())
        .unwrap_or_else(|_| "an unknown address".to_owned());
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .with_state(Shared { metrics, health });
    axum::serve(listener, app)
        .await
        .map_err(|source| Error::HttpServer { address, source })
}

async fn metrics_text(State(shared): State<Shared>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        shared.metrics.encode(),
    )
}

async fn healthz(State(shared): State<Shared>) -> impl IntoResponse {
    match shared.health.check() {
        Ok(()) => (StatusCode::OK, "ok\n".to_owned()),
        Err(problem) => (StatusCode::SERVICE_UNAVAILABLE, format!("{problem}\n")),
    }
}
