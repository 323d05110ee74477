//! Fault injection in process: streaming WordCount over a bounded, throttled input, with
//! checkpoints, fails five times at seeded random points and restarts from its checkpoints
//! each time (fixed-delay). What its two-phase-commit sink committed equals the fault-free
//! run, and is strict: WordCount emits an update per word, so for every word the committed
//! counts are exactly 1, 2, …, n, each once. A lost record would leave a gap, a replayed one a
//! duplicate.
//!
//! Until the exactly-once FileSink lands, the sink is [`CommittingSink`] below: a small
//! two-phase-commit sink with the same contract.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use flinkrs_api::prelude::*;
use flinkrs_connectors::datagen::{DataGenSource, mix64};
use flinkrs_core::CheckpointId;
use flinkrs_dataflow::{Operator, OperatorSnapshot, Output};
use flinkrs_jobs::wordcount::{self, WordCount};

const LINES: u64 = 40_000;
/// Job-wide: a fault-free run takes about two seconds, long enough for many checkpoints.
const LINES_PER_SECOND: u64 = 20_000;
const PARALLELISM: usize = 2;
const FAILURES: usize = 5;
const SEED: u64 = 7;

const VOCABULARY: &[&str] = &[
    "Flink",
    "state",
    "BARRIER",
    "checkpoint",
    "restart",
    "savepoint",
    "key",
    "group",
    "task",
    "slot",
    "window",
    "watermark",
    "sink",
    "source",
    "operator",
    "Commit",
];

/// Line `index` of the input: a pure function of the index, so a replay reproduces it.
fn line(index: u64) -> String {
    let words = 1 + mix64(index, 1) % 6;
    (0..words)
        .map(|position| {
            let choice = mix64(index * 8 + position, 2) % VOCABULARY.len() as u64;
            VOCABULARY[choice as usize]
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// How often each word occurs in the whole input, lower-cased as WordCount counts it.
fn expected_totals() -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for index in 0..LINES {
        for word in line(index).split(' ') {
            *totals.entry(word.to_ascii_lowercase()).or_insert(0) += 1;
        }
    }
    totals
}

/// Committed (word, count) updates.
type Updates = Vec<(String, u64)>;

/// What the sinks committed, by (sink subtask, checkpoint): committing the same checkpoint's
/// records again is a no-op, as committing an already committed transaction is.
#[derive(Default)]
struct Committed {
    batches: Mutex<BTreeMap<(usize, u64), Updates>>,
}

impl Committed {
    fn commit(&self, subtask: usize, checkpoint: u64, records: Vec<(String, u64)>) {
        let mut batches = self.batches.lock().unwrap();
        batches.entry((subtask, checkpoint)).or_insert(records);
    }

    /// Every committed (word, count), sorted.
    fn records(&self) -> Vec<(String, u64)> {
        let mut records: Vec<(String, u64)> = self
            .batches
            .lock()
            .unwrap()
            .values()
            .flatten()
            .cloned()
            .collect();
        records.sort();
        records
    }
}

/// The commit that end of input makes for what no checkpoint covered.
const END_OF_INPUT: u64 = u64::MAX;

/// A two-phase-commit sink: records are kept per checkpoint in its state, committed when that
/// checkpoint completes, committed on restore when the checkpoint restored from holds them
/// (it is complete), and the rest at end of input.
struct CommittingSink {
    committed: Arc<Committed>,
    subtask: usize,
    /// Records since the last barrier.
    current: Vec<(String, u64)>,
    /// Records prepared at a barrier, by checkpoint, not committed yet.
    pending: BTreeMap<u64, Vec<(String, u64)>>,
}

impl Operator<Batch<WordCount>, Batch<()>> for CommittingSink {
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        self.subtask = info.subtask_index;
        for item in state.iter().flat_map(|state| &state.operator_state) {
            let pending: BTreeMap<u64, Vec<(String, u64)>> =
                postcard::from_bytes(item).map_err(|error| Error::state(error.to_string()))?;
            for (checkpoint, records) in pending {
                self.committed.commit(self.subtask, checkpoint, records);
            }
        }
        Ok(())
    }

    fn process_batch(
        &mut self,
        batch: &mut Batch<WordCount>,
        _: &mut Output<Batch<()>>,
    ) -> Result<()> {
        self.current.extend(
            batch
                .drain(..)
                .map(|record| (record.value.0.to_string(), record.value.1)),
        );
        Ok(())
    }

    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<OperatorSnapshot> {
        self.pending
            .insert(checkpoint.0, std::mem::take(&mut self.current));
        let pending = postcard::to_allocvec(&self.pending)
            .map_err(|error| Error::state(error.to_string()))?;
        Ok(OperatorSnapshot {
            keyed: None,
            operator_state: vec![pending],
        })
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        // An aborted checkpoint's records stay pending and go with the next completed one.
        let later = self.pending.split_off(&(checkpoint.0 + 1));
        for (prepared_at, records) in std::mem::replace(&mut self.pending, later) {
            self.committed.commit(self.subtask, prepared_at, records);
        }
        Ok(())
    }

    fn end_input(&mut self, _: &mut Output<Batch<()>>) -> Result<()> {
        let mut rest: Vec<(String, u64)> = std::mem::take(&mut self.pending)
            .into_values()
            .flatten()
            .collect();
        rest.append(&mut self.current);
        self.committed.commit(self.subtask, END_OF_INPUT, rest);
        Ok(())
    }
}

/// Where one injected failure happens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailurePoint {
    /// Before any checkpoint of the attempt completes: after this many lines, or at the
    /// subtask's first snapshot, whichever comes first.
    BeforeACheckpoint { lines: u64 },
    /// This many lines after the attempt's first completed checkpoint (or at end of input).
    AfterACheckpoint { lines: u64 },
}

