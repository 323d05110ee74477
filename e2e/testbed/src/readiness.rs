//! Bounded polling: the only way the testbed waits for a component.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::process::ManagedProcess;
use crate::{Error, Result};

const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Polls `probe` until it returns `Ok(Some(value))`, the process exits (fails
/// at once, with its log), or `deadline` passes (fails with the last reason
/// the probe gave). `Ok(None)` and `Err` both mean "not yet".
pub(crate) async fn wait_until_ready<T, F, Fut>(
    process: &mut ManagedProcess,
    deadline: Duration,
    mut probe: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>>>,
{
    let started = Instant::now();
    let mut last_problem = String::from("no probe has answered yet");
    loop {
        process.ensure_running()?;
        match probe().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(error) => last_problem = error.to_string(),
        }
        if started.elapsed() > deadline {
            return Err(Error::NotReady {
                component: process.component().to_owned(),
                waited: deadline,
                last_problem,
                log_tail: process.log_tail(),
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A probe for "GET url answers `expected_status`", for components with a
/// plain-http health endpoint.
pub(crate) async fn http_status_is(url: &str, expected_status: u16) -> Result<Option<()>> {
    let response = crate::http_client::get(url).await?;
    if response.status == expected_status {
        Ok(Some(()))
    } else {
        Err(Error::Http {
            url: url.to_owned(),
            detail: format!("status {} ({})", response.status, response.body.trim()),
        })
    }
}
