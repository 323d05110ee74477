//! Failover on the local executor: restart strategies deciding whether and when a failed job
//! restarts, the restart going back to the latest completed checkpoint, cancellation during
//! the restart delay, and what retention does with a job's checkpoints when it ends.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;
use flinkrs_api::prelude::*;
use flinkrs_core::CheckpointId;
use flinkrs_dataflow::metrics::{Component, MetricValue};
use flinkrs_dataflow::source::SequenceSplit;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output};
use flinkrs_state::storage::METADATA_FILE;

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
const PATIENCE: Duration = Duration::from_secs(30);

fn environment(settings: &[(&str, &str)]) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    for (key, value) in settings {
        env.set(key, *value).unwrap();
    }
    env
}

fn checkpointed(dir: &Path, settings: &[(&str, &str)]) -> StreamExecutionEnvironment {
    let env = environment(settings);
    env.set("execution.checkpointing.interval", "20 ms")
        .unwrap();
    env.set("execution.checkpointing.dir", dir.display().to_string())
        .unwrap();
    env
}

/// Emits 0, 1, 2, … forever, 64 at a time; its position is its checkpointed state.
#[derive(Default)]
struct Endless {
    next: u64,
}

impl SourceFunction<Batch<u64>> for Endless {
    fn poll_batch(&mut self, batch: &mut Batch<u64>, _: &SourceContext) -> Result<SourceStatus> {
        for _ in 0..64 {
            batch.push(Record::new(self.next));
            self.next += 1;
        }
        Ok(SourceStatus::Wait(Duration::from_millis(1)))
    }

    /// One split, the whole sequence, with the next number.
    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        let split = SequenceSplit {
            index: 0,
            count: 1,
            next: self.next,
        };
        Ok(vec![split.encode()])
    }

    fn restore_state(&mut self, splits: Vec<Vec<u8>>) -> Result<()> {
        if let [split] = splits.as_slice() {
            self.next = SequenceSplit::decode(split, "Endless")?.next;
        }
        Ok(())
    }
}

/// What a [`Failing`] operator shares with the test, over every attempt of the job.
#[derive(Default)]
struct Shared {
    /// Failures injected so far.
    failures: AtomicU32,
    /// A checkpoint completed in the current attempt: fail at the next batch.
    checkpoint_seen: AtomicBool,
    /// The last value seen, as restored from a checkpoint, per restore.
    restored_last_seen: Mutex<Vec<u64>>,
    /// The first value seen by each attempt.
    first_seen: Mutex<Vec<u64>>,
}

/// When a [`Failing`] operator fails.
#[derive(Clone, Copy)]
enum FailWhen {
    /// At this value, as long as fewer than `times` failures happened.
    AtValue { value: u64, times: u32 },
    /// At the first batch after a checkpoint completed, once.
    AfterACheckpoint,
}

/// Passes numbers on and fails as told. Its state is the last value it saw.
struct Failing {
    when: FailWhen,
    shared: Arc<Shared>,
    /// Told each time the operator fails.
    failed: Option<Sender<()>>,
    last_seen: Option<u64>,
    seen_any: bool,
}

impl Failing {
    fn new(when: FailWhen, shared: &Arc<Shared>, failed: Option<Sender<()>>) -> Self {
        Failing {
            when,
            shared: Arc::clone(shared),
            failed,
            last_seen: None,
            seen_any: false,
        }
    }

    fn fail(&self, message: String) -> Result<()> {
        self.shared.failures.fetch_add(1, Ordering::SeqCst);
        if let Some(failed) = &self.failed {
            let _ = failed.send(());
        }
        Err(Error::function(message))
    }
}

impl Operator<Batch<u64>, Batch<u64>> for Failing {
    fn initialize_state(&mut self, _: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        // The last number seen, when the checkpoint has one.
        if let Some([item]) = state.as_ref().map(|state| state.operator_state.as_slice()) {
            let bytes: [u8; 8] = item
                .as_slice()
                .try_into()
                .map_err(|_| Error::state("Failing: the state is 8 bytes"))?;
            let last_seen = u64::from_le_bytes(bytes);
            self.shared
                .restored_last_seen
                .lock()
                .unwrap()
                .push(last_seen);
            self.last_seen = Some(last_seen);
        }
        Ok(())
    }

