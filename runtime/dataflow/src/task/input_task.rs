//! The loop of a task whose head reads from channels: receive, let the gate decide, drive the
//! chain, and serve the mailbox.

use std::time::Instant;

use flinkrs_core::time::now_millis;
use flinkrs_core::{CheckpointBarrier, CheckpointId, Error, Result, StreamElement};

use super::TaskRunner;
use super::final_checkpoint::wait_for_final_checkpoint;
use super::mailbox::{Deadlines, Mailbox, TaskCommand};
use super::metrics::TaskMetrics;
use crate::batch::StreamBatch;
use crate::channel::{ChannelReceiver, TryRecv, WaitSet};
use crate::gate::{GateAction, GateState};
use crate::input::{Input, TaskSnapshot};

/// A task that reads its input channels and feeds its chain.
pub struct InputTaskRunner<B> {
    pub receivers: Vec<Box<dyn ChannelReceiver<B>>>,
    pub chain: Box<dyn Input<B>>,
    pub metrics: TaskMetrics,
}

impl<B: StreamBatch> TaskRunner for InputTaskRunner<B> {
    fn run(mut self: Box<Self>, mailbox: Mailbox) -> Result<()> {
        let runner = &mut *self;
        runner.metrics.start(Instant::now());
        let result = runner.chain.open().and_then(|()| {
            run_input_task(
                std::mem::take(&mut runner.receivers),
                runner.chain.as_mut(),
                &mailbox,
                &mut runner.metrics,
            )
        });
        let closed = runner.chain.close();
        runner.metrics.report_time(Instant::now());
        result.and(closed)
    }
}

enum Received<B> {
    Element(usize, StreamElement<B>),
    Command(TaskCommand),
    Timeout,
}

/// What a task that reads channels remembers for the final checkpoint (FLIP-147). With a
/// final checkpoint ahead, the coordinator triggers every task, not only the sources. A
/// running task takes its snapshot when the barrier arrives on its channels; but when its
/// upstream ended before the trigger, no barrier comes, and the task takes the checkpoint it
/// was last asked for at the end of its input.
#[derive(Debug, Default)]
struct Checkpoints {
    latest_triggered: Option<CheckpointBarrier>,
    latest_taken: Option<CheckpointId>,
}

impl Checkpoints {
    fn triggered(&mut self, barrier: CheckpointBarrier) {
        if self
            .latest_triggered
            .is_none_or(|latest| barrier.id > latest.id)
        {
            self.latest_triggered = Some(barrier);
        }
    }

    /// The latest checkpoint triggered and not taken yet.
    fn untaken(&self) -> Option<CheckpointBarrier> {
        self.latest_triggered
            .filter(|barrier| self.latest_taken.is_none_or(|taken| barrier.id > taken))
    }
}

/// Runs until every input channel has ended, a failure, or cancellation. When the job takes
/// checkpoints, the task then stays for the final checkpoint (see the
/// module `final_checkpoint`).
///
/// `metrics` gets the task's numRecordsIn and numBytesIn per batch received, its currentInputWatermark as
/// the gate advances it, and the time spent waiting for input as idle time.
pub fn run_input_task<B: StreamBatch>(
    mut receivers: Vec<Box<dyn ChannelReceiver<B>>>,
    chain: &mut dyn Input<B>,
    mailbox: &Mailbox,
    metrics: &mut TaskMetrics,
) -> Result<()> {
    for receiver in &mut receivers {
        receiver.count_bytes_into(metrics.io.records.num_bytes_in.clone());
    }
    let mut gate = GateState::new(receivers.len());
    let mut deadlines = Deadlines::new(mailbox);
    let mut checkpoints = Checkpoints::default();
    // Where the non-blocking scan of the channels starts, so no channel starves the others.
    let mut next_channel = 0;
    loop {
        if mailbox.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        match receive(
            &mut receivers,
            &gate,
            mailbox,
            &mut next_channel,
            deadlines.next(),
            metrics,
        )? {
            Received::Element(channel, element) => {
                if let StreamElement::Records(batch) = &element {
                    metrics
                        .io
                        .records
                        .num_records_in
                        .inc(batch.num_rows() as u64);
                }
                for action in apply(&mut gate, channel, element, chain)? {
                    if let GateAction::Watermark(watermark) = action {
                        metrics.io.current_input_watermark.set(watermark.0);
                    }
                    if perform(action, chain, mailbox, &mut checkpoints)? {
                        if mailbox.final_checkpoint.is_none() {
                            return Ok(());
                        }
                        return wait_for_final_checkpoint(
                            chain,
                            mailbox,
                            checkpoints.untaken(),
                            || Ok(TaskSnapshot::new()),
                        );
                    }
                }
            }
            Received::Command(command) => {
                if let TaskCommand::CheckpointAborted(checkpoint) = command {
                    gate.on_checkpoint_aborted(checkpoint);
                }
                handle_command(command, chain, &mut checkpoints)?
            }
            Received::Timeout => {}
        }
        let now = Instant::now();
        if deadlines.tick_due(now) {
            chain.on_processing_time(now_millis())?;
            metrics.report_time(now);
        }
        if deadlines.flush_due(now) {
            chain.flush_buffers()?;
        }
    }
}