#[derive(Clone, Copy, Debug)]
struct Failure {
    subtask: usize,
    point: FailurePoint,
}

/// The failures, drawn from the seed.
fn failure_plan(seed: u64) -> Vec<Failure> {
    (0..FAILURES as u64)
        .map(|index| {
            let draw = mix64(index, seed);
            let lines = mix64(index, seed ^ 0xDEAD_BEEF) % 1_000;
            Failure {
                subtask: (draw % PARALLELISM as u64) as usize,
                point: if (draw / 2).is_multiple_of(2) {
                    FailurePoint::BeforeACheckpoint { lines }
                } else {
                    FailurePoint::AfterACheckpoint { lines }
                },
            }
        })
        .collect()
}

/// What happened at one injected failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Injected {
    /// A checkpoint had completed in the failing attempt.
    after_a_checkpoint_of_the_attempt: bool,
    /// The attempt started from a checkpoint; false: from scratch, none had completed.
    restored: bool,
}

/// The plan and what became of it, over every attempt of the job.
struct Chaos {
    plan: Vec<Failure>,
    /// Failures injected so far: the plan's next entry.
    next: AtomicUsize,
    injected: Mutex<Vec<Injected>>,
}

/// Passes lines on, and fails where the plan says. Its state is the lines it passed, so a
/// restore from a checkpoint is visible to it.
struct ChaosOperator {
    chaos: Arc<Chaos>,
    subtask: usize,
    /// Failures injected before this attempt started: once another happens, this attempt is
    /// failing, and injects no more.
    failures_before: usize,
    restored: bool,
    lines_passed: u64,
    lines_in_attempt: u64,
    lines_since_checkpoint: Option<u64>,
}

impl ChaosOperator {
    /// The failure planned next, if it is this subtask's and this attempt's.
    fn planned(&self) -> Option<(usize, FailurePoint)> {
        let next = self.chaos.next.load(Ordering::SeqCst);
        if next != self.failures_before {
            return None;
        }
        let failure = self.chaos.plan.get(next)?;
        (failure.subtask == self.subtask).then_some((next, failure.point))
    }

    fn fail(&self, next: usize, at: &str) -> Result<()> {
        self.chaos.next.store(next + 1, Ordering::SeqCst);
        self.chaos.injected.lock().unwrap().push(Injected {
            after_a_checkpoint_of_the_attempt: self.lines_since_checkpoint.is_some(),
            restored: self.restored,
        });
        Err(Error::function(format!(
            "injected failure {} of {FAILURES} {at}",
            next + 1
        )))
    }
}