    fn process_batch(
        &mut self,
        batch: &mut Batch<u64>,
        out: &mut Output<Batch<u64>>,
    ) -> Result<()> {
        if let (false, Some(first)) = (self.seen_any, batch.first()) {
            self.seen_any = true;
            self.shared.first_seen.lock().unwrap().push(first.value);
        }
        match self.when {
            FailWhen::AtValue { value, times } => {
                let failures = self.shared.failures.load(Ordering::SeqCst);
                if failures < times && batch.iter().any(|record| record.value == value) {
                    return self.fail(format!("value {value} is cursed"));
                }
            }
            FailWhen::AfterACheckpoint => {
                if self.shared.checkpoint_seen.swap(false, Ordering::SeqCst)
                    && self.shared.failures.load(Ordering::SeqCst) == 0
                {
                    return self.fail("failing after a checkpoint".into());
                }
            }
        }
        if let Some(last) = batch.last() {
            self.last_seen = Some(last.value);
        }
        out.push_batch(batch)
    }

    fn snapshot_state(&mut self, _: CheckpointId) -> Result<OperatorSnapshot> {
        Ok(OperatorSnapshot {
            keyed: None,
            operator_state: self
                .last_seen
                .map(|seen| vec![seen.to_le_bytes().to_vec()])
                .unwrap_or_default(),
        })
    }

