//! The process's one tokio runtime for I/O (architecture decision 1): S3 checkpoint storage
//! now, the network later. It lives here because this is the lowest crate that does I/O.
//!
//! Task threads and the checkpoint coordinator's thread are plain OS threads. They hand a
//! future to the runtime and wait for its answer on a channel ([`block_on`]); the future
//! runs on the runtime's worker threads, never on the caller's. The runtime starts on first
//! use, so a job that never touches S3 starts no I/O threads.

use std::future::Future;
use std::sync::{OnceLock, mpsc};

use tokio::runtime::Runtime;

use crate::error::{Error, Result};

/// I/O waits far more than it computes: two workers, one per core of a small machine, keep
/// many requests in flight.
const WORKER_THREADS: usize = 2;

static RUNTIME: OnceLock<std::result::Result<Runtime, String>> = OnceLock::new();

/// The I/O runtime, started on first use.
pub fn runtime() -> Result<&'static Runtime> {
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("flinkrs-io")
            .enable_all()
            .build()
            .map_err(|error| error.to_string())
    });
    runtime.as_ref().map_err(|reason| {
        Error::IoRuntime(format!("cannot start the I/O runtime's threads: {reason}"))
    })
}

/// Runs `future` on the I/O runtime and waits for its output on the calling thread. Call it
/// from plain threads (tasks, the checkpoint coordinator), not from inside an async task.
/// Every future given here must bound its own time: this waits as long as the future runs.
pub fn block_on<F>(future: F) -> Result<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (answer, answered) = mpsc::sync_channel(1);
    runtime()?.spawn(async move {
        // The caller may have given up (it cannot: it waits), so a failed send is harmless.
        let _ = answer.send(future.await);
    });
    answered.recv().map_err(|_| {
        Error::IoRuntime("an I/O task ended without an answer: it panicked".to_owned())
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_future_runs_on_the_io_threads_and_its_answer_comes_back() {
        let (answer, thread) = block_on(async {
            tokio::time::sleep(Duration::from_millis(1)).await;
            (42, std::thread::current().name().map(str::to_owned))
        })
        .unwrap();
        assert_eq!(answer, 42);
        assert_eq!(thread.as_deref(), Some("flinkrs-io"));
    }

    #[test]
    fn a_panicking_future_is_an_error_not_a_hang() {
        let outcome = block_on(async {
            if std::hint::black_box(true) {
                panic!("deliberately");
            }
        });
        let message = outcome.unwrap_err().to_string();
        assert!(message.contains("it panicked"), "{message}");
    }
}
