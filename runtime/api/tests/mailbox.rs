//! The task mailbox: a task blocked on a full output channel, or a source without data, stops
//! promptly on cancel; the buffer timeout decides when partly filled batches leave; a
//! checkpoint trigger reaches the source and comes back as an acknowledgement.
//!
//! Timing is observed, never slept for: sources report their own end through `Drop`, and the
//! job itself signals when the expected output has arrived.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use flinkrs_api::prelude::*;
use flinkrs_core::CheckpointId;
use flinkrs_core::element::{CheckpointBarrier, SnapshotKind};

/// Sends the instant it is dropped: when its task thread has finished.
struct DropSignal(Sender<Instant>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(Instant::now());
    }
}

/// An endless source: a full batch at every poll, or never any data.
struct Endless {
    with_data: bool,
    next: u64,
    _signal: DropSignal,
}

impl SourceFunction<Batch<u64>> for Endless {
    fn poll_batch(
        &mut self,
        batch: &mut Batch<u64>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        if !self.with_data {
            return Ok(SourceStatus::Wait(Duration::from_secs(3600)));
        }
        batch.extend((0..context.batch_rows as u64).map(|i| Record::new(self.next + i)));
        self.next += context.batch_rows as u64;
        Ok(SourceStatus::MoreAvailable)
    }

    fn snapshot_state(&mut self) -> Result<Vec<Vec<u8>>> {
        Ok(vec![self.next.to_le_bytes().to_vec()])
    }
}

/// A sink stuck in its first write until the test lets it go.
#[derive(Clone)]
struct StuckSink {
    stuck: Arc<AtomicBool>,
    release: Receiver<()>,
}

impl SinkFunction<u64> for StuckSink {
    fn write_batch(&mut self, batch: &mut Vec<Record<u64>>) -> Result<()> {
        batch.clear();
        self.stuck.store(true, Ordering::SeqCst);
        let _ = self.release.recv();
        Ok(())
    }
}

fn endless_source(
    env: &StreamExecutionEnvironment,
    with_data: bool,
) -> (DataStream<u64>, Receiver<Instant>) {
    let (dropped, dropped_at) = crossbeam_channel::bounded(1);
    let signal = Mutex::new(Some(dropped));
    let stream = env.add_source_with_parallelism("endless", Some(1), move |_| {
        let sender = signal.lock().unwrap().take().expect("one subtask");
        Ok(Endless {
            with_data,
            next: 0,
            _signal: DropSignal(sender),
        })
    });
    (stream, dropped_at)
}

fn assert_stops_within_100ms(job: RunningJob, dropped_at: &Receiver<Instant>) {
    let cancelled_at = Instant::now();
    job.cancel();
    let stopped_at = dropped_at
        .recv_timeout(Duration::from_secs(5))
        .expect("the source task ends after cancel");
    let took = stopped_at.saturating_duration_since(cancelled_at);
    assert!(
        took < Duration::from_millis(100),
        "stopped {took:?} after cancel"
    );
}

#[test]
fn a_task_blocked_on_a_full_output_channel_stops_within_100ms_of_cancel() {
    let env = StreamExecutionEnvironment::new();
    let (stream, dropped_at) = endless_source(&env, true);
    let (release, released) = crossbeam_channel::bounded::<()>(0);
    let stuck = Arc::new(AtomicBool::new(false));
    stream.rebalance().add_sink(
        "stuck",
        StuckSink {
            stuck: Arc::clone(&stuck),
            release: released,
        },
    );
    let job = env.execute_async("blocked on output").unwrap();
    // Once the sink is stuck, the source fills the bounded channel and blocks on it.
    while !stuck.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    assert_stops_within_100ms(job, &dropped_at);
    // Unblock the user code, so the sink's task ends too.
    drop(release);
}

#[test]
fn a_source_without_data_stops_within_100ms_of_cancel() {
    let env = StreamExecutionEnvironment::new();
    let (stream, dropped_at) = endless_source(&env, false);
    stream.discard();
    let job = env.execute_async("no data").unwrap();
    assert_stops_within_100ms(job, &dropped_at);
}

/// Emits one record per poll, ten in all, 100 ms apart; then waits until the sink has seen a
/// record before finishing, so only the buffer timeout can have delivered it.
struct Trickle {
    emitted: u64,
    next_at: Instant,
    seen: Arc<AtomicBool>,
}

