//! (h) Shuffle between processes: WordCount at parallelism 2, a keyed sum over the words, on
//! clusters of separate processes of the `flinkrs` binary. Between processes: a JobManager and
//! two TaskManagers of one slot each, so the words one TaskManager reads and hashes to the
//! other's key groups (about half) cross a TCP connection on loopback. In one process: `flinkrs
//! local` with one TaskManager of two slots, the same job with local channels. The job runs in
//! batch mode, so what is measured is reading, tokenizing and the keyed exchange, not the
//! writing of every running count.
//!
//! Records are the words that pass the keyed exchange; per core counts the CPU time of every
//! process of the cluster (read from `/proc/<pid>/stat`), wall the time from submission until
//! the JobManager reports the job FINISHED.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use crossbeam_channel::Receiver;
use flinkrs_cluster::client::RestClient;
use flinkrs_contract::rest::{JobDetails, JobState, JobSubmitRequest, JobSubmitResponse, paths};

use super::Measurement;

/// How long a process may take to say where it listens, or a job to finish.
const PATIENCE: Duration = Duration::from_secs(120);

/// A process of the cluster, stopped with SIGTERM when dropped.
struct ClusterProcess {
    child: Child,
    stderr: Receiver<String>,
}

impl ClusterProcess {
    fn start(flinkrs: &Path, args: &[&str]) -> anyhow::Result<ClusterProcess> {
        let mut child = Command::new(flinkrs)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", flinkrs.display()))?;
        let pipe = child.stderr.take().context("no standard error to read")?;
        let (lines, stderr) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(ClusterProcess { child, stderr })
    }

    /// The word after `text` on the first line of standard error that holds it.
    fn wait_for(&self, text: &str) -> anyhow::Result<String> {
        Ok(self.wait_for_each(&[text])?.remove(0))
    }

    /// The words after each of `texts` on the first line of standard error that holds them
    /// all (a closing parenthesis after a word is not part of it).
    fn wait_for_each(&self, texts: &[&str]) -> anyhow::Result<Vec<String>> {
        loop {
            let line = self
                .stderr
                .recv_timeout(PATIENCE)
                .with_context(|| format!("no line with {texts:?} from the process"))?;
            let words: Option<Vec<String>> = texts
                .iter()
                .map(|text| {
                    let (_, rest) = line.split_once(text)?;
                    let word = rest
                        .split(|c: char| c == ',' || c.is_whitespace())
                        .next()
                        .unwrap_or_default();
                    Some(word.trim_end_matches(')').to_owned())
                })
                .collect();
            if let Some(words) = words {
                return Ok(words);
            }
        }
    }

    /// CPU time the process has used so far.
    fn cpu_time(&self) -> Duration {
        super::cpu_time_of(&format!("/proc/{}/stat", self.child.id()))
    }
}

