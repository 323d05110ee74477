//! The final checkpoint of a bounded job (FLIP-147): with checkpointing on, a job whose sources
//! end takes one more checkpoint after every record was processed, at once rather than at the
//! next interval, and its tasks finish only once it completes, so sinks commit their last
//! output. Subtasks that finish early are no obstacle to later checkpoints; batch mode takes
//! none.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use flinkrs_api::prelude::*;
use flinkrs_core::CheckpointId;
use flinkrs_dataflow::{CompletedCheckpoint, RunningJob};
use flinkrs_state::storage::StoredCheckpoint;

/// A guard against a hang, not a synchronization: each wait ends as soon as its event comes.
const PATIENCE: Duration = Duration::from_secs(30);

fn environment(dir: &std::path::Path, interval: &str) -> StreamExecutionEnvironment {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    env.set("execution.checkpointing.interval", interval)
        .unwrap();
    env.set("execution.checkpointing.num-retained", "100")
        .unwrap();
    env.set("execution.checkpointing.dir", dir.display().to_string())
        .unwrap();
    env
}

/// Waits for the job on another thread, so a job that does not end fails the test instead of
/// hanging it. Returns the result and every checkpoint that completed.
fn wait(job: RunningJob) -> (Result<JobResult>, Vec<CompletedCheckpoint>) {
    let checkpoints = job.completed_checkpoints().clone();
    let (done, result) = crossbeam_channel::bounded(1);
    std::thread::spawn(move || {
        let _ = done.send(job.wait());
    });
    let result = result
        .recv_timeout(PATIENCE)
        .expect("the job ends without waiting for the next checkpoint interval");
    (result, checkpoints.try_iter().collect())
}

/// What a sink subtask saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Wrote(usize),
    Finish,
    Snapshot(CheckpointId),
    Complete(CheckpointId),
    Close,
}

/// Records its lifecycle; the subtasks' logs are kept apart.
#[derive(Clone, Default)]
struct RecordingSink {
    logs: Arc<Mutex<Vec<Vec<Event>>>>,
    subtask: usize,
}

impl RecordingSink {
    fn record(&self, event: Event) {
        let mut logs = self.logs.lock().unwrap_or_else(PoisonError::into_inner);
        if logs.len() <= self.subtask {
            logs.resize(self.subtask + 1, Vec::new());
        }
        logs[self.subtask].push(event);
    }
}

impl SinkFunction<u64> for RecordingSink {
    fn open(&mut self, info: &TaskInfo) -> Result<()> {
        self.subtask = info.subtask_index;
        Ok(())
    }

    fn write_batch(&mut self, batch: &mut Batch<u64>) -> Result<()> {
        self.record(Event::Wrote(batch.len()));
        Ok(())
    }

    fn snapshot_state(&mut self, checkpoint: CheckpointId) -> Result<Vec<Vec<u8>>> {
        self.record(Event::Snapshot(checkpoint));
        Ok(Vec::new())
    }

    fn notify_checkpoint_complete(&mut self, checkpoint: CheckpointId) -> Result<()> {
        self.record(Event::Complete(checkpoint));
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        self.record(Event::Finish);
        Ok(())
    }

    fn close(&mut self) -> Result<()> {
        self.record(Event::Close);
        Ok(())
    }
}

#[test]
fn a_bounded_job_ends_with_a_checkpoint_its_sinks_see_complete_before_they_close() {
    let root = tempfile::tempdir().unwrap();
    // An interval far longer than the test's patience: only the final checkpoint can happen.
    let env = environment(root.path(), "1 h");
    let sink = RecordingSink::default();
    env.from_collection((0..1_000u64).collect())
        .key_by(|n: &u64| n % 7)
        .reduce(|a, b| a + b)
        .add_sink("Recording", sink.clone());
    let job = env.execute_async("final checkpoint").unwrap();
    let tasks = job.task_count();
    let (result, checkpoints) = wait(job);
    result.unwrap();

    let ids: Vec<u64> = checkpoints.iter().map(|c| c.checkpoint.0).collect();
    assert_eq!(ids, vec![1], "exactly one checkpoint: the final one");
    let logs = sink.logs.lock().unwrap().clone();
    assert_eq!(logs.len(), 2, "both sink subtasks ran");
    let mut written = 0;
    for log in logs {
        let (writes, lifecycle): (Vec<Event>, Vec<Event>) = log
            .into_iter()
            .partition(|event| matches!(event, Event::Wrote(_)));
        written += writes
            .iter()
            .map(|event| match event {
                Event::Wrote(rows) => *rows,
                _ => 0,
            })
            .sum::<usize>();
        assert_eq!(
            lifecycle,
            vec![
                Event::Finish,
                Event::Snapshot(CheckpointId(1)),
                Event::Complete(CheckpointId(1)),
                Event::Close
            ]
        );
    }
    assert_eq!(written, 1_000, "every update reached a sink before the end");
    let stored = StoredCheckpoint::open(checkpoints[0].location.as_local().unwrap()).unwrap();
    assert_eq!(stored.metadata.tasks.len(), tasks);
}