impl Operator<Batch<String>, Batch<String>> for ChaosOperator {
    fn initialize_state(&mut self, info: &TaskInfo, state: Option<OperatorSnapshot>) -> Result<()> {
        self.subtask = info.subtask_index;
        self.failures_before = self.chaos.next.load(Ordering::SeqCst);
        if let Some(state) = state {
            let [item] = state.operator_state.as_slice() else {
                return Err(Error::state("chaos state is one item"));
            };
            let bytes = <[u8; 8]>::try_from(item.as_slice())
                .map_err(|_| Error::state("chaos state is 8 bytes"))?;
            self.lines_passed = u64::from_le_bytes(bytes);
            self.restored = true;
        }
        Ok(())
    }

    fn process_batch(
        &mut self,
        batch: &mut Batch<String>,
        out: &mut Output<Batch<String>>,
    ) -> Result<()> {
        let lines = batch.len() as u64;
        self.lines_in_attempt += lines;
        if let Some(since) = self.lines_since_checkpoint.as_mut() {
            *since += lines;
        }
        match self.planned() {
            Some((next, FailurePoint::BeforeACheckpoint { lines }))
                if self.lines_in_attempt >= lines =>
            {
                return self.fail(next, "before a checkpoint");
            }
            Some((next, FailurePoint::AfterACheckpoint { lines }))
                if self
                    .lines_since_checkpoint
                    .is_some_and(|since| since >= lines) =>
            {
                return self.fail(next, "after a checkpoint");
            }
            _ => {}
        }
        self.lines_passed += lines;
        out.push_batch(batch)
    }

    fn snapshot_state(&mut self, _: CheckpointId) -> Result<OperatorSnapshot> {
        if let Some((next, FailurePoint::BeforeACheckpoint { .. })) = self.planned() {
            return self
                .fail(next, "at a snapshot, before the checkpoint could complete")
                .map(|()| OperatorSnapshot::default());
        }
        Ok(OperatorSnapshot {
            keyed: None,
            operator_state: vec![self.lines_passed.to_le_bytes().to_vec()],
        })
    }

    fn notify_checkpoint_complete(&mut self, _: CheckpointId) -> Result<()> {
        self.lines_since_checkpoint.get_or_insert(0);
        Ok(())
    }

    fn end_input(&mut self, _: &mut Output<Batch<String>>) -> Result<()> {
        match self.planned() {
            Some((next, FailurePoint::AfterACheckpoint { .. }))
                if self.lines_since_checkpoint.is_some() =>
            {
                self.fail(next, "at end of input")
            }
            _ => Ok(()),
        }
    }
}

/// Runs streaming WordCount over the input, with the chaos of `plan` (none when empty);
/// returns what its sinks committed and the job's result.
fn run_word_count(
    checkpoints: &Path,
    plan: Vec<Failure>,
) -> (Vec<(String, u64)>, JobResult, Arc<Chaos>) {
    let env = StreamExecutionEnvironment::new();
    let settings = [
        ("parallelism.default", "2"),
        ("execution.checkpointing.interval", "20 ms"),
        ("restart-strategy.type", "fixed-delay"),
        // Exactly the failures planned: a sixth would fail the job.
        ("restart-strategy.fixed-delay.attempts", "5"),
        ("restart-strategy.fixed-delay.delay", "10 ms"),
    ];
    for (key, value) in settings {
        env.set(key, value).unwrap();
    }
    env.set(
        "execution.checkpointing.dir",
        checkpoints.display().to_string(),
    )
    .unwrap();
    let chaos = Arc::new(Chaos {
        plan,
        next: AtomicUsize::new(0),
        injected: Mutex::new(Vec::new()),
    });
    let committed = Arc::new(Committed::default());
    let source = DataGenSource::new(LINES, |index: u64, _: &mut _| line(index))
        .with_rows_per_second(LINES_PER_SECOND);
    let operator_chaos = Arc::clone(&chaos);
    let lines = env
        .add_source("Lines", move |_| Ok(source.clone()))
        .transform("Chaos", move |_| ChaosOperator {
            chaos: Arc::clone(&operator_chaos),
            subtask: 0,
            failures_before: 0,
            restored: false,
            lines_passed: 0,
            lines_in_attempt: 0,
            lines_since_checkpoint: None,
        });
    let sink_committed = Arc::clone(&committed);
    wordcount::counts(&lines).transform("Sink: Committing", move |_| CommittingSink {
        committed: Arc::clone(&sink_committed),
        subtask: 0,
        current: Vec::new(),
        pending: BTreeMap::new(),
    });
    let result = env.execute("WordCount with faults").unwrap();
    (committed.records(), result, chaos)
}

