//! (h) One stream of batches from a producing thread to a consuming one: over a local channel,
//! then over a remote channel between two network environments on loopback, two TaskManagers
//! in one process. Per core counts every thread of the process, the I/O runtime's included.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use flinkrs_core::{Batch, JobId, Record, StreamElement};
use flinkrs_dataflow::channel::remote::{ChannelId, NetworkEnvironment};
use flinkrs_dataflow::channel::{ChannelReceiver, ChannelSender, TryRecv, WaitSet, local};
use flinkrs_dataflow::task::CancelToken;

use super::{Measurement, measure};

/// `taskmanager.network.batch.max-rows` and `taskmanager.network.channel.buffers`, at their
/// defaults.
const ROWS_PER_BATCH: u64 = 4096;
const BUFFERS: usize = 4;

type Sender = Box<dyn ChannelSender<Batch<u64>>>;
type Receiver = Box<dyn ChannelReceiver<Batch<u64>>>;

/// Streams `batches` batches through the channel: records received.
fn stream(mut sender: Sender, mut receiver: Receiver, batches: u64) -> anyhow::Result<f64> {
    let producer = std::thread::spawn(move || -> anyhow::Result<()> {
        let cancel = CancelToken::default();
        for batch in 0..batches {
            let first = batch * ROWS_PER_BATCH;
            let rows: Batch<u64> = (first..first + ROWS_PER_BATCH)
                .map(|value| Record::with_timestamp(value, value as i64))
                .collect();
            sender.send(StreamElement::Records(rows), 0, &cancel)?;
        }
        sender.send(StreamElement::EndOfInput, 0, &cancel)?;
        Ok(())
    });
    let (mut records, mut sum) = (0u64, 0u64);
    loop {
        match receiver.try_recv() {
            TryRecv::Element(StreamElement::Records(rows)) => {
                records += rows.len() as u64;
                sum = rows
                    .iter()
                    .fold(sum, |sum, row| sum.wrapping_add(row.value));
            }
            TryRecv::Element(StreamElement::EndOfInput) => break,
            TryRecv::Element(_) => {}
            TryRecv::Empty => {
                let mut waits = WaitSet::new();
                receiver.register(&mut waits);
                if waits
                    .wait_until(Instant::now() + Duration::from_secs(30))
                    .is_none()
                {
                    bail!("no batch arrived for 30 s");
                }
            }
            TryRecv::Closed => bail!("the channel closed before the end of input"),
        }
    }
    producer
        .join()
        .map_err(|_| anyhow::anyhow!("the producing thread panicked"))??;
    let total = batches * ROWS_PER_BATCH;
    let expected = (0..total).fold(0u64, |sum, value| sum.wrapping_add(value));
    if records != total || sum != expected {
        bail!("received {records} records (sum {sum}), expected {total} (sum {expected})");
    }
    Ok(records as f64)
}

fn line(label: &str, m: &Measurement) -> f64 {
    let bytes_per_record = size_of::<Record<u64>>() as f64;
    let per_wall = m.units / m.wall.as_secs_f64() / 1e6;
    let per_core = m.units / m.cpu.as_secs_f64().max(1e-3) / 1e6;
    println!(
        "{label:<48} {per_wall:>8.1} M rec/s wall  {per_core:>8.1} M rec/s per core  \
         ({:.0} MB/s per core of records in memory; {:.2} s wall, {:.2} s CPU)",
        per_core * bytes_per_record,
        m.wall.as_secs_f64(),
        m.cpu.as_secs_f64(),
    );
    per_core
}

pub fn run(records: u64) -> anyhow::Result<()> {
    let batches = (records / ROWS_PER_BATCH).max(1);
    let local = measure(|| {
        let (sender, receiver) = local::channel::<Batch<u64>>(BUFFERS);
        stream(Box::new(sender), Box::new(receiver), batches)
    })?;
    let producing = NetworkEnvironment::start("127.0.0.1:0").context("data port")?;
    let consuming = NetworkEnvironment::start("127.0.0.1:0").context("data port")?;
    let peer = consuming.address().to_string();
    let mut attempt = 0;
    let remote = measure(|| {
        let channel = ChannelId {
            job: JobId(1),
            attempt,
            edge: 0,
            producer_subtask: 0,
            consumer_subtask: 0,
        };
        attempt += 1;
        let receiver = consuming.receiver::<Batch<u64>>(channel, BUFFERS)?;
        let sender = producing.sender::<Batch<u64>>(channel, &peer)?;
        stream(Box::new(sender), Box::new(receiver), batches)
    })?;
    let local_per_core = line("(h) batches of 4,096 records, local channel", &local);
    let remote_per_core = line("(h) the same over a remote channel (loopback)", &remote);
    println!(
        "{:<48} {:>8.0}% of the local channel's records per core",
        "(h) remote against local",
        remote_per_core / local_per_core * 100.0
    );
    Ok(())
}
