use std::path::PathBuf;
use std::time::Duration;

/// Why a testbed component could not be started or used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{key} is not pinned in e2e/testbed/install/versions.env")]
    VersionNotPinned { key: String },

    #[error("{component} is not installed (expected {}); run `make testbed`", path.display())]
    NotInstalled { component: String, path: PathBuf },

    #[error("{component} needs root; this test runs as uid {uid}")]
    NotRoot { component: String, uid: String },

    #[error("could not start {component} ({}): {source}", program.display())]
    Spawn {
        component: String,
        program: PathBuf,
        source: std::io::Error,
    },

    #[error("{component} exited early with {status}; last log lines:\n{log_tail}")]
    ExitedEarly {
        component: String,
        status: std::process::ExitStatus,
        log_tail: String,
    },

    #[error(
        "{component} was not ready after {waited:?}: {last_problem}; last log lines:\n{log_tail}"
    )]
    NotReady {
        component: String,
        waited: Duration,
        last_problem: String,
        log_tail: String,
    },

    #[error("{command} failed: {detail}")]
    Command { command: String, detail: String },

    #[error("HTTP request to {url} failed: {detail}")]
    Http { url: String, detail: String },

    #[error("I/O error on {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error(transparent)]
    Kube(#[from] kube::Error),

    #[error(transparent)]
    Kubeconfig(#[from] kube::config::KubeconfigError),

    #[error(transparent)]
    Json(#[from] serde_json::Error),

    #[error("S3 request to {endpoint} failed: {detail}")]
    S3 { endpoint: String, detail: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches the path to an I/O error, so the message names the file.
pub(crate) fn io_at(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.into();
    move |source| Error::Io { path, source }
}