impl SourceFunction<Batch<u64>> for Trickle {
    fn poll_batch(&mut self, batch: &mut Batch<u64>, _: &SourceContext) -> Result<SourceStatus> {
        if self.emitted == 10 {
            return Ok(if self.seen.load(Ordering::SeqCst) {
                SourceStatus::Finished
            } else {
                SourceStatus::Wait(Duration::from_millis(5))
            });
        }
        let now = Instant::now();
        if now < self.next_at {
            return Ok(SourceStatus::Wait(self.next_at - now));
        }
        batch.push(Record::new(self.emitted));
        self.emitted += 1;
        self.next_at = now + Duration::from_millis(100);
        Ok(SourceStatus::MoreAvailable)
    }

    fn boundedness(&self) -> Boundedness {
        Boundedness::Bounded
    }
}

/// Counts the batches (not records) that reach it.
#[derive(Clone)]
struct BatchCounter {
    batches: Arc<AtomicUsize>,
    records: Arc<AtomicUsize>,
    seen: Arc<AtomicBool>,
}

impl SinkFunction<u64> for BatchCounter {
    fn write_batch(&mut self, batch: &mut Vec<Record<u64>>) -> Result<()> {
        self.batches.fetch_add(1, Ordering::SeqCst);
        self.records.fetch_add(batch.len(), Ordering::SeqCst);
        batch.clear();
        self.seen.store(true, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_500_ms_buffer_timeout_holds_records_for_up_to_500_ms() {
    let mut config = Configuration::new();
    config
        .set("execution.buffer-timeout.interval", "500 ms")
        .unwrap();
    let env = StreamExecutionEnvironment::with_configuration(config);
    let seen = Arc::new(AtomicBool::new(false));
    let source_seen = Arc::clone(&seen);
    let counter = BatchCounter {
        batches: Arc::default(),
        records: Arc::default(),
        seen,
    };
    env.add_source_with_parallelism("trickle", Some(1), move |_| {
        Ok(Trickle {
            emitted: 0,
            next_at: Instant::now(),
            seen: Arc::clone(&source_seen),
        })
    })
    .rebalance()
    .add_sink("count", counter.clone());
    env.execute("buffer timeout").unwrap();
    assert_eq!(counter.records.load(Ordering::SeqCst), 10);
    // Ten records over about a second leave in at most three timeout flushes, plus the
    // flush at the end of input; a 50 ms flush would have sent about ten batches.
    let batches = counter.batches.load(Ordering::SeqCst);
    assert!((2..=4).contains(&batches), "{batches} batches");
}

#[test]
fn a_checkpoint_trigger_reaches_the_source_and_every_task_acknowledges() {
    let env = StreamExecutionEnvironment::new();
    let (stream, _dropped_at) = endless_source(&env, true);
    stream.rebalance().discard();
    let job = env.execute_async("checkpoint").unwrap();
    let barrier = CheckpointBarrier {
        id: CheckpointId(7),
        timestamp: 0,
        kind: SnapshotKind::Checkpoint,
    };
    assert_eq!(job.trigger_checkpoint(barrier), 1);
    let mut acknowledged = Vec::new();
    for _ in 0..job.task_count() {
        let ack = job
            .acknowledgements()
            .recv_timeout(Duration::from_secs(10))
            .expect("every task acknowledges");
        assert_eq!(ack.checkpoint, CheckpointId(7));
        acknowledged.push(ack);
    }
    // Every task acknowledged once; the source's part carries its read position (a u64).
    let mut tasks: Vec<&str> = acknowledged.iter().map(|ack| ack.task.as_str()).collect();
    tasks.sort_unstable();
    tasks.dedup();
    assert_eq!(tasks.len(), job.task_count());
    let source = acknowledged
        .iter()
        .find(|ack| ack.task.starts_with("Source: endless"))
        .expect("the source acknowledged");
    assert_eq!(source.snapshot.len(), 1);
    let position = &source.snapshot[0].1.operator_state;
    assert!(
        matches!(position.as_slice(), [item] if item.len() == 8),
        "{position:?}"
    );
    job.cancel();
    assert!(matches!(job.wait(), Err(Error::Cancelled)));
}