fn handle_command<B>(
    command: TaskCommand,
    chain: &mut dyn Input<B>,
    checkpoints: &mut Checkpoints,
) -> Result<()> {
    match command {
        // Tasks with inputs checkpoint when the barrier arrives on their channels; the trigger
        // matters only if their input ends first.
        TaskCommand::TriggerCheckpoint(barrier) => {
            checkpoints.triggered(barrier);
            Ok(())
        }
        TaskCommand::CheckpointComplete(checkpoint) => chain.notify_checkpoint_complete(checkpoint),
        TaskCommand::CheckpointAborted(checkpoint) => chain.notify_checkpoint_aborted(checkpoint),
    }
}

/// The next element or command. Ready channels are taken without blocking; only when nothing
/// is ready does the task block, on the readable channels, the mailbox and cancellation at
/// once, until `deadline`.
fn receive<B: StreamBatch>(
    receivers: &mut [Box<dyn ChannelReceiver<B>>],
    gate: &GateState,
    mailbox: &Mailbox,
    next_channel: &mut usize,
    deadline: Instant,
    metrics: &mut TaskMetrics,
) -> Result<Received<B>> {
    let channels = receivers.len();
    loop {
        if let Ok(command) = mailbox.commands.try_recv() {
            return Ok(Received::Command(command));
        }
        for offset in 0..channels {
            let channel = (*next_channel + offset) % channels;
            if !gate.is_readable(channel) {
                continue;
            }
            match receivers[channel].try_recv() {
                TryRecv::Element(element) => {
                    *next_channel = (channel + 1) % channels;
                    return Ok(Received::Element(channel, element));
                }
                TryRecv::Empty => {}
                // The producer went away without sending end-of-input: it failed.
                TryRecv::Closed => return Err(Error::Cancelled),
            }
        }
        let mut waits = WaitSet::new();
        for (channel, receiver) in receivers.iter().enumerate() {
            if gate.is_readable(channel) {
                receiver.register(&mut waits);
            }
        }
        waits.add_queue(&mailbox.commands);
        let cancel = waits.add_cancel(&mailbox.cancel);
        let waiting = Instant::now();
        let woken = waits.wait_until(deadline);
        metrics.add_idle(waiting.elapsed());
        match woken {
            None => return Ok(Received::Timeout),
            Some(woken) if woken == cancel => return Err(Error::Cancelled),
            // A channel or the mailbox is ready (or the wake-up was spurious): look again.
            Some(_) => {}
        }
    }
}

fn apply<B: StreamBatch>(
    gate: &mut GateState,
    channel: usize,
    element: StreamElement<B>,
    chain: &mut dyn Input<B>,
) -> Result<Vec<GateAction>> {
    Ok(match element {
        StreamElement::Records(mut batch) => {
            chain.process_batch(&mut batch)?;
            vec![]
        }
        StreamElement::Watermark(watermark) => gate.on_watermark(channel, watermark),
        StreamElement::WatermarkStatus(status) => gate.on_status(channel, status),
        StreamElement::Barrier(barrier) => vec![gate.on_barrier(channel, barrier)],
        StreamElement::EndOfInput => gate.on_end_of_input(channel),
    })
}

/// Performs a gate action on the chain; true when the input has ended.
fn perform<B>(
    action: GateAction,
    chain: &mut dyn Input<B>,
    mailbox: &Mailbox,
    checkpoints: &mut Checkpoints,
) -> Result<bool> {
    match action {
        GateAction::Nothing => {}
        GateAction::Watermark(watermark) => chain.process_watermark(watermark)?,
        GateAction::Status(status) => chain.process_watermark_status(status)?,
        GateAction::BarrierAligned(barrier) => {
            let mut snapshot = TaskSnapshot::new();
            chain.process_barrier(barrier, &mut snapshot)?;
            mailbox.acknowledge(barrier, snapshot);
            checkpoints.latest_taken = Some(barrier.id);
        }
        GateAction::EndOfInput => {
            chain.end_input()?;
            return Ok(true);
        }
    }
    Ok(false)
}