    fn notify_checkpoint_complete(&mut self, _: CheckpointId) -> Result<()> {
        // Only once the checkpoint holds a value this operator saw, so a restore has one.
        if self.last_seen.is_some() {
            self.shared.checkpoint_seen.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
}

fn jobmanager_gauge(result: &JobResult, name: &str) -> MetricValue {
    result
        .metrics
        .iter()
        .find(|metric| metric.name == name && metric.scope.component() == Component::JobManager)
        .unwrap_or_else(|| panic!("no JobManager metric {name}"))
        .value
        .clone()
}

#[test]
fn a_failed_task_restarts_the_job_from_scratch_without_checkpoints_and_restarts_are_counted() {
    let env = environment(&[
        ("restart-strategy.type", "fixed-delay"),
        ("restart-strategy.fixed-delay.attempts", "3"),
        ("restart-strategy.fixed-delay.delay", "1 ms"),
    ]);
    let shared = Arc::new(Shared::default());
    let operator_shared = Arc::clone(&shared);
    let when = FailWhen::AtValue {
        value: 500,
        times: 2,
    };
    let collected = env
        .from_collection((0..1_000u64).collect())
        .transform("Fails Twice", move |_| {
            Failing::new(when, &operator_shared, None)
        })
        .collect();
    let result = env.execute("fails twice").unwrap();
    assert_eq!(result.restarts, 2);
    assert_eq!(shared.failures.load(Ordering::SeqCst), 2);
    assert_eq!(
        jobmanager_gauge(&result, "numRestarts"),
        MetricValue::Gauge(2)
    );
    assert_eq!(
        jobmanager_gauge(&result, "fullRestarts"),
        MetricValue::Gauge(2)
    );
    // Each attempt started from the first element; the last one read all of them.
    assert_eq!(*shared.first_seen.lock().unwrap(), [0, 0, 0]);
    assert_eq!(result.records_out(), 1_000);
    let mut values = collected.take();
    values.sort_unstable();
    values.dedup();
    assert_eq!(values, (0..1_000).collect::<Vec<_>>());
}

/// 0..10 through an operator that fails at 5 every time; returns what it shares with the test.
fn cursed_at_five(env: &StreamExecutionEnvironment) -> Arc<Shared> {
    let shared = Arc::new(Shared::default());
    let operator_shared = Arc::clone(&shared);
    let when = FailWhen::AtValue {
        value: 5,
        times: u32::MAX,
    };
    env.from_collection((0..10u64).collect())
        .transform("Cursed", move |_| {
            Failing::new(when, &operator_shared, None)
        })
        .discard();
    shared
}

#[test]
fn the_job_fails_with_its_last_failure_once_the_restart_strategy_gives_up() {
    let env = environment(&[
        ("restart-strategy.type", "fixed-delay"),
        ("restart-strategy.fixed-delay.attempts", "2"),
        ("restart-strategy.fixed-delay.delay", "0 ms"),
    ]);
    let shared = cursed_at_five(&env);
    let error = env.execute("always fails").unwrap_err();
    assert_eq!(
        error.to_string(),
        "operator 'Cursed' (subtask 1/1) failed: value 5 is cursed (the job was restarted 2 \
         time(s); then its restart strategy, fixed-delay with 2 attempt(s) and a delay of 0ns, \
         gave up)"
    );
    assert_eq!(shared.failures.load(Ordering::SeqCst), 3);
}

#[test]
fn without_a_restart_strategy_the_first_failure_is_the_jobs_error_unchanged() {
    let env = environment(&[("restart-strategy.type", "none")]);
    let shared = cursed_at_five(&env);
    assert_eq!(
        env.execute("fails once").unwrap_err().to_string(),
        "operator 'Cursed' (subtask 1/1) failed: value 5 is cursed"
    );
    assert_eq!(shared.failures.load(Ordering::SeqCst), 1);
}

#[test]
fn a_cancel_during_the_restart_delay_ends_the_job_at_once() {
    let env = environment(&[
        ("restart-strategy.type", "fixed-delay"),
        ("restart-strategy.fixed-delay.attempts", "1"),
        // Longer than the test's patience: a job that waited it out fails the test.
        ("restart-strategy.fixed-delay.delay", "60 s"),
    ]);
    let shared = Arc::new(Shared::default());
    let operator_shared = Arc::clone(&shared);
    let (failed, failures) = crossbeam_channel::unbounded();
    let when = FailWhen::AtValue { value: 0, times: 1 };
    env.add_source("Numbers", |_| Ok(Endless::default()))
        .transform("Fails Once", move |_| {
            Failing::new(when, &operator_shared, Some(failed.clone()))
        })
        .discard();
    let job = env.execute_async("cancelled while waiting").unwrap();
    let client = job.client();
    failures.recv_timeout(PATIENCE).expect("the operator fails");
    // The failed attempt's tasks are stopped and waited for before the delay starts.
    let deadline = Instant::now() + PATIENCE;
    while client.status() != JobStatus::Restarting {
        assert!(
            Instant::now() < deadline,
            "the job never started restarting"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let cancelled_at = Instant::now();
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
    assert!(
        cancelled_at.elapsed() < PATIENCE,
        "the job waited out the restart delay"
    );
    assert_eq!(client.restarts(), 0, "no restart happened");
    assert_eq!(client.status(), JobStatus::Cancelled);
}

#[test]
fn a_restarted_job_resumes_from_its_latest_checkpoint_and_numbering_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let env = checkpointed(
        dir.path(),
        &[
            ("restart-strategy.type", "fixed-delay"),
            ("restart-strategy.fixed-delay.delay", "1 ms"),
            (
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION",
            ),
        ],
    );
    let shared = Arc::new(Shared::default());
    let operator_shared = Arc::clone(&shared);
    env.add_source("Numbers", |_| Ok(Endless::default()))
        .transform("Fails After A Checkpoint", move |_| {
            Failing::new(FailWhen::AfterACheckpoint, &operator_shared, None)
        })
        .uid("failing")
        .discard();
    let job = env.execute_async("restarted").unwrap();
    let mut completed = Vec::new();
    let next_checkpoint = || {
        job.completed_checkpoints()
            .recv_timeout(PATIENCE)
            .expect("checkpoints go on completing")
            .checkpoint
            .0
    };
    // Until the second attempt has restored...
    while shared.restored_last_seen.lock().unwrap().is_empty() {
        completed.push(next_checkpoint());
    }
    // ...then past every checkpoint queued so far, to one the second attempt completed.
    completed.extend(
        job.completed_checkpoints()
            .try_iter()
            .map(|c| c.checkpoint.0),
    );
    completed.push(next_checkpoint());
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));

    assert_eq!(shared.failures.load(Ordering::SeqCst), 1);
    let mut increasing = completed.clone();
    increasing.sort_unstable();
    increasing.dedup();
    assert_eq!(completed, increasing, "no checkpoint number is used twice");
    let restored = shared.restored_last_seen.lock().unwrap().clone();
    let first_seen = shared.first_seen.lock().unwrap().clone();
    assert_eq!(restored.len(), 1, "one restore, from a checkpoint");
    // The source and the operator restored from the same checkpoint: the first number the
    // second attempt saw is the one after the last the checkpoint had seen.
    assert_eq!(first_seen, [0, restored[0] + 1]);
}

#[test]
fn a_failed_checkpoint_fails_the_job_over_and_the_strategy_decides() {
    let root = tempfile::tempdir().unwrap();
    let blocker = root.path().join("not-a-folder");
    std::fs::write(&blocker, b"a file where the checkpoint folder should be").unwrap();
    let env = checkpointed(
        &blocker,
        &[
            ("restart-strategy.type", "fixed-delay"),
            ("restart-strategy.fixed-delay.attempts", "2"),
            ("restart-strategy.fixed-delay.delay", "1 ms"),
        ],
    );
    env.add_source("Numbers", |_| Ok(Endless::default()))
        .discard();
    let error = env.execute("unwritable checkpoints").unwrap_err();
    let Error::RestartsExhausted {
        restarts, cause, ..
    } = &error
    else {
        panic!("unexpected error: {error}");
    };
    assert_eq!(*restarts, 2);
    let cause = cause.to_string();
    assert!(
        cause.starts_with("invalid job: checkpointing failed"),
        "{cause}"
    );
    assert!(cause.contains("not-a-folder"), "{cause}");
}

/// Runs an endless job until `checkpoints` checkpoints completed, then cancels it; returns
/// the client, to ask what the job left.
fn cancel_after_checkpoints(env: &StreamExecutionEnvironment, checkpoints: usize) -> JobClient {
    env.add_source("Numbers", |_| Ok(Endless::default()))
        .discard();
    let job = env.execute_async("cancelled").unwrap();
    for _ in 0..checkpoints {
        job.completed_checkpoints()
            .recv_timeout(PATIENCE)
            .expect("a checkpoint completes");
    }
    let client = job.client();
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
    client
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn by_default_and_with_delete_on_cancellation_a_cancelled_jobs_checkpoints_are_deleted() {
    for retention in [None, Some("DELETE_ON_CANCELLATION")] {
        let dir = tempfile::tempdir().unwrap();
        let settings: Vec<(&str, &str)> = retention
            .map(|value| {
                (
                    "execution.checkpointing.externalized-checkpoint-retention",
                    value,
                )
            })
            .into_iter()
            .collect();
        let client = cancel_after_checkpoints(&checkpointed(dir.path(), &settings), 2);
        assert_eq!(client.retained_checkpoint(), None, "{retention:?}");
        assert!(
            entries(dir.path()).is_empty(),
            "{retention:?}: {:?}",
            entries(dir.path())
        );
    }
}

#[test]
fn retain_on_cancellation_keeps_the_latest_checkpoint_of_a_cancelled_job() {
    let dir = tempfile::tempdir().unwrap();
    let env = checkpointed(
        dir.path(),
        &[(
            "execution.checkpointing.externalized-checkpoint-retention",
            "retain_on_cancellation",
        )],
    );
    let client = cancel_after_checkpoints(&env, 2);
    let retained = client.retained_checkpoint().expect("a retained checkpoint");
    assert!(
        retained
            .location
            .as_local()
            .unwrap()
            .join(METADATA_FILE)
            .exists()
    );
    let job_dir = dir.path().join(client.job_id().to_string());
    assert_eq!(
        entries(&job_dir),
        [format!("chk-{}", retained.checkpoint.0)],
        "num-retained is 1: only the latest is left"
    );
}

#[test]
fn a_job_that_fails_for_good_keeps_its_checkpoints_unless_retention_is_off() {
    for (retention, kept) in [
        ("NO_EXTERNALIZED_CHECKPOINTS", false),
        ("DELETE_ON_CANCELLATION", true),
        ("RETAIN_ON_CANCELLATION", true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let env = checkpointed(
            dir.path(),
            &[
                ("restart-strategy.type", "none"),
                (
                    "execution.checkpointing.externalized-checkpoint-retention",
                    retention,
                ),
            ],
        );
        let shared = Arc::new(Shared::default());
        let operator_shared = Arc::clone(&shared);
        env.add_source("Numbers", |_| Ok(Endless::default()))
            .transform("Fails After A Checkpoint", move |_| {
                Failing::new(FailWhen::AfterACheckpoint, &operator_shared, None)
            })
            .discard();
        let job = env.execute_async("fails for good").unwrap();
        let client = job.client();
        let error = job.wait().unwrap_err().to_string();
        assert!(error.ends_with("failing after a checkpoint"), "{error}");
        match client.retained_checkpoint() {
            Some(retained) => {
                assert!(kept, "{retention}: kept {retained:?}");
                assert!(
                    retained
                        .location
                        .as_local()
                        .unwrap()
                        .join(METADATA_FILE)
                        .exists(),
                    "{retention}"
                );
            }
            None => {
                assert!(!kept, "{retention}: nothing kept");
                assert!(entries(dir.path()).is_empty(), "{retention}");
            }
        }
    }
}
