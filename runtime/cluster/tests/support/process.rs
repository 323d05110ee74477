//! A process of the `flinkrs` binary for a test, its standard error read line by line, so the
//! test waits for the lines that say where the process listens.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crossbeam_channel::Receiver;

/// A guard against a hang, not a synchronization: each wait ends as soon as its line comes.
const PATIENCE: Duration = Duration::from_secs(60);

pub const FLINKRS: &str = env!("CARGO_BIN_EXE_flinkrs");

/// A running `flinkrs` process, killed when dropped.
pub struct Process {
    child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Process {
    /// Starts `flinkrs args…`, logging warnings and errors only.
    pub fn start(args: &[&str]) -> Process {
        Process::start_with(args, &[])
    }

    /// Starts `flinkrs args…` with its log level (RUST_LOG) set to `level`.
    pub fn start_logging(args: &[&str], level: &str) -> Process {
        Process::start_with(args, &[("RUST_LOG", level)])
    }

    /// Starts `flinkrs args…` with `env` set on top of the test's environment, logging
    /// warnings and errors only unless `env` sets RUST_LOG.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Process {
        let mut child = Command::new(FLINKRS)
            .args(args)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("flinkrs starts");
        let pipe = child.stderr.take().expect("piped stderr");
        let (lines, stderr) = crossbeam_channel::unbounded();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Process {
            child,
            stderr,
            seen: Vec::new(),
        }
    }

    /// Reads standard error up to a line containing `text`, and returns that line.
    pub fn wait_for_line(&mut self, text: &str) -> String {
        loop {
            match self.stderr.recv_timeout(PATIENCE) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(error) => panic!(
                    "no line with {text:?} ({error:?}); stderr: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// Reads standard error up to a line containing `text`, and returns the rest of that line
    /// after `text`, up to the first space or comma.
    pub fn wait_for(&mut self, text: &str) -> String {
        self.wait_for_each(&[text]).remove(0)
    }

    /// Reads standard error up to a line containing every one of `texts`, and returns, for
    /// each, the rest of that line after it, up to the first space or comma.
    pub fn wait_for_each(&mut self, texts: &[&str]) -> Vec<String> {
        loop {
            match self.stderr.recv_timeout(PATIENCE) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    let tokens: Option<Vec<String>> = texts
                        .iter()
                        .map(|text| {
                            let (_, rest) = line.split_once(text)?;
                            let token = rest.split(|c: char| c == ',' || c.is_whitespace());
                            Some(token.into_iter().next().unwrap_or_default().to_owned())
                        })
                        .collect();
                    if let Some(tokens) = tokens {
                        return tokens;
                    }
                }
                Err(error) => panic!(
                    "no line with {texts:?} ({error:?}); stderr: {:#?}",
                    self.seen
                ),
            }
        }
    }

    /// The process's id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process has not exited yet.
    pub fn child_is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills the process with SIGKILL, as a crash would end it.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Waits for the process to exit by itself (within the patience), and returns its status.
    pub fn wait(&mut self) -> ExitStatus {
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "the process did not exit; stderr: {:#?}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A JobManager on loopback ports picked for it, with `extra` arguments and log `level`;
/// returns it with the addresses of its control plane and of its REST API.
pub fn job_manager(extra: &[&str], level: &str) -> (Process, String, String) {
    job_manager_with(extra, &[("RUST_LOG", level)])
}

/// A JobManager as [`job_manager`] starts one, with `env` set on top of the test's
/// environment.
pub fn job_manager_with(extra: &[&str], env: &[(&str, &str)]) -> (Process, String, String) {
    let mut args = vec![
        "jobmanager",
        "-D",
        "jobmanager.rpc.port=0",
        "-D",
        "rest.port=0",
        "-D",
        "jobmanager.bind-host=127.0.0.1",
    ];
    args.extend(extra);
    let mut jobmanager = Process::start_with(&args, env);
    let started = jobmanager.wait_for_line("JobManager started: control plane on ");
    let address_after = |label: &str| {
        started
            .split(label)
            .nth(1)
            .and_then(|rest| rest.split(|c: char| c == ',' || c.is_whitespace()).next())
            .unwrap()
            .to_owned()
    };
    let (rpc, rest) = (
        address_after("control plane on "),
        address_after("REST API on "),
    );
    (jobmanager, rpc, rest)
}

/// A TaskManager on loopback registering at `jobmanager`, with `extra` arguments and log
/// `level`.
pub fn task_manager_with(jobmanager: &str, extra: &[&str], level: &str) -> Process {
    let mut args = vec![
        "taskmanager",
        "--jobmanager",
        jobmanager,
        "-D",
        "taskmanager.host=127.0.0.1",
        "-D",
        "taskmanager.bind-host=127.0.0.1",
    ];
    args.extend(extra);
    Process::start_logging(&args, level)
}
