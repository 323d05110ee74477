//! A small keyed pipeline across two TaskManagers: two producing subtasks on one write through
//! the real channel writer, hash partitioned by key over remote channels, to two keyed-sum
//! subtasks on the other, which run the real input task (gate, barrier alignment, end of
//! input). The channels come from the `StreamType` hooks an executor uses.

use std::collections::BTreeMap;
use std::thread;
use std::time::Duration;

use crossbeam_channel::Sender;
use flinkrs_core::element::SnapshotKind;
use flinkrs_core::{
    Batch, CheckpointBarrier, CheckpointId, JobId, Record, Result, SubtaskIndex, Watermark,
    WatermarkStatus, key_group_for_hash, key_hash, operator_index_for_key_group,
};
use flinkrs_dataflow::channel::remote::{ChannelId, NetworkEnvironment};
use flinkrs_dataflow::input::{ControlInput, Input, TaskSnapshot};
use flinkrs_dataflow::metrics::MetricRegistry;
use flinkrs_dataflow::partition::{BatchBounds, PartitionerSpec};
use flinkrs_dataflow::task::{CancelToken, OutputMetrics, TaskMetrics, mailbox};
use flinkrs_dataflow::type_ops::{AnyBox, take, type_ops};

/// (key, value)
type Row = (u64, u64);
type Rows = Batch<Row>;

const KEYS: u64 = 37;
const ROWS_PER_PRODUCER: u64 = 6_000;
const ROWS_PER_BATCH: u64 = 250;
const MAX_PARALLELISM: usize = 128;
const GUARD: Duration = Duration::from_secs(30);

fn row(producer: u64, index: u64) -> Row {
    ((index * 7 + producer) % KEYS, index + producer * 1_000_000)
}

fn consumer_of(key: u64) -> usize {
    let key_group = key_group_for_hash(key_hash(&key), MAX_PARALLELISM);
    operator_index_for_key_group(MAX_PARALLELISM, 2, key_group)
}

fn channel(producer: usize, consumer: usize) -> ChannelId {
    ChannelId {
        job: JobId(0x5eed),
        attempt: 0,
        edge: 0,
        producer_subtask: producer as u32,
        consumer_subtask: consumer as u32,
    }
}

/// What one keyed-sum subtask saw.
#[derive(Debug, Default, PartialEq)]
struct Outcome {
    /// The sums when the barrier was aligned: what its snapshot would hold.
    at_barrier: BTreeMap<u64, u64>,
    barriers: Vec<u64>,
    watermarks: Vec<Watermark>,
    sums: BTreeMap<u64, u64>,
}

struct KeyedSum {
    outcome: Outcome,
    done: Sender<Outcome>,
}

impl ControlInput for KeyedSum {
    fn open(&mut self) -> Result<()> {
        Ok(())
    }
    fn process_watermark(&mut self, watermark: Watermark) -> Result<()> {
        self.outcome.watermarks.push(watermark);
        Ok(())
    }
    fn process_watermark_status(&mut self, _: WatermarkStatus) -> Result<()> {
        Ok(())
    }
    fn process_barrier(&mut self, barrier: CheckpointBarrier, _: &mut TaskSnapshot) -> Result<()> {
        self.outcome.barriers.push(barrier.id.0);
        self.outcome.at_barrier = self.outcome.sums.clone();
        Ok(())
    }
    fn notify_checkpoint_complete(&mut self, _: CheckpointId) -> Result<()> {
        Ok(())
    }
    fn notify_checkpoint_aborted(&mut self, _: CheckpointId) -> Result<()> {
        Ok(())
    }
    fn on_processing_time(&mut self, _: i64) -> Result<()> {
        Ok(())
    }
    fn flush_buffers(&mut self) -> Result<()> {
        Ok(())
    }
    fn end_input(&mut self) -> Result<()> {
        let _ = self.done.send(std::mem::take(&mut self.outcome));
        Ok(())
    }
    fn close(&mut self) -> Result<()> {
        Ok(())
    }
}

impl Input<Rows> for KeyedSum {
    fn process_batch(&mut self, batch: &mut Rows) -> Result<()> {
        for record in batch.iter() {
            *self.outcome.sums.entry(record.value.0).or_default() += record.value.1;
        }
        Ok(())
    }
}

