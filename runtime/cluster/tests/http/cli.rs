//! `flinkrs savepoint` and `flinkrs stop` against the REST API `flinkrs run` serves for its
//! in-process job, with checkpointing on: Flink's output lines, the savepoint on disk, and a
//! run stopped with a savepoint that exits 0 naming it and the command that resumes from it.
//! `flinkrs run -m` pointed at that REST API is told that it takes no submissions.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flinkrs_contract::rest;

use super::support::flinkrs::{Outcome, flinkrs};
use super::support::http::get;
use super::support::job::{RunningJob, wait_for};

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Standard output without the lines a long savepoint prints while it waits.
fn without_progress(outcome: &Outcome) -> String {
    outcome
        .stdout
        .lines()
        .filter(|line| !line.starts_with("Waiting for response... ("))
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The savepoint folder a `Savepoint completed. Path: file:…` line names, checked to be a
/// savepoint of `job_id` under `directory` with its `_metadata` written.
fn savepoint_in(stdout: &str, directory: &Path, job_id: &str) -> String {
    let location = stdout
        .lines()
        .find_map(|line| line.strip_prefix("Savepoint completed. Path: "))
        .unwrap_or_else(|| panic!("no savepoint path in {stdout}"))
        .to_owned();
    let folder = location
        .strip_prefix("file:")
        .unwrap_or_else(|| panic!("{location} is not a file: location"));
    let prefix = format!("{}/savepoint-{}-", directory.display(), &job_id[..6]);
    assert!(
        folder.starts_with(&prefix),
        "{folder} is not under {prefix}"
    );
    assert!(
        Path::new(folder).join("_metadata").is_file(),
        "{folder} has no _metadata"
    );
    location
}

#[test]
fn savepoint_and_stop_against_flinkrs_run_print_flinks_lines_and_the_run_ends_with_the_savepoint() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("words.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    for index in 0..200_000 {
        writeln!(file, "w{}", index % 7).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
    let rest_port = free_port();
    let checkpoints = dir.path().join("checkpoints");
    let run_args = [
        "run".to_owned(),
        "--example".to_owned(),
        "wordcount".to_owned(),
        "--rate".to_owned(),
        "2000".to_owned(),
        "--input".to_owned(),
        input.display().to_string(),
        "-D".to_owned(),
        format!("rest.port={rest_port}"),
        "-D".to_owned(),
        "execution.checkpointing.interval=100ms".to_owned(),
        "-D".to_owned(),
        format!("execution.checkpointing.dir={}", checkpoints.display()),
    ];
    let mut run = Command::new(env!("CARGO_BIN_EXE_flinkrs"))
        .args(&run_args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flinkrs starts");
    let rest = format!("127.0.0.1:{rest_port}");
    let rest_address = rest.parse().unwrap();
    let job_id = wait_for("the job RUNNING over REST", || {
        std::net::TcpStream::connect(rest_address).ok()?;
        let jobs: rest::MultipleJobsDetails =
            serde_json::from_str(&get(rest_address, "/jobs/overview").body).ok()?;
        let job = jobs.jobs.first()?;
        (job.state == rest::JobState::Running).then(|| job.jid.clone())
    });

    let savepoints = dir.path().join("savepoints");
    let savepoint = flinkrs(&[
        "savepoint",
        "-m",
        &rest,
        &job_id,
        &savepoints.display().to_string(),
    ]);
    assert_eq!(savepoint.code, Some(0), "{savepoint:?}");
    let location = savepoint_in(&savepoint.stdout, &savepoints, &job_id);
    assert_eq!(
        without_progress(&savepoint),
        format!(
            "Triggering savepoint for job {job_id}.\nWaiting for response...\nSavepoint \
             completed. Path: {location}\nYou can resume your program from this savepoint with \
             the run command.\n"
        )
    );

    let stopped_into = dir.path().join("stopped");
    let stop = flinkrs(&[
        "stop",
        "-m",
        &rest,
        "--savepointPath",
        &stopped_into.display().to_string(),
        &job_id,
    ]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    let stopped_at = savepoint_in(&stop.stdout, &stopped_into, &job_id);
    assert_eq!(
        without_progress(&stop),
        format!(
            "Suspending job \"{job_id}\" with a CANONICAL savepoint.\nSavepoint completed. \
             Path: {stopped_at}\n"
        )
    );

    // The run ends with the savepoint that stopped it, and how to resume from it.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = run.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "flinkrs run did not end after the stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    let resume = format!(
        "{} {} -s {stopped_at}",
        env!("CARGO_BIN_EXE_flinkrs"),
        run_args.join(" ")
    );
    assert!(
        stderr.ends_with(&format!(
            "Job 'WordCount' ({job_id}) stopped with a savepoint: {stopped_at}\nResume it \
             with:\n  {resume}\n"
        )),
        "{stderr}"
    );
}

#[test]
fn stop_with_drain_says_it_drains_and_run_m_is_told_flinkrs_run_takes_no_submissions() {
    let job = RunningJob::start();
    let job_id = job.job_id();
    let rest = job.address().to_string();

    let submit = flinkrs(&["run", "-m", &rest, "--example", "wordcount"]);
    assert_eq!(
        (submit.code, submit.stderr),
        (
            Some(1),
            format!(
                "error: the JobManager did not take the job: the JobManager at {rest} answered \
                 404 to POST /flinkrs/jobs: this is the REST API of `flinkrs run`, which runs \
                 only the job it was started with; submit jobs to a session cluster: start \
                 `flinkrs jobmanager` (or `flinkrs local`) and run `flinkrs run -m HOST:PORT` \
                 against its REST API\n"
            )
        )
    );

    let savepoints = job.savepoints();
    let stop = flinkrs(&[
        "stop",
        "--drain",
        "-p",
        &savepoints.display().to_string(),
        "-m",
        &rest,
        &job_id,
    ]);
    assert_eq!(stop.code, Some(0), "{stop:?}");
    let location = savepoint_in(&stop.stdout, &savepoints, &job_id);
    assert_eq!(
        without_progress(&stop),
        format!(
            "Draining job \"{job_id}\" with a CANONICAL savepoint.\nSavepoint completed. Path: \
             {location}\n"
        )
    );
    // The job ended after its savepoint.
    wait_for("the stopped job to end", || {
        let details: rest::JobDetails =
            serde_json::from_str(&get(job.address(), &format!("/jobs/{job_id}")).body).ok()?;
        details.state.is_terminal().then_some(())
    });
}
