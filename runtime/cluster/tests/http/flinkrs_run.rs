//! `flinkrs run`, as a real process, serves the REST API and `/metrics` on the ports its
//! configuration names while its job runs; a port it was told to use and cannot is an error.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flinkrs_contract::rest;

use super::support::http::{get, request};
use super::support::job::wait_for;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn flinkrs_run_serves_rest_and_metrics_on_the_configured_ports_until_cancelled_over_rest() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("words.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    for index in 0..100_000 {
        writeln!(file, "w{}", index % 7).unwrap();
    }
    file.into_inner().unwrap().sync_all().unwrap();
    let (rest_port, metrics_port) = (free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_flinkrs"))
        .args(["run", "--example", "wordcount", "--rate", "2000", "--input"])
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out"))
        .args(["-D", &format!("rest.port={rest_port}")])
        .args(["-D", &format!("metrics.reporter.prom.port={metrics_port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("flinkrs starts");
    let rest_address = format!("127.0.0.1:{rest_port}").parse().unwrap();
    let job_id = wait_for("the job RUNNING over REST", || {
        let stream = std::net::TcpStream::connect(rest_address).ok()?;
        drop(stream);
        let jobs: rest::MultipleJobsDetails =
            serde_json::from_str(&get(rest_address, "/jobs/overview").body).ok()?;
        let job = jobs.jobs.first()?;
        (job.state == rest::JobState::Running).then(|| job.jid.clone())
    });
    let metrics_address = format!("127.0.0.1:{metrics_port}").parse().unwrap();
    // The job's metric group is registered as the job starts, not before RUNNING is served:
    // wait for its series.
    let series = format!("flink_jobmanager_job_numRestarts{{job_id=\"{job_id}\"");
    wait_for("the job's numRestarts in /metrics", || {
        let scrape = get(metrics_address, "/metrics");
        (scrape.status == 200 && scrape.body.contains(&series)).then_some(())
    });
    let cancel = request(
        rest_address,
        "PATCH",
        &format!("/jobs/{job_id}?mode=cancel"),
        None,
    );
    assert_eq!((cancel.status, cancel.body.as_str()), (202, "{}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "flinkrs did not exit after the cancel"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cancelled"), "{stderr}");
    // The servers stopped with the run.
    assert!(std::net::TcpStream::connect(rest_address).is_err());
}

#[test]
fn a_configured_rest_port_that_is_taken_is_an_error_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let output = Command::new(env!("CARGO_BIN_EXE_flinkrs"))
        .args([
            "run",
            "--example",
            "scoreboard",
            "-D",
            &format!("rest.port={port}"),
        ])
        .output()
        .expect("flinkrs runs");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: rest.port is set, so the REST API must be served: cannot serve the REST API \
             on 127.0.0.1:{port}: "
        )),
        "{stderr}"
    );
    assert!(output.stdout.is_empty(), "the job did not run");
}
