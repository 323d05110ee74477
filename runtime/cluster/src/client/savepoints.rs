//! `flinkrs savepoint` and `flinkrs stop`, with the output of Flink's `flink savepoint` and
//! `flink stop`: trigger (`POST /jobs/:id/savepoints` or `POST /jobs/:id/stop`), then poll
//! `GET /jobs/:id/savepoints/:triggerid` until the operation completes. A savepoint that takes
//! a while prints a line every few seconds, so a waiting terminal shows it is alive; the
//! command waits as long as the savepoint takes (Ctrl-C stops the waiting, not the savepoint).

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use flinkrs_contract::rest::{
    AsynchronousOperationResult, OperationStatus, SavepointTriggerRequest,
    StopWithSavepointRequest, TriggerId, TriggerResponse, paths,
};

use super::http::{RestClient, plain_reason};
use super::jobs::unknown_job;

/// How often the operation's status is asked for.
const POLL: Duration = Duration::from_millis(200);

/// How often a savepoint still in progress says so.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// `flinkrs savepoint JOBID [DIR]`.
pub fn savepoint(
    client: &RestClient,
    job_id: &str,
    target_directory: Option<String>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    writeln!(out, "Triggering savepoint for job {job_id}.")?;
    let failed = || format!("failed to trigger a savepoint for the job {job_id}");
    let request = SavepointTriggerRequest {
        target_directory,
        ..SavepointTriggerRequest::default()
    };
    let trigger: TriggerResponse = client
        .post(&paths::job_resource(job_id, "savepoints"), &request)
        .map_err(|error| unknown_job(client, job_id, error))
        .with_context(failed)?;
    writeln!(out, "Waiting for response...")?;
    out.flush()?;
    let location =
        wait_for_savepoint(client, job_id, &trigger.request_id, out).with_context(failed)?;
    writeln!(out, "Savepoint completed. Path: {location}")?;
    writeln!(
        out,
        "You can resume your program from this savepoint with the run command."
    )?;
    Ok(())
}

/// `flinkrs stop [--savepointPath DIR] [--drain] JOBID`: a savepoint, then the job ends.
pub fn stop(
    client: &RestClient,
    job_id: &str,
    target_directory: Option<String>,
    drain: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let how = if drain { "Draining" } else { "Suspending" };
    writeln!(out, "{how} job \"{job_id}\" with a CANONICAL savepoint.")?;
    out.flush()?;
    let failed = || format!("could not stop with a savepoint job \"{job_id}\"");
    let request = StopWithSavepointRequest {
        target_directory,
        drain,
        ..StopWithSavepointRequest::default()
    };
    let trigger: TriggerResponse = client
        .post(&paths::job_resource(job_id, "stop"), &request)
        .map_err(|error| unknown_job(client, job_id, error))
        .with_context(failed)?;
    let location =
        wait_for_savepoint(client, job_id, &trigger.request_id, out).with_context(failed)?;
    writeln!(out, "Savepoint completed. Path: {location}")?;
    Ok(())
}

/// Polls the operation until it completes: its savepoint's location, or why it failed.
fn wait_for_savepoint(
    client: &RestClient,
    job_id: &str,
    trigger: &TriggerId,
    out: &mut dyn Write,
) -> anyhow::Result<String> {
    let path = paths::savepoint_status(job_id, trigger.as_str());
    let mut progress = Progress::new(Instant::now(), PROGRESS_EVERY);
    loop {
        let status: AsynchronousOperationResult = client.get(&path)?;
        if status.status.id == OperationStatus::Completed {
            let Some(operation) = status.operation else {
                anyhow::bail!("the JobManager reported the savepoint complete without its result");
            };
            if let Some(failure) = operation.failure_cause {
                let reason = failure
                    .stack_trace
                    .lines()
                    .next()
                    .map_or(failure.class.as_str(), plain_reason);
                anyhow::bail!("{reason}");
            }
            return operation.location.ok_or_else(|| {
                anyhow::anyhow!("the JobManager reported the savepoint complete without its path")
            });
        }
        if let Some(line) = progress.due(Instant::now()) {
            writeln!(out, "{line}")?;
            out.flush()?;
        }
        std::thread::sleep(POLL);
    }
}

/// When to say that a savepoint is still in progress: once every `every`.
#[derive(Debug)]
struct Progress {
    started: Instant,
    every: Duration,
    reported: u32,
}

impl Progress {
    fn new(started: Instant, every: Duration) -> Self {
        Progress {
            started,
            every,
            reported: 0,
        }
    }

    /// The line to print at `now`, if one is due.
    fn due(&mut self, now: Instant) -> Option<String> {
        let next = self.every * (self.reported + 1);
        let elapsed = now.saturating_duration_since(self.started);
        if elapsed < next {
            return None;
        }
        self.reported =
            u32::try_from(elapsed.as_nanos() / self.every.as_nanos().max(1)).unwrap_or(u32::MAX);
        Some(format!("Waiting for response... ({} s)", elapsed.as_secs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_savepoint_reports_once_every_interval() {
        let start = Instant::now();
        let mut progress = Progress::new(start, Duration::from_secs(5));
        let at = |millis: u64| start + Duration::from_millis(millis);
        assert_eq!(progress.due(at(200)), None);
        assert_eq!(progress.due(at(4_999)), None);
        assert_eq!(
            progress.due(at(5_000)).as_deref(),
            Some("Waiting for response... (5 s)")
        );
        assert_eq!(progress.due(at(5_200)), None);
        assert_eq!(progress.due(at(9_800)), None);
        assert_eq!(
            progress.due(at(10_100)).as_deref(),
            Some("Waiting for response... (10 s)")
        );
        // A stall of several intervals (a slow answer) reports once, not once per interval.
        assert_eq!(
            progress.due(at(31_000)).as_deref(),
            Some("Waiting for response... (31 s)")
        );
        assert_eq!(progress.due(at(34_000)), None);
        assert_eq!(
            progress.due(at(35_000)).as_deref(),
            Some("Waiting for response... (35 s)")
        );
    }
}
