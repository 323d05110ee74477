//! Stopping a local run: SIGINT (Ctrl-C) or SIGTERM to `flinkrs run` cancels the job, as
//! `flink cancel` would. A second signal exits at once, without waiting for the tasks.
//!
//! While the job runs, each completed checkpoint is announced on standard error with its
//! folder. Once the cancelled job has ended, the run says where its latest checkpoint is, if
//! `execution.checkpointing.externalized-checkpoint-retention` kept it, and the exact command
//! line that resumes from it with `-s`; then the process exits with 128 + the signal's number
//! (130 for SIGINT, 143 for SIGTERM), as a process ended by that signal does.
//!
//! A job stopped with a savepoint over the REST API (`flinkrs stop`) ends the run with the
//! savepoint's path and the command that resumes from it, and exit code 0.

use std::ffi::OsString;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use flinkrs_core::config::{EXTERNALIZED_CHECKPOINT_RETENTION, STATE_RECOVERY_PATH};
use flinkrs_core::{Configuration, ExternalizedCheckpointRetention};
use flinkrs_dataflow::{JobClient, JobListener};
use tokio::signal::unix::{SignalKind, signal};

use crate::rest::SavepointEnding;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// What the signal thread, the job listener and the command line share.
#[derive(Default)]
pub struct StopOnSignal {
    /// The first signal received, 0 before any.
    signal: AtomicI32,
    client: Mutex<Option<JobClient>>,
    /// Prints completed checkpoints until the job ends.
    announcer: Mutex<Option<JoinHandle<()>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn signal_name(signal: i32) -> &'static str {
    if signal == SIGTERM {
        "SIGTERM"
    } else {
        "SIGINT"
    }
}

impl StopOnSignal {
    /// Starts listening for SIGINT and SIGTERM, before the job starts, so that an early
    /// signal cancels the job rather than killing the process.
    pub fn install() -> io::Result<Arc<Self>> {
        let stop = Arc::new(StopOnSignal::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let (mut interrupt, mut terminate) = {
            let _context = runtime.enter();
            (
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            )
        };
        let handler = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("signal handler".into())
            .spawn(move || {
                runtime.block_on(async move {
                    loop {
                        let received = tokio::select! {
                            _ = interrupt.recv() => SIGINT,
                            _ = terminate.recv() => SIGTERM,
                        };
                        handler.on_signal(received);
                    }
                });
            })?;
        Ok(stop)
    }

    fn on_signal(&self, received: i32) {
        let name = signal_name(received);
        if self
            .signal
            .compare_exchange(0, received, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            eprintln!("Received {name} again: exiting without waiting for the job.");
            std::process::exit(128 + received);
        }
        eprintln!("Received {name}: cancelling the job (send it again to exit at once).");
        if let Some(client) = lock(&self.client).as_ref() {
            client.cancel();
        }
    }

    /// The first signal received, if any.
    pub fn received(&self) -> Option<i32> {
        Some(self.signal.load(Ordering::Acquire)).filter(|signal| *signal != 0)
    }

    /// The listener that hands the job to this: register it on the job's environment.
    pub fn listener(self: &Arc<Self>) -> impl JobListener + 'static {
        StopListener(Arc::clone(self))
    }

    /// Waits until every completed checkpoint has been announced (the job has ended).
    pub fn finish_announcing(&self) {
        if let Some(announcer) = lock(&self.announcer).take() {
            let _ = announcer.join();
        }
    }

    /// What to tell the user once the job, cancelled by a signal, has ended: where its
    /// checkpoint is and how to resume, or why there is none. `config` is the job's.
    pub fn cancelled_report(&self, config: &Configuration, arguments: &[OsString]) -> String {
        self.finish_announcing();
        let signal = signal_name(self.received().unwrap_or(SIGINT));
        let client = lock(&self.client).clone();
        let Some(client) = client else {
            return format!("The run was cancelled by {signal} before its job started.");
        };
        let mut report = format!(
            "Job '{}' ({}) was cancelled by {signal}.\n",
            client.job_name(),
            client.job_id()
        );
        match client.retained_checkpoint() {
            Some(checkpoint) => {
                report.push_str(&format!(
                    "Its latest checkpoint is retained: {}\nResume it with:\n  {}",
                    checkpoint.location,
                    resume_command(arguments, &checkpoint.location.to_string())
                ));
            }
            None if config.checkpoint_interval().is_none() => report.push_str(
                "It has no checkpoint to resume from: checkpointing is off; set \
                 -D execution.checkpointing.interval=10s to take checkpoints.",
            ),
            None => {
                let retention = config.externalized_checkpoint_retention();
                if retention.retains_on_cancellation() {
                    report.push_str("It has no checkpoint to resume from: none had completed.");
                } else {
                    report.push_str(&format!(
                        "It has no checkpoint to resume from: {EXTERNALIZED_CHECKPOINT_RETENTION} \
                         is {retention}, so its checkpoints were deleted; set -D \
                         {EXTERNALIZED_CHECKPOINT_RETENTION}={} to keep the latest one.",
                        ExternalizedCheckpointRetention::RetainOnCancellation
                    ));
                }
            }
        }
        report
    }
}