/// Checks the committed updates are strict: for every word, exactly 1, 2, …, n, each once,
/// with n its number of occurrences in the input.
fn assert_strict(committed: &[(String, u64)], expected: &BTreeMap<String, u64>) {
    let mut by_word: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for (word, count) in committed {
        by_word.entry(word).or_default().push(*count);
    }
    assert_eq!(
        by_word.keys().copied().collect::<Vec<_>>(),
        expected.keys().map(String::as_str).collect::<Vec<_>>()
    );
    for (word, mut counts) in by_word {
        let total = expected[word];
        counts.sort_unstable();
        if counts != (1..=total).collect::<Vec<_>>() {
            let duplicated: Vec<u64> = counts
                .windows(2)
                .filter(|pair| pair[0] == pair[1])
                .map(|pair| pair[0])
                .take(10)
                .collect();
            let missing: Vec<u64> = (1..=total)
                .filter(|count| counts.binary_search(count).is_err())
                .take(10)
                .collect();
            panic!(
                "'{word}' occurs {total} times, but {} updates were committed; duplicated \
                 (first 10): {duplicated:?}; missing (first 10): {missing:?}",
                counts.len()
            );
        }
    }
}

#[test]
fn word_count_failing_five_times_commits_exactly_what_a_fault_free_run_commits() {
    let plan = failure_plan(SEED);
    let before = plan
        .iter()
        .filter(|failure| matches!(failure.point, FailurePoint::BeforeACheckpoint { .. }))
        .count();
    assert!(
        (1..FAILURES).contains(&before),
        "the seed must plan failures both before and after checkpoints: {plan:?}"
    );
    let expected = expected_totals();

    let fault_free_dir = tempfile::tempdir().unwrap();
    let (fault_free, fault_free_result, _) = run_word_count(fault_free_dir.path(), Vec::new());
    assert_eq!(fault_free_result.restarts, 0);
    assert_strict(&fault_free, &expected);

    let faulty_dir = tempfile::tempdir().unwrap();
    let (faulty, result, chaos) = run_word_count(faulty_dir.path(), plan);
    let injected = chaos.injected.lock().unwrap().clone();
    assert_eq!(
        injected.len(),
        FAILURES,
        "every planned failure happened: {injected:?}"
    );
    assert_eq!(result.restarts, FAILURES as u32);
    let num_restarts = result
        .metrics
        .iter()
        .find(|metric| metric.name == "numRestarts")
        .map(|metric| metric.value.clone());
    assert_eq!(
        num_restarts,
        Some(flinkrs_dataflow::metrics::MetricValue::Gauge(
            FAILURES as i64
        ))
    );
    // The first failure comes before any checkpoint of the job: the job starts over from
    // scratch. Others come after a checkpoint completed, and restore from one.
    assert!(
        injected
            .iter()
            .any(|failure| !failure.restored && !failure.after_a_checkpoint_of_the_attempt),
        "a failure before any checkpoint had completed: {injected:?}"
    );
    assert!(
        injected
            .iter()
            .any(|failure| failure.after_a_checkpoint_of_the_attempt),
        "a failure after a checkpoint had completed: {injected:?}"
    );
    assert_strict(&faulty, &expected);
    assert_eq!(faulty, fault_free);
}
