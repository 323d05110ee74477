//! Child processes that cannot outlive their test.

use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{Error, Result, error::io_at};

/// How long a component gets to exit after SIGTERM before SIGKILL.
const GRACEFUL_STOP: Duration = Duration::from_secs(5);
const LOG_TAIL_LINES: usize = 30;

/// A component's process, leader of its own process group, with its output in
/// a log file. Dropping it kills the whole group, so helpers the component
/// started (a Python server's workers, say) die with it.
pub(crate) struct ManagedProcess {
    component: String,
    child: Child,
    log: PathBuf,
}

impl ManagedProcess {
    /// Starts `command` in a new process group, stdout and stderr appended to
    /// `<log_dir>/<component>.log` (after the log of an earlier run, if it was restarted).
    pub(crate) fn spawn(component: &str, mut command: Command, log_dir: &Path) -> Result<Self> {
        let log = log_dir.join(format!("{component}.log"));
        let stdout = File::options()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(io_at(&log))?;
        let stderr = stdout.try_clone().map_err(io_at(&log))?;
        let program = PathBuf::from(command.get_program());
        let child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .process_group(0)
            .spawn()
            .map_err(|source| Error::Spawn {
                component: component.to_owned(),
                program,
                source,
            })?;
        Ok(Self {
            component: component.to_owned(),
            child,
            log,
        })
    }

    pub(crate) fn component(&self) -> &str {
        &self.component
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Err(ExitedEarly)` once the process has exited, so readiness polling
    /// fails at once with the component's own words instead of at the deadline.
    pub(crate) fn ensure_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(Some(status)) => Err(Error::ExitedEarly {
                component: self.component.clone(),
                status,
                log_tail: self.log_tail(),
            }),
            Ok(None) => Ok(()),
            Err(source) => Err(Error::Io {
                path: self.log.clone(),
                source,
            }),
        }
    }

    /// The last lines of the log, for error messages and panic reports.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    }

    pub(crate) fn print_log_tail(&self) {
        // The real stderr: the harness would hide eprintln! output.
        let _ = writeln!(
            std::io::stderr(),
            "---- {} log ({}), last {LOG_TAIL_LINES} lines ----\n{}",
            self.component,
            self.log.display(),
            self.log_tail()
        );
    }

    /// SIGTERM to the group, a bounded wait, then SIGKILL to the group.
    fn stop(&mut self) {
        let group = format!("-{}", self.child.id());
        signal_group("-TERM", &group);
        let deadline = Instant::now() + GRACEFUL_STOP;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Also reaches group members that ignored SIGTERM after the leader left.
        signal_group("-KILL", &group);
        let _ = self.child.wait();
        // SIGKILL is delivered asynchronously: wait (bounded) until no member
        // of the group is left, so a test's end really is the servers' end.
        let deadline = Instant::now() + GRACEFUL_STOP;
        while signal_group("-0", &group) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `kill -SIGNAL -- -PGID` through the kill(1) program: the workspace forbids
/// unsafe code, and std can only signal a single process. True if some
/// member of the group was signalled (`-0` thus asks "is anyone left?").
fn signal_group(signal: &str, group: &str) -> bool {
    Command::new("kill")
        .args([signal, "--", group])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The processes of one testbed component set, stopped in order on drop
/// (dependents first, e.g. kube-apiserver before its etcd). During a panic it
/// prints each log's tail first, which is usually the explanation.
pub(crate) struct ProcessSet {
    owner: String,
    processes: Vec<ManagedProcess>,
}

impl ProcessSet {
    pub(crate) fn new(owner: &str) -> Self {
        Self {
            owner: owner.to_owned(),
            processes: Vec::new(),
        }
    }

    /// Adds a process; later processes are stopped first.
    pub(crate) fn push(&mut self, process: ManagedProcess) -> &mut ManagedProcess {
        self.processes.push(process);
        self.processes.last_mut().expect("just pushed")
    }

    pub(crate) fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(ManagedProcess::pid).collect()
    }

    /// The (first) process of `component`, if it runs.
    pub(crate) fn find(&mut self, component: &str) -> Option<&mut ManagedProcess> {
        self.processes
            .iter_mut()
            .find(|process| process.component() == component)
    }

    /// Stops the processes of one component now, leaving the others running.
    pub(crate) fn stop_component(&mut self, component: &str) {
        let (stopped, kept) = std::mem::take(&mut self.processes)
            .into_iter()
            .partition(|process| process.component() == component);
        self.processes = kept;
        drop::<Vec<ManagedProcess>>(stopped);
    }

    /// During a panic, prints each process's log tail (the usual explanation).
    pub(crate) fn print_log_tails_if_panicking(&self) {
        if std::thread::panicking() {
            let _ = writeln!(
                std::io::stderr(),
                "==== {} panicked; testbed logs follow ====",
                self.owner
            );
            for process in &self.processes {
                process.print_log_tail();
            }
        }
    }

    /// Stops every process now, dependents first, as a drop would.
    pub(crate) fn stop_all(&mut self) {
        while let Some(process) = self.processes.pop() {
            drop(process);
        }
    }
}

impl Drop for ProcessSet {
    fn drop(&mut self) {
        self.print_log_tails_if_panicking();
        self.stop_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group_members(group: u32) -> String {
        let output = Command::new("pgrep")
            .args(["-g", &group.to_string()])
            .output()
            .expect("pgrep runs");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    #[test]
    fn drop_kills_the_whole_process_group() {
        let logs = tempfile::tempdir().unwrap();
        let mut command = Command::new("sh");
        // A grandchild that ignores SIGTERM: only the group kill reaches it.
        command.args(["-c", "trap '' TERM; sleep 300 & echo started; wait"]);
        let process = ManagedProcess::spawn("sleeper", command, logs.path()).unwrap();
        let group = process.pid();
        let deadline = Instant::now() + Duration::from_secs(10);
        while group_members(group).lines().count() < 2 {
            assert!(Instant::now() < deadline, "the grandchild never started");
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(process);
        assert_eq!(group_members(group), "");
    }

    #[test]
    fn an_exited_process_reports_its_status_and_log() {
        let logs = tempfile::tempdir().unwrap();
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'bad flag --frobnicate'; exit 3"]);
        let mut process = ManagedProcess::spawn("failing", command, logs.path()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let error = loop {
            if let Err(error) = process.ensure_running() {
                break error;
            }
            assert!(Instant::now() < deadline, "the process never exited");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(
            error.to_string(),
            "failing exited early with exit status: 3; last log lines:\nbad flag --frobnicate"
        );
    }
}
