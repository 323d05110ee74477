//! The operator's own HTTP endpoint: `/metrics` (Prometheus) and `/healthz`.

use std::sync::Arc;

use axum::{Router, extract::State, http::header, response::IntoResponse, routing::get};
use tokio::net::TcpListener;

use crate::{Error, Result, metrics::Metrics};

/// Serves until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> Result<()> {
    let address = listener
        .local_addr()
        .map(|address| address.to_string())
        .unwrap_or_else(|_| "an unknown address".to_owned());
    let app = Router::new()
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(metrics);
    axum::serve(listener, app)
        .await
        .map_err(|source| Error::HttpServer { address, source })
}

async fn metrics_text(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        metrics.encode(),
    )
}