impl Drop for ClusterProcess {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let stopped = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .is_ok_and(|status| status.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// The processes of one cluster and a client of its JobManager, on a runtime of its own. The
/// client and its runtime are dropped before the processes are stopped (fields drop in
/// order), which closes its connection: a JobManager that stops waits for its clients'
/// connections to close.
struct Cluster {
    /// The JobManager's REST API.
    client: RestClient,
    processes: Vec<ClusterProcess>,
}

const LOOPBACK: [&str; 8] = [
    "-D",
    "jobmanager.bind-host=127.0.0.1",
    "-D",
    "rest.port=0",
    "-D",
    "metrics.reporter.prom.port=0",
    "-D",
    "jobmanager.rpc.port=0",
];

const TASKMANAGER_LOOPBACK: [&str; 4] = [
    "-D",
    "taskmanager.host=127.0.0.1",
    "-D",
    "taskmanager.bind-host=127.0.0.1",
];

impl Cluster {
    /// A JobManager and two TaskManagers of one slot, each its own process.
    fn separate(flinkrs: &Path) -> anyhow::Result<Cluster> {
        let mut args = vec!["jobmanager"];
        args.extend(LOOPBACK);
        let jobmanager = ClusterProcess::start(flinkrs, &args)?;
        let addresses = jobmanager.wait_for_each(&["control plane on ", "REST API on "])?;
        let (address, rest) = (addresses[0].clone(), addresses[1].clone());
        let mut processes = vec![jobmanager];
        for _ in 0..2 {
            let mut args = vec![
                "taskmanager",
                "--jobmanager",
                &address,
                "-D",
                "taskmanager.numberOfTaskSlots=1",
                "-D",
                "metrics.reporter.prom.port=0",
            ];
            args.extend(TASKMANAGER_LOOPBACK);
            processes.push(ClusterProcess::start(flinkrs, &args)?);
        }
        Cluster::connect(processes, &rest)
    }

    /// `flinkrs local`: a JobManager and one TaskManager of two slots in one process.
    fn single(flinkrs: &Path) -> anyhow::Result<Cluster> {
        let mut args = vec![
            "local",
            "--taskmanagers",
            "1",
            "-D",
            "taskmanager.numberOfTaskSlots=2",
        ];
        args.extend(LOOPBACK);
        args.extend(TASKMANAGER_LOOPBACK);
        let local = ClusterProcess::start(flinkrs, &args)?;
        let rest = local.wait_for("REST API on ")?;
        Cluster::connect(vec![local], &rest)
    }

    /// The cluster of `processes`, its JobManager's REST API at `rest`.
    fn connect(processes: Vec<ClusterProcess>, rest: &str) -> anyhow::Result<Cluster> {
        let client = RestClient::new(rest)
            .with_context(|| format!("cannot reach the JobManager's REST API at {rest}"))?;
        Ok(Cluster { client, processes })
    }

    fn cpu_time(&self) -> Duration {
        self.processes.iter().map(ClusterProcess::cpu_time).sum()
    }

    /// Runs `job` and waits until it has finished: the time from submission to FINISHED.
    fn run(&mut self, job: JobSubmitRequest) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let submitted: JobSubmitResponse = self
            .client
            .post(paths::FLINKRS_JOBS, &job)
            .context("the JobManager did not take the job")?;
        let job_id = submitted.jobid;
        loop {
            let details: JobDetails = self
                .client
                .get(&format!("/jobs/{job_id}"))
                .with_context(|| format!("cannot follow job {job_id}"))?;
            match details.state {
                JobState::Finished => return Ok(started.elapsed()),
                JobState::Failed | JobState::Canceled => {
                    bail!("job {job_id} ended {:?}", details.state)
                }
                _ if started.elapsed() > PATIENCE => bail!("job {job_id} runs too long"),
                _ => std::thread::sleep(Duration::from_millis(2)),
            }
        }
    }
}

/// WordCount at parallelism 2 in batch mode over `input`, into `output`.
fn wordcount(input: &Path, output: PathBuf) -> JobSubmitRequest {
    JobSubmitRequest {
        example: "wordcount".to_owned(),
        input: Some(input.display().to_string()),
        output: Some(output.display().to_string()),
        parallelism: Some(2),
        flink_configuration: [("execution.runtime-mode".to_owned(), "batch".to_owned())]
            .into_iter()
            .collect(),
        ..JobSubmitRequest::default()
    }
}

/// The words of the text at `input`: the records of the keyed exchange.
fn words(input: &Path) -> anyhow::Result<u64> {
    let text = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let mut words = 0u64;
    for line in text.split(|&byte| byte == b'\n') {
        flinkrs_jobs::wordcount::for_each_word(line, |_, _, _| words += 1);
    }
    Ok(words)
}

/// Runs the job three times on `cluster` after a warm-up run (which also waits for its
/// TaskManagers to register), and keeps the run with the median CPU time.
fn measure(
    cluster: &mut Cluster,
    input: &Path,
    output: &Path,
    records: u64,
) -> anyhow::Result<Measurement> {
    cluster.run(wordcount(input, output.join("warm-up")))?;
    let mut runs = Vec::with_capacity(3);
    for run in 0..3 {
        let before = cluster.cpu_time();
        let wall = cluster.run(wordcount(input, output.join(format!("run-{run}"))))?;
        let cpu = cluster.cpu_time().saturating_sub(before);
        runs.push(Measurement {
            units: records as f64,
            wall,
            cpu,
        });
    }
    runs.sort_by_key(|m| m.cpu);
    Ok(runs.swap_remove(1))
}

/// Runs (h) "shuffle between processes" over the text file at `input`.
pub(super) fn run(input: &Path) -> anyhow::Result<()> {
    let flinkrs = std::env::current_exe()?.with_file_name("flinkrs");
    if !flinkrs.is_file() {
        bail!(
            "the flinkrs binary is not next to flinkrs-bench ({}); build it first with \
             `cargo build --release -p flinkrs-cluster --bins` (`make bench` does)",
            flinkrs.display()
        );
    }
    let records = words(input)?;
    let dir = tempfile::tempdir()?;
    let one = measure(
        &mut Cluster::single(&flinkrs)?,
        input,
        &dir.path().join("one"),
        records,
    )?;
    let three = measure(
        &mut Cluster::separate(&flinkrs)?,
        input,
        &dir.path().join("three"),
        records,
    )?;
    let line = |label: &str, m: &Measurement| {
        let per_wall = m.units / m.wall.as_secs_f64() / 1e6;
        let per_core = m.units / m.cpu.as_secs_f64().max(1e-3) / 1e6;
        println!(
            "{label:<48} {per_wall:>8.1} M rec/s wall  {per_core:>8.1} M rec/s per core  \
             ({:.2} s wall, {:.2} s CPU over the cluster's processes)",
            m.wall.as_secs_f64(),
            m.cpu.as_secs_f64(),
        );
        per_core
    };
    let local = line("(h) keyed wordcount p=2, one process (local)", &one);
    let remote = line("(h) the same across two TaskManager processes", &three);
    println!(
        "{:<48} {:>8.0}% of one process's records per core, {records} words",
        "(h) shuffle between processes against local",
        remote / local * 100.0
    );
    Ok(())
}
