//! Session mode: `flinkrs run -m HOST:PORT` submits a job to a running JobManager instead of
//! running it in-process, then follows it until it ends (or returns at once with `-d`).
//!
//! For now `HOST:PORT` is the JobManager's control plane (`jobmanager.rpc.port`, 6123 by
//! default); it moves to the REST API's port once that serves submissions.

use std::time::Duration;

use anyhow::{Context as _, bail};
use tonic::transport::Endpoint;

use crate::job_spec::spec_of;
use crate::rpc::jobmanager::job_manager_client::JobManagerClient;
use crate::rpc::messages::JobRef;
use crate::run::RunRequest;

/// How often an attached client asks for its job's status.
const POLL: Duration = Duration::from_millis(200);

/// Submits `request` to the JobManager at `jobmanager`; unless `detached`, waits for the job
/// to end and returns its summary line.
pub fn submit(jobmanager: &str, request: &RunRequest, detached: bool) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the client's I/O runtime")?;
    runtime.block_on(async {
        let endpoint = Endpoint::from_shared(format!("http://{jobmanager}"))
            .with_context(|| format!("'{jobmanager}' is not HOST:PORT"))?
            .connect_timeout(Duration::from_secs(10));
        let channel = endpoint.connect().await.with_context(|| {
            format!(
                "cannot reach the JobManager at {jobmanager}; start one with `flinkrs \
                 jobmanager` (or `flinkrs local`), or pass its address with -m HOST:PORT"
            )
        })?;
        let mut client = JobManagerClient::new(channel);
        let submitted = client
            .submit_job(spec_of(request))
            .await
            .map_err(|status| anyhow::anyhow!("{}", status.message()))
            .context("the JobManager refused the job")?
            .into_inner();
        let job_id = submitted.job_id;
        eprintln!("Job has been submitted with JobID {job_id}");
        if detached {
            return Ok(format!("Job {job_id} runs detached."));
        }
        let mut ticks = tokio::time::interval(POLL);
        loop {
            ticks.tick().await;
            let status = client
                .job_status(JobRef {
                    job_id: job_id.clone(),
                })
                .await
                .map_err(|status| anyhow::anyhow!("{}", status.message()))
                .with_context(|| format!("lost track of job {job_id}"))?
                .into_inner();
            match status.status.as_str() {
                "FINISHED" => {
                    return Ok(format!(
                        "Job '{}' ({job_id}) finished in {:.3} s: {} records in, {} records out.",
                        status.name,
                        status.duration_ms as f64 / 1000.0,
                        status.records_in,
                        status.records_out
                    ));
                }
                "FAILED" => bail!(
                    "job '{}' ({job_id}) failed: {}",
                    status.name,
                    status.failure
                ),
                "CANCELED" => bail!("job '{}' ({job_id}) was cancelled", status.name),
                _ => {}
            }
        }
    })
}
