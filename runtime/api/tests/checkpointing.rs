//! Periodic checkpoints on the local executor, written to a real folder: what lands on disk,
//! retention, and a storage failure failing the job.

use std::collections::BTreeSet;
use std::time::Duration;

use flinkrs_api::prelude::*;
use flinkrs_dataflow::CompletedCheckpoint;
use flinkrs_state::storage::{METADATA_FILE, S3Settings, StoredCheckpoint};

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
const PATIENCE: Duration = Duration::from_secs(30);

/// Counts of an endless stream of numbers over 10 keys, at parallelism 2.
fn endless_counts(env: &StreamExecutionEnvironment) {
    env.add_source("Numbers", |_| Ok(Endless::default()))
        .key_by(|n: &u64| n % 10)
        .reduce(|a, b| a + b)
        .discard();
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

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(vec![self.next.to_le_bytes().to_vec()])
    }
}

fn environment(dir: &std::path::Path) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    env.set("execution.checkpointing.interval", "20 ms")
        .unwrap();
    env.set("execution.checkpointing.num-retained", "2")
        .unwrap();
    // Kept after the cancel that ends the tests' jobs, so they can be inspected.
    env.set(
        "execution.checkpointing.externalized-checkpoint-retention",
        "RETAIN_ON_CANCELLATION",
    )
    .unwrap();
    env.set(
        "execution.checkpointing.dir",
        format!("file://{}", dir.display()),
    )
    .unwrap();
    env
}

fn folders_with_metadata(root: &std::path::Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for job in std::fs::read_dir(root).unwrap() {
        for checkpoint in std::fs::read_dir(job.unwrap().path()).unwrap() {
            let path = checkpoint.unwrap().path();
            assert!(
                path.join(METADATA_FILE).exists(),
                "{} has no _metadata: an aborted or unfinished checkpoint was left behind",
                path.display()
            );
            found.insert(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    found
}

#[test]
fn periodic_checkpoints_land_in_the_checkpoint_folder_and_only_the_retained_ones_stay() {
    let root = tempfile::tempdir().unwrap();
    let env = environment(root.path());
    endless_counts(&env);
    let job = env.execute_async("checkpointed counts").unwrap();
    let tasks = job.task_count();
    let mut completed: Vec<CompletedCheckpoint> = Vec::new();
    while completed.len() < 3 {
        let checkpoint = job
            .completed_checkpoints()
            .recv_timeout(PATIENCE)
            .expect("a checkpoint completes");
        completed.push(checkpoint);
    }
    job.cancel();
    let events = job.completed_checkpoints().clone();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
    completed.extend(events.try_iter());
    let ids: Vec<u64> = completed.iter().map(|c| c.checkpoint.0).collect();
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected, "checkpoints complete in order, none skipped");

    let retained: BTreeSet<String> = ids[ids.len() - 2..]
        .iter()
        .map(|id| format!("chk-{id}"))
        .collect();
    assert_eq!(folders_with_metadata(root.path()), retained);

    let latest = completed.last().unwrap();
    let stored = StoredCheckpoint::open_at(&latest.location, &S3Settings::default()).unwrap();
    assert_eq!(stored.metadata.checkpoint, latest.checkpoint.0);
    assert_eq!(stored.metadata.tasks.len(), tasks);
    let mut source_positions = Vec::new();
    let mut keyed_states = 0;
    for handle in &stored.metadata.tasks {
        for (_, operator) in stored.read_task_state(handle).unwrap() {
            if let [position] = operator.operator_state.as_slice() {
                let bytes: [u8; 8] = position.as_slice().try_into().unwrap();
                source_positions.push(u64::from_le_bytes(bytes));
            }
            keyed_states += usize::from(operator.keyed.is_some());
        }
    }
    assert_eq!(
        source_positions.len(),
        2,
        "both source subtasks stored a position"
    );
    assert!(
        source_positions
            .iter()
            .all(|&position| position > 0 && position % 64 == 0)
    );
    assert_eq!(keyed_states, 2, "both reduce subtasks stored keyed state");
}

#[test]
fn a_checkpoint_folder_that_cannot_be_written_fails_the_job_naming_it() {
    let root = tempfile::tempdir().unwrap();
    let blocker = root.path().join("not-a-folder");
    std::fs::write(&blocker, b"a file where the checkpoint folder should be").unwrap();
    let env = environment(&blocker);
    // Without it, checkpointing's default restart strategy would restart the job forever.
    env.set("restart-strategy.type", "none").unwrap();
    endless_counts(&env);
    let error = env
        .execute("unwritable checkpoints")
        .unwrap_err()
        .to_string();
    assert!(error.contains("checkpointing failed"), "{error}");
    assert!(error.contains("more than the 0 tolerated"), "{error}");
    assert!(error.contains("cannot create checkpoint folder"), "{error}");
    assert!(error.contains("not-a-folder"), "{error}");
}

/// The gauge `name` among `metrics`.
fn gauge(metrics: &[flinkrs_dataflow::metrics::MetricSnapshot], name: &str) -> Option<i64> {
    metrics.iter().find_map(|metric| match metric.value {
        flinkrs_dataflow::metrics::MetricValue::Gauge(value) if metric.name == name => Some(value),
        _ => None,
    })
}

#[test]
fn the_jobmanager_reports_checkpoint_counts_and_the_last_checkpoints_size_and_duration() {
    let root = tempfile::tempdir().unwrap();
    let env = environment(root.path());
    let numbers: Vec<u64> = (0..5_000).collect();
    env.from_collection(numbers)
        .key_by(|n: &u64| n % 10)
        .reduce(|a, b| a + b)
        .discard();
    let job = env.execute_async("bounded, checkpointed").unwrap();
    let events = job.completed_checkpoints().clone();
    let result = job.wait().unwrap();
    let completed: Vec<CompletedCheckpoint> = events.try_iter().collect();
    let last = completed.last().expect("the final checkpoint completed");
    let stored = StoredCheckpoint::open(last.location.as_local().unwrap()).unwrap();
    let size: u64 = stored.metadata.tasks.iter().map(|task| task.length).sum();
    let metrics = &result.metrics;
    assert_eq!(
        gauge(metrics, "numberOfCompletedCheckpoints"),
        Some(completed.len() as i64)
    );
    assert_eq!(gauge(metrics, "numberOfFailedCheckpoints"), Some(0));
    assert_eq!(gauge(metrics, "numberOfInProgressCheckpoints"), Some(0));
    assert_eq!(gauge(metrics, "lastCheckpointSize"), Some(size as i64));
    let duration = gauge(metrics, "lastCheckpointDuration").unwrap();
    assert!((0..30_000).contains(&duration), "{duration} ms");
}