/// What to tell the user once the job has ended after a savepoint asked over REST (`flinkrs
/// stop`, `POST /jobs/:id/stop`): where the savepoint is and how to resume from it.
pub fn savepoint_report(ending: &SavepointEnding, arguments: &[OsString]) -> String {
    format!(
        "Job '{}' ({}) stopped with a savepoint: {}\nResume it with:\n  {}",
        ending.job_name,
        ending.job_id,
        ending.location,
        resume_command(arguments, &ending.location)
    )
}

struct StopListener(Arc<StopOnSignal>);

impl JobListener for StopListener {
    fn on_job_submitted(&self, client: &JobClient) {
        let stop = &self.0;
        *lock(&stop.client) = Some(client.clone());
        // A signal that came while the job was being set up.
        if stop.received().is_some() {
            client.cancel();
        }
        let checkpoints = client.completed_checkpoints().clone();
        let announcer = std::thread::Builder::new()
            .name("checkpoint announcer".into())
            .spawn(move || {
                // Ends when the job has ended and the queue is disconnected.
                for checkpoint in checkpoints.iter() {
                    eprintln!(
                        "Checkpoint {} completed: {}",
                        checkpoint.checkpoint.0, checkpoint.location
                    );
                }
            });
        match announcer {
            Ok(announcer) => *lock(&stop.announcer) = Some(announcer),
            Err(error) => tracing::warn!(%error, "cannot announce completed checkpoints"),
        }
    }
}

/// The command line that was run, with `-s PATH` in place of any restore option it had.
fn resume_command(arguments: &[OsString], checkpoint: &str) -> String {
    let mut words: Vec<String> = Vec::with_capacity(arguments.len() + 2);
    let mut skip_value = false;
    for argument in arguments {
        let argument = argument.to_string_lossy();
        if std::mem::take(&mut skip_value) {
            continue;
        }
        match argument.as_ref() {
            "-s" | "--fromSavepoint" => skip_value = true,
            restore if restore.starts_with("--fromSavepoint=") => {}
            restore if restore.starts_with("-s") && restore.len() > 2 => {}
            dynamic if dynamic.contains(STATE_RECOVERY_PATH) => {
                // `-D execution.state-recovery.path=…` is dropped with the `-D` before it.
                if words.last().is_some_and(|previous| previous == "-D") {
                    words.pop();
                }
            }
            _ => words.push(shell_quote(&argument)),
        }
    }
    words.push("-s".into());
    words.push(shell_quote(checkpoint));
    words.join(" ")
}

/// `word` as a POSIX shell reads it back: as is when it is plain, in single quotes otherwise.
fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arguments(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_resume_command_replaces_any_restore_option_with_the_checkpoint() {
        let run = arguments(&[
            "/usr/bin/flinkrs",
            "run",
            "--example",
            "wordcount",
            "-s",
            "/old/chk-1",
            "-D",
            "execution.state-recovery.path=/older/chk-2",
            "--fromSavepoint=/x",
            "-s/y",
            "--input",
            "my books",
        ]);
        assert_eq!(
            resume_command(&run, "/tmp/ck/job/chk-7"),
            "/usr/bin/flinkrs run --example wordcount --input 'my books' -s /tmp/ck/job/chk-7"
        );
    }

    #[test]
    fn shell_quoting_keeps_plain_words_and_quotes_the_rest() {
        assert_eq!(shell_quote("-Dpipeline.name=x"), "-Dpipeline.name=x");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