/// Subtask 0 ends at once with nothing to emit; subtask 1 emits one number per poll until the
/// test releases it. Each reports when its task thread is gone.
struct UnevenSource {
    subtask: usize,
    next: u64,
    release: Arc<AtomicBool>,
    gone: Sender<usize>,
}

impl Drop for UnevenSource {
    fn drop(&mut self) {
        let _ = self.gone.send(self.subtask);
    }
}

impl SourceFunction<Batch<u64>> for UnevenSource {
    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }

    fn poll_batch(&mut self, batch: &mut Batch<u64>, _: &SourceContext) -> Result<SourceStatus> {
        if self.subtask == 0 || self.release.load(Ordering::Acquire) {
            return Ok(SourceStatus::Finished);
        }
        batch.push(Record::new(self.next));
        self.next += 1;
        Ok(SourceStatus::Wait(Duration::from_millis(1)))
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(vec![self.next.to_le_bytes().to_vec()])
    }
}

#[test]
fn checkpoints_go_on_completing_after_a_subtask_finished_and_the_job_ends_with_one() {
    let root = tempfile::tempdir().unwrap();
    let env = environment(root.path(), "20 ms");
    let release = Arc::new(AtomicBool::new(false));
    let (gone, gone_sources): (Sender<usize>, Receiver<usize>) = crossbeam_channel::unbounded();
    let source_release = Arc::clone(&release);
    let counts = env
        .add_source("Uneven", move |info| {
            Ok(UnevenSource {
                subtask: info.subtask_index,
                next: 0,
                release: Arc::clone(&source_release),
                gone: gone.clone(),
            })
        })
        .map(|n: u64| (n % 3, n))
        .key_by(|(key, _): &(u64, u64)| *key)
        .reduce(|(key, a), (_, b)| (key, a + b))
        .collect();
    let job = env.execute_async("uneven sources").unwrap();
    let tasks = job.task_count();
    let completed = job.completed_checkpoints().clone();

    // Subtask 0 ends at once; it stays for one checkpoint, then its thread is gone.
    assert_eq!(gone_sources.recv_timeout(PATIENCE), Ok(0));
    let mut seen: Vec<CompletedCheckpoint> = completed.try_iter().collect();
    let after_exit = seen.len();
    // Three more checkpoints complete without it: it is acknowledged for with its last state.
    while seen.len() < after_exit + 3 {
        seen.push(
            completed
                .recv_timeout(PATIENCE)
                .expect("a checkpoint completes"),
        );
    }
    release.store(true, Ordering::Release);
    let (result, rest) = wait(job);
    result.unwrap();
    seen.extend(rest);

    let ids: Vec<u64> = seen.iter().map(|c| c.checkpoint.0).collect();
    let expected: Vec<u64> = (1..=ids.len() as u64).collect();
    assert_eq!(ids, expected, "checkpoints complete in order, none lost");
    let last = seen.last().unwrap();
    let stored = StoredCheckpoint::open(last.location.as_local().unwrap()).unwrap();
    assert_eq!(
        stored.metadata.tasks.len(),
        tasks,
        "every task is in the last checkpoint"
    );
    assert_eq!(gone_sources.recv_timeout(PATIENCE), Ok(1));

    // The last checkpoint holds subtask 1's final position: how many numbers it emitted.
    let mut positions = Vec::new();
    for handle in &stored.metadata.tasks {
        for (_, operator) in stored.read_task_state(handle).unwrap() {
            if let [position] = operator.operator_state.as_slice()
                && let Ok(bytes) = <[u8; 8]>::try_from(position.as_slice())
            {
                positions.push(u64::from_le_bytes(bytes));
            }
        }
    }
    positions.sort_unstable();
    assert_eq!(positions.len(), 2, "both sources' positions: {positions:?}");
    assert_eq!(positions[0], 0, "subtask 0 finished with nothing emitted");
    let emitted = positions[1];
    // Each number updated its key's sum once, and the sums end where they must.
    let sums = counts.take();
    assert_eq!(sums.len() as u64, emitted);
    let mut finals: BTreeMap<u64, u64> = BTreeMap::new();
    for (key, sum) in sums {
        let key_sum = finals.entry(key).or_default();
        *key_sum = (*key_sum).max(sum);
    }
    let mut expected: BTreeMap<u64, u64> = BTreeMap::new();
    for n in 0..emitted {
        *expected.entry(n % 3).or_default() += n;
    }
    assert_eq!(finals, expected);
}

#[test]
fn batch_mode_takes_no_checkpoint_even_with_an_interval() {
    let root = tempfile::tempdir().unwrap();
    let env = environment(root.path(), "10 ms");
    env.set_runtime_mode(RuntimeMode::Batch).unwrap();
    let sink = RecordingSink::default();
    env.from_collection((0..100u64).collect())
        .add_sink("Recording", sink.clone());
    let (result, checkpoints) = wait(env.execute_async("batch").unwrap());
    result.unwrap();
    assert_eq!(checkpoints, Vec::new());
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    for log in sink.logs.lock().unwrap().iter() {
        let lifecycle: Vec<&Event> = log
            .iter()
            .filter(|event| !matches!(event, Event::Wrote(_)))
            .collect();
        assert_eq!(lifecycle, vec![&Event::Finish, &Event::Close]);
    }
}
