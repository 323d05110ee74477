//! Pages of a `SELECT` job's rows for the SQL client (`GET /flinkrs/jobs/:id/results`): asked
//! of the TaskManagers that run the job, over their data ports
//! ([`flinkrs_dataflow::collect::wire`]), since records never travel over the control plane.

use std::time::Duration;

use flinkrs_contract::rest::{JobResultsResponse, JobState};
use flinkrs_core::JobId;
use flinkrs_dataflow::collect::Page;
use flinkrs_dataflow::collect::wire::{self, FetchRequest};

use super::jobs::{JobEntry, JobStatus};

/// The most bytes of rows in one page.
const PAGE_BYTES: u32 = 4 << 20;

/// How long a TaskManager has to answer a fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The page of `job`'s rows from `offset`, from whichever of its TaskManagers holds them.
/// `state` is the job's state when the request came. A job that has ended and whose rows no
/// TaskManager holds any more is finished, failed or cancelled with no rows.
pub(crate) async fn fetch(
    job_id: String,
    job: JobEntry,
    state: JobState,
    offset: u64,
) -> Result<JobResultsResponse, String> {
    let id = u128::from_str_radix(&job_id, 16)
        .map(JobId)
        .map_err(|error| format!("'{job_id}' is not a job id: {error}"))?;
    let request = FetchRequest {
        job: id,
        offset,
        max_bytes: PAGE_BYTES,
    };
    let failure = match job.status {
        JobStatus::Failed => Some(
            job.failure
                .clone()
                .unwrap_or_else(|| "the job failed".to_owned()),
        ),
        JobStatus::Canceled => Some("the job was cancelled".to_owned()),
        _ => None,
    };
    let mut unreachable = Vec::new();
    for address in &job.data_addresses {
        match tokio::time::timeout(FETCH_TIMEOUT, wire::fetch(address, request)).await {
            Ok(Ok(Some(page))) => return response(state, page, failure),
            Ok(Ok(None)) => {}
            Ok(Err(error)) => unreachable.push(format!("{address}: {error}")),
            Err(_) => unreachable.push(format!("{address}: no answer within {FETCH_TIMEOUT:?}")),
        }
    }
    if job.status == JobStatus::Finished && !unreachable.is_empty() {
        // The rows may be on a TaskManager that did not answer: finishing now could lose them.
        return Err(format!(
            "the job's rows could not be read from its TaskManagers ({}); ask again",
            unreachable.join("; ")
        ));
    }
    Ok(JobResultsResponse {
        state,
        attempt: job.attempt,
        offset,
        batches: Vec::new(),
        finished: job.status == JobStatus::Finished,
        failure,
    })
}

fn response(
    state: JobState,
    page: Page,
    failure: Option<String>,
) -> Result<JobResultsResponse, String> {
    let batches = page
        .chunks
        .iter()
        .map(|chunk| serde_json::from_slice(chunk))
        .collect::<Result<Vec<serde_json::Value>, _>>()
        .map_err(|error| format!("a malformed batch of rows from the collect sink: {error}"))?;
    Ok(JobResultsResponse {
        state,
        attempt: page.attempt,
        offset: page.offset,
        batches,
        finished: page.finished,
        failure,
    })
}
