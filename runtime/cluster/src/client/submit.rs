//! Session mode: `flinkrs run -m HOST:PORT` submits a job to a running JobManager over its
//! REST API (`POST /flinkrs/jobs`) instead of running it in this process, then follows it
//! (`GET /jobs/:id`) until it ends, or returns at once with `-d`. As with Flink's `-m`,
//! `HOST:PORT` is the REST API's address (`rest.port`, 8081 by default).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use flinkrs_contract::rest::{
    JobDetails, JobExceptions, JobState, JobSubmitRequest, JobSubmitResponse, paths,
};

use super::http::RestClient;
use crate::cli::RunArgs;

/// How often an attached client asks for its job's status.
const POLL: Duration = Duration::from_millis(200);

/// The submission `flinkrs run -m` makes of its arguments. Local paths are made absolute, so
/// the cluster's processes (on this machine, for a laptop cluster) read the files meant.
pub fn submission_of(args: &RunArgs) -> anyhow::Result<JobSubmitRequest> {
    let mut flink_configuration = std::collections::BTreeMap::new();
    for property in &args.dynamic_properties {
        let Some((key, value)) = property.split_once('=') else {
            bail!("invalid -D {property}: a dynamic property is written '-D key=value'");
        };
        flink_configuration.insert(key.trim().to_owned(), value.to_owned());
    }
    let sql = args
        .sql_file
        .as_deref()
        .map(crate::run::SqlScript::read)
        .transpose()?
        .map(|script| script.text);
    Ok(JobSubmitRequest {
        example: args.example.clone().unwrap_or_default(),
        sql,
        collect_results: false,
        input: args.input.as_deref().map(absolute),
        output: args.output.as_deref().map(absolute),
        rate: args.rate,
        parallelism: args.parallelism,
        savepoint_path: args.from_savepoint.as_deref().map(absolute),
        allow_non_restored_state: args.allow_non_restored_state,
        flink_configuration,
    })
}

/// `path` made absolute against the working directory, unless it is a URI (`s3://…`).
pub fn absolute(path: &Path) -> String {
    let text = path.display().to_string();
    if text.contains("://") || path.is_absolute() {
        return text;
    }
    std::path::absolute(path).map_or(text, |path| path.display().to_string())
}

/// Submits `request`; unless `detached`, waits for the job to end and returns its summary.
pub fn submit(
    client: &RestClient,
    request: &JobSubmitRequest,
    detached: bool,
) -> anyhow::Result<String> {
    let submitted: JobSubmitResponse = client
        .post(paths::FLINKRS_JOBS, request)
        .context("the JobManager did not take the job")?;
    let job_id = submitted.jobid;
    eprintln!("Job has been submitted with JobID {job_id}");
    if detached {
        return Ok(format!("Job {job_id} runs detached."));
    }
    loop {
        let job: JobDetails = client
            .get(&paths::job(&job_id))
            .with_context(|| format!("lost track of job {job_id}"))?;
        match job.state {
            JobState::Finished => {
                return Ok(format!(
                    "Job '{}' ({job_id}) finished in {:.3} s.",
                    job.name,
                    job.duration as f64 / 1000.0
                ));
            }
            JobState::Failed => bail!(
                "job '{}' ({job_id}) failed: {}",
                job.name,
                failure(client, &job_id)
            ),
            JobState::Canceled => bail!("job '{}' ({job_id}) was cancelled", job.name),
            _ => std::thread::sleep(POLL),
        }
    }
}

/// The job's latest failure, from `/jobs/:id/exceptions`.
fn failure(client: &RestClient, job_id: &str) -> String {
    match client.get::<JobExceptions>(&paths::job_resource(job_id, "exceptions")) {
        Ok(exceptions) => exceptions.exception_history.entries.first().map_or_else(
            || "no failure was recorded".to_owned(),
            |entry| entry.stacktrace.clone(),
        ),
        Err(error) => format!("its failure cannot be read ({error})"),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn run_args(args: &[&str]) -> RunArgs {
        let cli = Cli::try_parse_from(["flinkrs", "run"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Run(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn the_submission_carries_every_option_of_the_command_line() {
        let args = run_args(&[
            "-m",
            "localhost:8081",
            "--example",
            "wordcount",
            "--input",
            "/data/books",
            "--output",
            "s3://bucket/counts",
            "--rate",
            "20",
            "-p",
            "3",
            "-s",
            "/sp/savepoint-1",
            "-n",
            "-D",
            "pipeline.name=wc",
            "-D",
            "execution.checkpointing.interval=1s",
        ]);
        let submission = submission_of(&args).unwrap();
        assert_eq!(
            serde_json::to_string(&submission).unwrap(),
            r#"{"example":"wordcount","input":"/data/books","output":"s3://bucket/counts","rate":20,"parallelism":3,"savepointPath":"/sp/savepoint-1","allowNonRestoredState":true,"flinkConfiguration":{"execution.checkpointing.interval":"1s","pipeline.name":"wc"}}"#
        );
    }

    #[test]
    fn relative_paths_are_sent_absolute() {
        let args = run_args(&["-m", "h:1", "--example", "wordcount", "--input", "books"]);
        let submission = submission_of(&args).unwrap();
        let expected = std::env::current_dir().unwrap().join("books");
        assert_eq!(submission.input, Some(expected.display().to_string()));
    }

    #[test]
    fn a_property_without_a_value_is_refused() {
        let args = run_args(&["-m", "h:1", "--example", "wordcount", "-D", "pipeline.name"]);
        assert_eq!(
            submission_of(&args).unwrap_err().to_string(),
            "invalid -D pipeline.name: a dynamic property is written '-D key=value'"
        );
    }
}