/// One producing subtask: half its rows, a watermark and checkpoint barrier 1, the other
/// half, the end of input.
fn produce(producer: usize, writer: &mut dyn Input<Rows>) -> Result<()> {
    writer.open()?;
    for first in (0..ROWS_PER_PRODUCER).step_by(ROWS_PER_BATCH as usize) {
        if first == ROWS_PER_PRODUCER / 2 {
            // The same on both: which channel ends first must not move the minimum.
            writer.process_watermark(Watermark(100))?;
            let barrier = CheckpointBarrier {
                id: CheckpointId(1),
                timestamp: 0,
                kind: SnapshotKind::Checkpoint,
            };
            writer.process_barrier(barrier, &mut Vec::new())?;
        }
        let mut batch: Rows = (first..first + ROWS_PER_BATCH)
            .map(|index| Record::new(row(producer as u64, index)))
            .collect();
        writer.process_batch(&mut batch)?;
    }
    writer.end_input()?;
    writer.close()
}

#[test]
fn a_keyed_sum_across_two_taskmanagers_matches_the_expected_sums_and_aligns_its_barrier() {
    let producing = NetworkEnvironment::start("127.0.0.1:0").unwrap();
    let consuming = NetworkEnvironment::start("127.0.0.1:0").unwrap();
    let peer = consuming.address().to_string();
    let rows = type_ops::<Rows>();
    let registry = MetricRegistry::new();
    let job = registry.job_group(JobId(0x5eed), "remote pipeline");
    let cancel = CancelToken::default();

    let (done, outcomes) = crossbeam_channel::unbounded();
    let mut consumers = Vec::new();
    for consumer in 0..2 {
        let receivers: Vec<AnyBox> = (0..2)
            .map(|producer| {
                rows.remote_receiver(&consuming, channel(producer, consumer), 4)
                    .unwrap()
            })
            .collect();
        let chain: Box<dyn Input<Rows>> = Box::new(KeyedSum {
            outcome: Outcome::default(),
            done: done.clone(),
        });
        let metrics = TaskMetrics::new(
            job.task_group("Keyed sum", SubtaskIndex(consumer), 0)
                .io_metrics(),
        );
        let task = rows
            .input_task(receivers, Box::new(chain), metrics, "Keyed sum")
            .unwrap();
        let (_handle, mailbox) = mailbox(
            format!("Keyed sum ({}/2)", consumer + 1),
            cancel.clone(),
            None,
            Duration::from_millis(100),
            Duration::from_millis(100),
        );
        consumers.push(thread::spawn(move || task.run(mailbox)));
    }

    let key: flinkrs_dataflow::partition::KeyHashFn<Row> =
        std::sync::Arc::new(|row| key_hash(&row.0));
    let mut producers = Vec::new();
    for producer in 0..2 {
        let senders: Vec<AnyBox> = (0..2)
            .map(|consumer| {
                rows.remote_sender(&producing, channel(producer, consumer), &peer)
                    .unwrap()
            })
            .collect();
        let writer = rows
            .writer(
                senders,
                &PartitionerSpec::hash(key.clone()),
                BatchBounds {
                    max_rows: 100,
                    max_bytes: 1 << 20,
                },
                MAX_PARALLELISM,
                producer,
                cancel.clone(),
                OutputMetrics::default(),
            )
            .unwrap();
        let mut writer: Box<dyn Input<Rows>> = take(writer, "writer").unwrap();
        producers.push(thread::spawn(move || produce(producer, writer.as_mut())));
    }
    assert_eq!(producing.outgoing_connections(), 1);
    for producer in producers {
        producer.join().unwrap().unwrap();
    }
    for consumer in consumers {
        consumer.join().unwrap().unwrap();
    }

    let mut seen: Vec<Outcome> = (0..2)
        .map(|_| outcomes.recv_timeout(GUARD).unwrap())
        .collect();
    let mut expected: Vec<Outcome> = (0..2)
        .map(|_| Outcome {
            barriers: vec![1],
            watermarks: vec![Watermark(100)],
            ..Outcome::default()
        })
        .collect();
    for producer in 0..2 {
        for index in 0..ROWS_PER_PRODUCER {
            let (key, value) = row(producer, index);
            let outcome = &mut expected[consumer_of(key)];
            *outcome.sums.entry(key).or_default() += value;
            if index < ROWS_PER_PRODUCER / 2 {
                *outcome.at_barrier.entry(key).or_default() += value;
            }
        }
    }
    assert!(expected.iter().all(|outcome| !outcome.sums.is_empty()));
    // The subtasks finish in any order; each holds its own keys.
    seen.sort_by_key(|outcome| outcome.sums.keys().next().map(|&key| consumer_of(key)));
    assert_eq!(seen, expected);
}
