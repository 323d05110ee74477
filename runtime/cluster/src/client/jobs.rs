//! `flinkrs list` and `flinkrs cancel`, with the output of Flink's `flink list` and
//! `flink cancel`.

use std::io::Write;

use anyhow::Context as _;
use flinkrs_contract::rest::{JobState, JobSummary, MultipleJobsDetails, paths};

use super::http::{ClientError, RestClient};

/// Which jobs `list` shows: `-r`, `-s`, `-a`; running and scheduled ones when none is given,
/// as Flink does.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ListFilter {
    pub running: bool,
    pub scheduled: bool,
    pub all: bool,
}

/// `flinkrs list`: the JobManager's jobs (`GET /jobs/overview`), grouped as Flink groups them:
/// scheduled (CREATED, INITIALIZING), running or restarting (every other state that is not an
/// end), and terminated (FINISHED, CANCELED, FAILED), each oldest first.
pub fn list(client: &RestClient, filter: ListFilter, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "Waiting for response...")?;
    out.flush()?;
    let overview: MultipleJobsDetails = client
        .get(paths::JOBS_OVERVIEW)
        .context("cannot retrieve the job list")?;
    let (mut running, mut scheduled, mut terminated) = (Vec::new(), Vec::new(), Vec::new());
    for job in overview.jobs {
        match job.state {
            JobState::Created | JobState::Initializing => scheduled.push(job),
            state if state.is_terminal() => terminated.push(job),
            _ => running.push(job),
        }
    }
    let show_default = !filter.running && !filter.scheduled && !filter.all;
    if filter.running || filter.all || show_default {
        if running.is_empty() {
            writeln!(out, "No running jobs.")?;
        } else {
            section(
                out,
                "------------------ Running/Restarting Jobs -------------------",
                &mut running,
            )?;
        }
    }
    if filter.scheduled || filter.all || show_default {
        if scheduled.is_empty() {
            writeln!(out, "No scheduled jobs.")?;
        } else {
            section(
                out,
                "----------------------- Scheduled Jobs -----------------------",
                &mut scheduled,
            )?;
        }
    }
    if filter.all && !terminated.is_empty() {
        section(
            out,
            "---------------------- Terminated Jobs -----------------------",
            &mut terminated,
        )?;
    }
    Ok(())
}

/// A heading, one line per job, and the closing rule.
fn section(out: &mut dyn Write, heading: &str, jobs: &mut [JobSummary]) -> anyhow::Result<()> {
    // Flink orders by start time, jobs started in the same millisecond by their state's name.
    jobs.sort_by(|a, b| (a.start_time, a.state.as_str()).cmp(&(b.start_time, b.state.as_str())));
    writeln!(out, "{heading}")?;
    for job in jobs.iter() {
        writeln!(out, "{}", job_line(job))?;
    }
    writeln!(
        out,
        "--------------------------------------------------------------"
    )?;
    Ok(())
}

/// `08.12.2026 14:03:51 : <job id> : <name> (RUNNING)`, the start in local time.
pub fn job_line(job: &JobSummary) -> String {
    format!(
        "{} : {} : {} ({})",
        local_time(job.start_time),
        job.jid,
        job.name,
        job.state
    )
}

/// Milliseconds since the epoch as `dd.MM.yyyy HH:mm:ss` in the local time zone (`TZ`, else
/// the system's), as Flink's CLI prints times.
pub fn local_time(millis: i64) -> String {
    time_in(millis, jiff::tz::TimeZone::system())
}

fn time_in(millis: i64, zone: jiff::tz::TimeZone) -> String {
    match jiff::Timestamp::from_millisecond(millis) {
        Ok(time) => time
            .to_zoned(zone)
            .strftime("%d.%m.%Y %H:%M:%S")
            .to_string(),
        Err(_) => format!("{millis} ms since the epoch"),
    }
}

/// `flinkrs cancel JOBID`: `PATCH /jobs/:id?mode=cancel`. The job is cancelling when this
/// returns, as with Flink's `cancel`.
pub fn cancel(client: &RestClient, job_id: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    writeln!(out, "Cancelling job {job_id}.")?;
    client
        .patch::<serde_json::Value>(&paths::job_cancel(job_id))
        .map_err(|error| unknown_job(client, job_id, error))
        .with_context(|| format!("could not cancel job {job_id}"))?;
    writeln!(out, "Cancelled job {job_id}.")?;
    Ok(())
}

/// A 404 for a job id turned into what it means, and what to do.
pub(super) fn unknown_job(client: &RestClient, job_id: &str, error: ClientError) -> anyhow::Error {
    if error.status() == Some(404) {
        anyhow::anyhow!(
            "the JobManager at {address} has no job {job_id}; `flinkrs list -a -m {address}` \
             lists the jobs it knows",
            address = client.address()
        )
    } else {
        error.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_flinks_cli_writes_them() {
        assert_eq!(
            time_in(1_700_000_000_123, jiff::tz::TimeZone::UTC),
            "14.11.2023 22:13:20"
        );
        assert_eq!(
            time_in(
                1_700_000_000_123,
                jiff::tz::TimeZone::fixed(jiff::tz::offset(2))
            ),
            "15.11.2023 00:13:20"
        );
    }

    #[test]
    fn a_job_line_reads_as_flinks() {
        let job = JobSummary {
            jid: "3f9c01a2b4c6d8e0f1a3b5c7d9e1f3a5".into(),
            name: "WordCount".into(),
            job_type: "STREAMING".into(),
            scheduler_type: "Default".into(),
            start_time: 1_700_000_000_123,
            end_time: -1,
            duration: 5,
            state: JobState::Running,
            last_modification: 0,
            tasks: Default::default(),
            pending_operators: 0,
        };
        assert_eq!(
            job_line(&job),
            format!(
                "{} : 3f9c01a2b4c6d8e0f1a3b5c7d9e1f3a5 : WordCount (RUNNING)",
                local_time(1_700_000_000_123)
            )
        );
    }
}
