//! Bounded channels: a consumer that does not read stops its producer after a bounded number
//! of batches, and nothing is lost once it reads again.

use flinkrs_core::Batch;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use flinkrs_api::prelude::*;

const TOTAL: u64 = 1_000_000;

#[derive(Clone)]
struct CountingSource {
    emitted: Arc<AtomicU64>,
    next: u64,
}

impl SourceFunction<Batch<u64>> for CountingSource {
    fn poll_batch(
        &mut self,
        batch: &mut Vec<Record<u64>>,
        context: &SourceContext,
    ) -> Result<SourceStatus> {
        let end = (self.next + context.batch_rows as u64).min(TOTAL);
        batch.extend((self.next..end).map(Record::new));
        self.emitted.fetch_add(end - self.next, Ordering::SeqCst);
        self.next = end;
        Ok(if end == TOTAL {
            SourceStatus::Finished
        } else {
            SourceStatus::MoreAvailable
        })
    }
}

/// Blocks in its first batch until the test releases the gate.
#[derive(Clone)]
struct GatedSink {
    gate: Arc<Mutex<()>>,
    received: Arc<AtomicU64>,
}

impl SinkFunction<u64> for GatedSink {
    fn write_batch(&mut self, batch: &mut Vec<Record<u64>>) -> Result<()> {
        drop(self.gate.lock().unwrap());
        self.received
            .fetch_add(batch.len() as u64, Ordering::SeqCst);
        batch.clear();
        Ok(())
    }
}

#[test]
fn a_stalled_consumer_bounds_what_the_producer_emits() {
    let emitted = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    let gate = Arc::new(Mutex::new(()));
    let held = gate.lock().unwrap();

    let env = StreamExecutionEnvironment::new();
    env.set("taskmanager.network.channel.buffers", "2").unwrap();
    env.set("taskmanager.network.batch.max-rows", "1000")
        .unwrap();
    let source = CountingSource {
        emitted: Arc::clone(&emitted),
        next: 0,
    };
    env.add_source("Counting", move |_| Ok(source.clone()))
        .rebalance()
        .add_sink(
            "Gated",
            GatedSink {
                gate: Arc::clone(&gate),
                received: Arc::clone(&received),
            },
        );
    let graph = env.stream_graph("backpressure");
    let job = std::thread::spawn(move || flinkrs_dataflow::LocalExecutor::new(graph).execute());

    // Wait until the producer stops making progress (bounded by a deadline).
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = u64::MAX;
    loop {
        let now = emitted.load(Ordering::SeqCst);
        if now == last && now > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "producer never stalled; emitted {now}"
        );
        last = now;
        std::thread::sleep(Duration::from_millis(200));
    }
    // Source and channel batches are 1000 rows (the configured bound).
    // In flight at most: the sink's batch, 2 queued batches, the writer's buffer, the batch
    // being sent, and the source batch being split.
    let stalled_at = emitted.load(Ordering::SeqCst);
    assert!(
        stalled_at <= 6 * 1_024,
        "producer ran ahead to {stalled_at} records"
    );
    assert!(stalled_at < TOTAL);

    drop(held);
    let result = job.join().unwrap().unwrap();
    assert_eq!(received.load(Ordering::SeqCst), TOTAL);
    assert_eq!(result.records_in(), TOTAL);
    assert_eq!(result.records_out(), TOTAL);
}
