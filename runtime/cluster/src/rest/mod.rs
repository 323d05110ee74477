//! Flink's REST API: `/overview`, `/jobs/overview`, `/jobs/:id`, `PATCH /jobs/:id?mode=cancel`,
//! savepoints, checkpoints, vertices, TaskManagers and configuration, with Flink's paths,
//! status codes and JSON field names (the contract crate's `rest` types), and one path of
//! flinkrs's own, `POST /flinkrs/jobs`, that submits a built-in job.
//!
//! The server knows a JobManager only through [`JobManagerGateway`]: [`LocalJobManager`] is the
//! in-process one `flinkrs run` serves while its job runs; the distributed JobManager
//! implements the same trait. [`router`] gives the routes for any tokio runtime;
//! [`RestServer`] runs them on a thread of its own for a process without one. The routes
//! include the web UI ([`web`]): a page at `/` that reads this API.

mod gateway;
mod in_process;
mod responses;
mod router;
mod savepoints;
mod submission;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context;
pub use gateway::{
    CheckpointsView, FailureView, GatewayError, JobManagerGateway, JobView, ResultsPage,
    SavepointCompletion, SavepointKind, SavepointTrigger, SubmitError, SubtaskView,
    TaskManagerView, VertexView, rest_metric_name,
};
pub(crate) use in_process::ship_strategy;
pub use in_process::{LocalJobManager, SavepointEnding};
pub use responses::now_millis;
pub use router::router;
pub use submission::run_request_of;
use tokio::sync::oneshot;

/// An HTTP server on a thread of its own, with a small tokio runtime; stops when dropped.
#[derive(Debug)]
pub struct HttpServer {
    address: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// The REST API's server.
pub type RestServer = HttpServer;

impl HttpServer {
    /// Binds `bind_address:port` (port 0: any free one) and serves `app` there. Fails, naming
    /// the address, when it cannot bind.
    pub fn start(
        app: axum::Router,
        bind_address: &str,
        port: u16,
        what: &str,
    ) -> anyhow::Result<Self> {
        // Bound here, with std, so that a caller inside a tokio runtime can start one too.
        let listener = std::net::TcpListener::bind((bind_address, port))
            .with_context(|| format!("cannot serve {what} on {bind_address}:{port}"))?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .context("cannot start the HTTP server's runtime")?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("{what} server"))
            .spawn(move || {
                let served = runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await
                });
                if let Err(error) = served {
                    tracing::warn!(%error, "the HTTP server stopped");
                }
            })?;
        Ok(HttpServer {
            address,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// Serves Flink's REST API over `gateway`.
    pub fn rest(
        gateway: Arc<dyn JobManagerGateway>,
        bind_address: &str,
        port: u16,
    ) -> anyhow::Result<Self> {
        HttpServer::start(router(gateway), bind_address, port, "the REST API")
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
